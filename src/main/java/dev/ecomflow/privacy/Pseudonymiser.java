package dev.ecomflow.privacy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;

/**
 * A payload with its personal fields replaced, and the envelope and per-type fields read from
 * the result, in one pass from parser to generator: the job's head runs this once per record.
 *
 * <p>The rules are those of the Python reference, {@code ecomflow/privacy.py}, which documents
 * them exactly; {@link PrivacyRules} reads them from {@code PrivacyRules.spec()}. In short:
 * values under a hash field become hex HMAC-SHA-256(key, text) (a number's text as written);
 * under a region field their first N characters; under a URL field the string loses the named
 * query parameters. The top-level user_id of a control event is already the hash and is kept.
 * Numbers elsewhere are copied as their text, so nothing is rounded.
 *
 * <p>The fields ({@link #FIELDS}) are read from what is written, as a reader of the private
 * payload would see them: text fields as text (a number or boolean as written, objects and
 * arrays as NULL), price and total_amount as DOUBLE, quantity as an INT (integral floats
 * included, NULL when it does not fit), shipping_address.country, and items as JSON text. A
 * field given twice keeps its last value, as a JSON object read into a map does.
 *
 * <p>Not thread-safe: one instance per task.
 */
public final class Pseudonymiser {

    /** The fields read from the payload, in the order of {@link Result#fields}. */
    public static final String[] FIELDS = {
        "event_id", "event_type", "timestamp", "user_id", "customer_id", "session_id",
        "page_url", "referrer", "user_agent", "device_type", "product_id", "category", "price",
        "quantity", "transaction_id", "total_amount", "currency", "payment_method",
        "shipping_country", "items_json", "country", "name", "brand", "product_name"
    };
    public static final int EVENT_ID = 0, EVENT_TYPE = 1, TIMESTAMP = 2, USER_ID = 3,
            CUSTOMER_ID = 4, SESSION_ID = 5, PAGE_URL = 6, REFERRER = 7, USER_AGENT = 8,
            DEVICE_TYPE = 9, PRODUCT_ID = 10, CATEGORY = 11, PRICE = 12, QUANTITY = 13,
            TRANSACTION_ID = 14, TOTAL_AMOUNT = 15, CURRENCY = 16, PAYMENT_METHOD = 17,
            SHIPPING_COUNTRY = 18, ITEMS_JSON = 19, COUNTRY = 20, NAME = 21, BRAND = 22,
            PRODUCT_NAME = 23;
    /** Top-level names in the payload, where they differ from the field names. */
    private static final String SHIPPING_ADDRESS = "shipping_address", ITEMS = "items";

    private static final char[] HEX = "0123456789abcdef".toCharArray();

    // As lenient as the contract's reader: what it accepted is read again here.
    private final JsonFactory factory = JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxNumberLength(Integer.MAX_VALUE)
                    .maxNameLength(Integer.MAX_VALUE)
                    .maxStringLength(Integer.MAX_VALUE)
                    .build())
            .build();
    private final Output buffer = new Output();
    private final PrivacyRules rules;
    private final Mac mac;
    private final boolean rewrite;

    /** Reads the fields only; the payload stays as it is (pseudonymisation switched off). */
    public static Pseudonymiser readOnly() {
        return new Pseudonymiser(null, null);
    }

    /** Pseudonymises with `key` (never logged or shown) by the rules of `spec`. */
    public Pseudonymiser(String key, String spec) {
        this.rewrite = key != null;
        this.rules = rewrite ? PrivacyRules.parse(spec) : PrivacyRules.none();
        this.mac = rewrite ? newMac(key) : null;
    }

    /** The private payload (UTF-8; NULL when nothing is rewritten) and its fields. */
    public static final class Result {
        public final byte[] payload;
        public final Object[] fields;

        Result(byte[] payload, Object[] fields) {
            this.payload = payload;
            this.fields = fields;
        }
    }

    /**
     * `payload` (UTF-8 JSON) pseudonymised, with its fields; NULL when it is not one JSON
     * object. `control`: whether the record is a control event (its top-level user_id is kept).
     */
    public Result apply(byte[] payload, boolean control) {
        if (payload == null) {
            return null;
        }
        Object[] fields = new Object[FIELDS.length];
        buffer.reset();
        try (JsonParser parser = factory.createParser(payload);
                JsonGenerator generator = factory.createGenerator(buffer, JsonEncoding.UTF8)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                return null;
            }
            generator.writeStartObject();
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
                String name = parser.currentName();
                generator.writeFieldName(name);
                parser.nextToken();
                int mode = control && "user_id".equals(name) ? PrivacyRules.NONE
                        : rules.modeOf(name);
                topLevel(name, mode, parser, generator, fields);
            }
            generator.writeEndObject();
            if (parser.nextToken() != null) {
                return null; // trailing text: not one JSON object
            }
        } catch (IOException e) {
            return null;
        }
        return new Result(rewrite ? buffer.toByteArray() : null, fields);
    }

    /** One top-level value: written by its rule, and read into its field when it has one. */
    private void topLevel(String name, int mode, JsonParser parser, JsonGenerator generator,
            Object[] fields) throws IOException {
        int index = indexOf(name);
        JsonToken token = parser.currentToken();
        if (ITEMS.equals(name)) {
            if (token == JsonToken.START_ARRAY) {
                generator.flush();
                int start = buffer.size();
                copy(parser, generator, mode);
                generator.flush();
                // The generator writes the name's ':' with the value: the array follows it.
                byte[] written = buffer.array();
                while (start < buffer.size() && written[start] != '[') {
                    start++;
                }
                fields[ITEMS_JSON] = new String(written, start, buffer.size() - start,
                        StandardCharsets.UTF_8);
            } else {
                copy(parser, generator, mode);
                fields[ITEMS_JSON] = null;
            }
            return;
        }
        if (SHIPPING_ADDRESS.equals(name)) {
            fields[SHIPPING_COUNTRY] = token == JsonToken.START_OBJECT
                    ? copyAddress(parser, generator, mode) : copyIgnoring(parser, generator, mode);
            return;
        }
        if (index < 0 || token == JsonToken.START_OBJECT || token == JsonToken.START_ARRAY) {
            copy(parser, generator, mode);
            if (index >= 0) {
                fields[index] = null; // an object or array where a scalar belongs
            }
            return;
        }
        fields[index] = writeScalar(parser, generator, mode, index);
    }

    private Object copyIgnoring(JsonParser parser, JsonGenerator generator, int mode)
            throws IOException {
        copy(parser, generator, mode);
        return null;
    }

    /** shipping_address, copied; its `country` as written (the last one, if repeated). */
    private String copyAddress(JsonParser parser, JsonGenerator generator, int mode)
            throws IOException {
        String country = null;
        generator.writeStartObject();
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
            String name = parser.currentName();
            generator.writeFieldName(name);
            JsonToken token = parser.nextToken();
            int child = mode != PrivacyRules.NONE ? mode : rules.modeOf(name);
            if ("country".equals(name)) {
                if (token.isScalarValue()) {
                    Object value = writeScalar(parser, generator, child, COUNTRY);
                    country = value == null ? null : value.toString();
                } else {
                    copy(parser, generator, child);
                    country = null;
                }
            } else {
                copy(parser, generator, child);
            }
        }
        generator.writeEndObject();
        return country;
    }

    /**
     * Writes the scalar at the parser by `mode` and returns field `index`'s value as a reader
     * of the written JSON would: text, a DOUBLE (price, total_amount), an INT (quantity).
     */
    private Object writeScalar(JsonParser parser, JsonGenerator generator, int mode, int index)
            throws IOException {
        JsonToken token = parser.currentToken();
        switch (token) {
            case VALUE_STRING: {
                String text = scalar(parser.getText(), mode, false);
                generator.writeString(text);
                return index == PRICE || index == TOTAL_AMOUNT || index == QUANTITY ? null : text;
            }
            case VALUE_NUMBER_INT:
            case VALUE_NUMBER_FLOAT: {
                String text = parser.getText();
                if (mode == PrivacyRules.HASH || mode == PrivacyRules.REGION) {
                    String written = scalar(text, mode, true);
                    generator.writeString(written);
                    return index == PRICE || index == TOTAL_AMOUNT || index == QUANTITY
                            ? null : written;
                }
                generator.writeNumber(text); // the text as written
                if (index == PRICE || index == TOTAL_AMOUNT) {
                    return parser.getDoubleValue();
                }
                if (index == QUANTITY) {
                    return quantity(parser, token);
                }
                return text;
            }
            case VALUE_TRUE:
            case VALUE_FALSE:
                generator.writeBoolean(token == JsonToken.VALUE_TRUE);
                return index == PRICE || index == TOTAL_AMOUNT || index == QUANTITY
                        ? null : (token == JsonToken.VALUE_TRUE ? "true" : "false");
            case VALUE_NULL:
                generator.writeNull();
                return null;
            default:
                throw new IOException("unexpected token " + token);
        }
    }

    /** An INT quantity; integral numbers written as 2.0 or 1e7 count (JSON Schema integers). */
    private static Integer quantity(JsonParser parser, JsonToken token) throws IOException {
        if (token == JsonToken.VALUE_NUMBER_INT) {
            return parser.getNumberType() == JsonParser.NumberType.INT ? parser.getIntValue()
                    : null;
        }
        double value = parser.getDoubleValue();
        return value == Math.rint(value) && Math.abs(value) <= Integer.MAX_VALUE
                ? (int) value : null;
    }

    private static int indexOf(String name) {
        for (int i = 0; i < FIELDS.length; i++) {
            if (FIELDS[i].equals(name)) {
                return i == SHIPPING_COUNTRY || i == ITEMS_JSON ? -1 : i;
            }
        }
        return -1;
    }

    /** Copies the value at the parser's current token, applying `mode` to its scalars. */
    private void copy(JsonParser parser, JsonGenerator generator, int mode) throws IOException {
        JsonToken token = parser.currentToken();
        if (token == null) {
            throw new IOException("truncated");
        }
        switch (token) {
            case START_OBJECT:
                generator.writeStartObject();
                while (parser.nextToken() == JsonToken.FIELD_NAME) {
                    String name = parser.currentName();
                    generator.writeFieldName(name);
                    parser.nextToken();
                    copy(parser, generator, mode != PrivacyRules.NONE ? mode : rules.modeOf(name));
                }
                generator.writeEndObject();
                break;
            case START_ARRAY:
                generator.writeStartArray();
                while (parser.nextToken() != JsonToken.END_ARRAY) {
                    copy(parser, generator, mode);
                }
                generator.writeEndArray();
                break;
            default:
                writeScalar(parser, generator, mode, -1);
        }
    }

    private String scalar(String text, int mode, boolean number) {
        switch (mode) {
            case PrivacyRules.HASH:
                return hash(text);
            case PrivacyRules.REGION:
                return prefix(text, rules.regionChars);
            case PrivacyRules.URL:
                return number ? text : PrivacyRules.stripQuery(text, rules.stripParams);
            default:
                return text;
        }
    }

    /** Hex HMAC-SHA-256 of `text` (UTF-8) under the key. */
    public String hash(String text) {
        byte[] digest = mac.doFinal(text.getBytes(StandardCharsets.UTF_8));
        char[] hex = new char[digest.length * 2];
        for (int i = 0; i < digest.length; i++) {
            hex[2 * i] = HEX[(digest[i] >> 4) & 0xF];
            hex[2 * i + 1] = HEX[digest[i] & 0xF];
        }
        return new String(hex);
    }

    /** The first `chars` Unicode characters (code points, as Python counts them). */
    static String prefix(String text, int chars) {
        if (text.codePointCount(0, text.length()) <= chars) {
            return text;
        }
        return text.substring(0, text.offsetByCodePoints(0, chars));
    }

    /** A reusable output buffer that shows what it holds. */
    private static final class Output extends ByteArrayOutputStream {
        Output() {
            super(1024);
        }

        byte[] array() {
            return buf;
        }
    }

    private static Mac newMac(String key) {
        try {
            Mac created = Mac.getInstance("HmacSHA256");
            created.init(new SecretKeySpec(key.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
            return created;
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new IllegalArgumentException("pseudonymise: unusable hash key (empty?)", e);
        }
    }
}
