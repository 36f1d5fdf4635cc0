-- snk_lake__dead_letter: the lake's `dead_letter/` dataset: every rejected record, payload as
-- received, with its reason code (docs/clean-stream.md), the field concerned and a detail;
-- partitioned by the day it arrived (UTC). It holds raw data: see the README's privacy notes.
CREATE TABLE snk_lake__dead_letter (
    payload STRING,
    reason STRING,
    field STRING,
    detail STRING,
    received_at TIMESTAMP(3),
    dt STRING
) PARTITIONED BY (dt) WITH (
${LAKE_DEAD_LETTER_OPTIONS}
)
