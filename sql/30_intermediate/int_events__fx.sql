-- int_events__fx: amounts in USD at the rate valid at the event's time (switch: CleanStream
-- enrich.fx).
-- grain: one row per unique event; upstream: int_events__country (fx_rate: the rate of the
--   event's currency whose valid_from is the latest at or before its event time, looked up
--   from src_reference__fx_rates in the JVM, see int_events__unique)
-- Amounts without a currency are in USD (the shop's base currency). An event with an amount in
-- a currency that has no rate at its time never gets here: the lookup made it a dead letter
-- (missing_fx_rate), never a guessed rate.
CREATE TEMPORARY VIEW int_events__fx AS
SELECT
    e.*,
    CASE WHEN e.currency_code = 'USD' THEN CAST(1 AS DECIMAL(18, 8)) ELSE e.fx_rate END
        AS fx_rate_to_usd,
    CAST(e.price * CASE WHEN e.currency_code = 'USD' THEN 1 ELSE e.fx_rate END
        AS DECIMAL(18, 2)) AS price_usd,
    CAST(e.total_amount * CASE WHEN e.currency_code = 'USD' THEN 1 ELSE e.fx_rate END
        AS DECIMAL(18, 2)) AS total_amount_usd
FROM (
    SELECT c.*, UPPER(COALESCE(c.currency, 'USD')) AS currency_code
    FROM int_events__country AS c
) AS e
