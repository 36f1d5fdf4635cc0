-- event_time_of(payload STRING) -> TIMESTAMP_LTZ(3): the payload's top-level ISO 8601
-- `timestamp` with zone; NULL when missing or unparseable. Java, in the uber-jar
-- (src/main/java/dev/ecomflow/udf/EventTimeOf.java).
CREATE TEMPORARY SYSTEM FUNCTION IF NOT EXISTS event_time_of
AS 'dev.ecomflow.udf.EventTimeOf' LANGUAGE JAVA
