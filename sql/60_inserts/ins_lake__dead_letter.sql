-- ins_lake__dead_letter: unparsed records into the lake's dead letter, by arrival day (UTC).
INSERT INTO snk_lake__dead_letter
SELECT
    payload,
    reason,
    received_at,
    DATE_FORMAT(received_at, 'yyyy-MM-dd') AS dt
FROM stg_stream__unparsed_events
