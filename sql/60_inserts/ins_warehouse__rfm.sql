-- ins_warehouse__rfm: every purchase's update of its customer's RFM values.
INSERT INTO snk_warehouse__rfm
SELECT customer_id, CAST(last_purchase AS TIMESTAMP(3)), frequency, monetary_usd,
    CAST(CURRENT_TIMESTAMP AS TIMESTAMP(3))
FROM agg_rfm
