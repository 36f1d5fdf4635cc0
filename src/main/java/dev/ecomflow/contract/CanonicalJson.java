package dev.ecomflow.contract;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The event id of a record that has none, exactly as {@code flink_jobs.contract.derive_event_id}
 * computes it: SHA-256 over the record's canonical JSON, formatted as an RFC 9562 version 8 UUID.
 *
 * <p>"Canonical" is Python's {@code json.dumps(body, sort_keys=True, separators=(",", ":"),
 * ensure_ascii=False, allow_nan=False)}, reproduced to the byte: keys sorted by code point,
 * Python's string escapes, and floats written as Python's {@code repr} (the shortest decimal that
 * reads back as the same double, in Python's notation), so that a record resent through the
 * producer SDK, the collector or the job always gets the same id.
 */
public final class CanonicalJson {

    private CanonicalJson() {}

    /** Thrown where Python's json.dumps raises: a float that is not finite. */
    public static final class NotCanonical extends Exception {
        private static final long serialVersionUID = 1L;

        NotCanonical(String message) {
            super(message);
        }
    }

    /** The derived id of {@code record} (a JSON object), its own {@code event_id} left out. */
    public static String deriveEventId(JsonNode record) throws NotCanonical {
        StringBuilder out = new StringBuilder(256);
        writeObject(record, out, "event_id");
        byte[] digest;
        try {
            digest = MessageDigest.getInstance("SHA-256")
                    .digest(out.toString().getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JRE", e);
        }
        digest[6] = (byte) ((digest[6] & 0x0F) | 0x80); // version 8
        digest[8] = (byte) ((digest[8] & 0x3F) | 0x80); // RFC 9562 variant
        StringBuilder hex = new StringBuilder(36);
        for (int i = 0; i < 16; i++) {
            if (i == 4 || i == 6 || i == 8 || i == 10) {
                hex.append('-');
            }
            hex.append(Character.forDigit((digest[i] >> 4) & 0xF, 16))
                    .append(Character.forDigit(digest[i] & 0xF, 16));
        }
        return hex.toString();
    }

    private static void write(JsonNode node, StringBuilder out) throws NotCanonical {
        switch (node.getNodeType()) {
            case OBJECT:
                writeObject(node, out, null);
                break;
            case ARRAY:
                out.append('[');
                for (int i = 0; i < node.size(); i++) {
                    if (i > 0) {
                        out.append(',');
                    }
                    write(node.get(i), out);
                }
                out.append(']');
                break;
            case STRING:
                writeString(node.textValue(), out);
                break;
            case NUMBER:
                if (node.isIntegralNumber()) {
                    out.append(node.bigIntegerValue().toString());
                } else {
                    out.append(pythonRepr(node.doubleValue()));
                }
                break;
            case BOOLEAN:
                out.append(node.booleanValue() ? "true" : "false");
                break;
            case NULL:
                out.append("null");
                break;
            default:
                throw new NotCanonical("not a JSON value: " + node.getNodeType());
        }
    }

    private static void writeObject(JsonNode node, StringBuilder out, String skip)
            throws NotCanonical {
        List<Map.Entry<String, JsonNode>> entries = new ArrayList<>(node.size());
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> entry = it.next();
            if (!entry.getKey().equals(skip)) {
                entries.add(entry);
            }
        }
        entries.sort((a, b) -> compareCodePoints(a.getKey(), b.getKey()));
        out.append('{');
        boolean first = true;
        for (Map.Entry<String, JsonNode> entry : entries) {
            if (!first) {
                out.append(',');
            }
            first = false;
            writeString(entry.getKey(), out);
            out.append(':');
            write(entry.getValue(), out);
        }
        out.append('}');
    }

    /** Python compares str by code point; Java's compareTo by UTF-16 unit. */
    static int compareCodePoints(String a, String b) {
        int i = 0;
        int j = 0;
        while (i < a.length() && j < b.length()) {
            int ca = a.codePointAt(i);
            int cb = b.codePointAt(j);
            if (ca != cb) {
                return Integer.compare(ca, cb);
            }
            i += Character.charCount(ca);
            j += Character.charCount(cb);
        }
        return Integer.compare(a.length() - i, b.length() - j);
    }

    /** Python's json string escapes with ensure_ascii=False: only '"', '\\' and C0 controls. */
    static void writeString(String text, StringBuilder out) {
        out.append('"');
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '"': out.append("\\\""); break;
                case '\\': out.append("\\\\"); break;
                case '\n': out.append("\\n"); break;
                case '\r': out.append("\\r"); break;
                case '\t': out.append("\\t"); break;
                case '\b': out.append("\\b"); break;
                case '\f': out.append("\\f"); break;
                default:
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
            }
        }
        out.append('"');
    }

    /**
     * Python's {@code repr(float)}: the shortest decimal that reads back as {@code value} (the
     * closest one when several have that length), fixed notation for decimal exponents from -4
     * up to 16, else {@code d.ddde+XX}.
     */
    public static String pythonRepr(double value) throws NotCanonical {
        if (Double.isNaN(value) || Double.isInfinite(value)) {
            throw new NotCanonical("Out of range float values are not JSON compliant: " + value);
        }
        if (value == 0) {
            return (1 / value < 0) ? "-0.0" : "0.0";
        }
        BigDecimal exact = new BigDecimal(value);
        BigDecimal shortest = null;
        for (int precision = 1; precision <= 17; precision++) {
            BigDecimal candidate = exact.round(new MathContext(precision, RoundingMode.HALF_EVEN));
            if (Double.parseDouble(candidate.toString()) == value) {
                shortest = candidate;
                break;
            }
        }
        if (shortest == null) {
            throw new IllegalStateException("no round-trip decimal for " + value);
        }
        shortest = shortest.stripTrailingZeros();
        String digits = shortest.unscaledValue().abs().toString();
        // value = 0.d1d2...dn * 10^decpt
        int decpt = digits.length() - shortest.scale();
        StringBuilder out = new StringBuilder(24);
        if (shortest.signum() < 0) {
            out.append('-');
        }
        if (decpt <= -4 || decpt > 16) {
            out.append(digits.charAt(0));
            if (digits.length() > 1) {
                out.append('.').append(digits, 1, digits.length());
            }
            int exponent = decpt - 1;
            out.append('e').append(exponent < 0 ? '-' : '+');
            String e = Integer.toString(Math.abs(exponent));
            if (e.length() < 2) {
                out.append('0');
            }
            out.append(e);
        } else if (decpt <= 0) {
            out.append("0.");
            for (int i = 0; i < -decpt; i++) {
                out.append('0');
            }
            out.append(digits);
        } else if (decpt < digits.length()) {
            out.append(digits, 0, decpt).append('.').append(digits, decpt, digits.length());
        } else {
            out.append(digits);
            for (int i = digits.length(); i < decpt; i++) {
                out.append('0');
            }
            out.append(".0");
        }
        return out.toString();
    }
}
