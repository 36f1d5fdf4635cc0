-- snk_lake__dead_letter: the lake's `dead_letter/` dataset, raw payloads that did not parse,
-- partitioned by the day they arrived (UTC).
CREATE TABLE snk_lake__dead_letter (
    payload STRING,
    reason STRING,
    received_at TIMESTAMP(3),
    dt STRING
) PARTITIONED BY (dt) WITH (
${LAKE_DEAD_LETTER_OPTIONS}
)
