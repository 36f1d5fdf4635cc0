-- event_time_of(payload STRING[, max_future_seconds INT]) -> TIMESTAMP_LTZ(3): the payload's
-- top-level ISO 8601 `timestamp` with zone (catalog records: `updated_at`); NULL when missing,
-- unparseable or more than max_future_seconds ahead of now. Java, in the uber-jar
-- (src/main/java/dev/ecomflow/udf/EventTimeOf.java).
CREATE TEMPORARY SYSTEM FUNCTION IF NOT EXISTS event_time_of
AS 'dev.ecomflow.udf.EventTimeOf' LANGUAGE JAVA
