-- snk_lake__dead_letter: the lake's `dead_letter` table: every rejected record, payload as
-- received, with its reason code (docs/clean-stream.md), the field concerned and a detail;
-- partitioned by the hour it arrived (UTC). It holds raw data: see the README's privacy notes.
CREATE TABLE snk_lake__dead_letter (
    payload STRING,
    reason STRING,
    field STRING,
    detail STRING,
    received_at TIMESTAMP(3)
) WITH (
${LAKE_DEAD_LETTER_OPTIONS}
)
