-- utf8_text(payload STRING) -> STRING: the record as valid UTF-8 text, invalid byte sequences
-- replaced by U+FFFD (the `raw` format passes bytes through unchecked, and the Python contract
-- check decodes strictly: one Latin-1 record would fail the job). Java (Utf8Text.java).
CREATE TEMPORARY SYSTEM FUNCTION IF NOT EXISTS utf8_text
AS 'dev.ecomflow.udf.Utf8Text' LANGUAGE JAVA
