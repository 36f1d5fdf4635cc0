-- int_events__clean: the clean, enriched event stream everything downstream reads.
-- grain: one row per unique, valid, on-time event with every enrichment (device, country,
--   catalog, amounts in USD)
-- event time: event_time; upstream: int_events__country
CREATE TEMPORARY VIEW int_events__clean AS
SELECT *
FROM int_events__country
