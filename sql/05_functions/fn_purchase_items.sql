-- purchase_items(items_json STRING) -> TABLE(product_id STRING, quantity INT,
-- unit_price DECIMAL(18, 2)): one row per item of a purchase, each item read once (JSON_VALUE
-- read an item once per field it was asked for). Java (PurchaseItems.java).
CREATE TEMPORARY SYSTEM FUNCTION IF NOT EXISTS purchase_items
AS 'dev.ecomflow.udf.PurchaseItems' LANGUAGE JAVA
