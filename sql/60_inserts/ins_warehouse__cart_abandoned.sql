-- ins_warehouse__cart_abandoned: one row per abandoned cart (a drop-off, in real time).
INSERT INTO snk_warehouse__cart_abandoned
SELECT
    user_id,
    CAST(cart_value_usd AS DECIMAL(18, 2)),
    items,
    CAST(first_added_at AS TIMESTAMP(3)),
    CAST(last_change_at AS TIMESTAMP(3)),
    CAST(abandoned_at AS TIMESTAMP(3)),
    CAST(CURRENT_TIMESTAMP AS TIMESTAMP(3)) AS loaded_at
FROM int_carts__abandoned
