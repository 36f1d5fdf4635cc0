-- snk_warehouse__anomalies: the warehouse's append-only `anomalies_log`; the view `anomalies`
-- keeps the newest delivery per (window_start, kind, kpi, segment).
CREATE TABLE snk_warehouse__anomalies (
    window_start TIMESTAMP(3),
    kind STRING,
    kpi STRING,
    segment STRING,
    observed DOUBLE,
    expected DOUBLE,
    band_low DOUBLE,
    band_high DOUBLE,
    score DOUBLE,
    direction STRING,
    explanation STRING,
    loaded_at TIMESTAMP(3)
) WITH (
${WAREHOUSE_ANOMALIES_OPTIONS}
)
