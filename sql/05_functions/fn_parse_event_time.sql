-- parse_event_time(STRING) -> TIMESTAMP_LTZ(3): ISO 8601 with zone, NULL when unparseable.
-- Java (src/main/java/dev/ecomflow/udf/ParseEventTime.java), shipped in the uber-jar.
CREATE TEMPORARY SYSTEM FUNCTION IF NOT EXISTS parse_event_time
AS 'dev.ecomflow.udf.ParseEventTime' LANGUAGE JAVA
