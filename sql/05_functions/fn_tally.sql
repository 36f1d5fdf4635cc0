-- tally(outcome STRING, delta INT) -> TRUE: adds delta to the Flink counter `outcome` (metric
-- group kinesisanalytics.ecomflow, forwarded to CloudWatch on MSF). Used as the last conjunct of
-- a WHERE clause, so it counts exactly the rows the view lets through. Java (Tally.java).
CREATE TEMPORARY SYSTEM FUNCTION IF NOT EXISTS tally
AS 'dev.ecomflow.udf.Tally' LANGUAGE JAVA
