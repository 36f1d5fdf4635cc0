-- utf8_problem(payload STRING) -> STRING: why the record is not valid UTF-8 (the detail of its
-- not_json dead letter), NULL when it is. Java (Utf8Text.java).
CREATE TEMPORARY SYSTEM FUNCTION IF NOT EXISTS utf8_problem
AS 'dev.ecomflow.udf.Utf8Text$Problem' LANGUAGE JAVA
