-- ins_warehouse__anomalies: KPI and per-event anomaly flags into the warehouse.
INSERT INTO snk_warehouse__anomalies
SELECT
    CAST(window_start AS TIMESTAMP(3)), kind, kpi, segment, observed, expected, band_low,
    band_high, score, direction, explanation, CAST(CURRENT_TIMESTAMP AS TIMESTAMP(3))
FROM agg_kpi_anomalies
UNION ALL
SELECT
    window_start, kind, kpi, segment, observed, expected, band_low, band_high, score, direction,
    explanation, CAST(CURRENT_TIMESTAMP AS TIMESTAMP(3))
FROM agg_event_anomalies
