-- int_events__fx, switched off (CleanStream enrich.fx = false): the same columns, no conversion.
-- grain: one row per unique event; upstream: int_events__country
CREATE TEMPORARY VIEW int_events__fx AS
SELECT
    e.*,
    UPPER(COALESCE(e.currency, 'USD')) AS currency_code,
    CAST(NULL AS DECIMAL(18, 8)) AS fx_rate_to_usd,
    CAST(NULL AS DECIMAL(18, 2)) AS price_usd,
    CAST(NULL AS DECIMAL(18, 2)) AS total_amount_usd
FROM int_events__country AS e
