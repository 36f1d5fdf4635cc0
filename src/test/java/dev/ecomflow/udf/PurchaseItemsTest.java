package dev.ecomflow.udf;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;

import org.apache.flink.api.common.functions.util.ListCollector;
import org.apache.flink.table.data.DecimalData;
import org.apache.flink.types.Row;
import org.junit.jupiter.api.Test;

/**
 * PURCHASE_ITEMS gives what the SQL's JSON_QUERY and JSON_VALUE expressions gave before it: the
 * expected values below are those expressions' results (JSON_VALUE returns Java's text of the
 * value Jackson read; the casts are Flink's).
 */
class PurchaseItemsTest {

    /** The function's rows, unit_price as the DECIMAL(18, 2) column Flink makes of it. */
    private static List<List<Object>> items(String json) {
        List<Row> rows = new ArrayList<>();
        PurchaseItems function = new PurchaseItems();
        function.setCollector(new ListCollector<>(rows));
        function.eval(json);
        List<List<Object>> out = new ArrayList<>();
        for (Row row : rows) {
            BigDecimal price = (BigDecimal) row.getField(2);
            DecimalData column = price == null ? null : DecimalData.fromBigDecimal(price, 18, 2);
            List<Object> values = new ArrayList<>();
            values.add(row.getField(0));
            values.add(row.getField(1));
            values.add(column == null ? null : column.toBigDecimal());
            out.add(values);
        }
        return out;
    }

    private static List<Object> item(String product, Integer quantity, String price) {
        List<Object> values = new ArrayList<>();
        values.add(product);
        values.add(quantity);
        values.add(price == null ? null : new BigDecimal(price));
        return values;
    }

    @Test
    void everyItemOnceInOrder() {
        assertEquals(List.of(item("p1", 2, "12.25"), item("p2", 1, "3.00")),
                items("[{\"product_id\": \"p1\", \"quantity\": 2, \"unit_price\": 12.25},"
                        + " {\"product_id\": \"p2\", \"quantity\": 1, \"price\": 3}]"));
    }

    @Test
    void unitPriceElsePrice() {
        assertEquals(List.of(item("p", 1, "4.50"), item("p", 1, "4.50"), item("p", 1, null)),
                items("[{\"product_id\": \"p\", \"quantity\": 1, \"unit_price\": null,"
                        + " \"price\": 4.5},"
                        + " {\"product_id\": \"p\", \"quantity\": 1, \"unit_price\": 4.5,"
                        + " \"price\": 9},"
                        + " {\"product_id\": \"p\", \"quantity\": 1}]"));
    }

    @Test
    void integralQuantitiesWrittenAsDecimals() {
        assertEquals(List.of(item("p", 2, "1.00"), item("p", 10_000_000, "1.00"),
                        item("p", null, "1.00"), item("p", null, "1.00")),
                items("[{\"product_id\": \"p\", \"quantity\": 2.0, \"price\": 1},"
                        + " {\"product_id\": \"p\", \"quantity\": 1e7, \"price\": 1},"
                        + " {\"product_id\": \"p\", \"price\": 1},"
                        + " {\"product_id\": \"p\", \"quantity\": true, \"price\": 1}]"));
    }

    @Test
    void pricesRoundHalfUpToCentsAndLargeOnesKeepTheirDigits() {
        assertEquals(List.of(item("p", 1, "30.00"), item("p", 1, "0.10"),
                        item("p", 1, "1000000000000000.00"), item("p", 1, "12345678.90")),
                items("[{\"product_id\": \"p\", \"quantity\": 1, \"price\": 29.995},"
                        + " {\"product_id\": \"p\", \"quantity\": 1, \"price\": 0.1},"
                        + " {\"product_id\": \"p\", \"quantity\": 1, \"price\": 1e15},"
                        + " {\"product_id\": \"p\", \"quantity\": 1, \"price\": 12345678.9}]"));
    }

    @Test
    void productIdsAsText() {
        assertEquals(List.of(item("123", 1, "1.00"), item(null, 1, "1.00"),
                        item(null, 1, "1.00"), item(null, 1, "1.00")),
                items("[{\"product_id\": 123, \"quantity\": 1, \"price\": 1},"
                        + " {\"product_id\": {\"id\": 1}, \"quantity\": 1, \"price\": 1},"
                        + " {\"product_id\": null, \"quantity\": 1, \"price\": 1},"
                        + " {\"quantity\": 1, \"price\": 1}]"));
    }

    @Test
    void noArrayNoItems() {
        assertEquals(List.of(), items(null));
        assertEquals(List.of(), items("not json"));
        assertEquals(List.of(), items("{\"product_id\": \"p\"}"));
        assertEquals(List.of(), items("[]"));
    }
}
