-- int_stream__outcomes: one tagged row per record per stage it passed, for the accounting.
-- grain: one row per (record, stage); event time: accounting_time
-- upstream: int_stream__records, int_stream__dead_letters, int_stream__late_events,
--   int_events__accepted, int_events__unique, int_events__fx_dead_letters
-- records_in = dead letters + late + accepted, and accepted = duplicates + unique, where unique
-- holds the valid events, the erased users' events (event_type 'forgotten', set by the erasure
-- step) and the erasure requests (control); counting these stages per window gives every term of
-- records_in = valid + dead_letter + duplicates + late + forgotten + control.
-- The live counters (fn_tally) are kept here, where each row passes exactly once: the two
-- aggregates reading this view share it.
CREATE TEMPORARY VIEW int_stream__outcomes AS
SELECT accounting_time, 'received' AS stage, CAST(NULL AS STRING) AS reason
FROM int_stream__records
WHERE tally('records_in', 1)
UNION ALL
SELECT accounting_time, 'dead_letter' AS stage, reason
FROM int_stream__dead_letters
WHERE tally('dead_letter', 1)
UNION ALL
SELECT accounting_time, 'late' AS stage, CAST(NULL AS STRING) AS reason
FROM int_stream__late_events
WHERE tally('late', 1)
UNION ALL
SELECT event_time AS accounting_time, 'accepted' AS stage, CAST(NULL AS STRING) AS reason
FROM int_events__accepted
WHERE tally('duplicates', 1)
UNION ALL
SELECT event_time AS accounting_time, stage, CAST(NULL AS STRING) AS reason
FROM (
    SELECT
        event_time,
        CASE event_type
            WHEN 'forgotten' THEN 'forgotten'
            WHEN 'erasure_request' THEN 'control'
            ELSE 'unique'
        END AS stage
    FROM int_events__unique
)
WHERE tally('duplicates', -1) AND tally(CASE stage WHEN 'unique' THEN 'valid' ELSE stage END, 1)
UNION ALL
SELECT accounting_time, 'dead_letter' AS stage, reason
FROM int_events__fx_dead_letters
WHERE tally('valid', -1) AND tally('dead_letter', 1)
