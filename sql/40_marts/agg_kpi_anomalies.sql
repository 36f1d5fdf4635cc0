-- agg_kpi_anomalies: a KPI minute far from its own recent history.
-- grain: one row per flagged (window_start, kpi, segment)
-- baseline: the same KPI and segment over the previous Anomalies baseline.minutes (default 60),
--   current minute excluded: mean and population standard deviation of the minutes with data
-- flag when: |kpi_value - mean| >= z.threshold (default 4) standard deviations, and guards hold:
--   at least warmup.minutes (default 30) earlier minutes in the baseline (warm-up), the
--   minute's volume >= min.volume events (default 20), and a baseline that varies (std > 0)
-- upstream: agg_kpis_minute (OVER aggregation on window_time: append-only, in event time)
CREATE TEMPORARY VIEW agg_kpi_anomalies AS
SELECT
    window_start,
    'kpi' AS kind,
    kpi,
    segment,
    kpi_value AS observed,
    expected,
    expected - ${ANOMALY_Z} * deviation AS band_low,
    expected + ${ANOMALY_Z} * deviation AS band_high,
    (kpi_value - expected) / deviation AS score,
    CASE WHEN kpi_value > expected THEN 'spike' ELSE 'drop' END AS direction,
    CONCAT(kpi, ' (', segment, ') ', CASE WHEN kpi_value > expected THEN 'spiked' ELSE 'dropped' END,
        ' to ', CAST(ROUND(kpi_value, 2) AS STRING), ' against ', CAST(ROUND(expected, 2) AS STRING),
        ' +/- ', CAST(ROUND(deviation, 2) AS STRING), ' over the previous ',
        CAST(history AS STRING), ' minutes') AS explanation
FROM (
    SELECT
        window_start,
        kpi,
        segment,
        kpi_value,
        volume,
        history,
        (total - kpi_value) / history AS expected,
        SQRT(GREATEST((squares - kpi_value * kpi_value) / history
            - POWER((total - kpi_value) / history, 2), 0)) AS deviation
    FROM (
        SELECT
            window_start,
            kpi,
            segment,
            kpi_value,
            volume,
            COUNT(*) OVER w - 1 AS history,
            SUM(kpi_value) OVER w AS total,
            SUM(kpi_value * kpi_value) OVER w AS squares
        FROM agg_kpis_minute
        WINDOW w AS (
            PARTITION BY kpi, segment ORDER BY window_time
            RANGE BETWEEN INTERVAL '${ANOMALY_BASELINE_MINUTES}' MINUTE PRECEDING AND CURRENT ROW)
    )
    WHERE history >= ${ANOMALY_WARMUP_MINUTES} AND volume >= ${ANOMALY_MIN_VOLUME}
)
WHERE deviation > 1e-9 AND ABS(kpi_value - expected) >= ${ANOMALY_Z} * deviation
