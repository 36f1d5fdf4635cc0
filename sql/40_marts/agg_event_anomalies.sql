-- agg_event_anomalies: per-event flags.
-- grain: one row per flag
-- kinds:
--   order_total: a purchase over Anomalies order.factor (default 5) times the customer's mean
--     of their previous purchases (at least 3, the last 20), in USD
--   bot_velocity: a user with more than bot.events.per.minute (default 60) events in a minute
-- upstream: int_events__clean
CREATE TEMPORARY VIEW agg_event_anomalies AS
SELECT
    CAST(event_time AS TIMESTAMP(3)) AS window_start,
    'order_total' AS kind,
    'total_amount_usd' AS kpi,
    CONCAT('customer:', user_id) AS segment,
    observed,
    expected,
    CAST(0 AS DOUBLE) AS band_low,
    ${ANOMALY_ORDER_FACTOR} * expected AS band_high,
    observed / expected AS score,
    'spike' AS direction,
    CONCAT('order ', COALESCE(transaction_id, event_id), ' of ', user_id, ' totals ',
        CAST(ROUND(observed, 2) AS STRING), ' USD, ', CAST(ROUND(observed / expected, 1) AS STRING),
        ' times their mean of ', CAST(ROUND(expected, 2) AS STRING), ' over ',
        CAST(history AS STRING), ' earlier orders') AS explanation
FROM (
    SELECT
        event_time,
        event_id,
        transaction_id,
        user_id,
        observed,
        history,
        (total - observed) / history AS expected
    FROM (
        SELECT
            event_time,
            event_id,
            transaction_id,
            user_id,
            CAST(total_amount_usd AS DOUBLE) AS observed,
            COUNT(*) OVER w - 1 AS history,
            SUM(CAST(total_amount_usd AS DOUBLE)) OVER w AS total
        FROM int_events__clean
        WHERE event_type = 'purchase' AND total_amount_usd IS NOT NULL AND user_id IS NOT NULL
        WINDOW w AS (PARTITION BY user_id ORDER BY event_time
            ROWS BETWEEN 20 PRECEDING AND CURRENT ROW)
    )
    WHERE history >= 3
)
WHERE expected > 0 AND observed > ${ANOMALY_ORDER_FACTOR} * expected
UNION ALL
SELECT
    CAST(window_start AS TIMESTAMP(3)) AS window_start,
    'bot_velocity' AS kind,
    'events_per_minute' AS kpi,
    CONCAT('user:', user_id) AS segment,
    CAST(events AS DOUBLE) AS observed,
    CAST(${ANOMALY_BOT_EVENTS} AS DOUBLE) AS expected,
    CAST(0 AS DOUBLE) AS band_low,
    CAST(${ANOMALY_BOT_EVENTS} AS DOUBLE) AS band_high,
    CAST(events AS DOUBLE) / ${ANOMALY_BOT_EVENTS} AS score,
    'spike' AS direction,
    CONCAT(user_id, ' sent ', CAST(events AS STRING), ' events in a minute (limit ',
        CAST(${ANOMALY_BOT_EVENTS} AS STRING), '): bot-like velocity') AS explanation
FROM (
    SELECT window_start, user_id, COUNT(*) AS events
    FROM TABLE(TUMBLE(TABLE int_events__clean, DESCRIPTOR(event_time), INTERVAL '1' MINUTE))
    WHERE user_id IS NOT NULL
    GROUP BY window_start, window_end, user_id
)
WHERE events > ${ANOMALY_BOT_EVENTS}
