-- int_events__country: the event's country, ISO 3166 alpha-2 upper case: the purchase's
-- shipping address, else a `country` the client sent (switch: CleanStream enrich.country).
-- grain: one row per unique event; upstream: int_events__device
CREATE TEMPORARY VIEW int_events__country AS
SELECT
    e.*,
    CASE WHEN switched_on('enrich.country') THEN UPPER(COALESCE(e.shipping_country, e.event_country)) END
        AS country
FROM int_events__device AS e
