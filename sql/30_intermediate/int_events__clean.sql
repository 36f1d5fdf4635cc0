-- int_events__clean: the clean, enriched event stream everything downstream reads.
-- grain: one row per unique, valid, on-time event with every enrichment
-- event time: event_time; upstream: int_events__enriched (events with fx_missing excluded)
CREATE TEMPORARY VIEW int_events__clean AS
SELECT *
FROM int_events__enriched
WHERE NOT fx_missing
