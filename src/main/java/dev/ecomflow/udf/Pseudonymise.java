package dev.ecomflow.udf;

import java.io.IOException;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;

import org.apache.flink.table.functions.FunctionContext;
import org.apache.flink.table.functions.ScalarFunction;

/**
 * PSEUDONYMISE(payload, key, spec): the payload with its personal fields replaced, before any
 * sink sees it; NULL when the payload is not one JSON object (the caller keeps the raw record
 * as a dead letter).
 *
 * <p>The rules are those of the Python reference, ecomflow/privacy.py, which documents them
 * exactly; `spec` is flink_jobs.privacy_rules.PrivacyRules.spec(), e.g.
 * {@code v1;hash=user_id,customer_id;region=postal_code;region.chars=2;url=page_url;strip=email}.
 * In short: values under a hash field become hex HMAC-SHA-256(key, text) (a number's text as
 * written); under a region field their first N characters; under a URL field the string loses
 * the named query parameters. The top-level user_id of an "erasure_request" control event is
 * already the hash and is kept.
 *
 * <p>Why streaming (parser to generator) and not a tree: one pass, no intermediate objects, and
 * numbers are copied as their text, so nothing is rounded. The spec is parsed and the Mac keyed
 * once per distinct value (a task calls this with the same two strings for every row).
 */
public class Pseudonymise extends ScalarFunction {

    static final String CONTROL_EVENT_TYPE = "erasure_request";
    private static final int NONE = 0, HASH = 1, REGION = 2, URL = 3;
    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private transient JsonFactory factory;
    private transient String specText;
    private transient Rules rules;
    private transient String macKey;
    private transient Mac mac;
    // The key this instance was built with: the job registers such an instance, so that the
    // key never appears in the SQL, the plan or operator names (see events_job.py).
    private final String boundKey;

    public Pseudonymise() {
        this(null);
    }

    public Pseudonymise(String key) {
        this.boundKey = key;
    }

    @Override
    public void open(FunctionContext context) {
        factory = new JsonFactory();
    }

    /** PSEUDONYMISE(payload, spec) with the key this instance was built with. */
    public String eval(String payload, String spec) {
        return eval(payload, boundKey, spec);
    }

    public String eval(String payload, String key, String spec) {
        if (payload == null || key == null || spec == null) {
            return null;
        }
        if (factory == null) {
            factory = new JsonFactory();
        }
        if (!spec.equals(specText)) {
            rules = Rules.parse(spec);
            specText = spec;
        }
        if (!key.equals(macKey)) {
            mac = newMac(key);
            macKey = key;
        }
        try {
            // Only a payload naming the control type needs the look-ahead for its event_type.
            boolean control = payload.contains(CONTROL_EVENT_TYPE) && isControl(payload);
            StringWriter out = new StringWriter(payload.length() + 64);
            try (JsonParser parser = factory.createParser(payload);
                    JsonGenerator generator = factory.createGenerator(out)) {
                if (parser.nextToken() != JsonToken.START_OBJECT) {
                    return null;
                }
                copy(parser, generator, NONE, control);
                if (parser.nextToken() != null) {
                    return null; // trailing text: not one JSON object
                }
            }
            return out.toString();
        } catch (IOException e) {
            return null;
        }
    }

    /** Copies the value at the parser's current token, applying `mode` to its scalars. */
    private void copy(JsonParser parser, JsonGenerator generator, int mode, boolean control)
            throws IOException {
        JsonToken token = parser.currentToken();
        if (token == null) {
            throw new IOException("truncated");
        }
        switch (token) {
            case START_OBJECT:
                generator.writeStartObject();
                while (parser.nextToken() == JsonToken.FIELD_NAME) {
                    String name = parser.getCurrentName();
                    generator.writeFieldName(name);
                    parser.nextToken();
                    int child = mode != NONE ? mode : rules.modeOf(name);
                    if (control && "user_id".equals(name)) {
                        child = NONE; // a control event carries the hash already
                    }
                    copy(parser, generator, child, false);
                }
                generator.writeEndObject();
                break;
            case START_ARRAY:
                generator.writeStartArray();
                while (parser.nextToken() != JsonToken.END_ARRAY) {
                    copy(parser, generator, mode, false);
                }
                generator.writeEndArray();
                break;
            case VALUE_STRING:
                generator.writeString(scalar(parser.getText(), mode, false));
                break;
            case VALUE_NUMBER_INT:
            case VALUE_NUMBER_FLOAT:
                if (mode == HASH || mode == REGION) {
                    generator.writeString(scalar(parser.getText(), mode, true));
                } else {
                    generator.writeNumber(parser.getText()); // the text as written
                }
                break;
            case VALUE_TRUE:
            case VALUE_FALSE:
                generator.writeBoolean(token == JsonToken.VALUE_TRUE);
                break;
            case VALUE_NULL:
                generator.writeNull();
                break;
            default:
                throw new IOException("unexpected token " + token);
        }
    }

    private String scalar(String text, int mode, boolean number) {
        switch (mode) {
            case HASH:
                return hash(text);
            case REGION:
                return prefix(text, rules.regionChars);
            case URL:
                return number ? text : stripQuery(text, rules.stripParams);
            default:
                return text;
        }
    }

    /** True when a top-level `event_type` is the control type (a second, cheap pass). */
    private boolean isControl(String payload) throws IOException {
        try (JsonParser parser = factory.createParser(payload)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                return false;
            }
            boolean control = false;
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
                String name = parser.getCurrentName();
                JsonToken value = parser.nextToken();
                if ("event_type".equals(name) && value == JsonToken.VALUE_STRING
                        && CONTROL_EVENT_TYPE.equals(parser.getText())) {
                    control = true;
                }
                parser.skipChildren();
            }
            return control;
        }
    }

    String hash(String text) {
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

    /** `url` without the query parameters named in `params` (see ecomflow.privacy). */
    static String stripQuery(String url, Set<String> params) {
        int hashAt = url.indexOf('#');
        String head = hashAt < 0 ? url : url.substring(0, hashAt);
        String fragment = hashAt < 0 ? "" : url.substring(hashAt);
        int queryAt = head.indexOf('?');
        if (queryAt < 0 || params.isEmpty()) {
            return url;
        }
        String[] parts = head.substring(queryAt + 1).split("&", -1);
        StringBuilder query = new StringBuilder();
        int kept = 0;
        for (String part : parts) {
            if (params.contains(paramName(part))) {
                continue;
            }
            if (kept++ > 0) {
                query.append('&');
            }
            query.append(part);
        }
        if (kept == parts.length) {
            return url;
        }
        return head.substring(0, queryAt) + (query.length() > 0 ? "?" + query : "") + fragment;
    }

    /** A parameter's name, %XX escapes of ASCII characters decoded, A-Z lower-cased. */
    static String paramName(String part) {
        int eq = part.indexOf('=');
        String name = eq < 0 ? part : part.substring(0, eq);
        StringBuilder decoded = new StringBuilder(name.length());
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c == '%' && i + 2 < name.length()
                    && name.charAt(i + 1) >= '0' && name.charAt(i + 1) <= '7'
                    && isAsciiHex(name.charAt(i + 2))) {
                c = (char) Integer.parseInt(name.substring(i + 1, i + 3), 16);
                i += 2;
            }
            decoded.append(c >= 'A' && c <= 'Z' ? (char) (c + ('a' - 'A')) : c);
        }
        return decoded.toString();
    }

    private static boolean isAsciiHex(char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
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

    /** The parsed spec string (see flink_jobs/privacy_rules.py). */
    static final class Rules {
        final Map<String, Integer> modes = new HashMap<>();
        final Set<String> stripParams = new HashSet<>();
        int regionChars = 2;

        int modeOf(String name) {
            Integer mode = modes.get(name);
            return mode == null ? NONE : mode;
        }

        static Rules parse(String spec) {
            String[] parts = spec.split(";", -1);
            if (!"v1".equals(parts[0])) {
                throw new IllegalArgumentException(
                        "pseudonymise: unknown spec version " + parts[0] + " in " + spec);
            }
            Rules rules = new Rules();
            Map<String, String> values = new HashMap<>();
            for (int i = 1; i < parts.length; i++) {
                int eq = parts[i].indexOf('=');
                if (eq < 0) {
                    throw new IllegalArgumentException("pseudonymise: bad spec part " + parts[i]);
                }
                values.put(parts[i].substring(0, eq), parts[i].substring(eq + 1));
            }
            // Precedence as in Python: a name in two lists is refused there; hash wins here.
            put(rules, values.get("url"), URL);
            put(rules, values.get("region"), REGION);
            put(rules, values.get("hash"), HASH);
            String strip = values.get("strip");
            if (strip != null) {
                for (String param : strip.split(",")) {
                    if (!param.isEmpty()) {
                        rules.stripParams.add(param);
                    }
                }
            }
            String chars = values.get("region.chars");
            if (chars != null) {
                rules.regionChars = Integer.parseInt(chars);
            }
            return rules;
        }

        private static void put(Rules rules, String names, int mode) {
            if (names == null) {
                return;
            }
            for (String name : names.split(",")) {
                if (!name.isEmpty()) {
                    rules.modes.put(name, mode);
                }
            }
        }
    }
}
