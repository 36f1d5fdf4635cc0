-- switched_on(name STRING) -> BOOLEAN: whether the optional step `name` is on (job parameter
-- ecomflow.switch.<name>, set from the CleanStream switches). Read at run time so that turning a
-- step on or off keeps the plan, and its state, unchanged: an upgrade can restore a savepoint
-- taken with the other setting. Java (SwitchedOn.java).
CREATE TEMPORARY SYSTEM FUNCTION IF NOT EXISTS switched_on
AS 'dev.ecomflow.udf.SwitchedOn' LANGUAGE JAVA
