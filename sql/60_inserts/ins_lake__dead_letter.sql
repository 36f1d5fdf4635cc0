-- ins_lake__dead_letter: rejected records (contract and enrichment) into the lake's dead letter,
-- by arrival day (UTC).
INSERT INTO snk_lake__dead_letter
SELECT payload, reason, field, detail, received_at,
    DATE_FORMAT(received_at, 'yyyy-MM-dd') AS dt
FROM int_stream__dead_letters
UNION ALL
SELECT payload, reason, field, detail, received_at,
    DATE_FORMAT(received_at, 'yyyy-MM-dd') AS dt
FROM int_events__fx_dead_letters
