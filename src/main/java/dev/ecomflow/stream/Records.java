package dev.ecomflow.stream;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Instant;
import java.time.LocalDateTime;

import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.typeutils.RowTypeInfo;
import org.apache.flink.table.api.DataTypes;
import org.apache.flink.table.api.Schema;
import org.apache.flink.table.types.DataType;
import org.apache.flink.types.Row;

/**
 * The row every record of the stream becomes in the clean stream's head, and the table the SQL
 * reads it as: {@code int_stream__records} (sql/30_intermediate, over the Java head's
 * {@code java_stream__records}; see CleanStream). One layout, declared once: the
 * Java steps address fields by these indices, the table gets these names and types.
 *
 * <p>{@code outcome} says where the record ends: dead_letter, late, duplicate, forgotten,
 * control or on_time. The enrichment fields are set for on_time records only. Values every
 * reader needs are computed here once per record (money as DECIMAL(18, 2), amounts in USD, the
 * event time as text): in SQL each reader of a view would compute them again.
 */
public final class Records {

    private Records() {}

    public static final int PAYLOAD = 0, EVENT_TIME = 1, EVENT_ID = 2, EVENT_TYPE = 3,
            USER_ID = 4, CUSTOMER_ID = 5, SESSION_ID = 6, PAGE_URL = 7, REFERRER = 8,
            USER_AGENT = 9, DEVICE_TYPE = 10, PRODUCT_ID = 11, PRODUCT_NAME = 12,
            CATEGORY = 13, BRAND = 14, PRICE = 15, QUANTITY = 16, TRANSACTION_ID = 17,
            TOTAL_AMOUNT = 18, CURRENCY = 19, PAYMENT_METHOD = 20, SHIPPING_COUNTRY = 21,
            EVENT_COUNTRY = 22, ITEMS_JSON = 23, REASON = 24, FIELD = 25, DETAIL = 26,
            OUTCOME = 27, ARRIVAL_WATERMARK = 28, ACCOUNTING_TIME = 29, RECEIVED_AT = 30,
            UA_DEVICE_CLASS = 31, UA_BROWSER = 32, UA_OS = 33, CATALOG_PRODUCT_NAME = 34,
            CATALOG_CATEGORY = 35, CATALOG_BRAND = 36, CATALOG_PRICE = 37,
            CATALOG_CURRENCY = 38, FX_RATE_TO_USD = 39, PRICE_USD = 40, TOTAL_AMOUNT_USD = 41,
            EVENT_TIME_TEXT = 42;

    public static final String DEAD_LETTER = "dead_letter", LATE = "late",
            DUPLICATE = "duplicate", FORGOTTEN = "forgotten", CONTROL = "control",
            ON_TIME = "on_time";
    /** Accepted by the contract, before deduplication decides between the last four. */
    static final String ACCEPTED = "accepted";

    private static final String[] NAMES = {
        "payload", "event_time", "event_id", "event_type", "user_id", "customer_id",
        "session_id", "page_url", "referrer", "user_agent", "device_type", "product_id",
        "product_name", "category", "brand", "price", "quantity", "transaction_id",
        "total_amount", "currency", "payment_method", "shipping_country", "event_country",
        "items_json", "reason", "field", "detail", "outcome", "arrival_watermark",
        "accounting_time", "received_at", "ua_device_class", "ua_browser", "ua_os",
        "catalog_product_name", "catalog_category", "catalog_brand", "catalog_price",
        "catalog_currency", "fx_rate_to_usd", "price_usd", "total_amount_usd", "event_time_text"
    };

    /** The column types of the table (and, bridged, of the fields {@link TextAsBytes} hands
     * it). */
    private static DataType[] dataTypes() {
        DataType[] types = new DataType[NAMES.length];
        for (int i = 0; i < types.length; i++) {
            // Text reaches the table as its UTF-8 bytes, which Flink's strings wrap as they
            // are; from a String, every reader would encode it again (see TextAsBytes).
            types[i] = DataTypes.STRING().bridgedTo(byte[].class);
        }
        types[EVENT_TIME] = DataTypes.TIMESTAMP_LTZ(3).bridgedTo(Instant.class);
        types[ARRIVAL_WATERMARK] = DataTypes.TIMESTAMP_LTZ(3).bridgedTo(Instant.class);
        types[ACCOUNTING_TIME] = DataTypes.TIMESTAMP_LTZ(3).notNull().bridgedTo(Instant.class);
        types[RECEIVED_AT] = DataTypes.TIMESTAMP(3).bridgedTo(LocalDateTime.class);
        types[QUANTITY] = DataTypes.INT();
        for (int money : new int[] {PRICE, TOTAL_AMOUNT, CATALOG_PRICE, PRICE_USD,
                TOTAL_AMOUNT_USD}) {
            types[money] = DataTypes.DECIMAL(18, 2).bridgedTo(BigDecimal.class);
        }
        types[FX_RATE_TO_USD] = DataTypes.DECIMAL(18, 8).bridgedTo(BigDecimal.class);
        return types;
    }

    /** The DataStream type of the records in the Java steps (named fields). */
    public static RowTypeInfo typeInfo() {
        return typeInfo(Types.STRING);
    }

    /** The DataStream type the table is made from: text as UTF-8 bytes ({@link TextAsBytes}). */
    public static RowTypeInfo tableTypeInfo() {
        return typeInfo(PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO);
    }

    /** Whether field `index` is text (a String in the Java steps). */
    static boolean isText(int index) {
        return Types.STRING.equals(typeInfo().getTypeAt(index));
    }

    private static RowTypeInfo typeInfo(TypeInformation<?> text) {
        TypeInformation<?>[] types = new TypeInformation<?>[NAMES.length];
        for (int i = 0; i < types.length; i++) {
            types[i] = text;
        }
        // UTF-8 bytes in the Java steps: a byte array crosses a shuffle as one copy, a long
        // String character by character.
        types[PAYLOAD] = PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO;
        types[EVENT_TIME] = Types.INSTANT;
        types[ARRIVAL_WATERMARK] = Types.INSTANT;
        types[ACCOUNTING_TIME] = Types.INSTANT;
        types[RECEIVED_AT] = Types.LOCAL_DATE_TIME;
        types[QUANTITY] = Types.INT;
        for (int decimal : new int[] {PRICE, TOTAL_AMOUNT, CATALOG_PRICE, PRICE_USD,
                TOTAL_AMOUNT_USD, FX_RATE_TO_USD}) {
            types[decimal] = Types.BIG_DEC;
        }
        return new RowTypeInfo(types, NAMES.clone());
    }

    /**
     * The table's schema: every field with its SQL type, accounting_time as the rowtime with
     * the stream's own watermark (the head's: accepted event times minus the delay).
     */
    public static Schema schema() {
        DataType[] types = dataTypes();
        Schema.Builder builder = Schema.newBuilder();
        for (int i = 0; i < NAMES.length; i++) {
            builder.column(NAMES[i], types[i]);
        }
        return builder.watermark(NAMES[ACCOUNTING_TIME], "SOURCE_WATERMARK()").build();
    }

    /** Money as DECIMAL(18, 2), the way Flink's CAST(DOUBLE AS DECIMAL(18, 2)) rounds it. */
    static BigDecimal money(Object value) {
        if (value == null) {
            return null;
        }
        BigDecimal money = BigDecimal.valueOf((Double) value).setScale(2, RoundingMode.HALF_UP);
        return money.precision() > 18 ? null : money;
    }

    static Row empty() {
        return new Row(NAMES.length);
    }

    static String outcome(Row row) {
        return (String) row.getField(OUTCOME);
    }
}
