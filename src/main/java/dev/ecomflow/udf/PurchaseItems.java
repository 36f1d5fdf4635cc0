package dev.ecomflow.udf;

import java.io.IOException;
import java.math.BigDecimal;

import org.apache.flink.table.annotation.DataTypeHint;
import org.apache.flink.table.annotation.FunctionHint;
import org.apache.flink.table.functions.TableFunction;
import org.apache.flink.types.Row;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * PURCHASE_ITEMS(items_json): one row (product_id, quantity, unit_price) per item of a purchase's
 * `items` array, read in one pass.
 *
 * <p>Why not JSON_QUERY and JSON_VALUE in the SQL: they parsed the array once and then each item
 * five times (Jayway JsonPath, once per JSON_VALUE), in each of the four plans that read the
 * items. This reads it once per plan, and gives the same values as those expressions did:
 *
 * <ul>
 *   <li>product_id: the item's scalar as text (a string as it is; a number or boolean as Java
 *       writes it), NULL when absent, null, an object or an array;
 *   <li>quantity: the value read as a DOUBLE and cast to INT (an integral quantity may be written
 *       2.0 or 1e7, both valid JSON Schema integers), NULL when it is not a number;
 *   <li>unit_price: `unit_price`, else `price` (the contract wants one), as DECIMAL(18, 2) rounded
 *       half up from the number as Java writes it, NULL when neither is a number.
 * </ul>
 *
 * <p>The contract has checked every item before this runs; the rules for other shapes only keep
 * the function total.
 */
@FunctionHint(output = @DataTypeHint(
        "ROW<product_id STRING, quantity INT, unit_price DECIMAL(18, 2)>"))
public class PurchaseItems extends TableFunction<Row> {

    private static final ObjectMapper JSON = new ObjectMapper();

    public void eval(String itemsJson) {
        if (itemsJson == null) {
            return;
        }
        JsonNode items;
        try {
            items = JSON.readTree(itemsJson);
        } catch (IOException notJson) {
            return; // as JSON_QUERY: no array, no items
        }
        if (items == null || !items.isArray()) {
            return;
        }
        for (JsonNode item : items) {
            JsonNode price = item.get("unit_price");
            if (price == null || price.isNull()) {
                price = item.get("price");
            }
            collect(Row.of(text(item.get("product_id")), quantity(item.get("quantity")),
                    decimal(price)));
        }
    }

    /** A scalar as JSON_VALUE returned it: Java's text of the value Jackson read. */
    static String text(JsonNode node) {
        if (node == null || node.isNull() || node.isContainerNode()) {
            return null;
        }
        if (node.isTextual()) {
            return node.textValue();
        }
        if (node.isNumber()) {
            return String.valueOf(node.numberValue());
        }
        return node.asText();
    }

    static Integer quantity(JsonNode node) {
        String text = text(node);
        if (text == null) {
            return null;
        }
        try {
            return (int) Double.parseDouble(text.trim()); // CAST(DOUBLE AS INT) narrows so
        } catch (NumberFormatException notANumber) {
            return null;
        }
    }

    static BigDecimal decimal(JsonNode node) {
        String text = text(node);
        if (text == null) {
            return null;
        }
        try {
            // Flink rounds half up to the column's scale, and gives NULL past its precision
            return new BigDecimal(text.trim());
        } catch (NumberFormatException notANumber) {
            return null;
        }
    }
}
