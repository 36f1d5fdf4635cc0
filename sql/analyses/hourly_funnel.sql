-- The design's "Funnel de conversión por hora" for one day, from the job's hourly funnel.
-- Runs on PostgreSQL and Redshift. :day is the date (the design: 2025-07-16).
SELECT
    EXTRACT(hour FROM window_start) AS hour,
    page_views,
    add_to_cart,
    purchases,
    conversion_rate
FROM funnel_hourly
WHERE CAST(window_start AS DATE) = CAST(%(day)s AS DATE)
ORDER BY hour
