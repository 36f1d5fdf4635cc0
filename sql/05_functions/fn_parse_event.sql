-- parse_event(payload STRING) -> ROW<event_id, event_type, timestamp, user_id, ...>: the event
-- envelope and per-type fields in one pass over the JSON; NULL when not a JSON object. Java, in
-- the uber-jar (src/main/java/dev/ecomflow/udf/ParseEvent.java).
CREATE TEMPORARY SYSTEM FUNCTION IF NOT EXISTS parse_event
AS 'dev.ecomflow.udf.ParseEvent' LANGUAGE JAVA
