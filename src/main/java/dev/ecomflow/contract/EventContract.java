package dev.ecomflow.contract;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SchemaRegistryConfig;
import com.networknt.schema.SpecificationVersion;
import com.networknt.schema.path.NodePath;
import com.networknt.schema.regex.RegularExpression;

/**
 * The event contract in the JVM: the JSON Schema files of {@code flink_jobs/contract/v1} (copied
 * into the jar, read by networknt's json-schema-validator), plus the rules JSON Schema cannot
 * state, written once here as in {@code flink_jobs/contract/__init__.py}: payload size, UTF-8,
 * JSON as Python's json module reads it, text the warehouse can store (text_limits.json), a
 * purchase's total against its items, real calendar times and the allowed clock skew.
 *
 * <p>The Python module stays the reference (the producer SDK and the collector run it); a parity
 * test feeds both the same records and requires the same (reason, field). Where a record breaks
 * several rules, both report the schema issue that sorts first by reason (in the taxonomy's
 * order) and then by field, so that two validators that find the same issues in a different
 * order still agree on the one a dead letter names.
 *
 * <p>Thread-safe once loaded; {@link #get()} shares one instance per class loader.
 */
public final class EventContract {

    public static final List<String> REASONS = Collections.unmodifiableList(Arrays.asList(
            "not_json", "not_an_object", "unknown_event_type", "missing_field", "wrong_type",
            "out_of_range", "total_mismatch", "bad_timestamp", "future_timestamp",
            "payload_too_large"));
    public static final List<String> EVENT_TYPES = Collections.unmodifiableList(Arrays.asList(
            "page_view", "product_view", "add_to_cart", "remove_from_cart", "purchase",
            "product"));
    /** The one control event: a user's erasure request (README "Privacy"). */
    public static final String ERASURE_REQUEST = "erasure_request";
    public static final Set<String> CONTROL_TYPES = Collections.singleton(ERASURE_REQUEST);
    static final Map<String, String> ALIASES = Collections.singletonMap("transaction", "purchase");

    static final int MAX_NUMBER_DIGITS = 1000;
    static final int MAX_NAME_LENGTH = 50_000;
    /** Python refuses to read an integer of more digits (sys.get_int_max_str_digits()). */
    static final int PYTHON_INT_MAX_DIGITS = 4300;
    /** Nesting that Python's json and the contract's recursive checks still handle. */
    static final int MAX_NESTING_DEPTH = 500;
    static final int DETAIL_LIMIT = 300;

    private static final String BASE = "https://schemas.ecomflow.example/events/v1/";
    private static final String RESOURCES = "/dev/ecomflow/contract/v1/";
    private static final String[] SCHEMA_NAMES = {
        "envelope", "event", "page_view", "product_view", "add_to_cart", "remove_from_cart",
        "purchase", "product", ERASURE_REQUEST
    };
    private static final Comparator<Issue> FIRST_ISSUE = Comparator
            .comparingInt((Issue issue) -> REASONS.indexOf(issue.reason))
            .thenComparing(issue -> issue.field);

    private static volatile EventContract shared;

    private final ObjectMapper mapper;
    /** The dispatcher of event.schema.json, read from it: event_type -> the type's schema. */
    private final Map<String, Schema> schemaByEventType = new HashMap<>();
    /** The schema of a record without event_type that has the fields that make it a type. */
    private Schema untypedSchema;
    private List<String> untypedRequired = Collections.emptyList();
    private final Set<String> timestampPatterns;
    private final Map<String, Integer> textLimits;

    private EventContract() {
        JsonFactory factory = JsonFactory.builder()
                .streamReadConstraints(StreamReadConstraints.builder()
                        .maxNumberLength(Integer.MAX_VALUE)
                        .maxNameLength(Integer.MAX_VALUE)
                        .maxStringLength(Integer.MAX_VALUE)
                        .maxNestingDepth(MAX_NESTING_DEPTH)
                        .build())
                .build();
        mapper = new ObjectMapper(factory)
                .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
        Map<String, String> documents = new HashMap<>();
        for (String name : SCHEMA_NAMES) {
            documents.put(BASE + name + ".schema.json", resource(name + ".schema.json"));
        }
        SchemaRegistryConfig config = SchemaRegistryConfig.builder()
                // Python's re.search: unanchored, and `$` before a final "\n" only (UNIX_LINES).
                .regularExpressionFactory(PythonRegex::new)
                .build();
        SchemaRegistry registry = SchemaRegistry.withDefaultDialect(
                SpecificationVersion.DRAFT_2020_12, builder -> builder
                        .schemaRegistryConfig(config)
                        .schemaLoader(loader -> loader.fetchRemoteResources(false)
                                .resourceLoaders(loaders -> loaders.resources(documents))));
        try {
            readDispatcher(registry, mapper.readTree(documents.get(BASE + "event.schema.json")));
            JsonNode defs = mapper.readTree(documents.get(BASE + "envelope.schema.json"))
                    .get("$defs");
            timestampPatterns = new LinkedHashSet<>(Arrays.asList(
                    defs.get("timestamp").get("pattern").textValue(),
                    defs.get("optional_timestamp").get("pattern").textValue()));
            Map<String, Integer> limits = new HashMap<>();
            JsonNode fields = mapper.readTree(resource("text_limits.json")).get("fields");
            for (Iterator<Map.Entry<String, JsonNode>> it = fields.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> entry = it.next();
                limits.put(entry.getKey(), entry.getValue().get("utf8_bytes").intValue());
            }
            textLimits = Collections.unmodifiableMap(limits);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The dispatch of event.schema.json (if event_type: its enum, then one `$ref` per value;
     * else the catalog shape), so that a record is validated against its own type's schema:
     * the same issues as through the dispatcher, without evaluating every alternative.
     */
    private void readDispatcher(SchemaRegistry registry, JsonNode dispatcher) {
        JsonNode then = dispatcher.get("then");
        Set<String> known = new LinkedHashSet<>();
        for (JsonNode value : then.get("properties").get("event_type").get("enum")) {
            known.add(value.textValue());
        }
        for (JsonNode branch : then.get("allOf")) {
            JsonNode condition = branch.get("if").get("properties").get("event_type");
            Schema target = registry.getSchema(SchemaLocation.of(
                    BASE + branch.get("then").get("$ref").textValue()));
            JsonNode values = condition.has("const")
                    ? mapper.createArrayNode().add(condition.get("const")) : condition.get("enum");
            for (JsonNode value : values) {
                schemaByEventType.put(value.textValue(), target);
            }
        }
        if (!schemaByEventType.keySet().equals(known)) {
            throw new IllegalStateException("event.schema.json: the event_type enum and the "
                    + "dispatch disagree: " + known + " vs " + schemaByEventType.keySet());
        }
        JsonNode otherwise = dispatcher.get("else");
        List<String> required = new ArrayList<>();
        for (JsonNode name : otherwise.get("if").get("required")) {
            required.add(name.textValue());
        }
        untypedRequired = required;
        untypedSchema = registry.getSchema(SchemaLocation.of(
                BASE + otherwise.get("then").get("$ref").textValue()));
    }

    /** The contract, loaded once per class loader. */
    public static EventContract get() {
        EventContract contract = shared;
        if (contract == null) {
            synchronized (EventContract.class) {
                if (shared == null) {
                    shared = new EventContract();
                }
                contract = shared;
            }
        }
        return contract;
    }

    private static String resource(String name) {
        try (InputStream in = EventContract.class.getResourceAsStream(RESOURCES + name)) {
            if (in == null) {
                throw new IllegalStateException("contract file missing from the jar: " + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // ------------------------------------------------------------------------------- verdict

    /**
     * The verdict on one raw record, as {@code udfs.contract_check.verdict} gives it: the first
     * issue (or none) and the event id; {@code nowMillis} and {@code maxFutureMillis} bound how
     * far ahead a timestamp may be.
     */
    public Verdict check(byte[] payload, int maxBytes, long nowMillis, long maxFutureMillis) {
        if (payload == null) {
            return dead("not_json", "$", "empty record");
        }
        if (payload.length > maxBytes) {
            return dead("payload_too_large", "$", payload.length + " bytes > " + maxBytes
                    + " bytes");
        }
        String text;
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer bytes = ByteBuffer.wrap(payload);
        try {
            CharBuffer chars = decoder.decode(bytes);
            text = chars.toString();
        } catch (CharacterCodingException e) {
            return dead("not_json", "$", "the record is not valid UTF-8 (invalid byte at offset "
                    + bytes.position() + "; stored with U+FFFD in its place)");
        }
        return check(text, nowMillis, maxFutureMillis);
    }

    /** As {@link #check(byte[], int, long, long)} for text already decoded (size not checked). */
    public Verdict check(String text, long nowMillis, long maxFutureMillis) {
        JsonNode record;
        try {
            record = mapper.readTree(text);
        } catch (IOException | RuntimeException e) {
            return dead(text, "not_json", "$", firstLine(e.getMessage()));
        }
        if (record == null || record.isMissingNode()) {
            return dead(text, "not_json", "$", "Expecting value: the record is empty");
        }
        if (!record.isObject()) {
            return dead(text, "not_an_object", "$", "expected a JSON object, got "
                    + pythonTypeName(record));
        }
        // Only text with an escape can hold a lone surrogate, and only text of over 4,300
        // characters an integer Python will not read: most records skip the walk.
        String unreadable = text.indexOf("\\u") >= 0 || text.length() > PYTHON_INT_MAX_DIGITS
                ? unreadable(record) : null;
        if (unreadable != null) {
            return dead(text, "not_json", "$", unreadable);
        }
        List<Issue> issues = validate(record, nowMillis, maxFutureMillis);
        JsonNode own = record.get("event_id");
        String eventId = own != null && own.isTextual() && !own.textValue().isEmpty()
                ? own.textValue() : null;
        String type = canonicalType(record);
        if (!issues.isEmpty()) {
            Issue first = issues.get(0);
            return new Verdict(first.reason, first.field, truncate(first.message), eventId,
                    text, type, null);
        }
        if (eventId == null) {
            try {
                eventId = CanonicalJson.deriveEventId(record);
            } catch (CanonicalJson.NotCanonical e) {
                return dead(text, "not_json", "$", truncate("no canonical JSON for an event id: "
                        + e.getMessage()));
            }
        }
        Long eventTime = CONTROL_TYPES.contains(type) ? null : eventTimeOf(record, type);
        return new Verdict(null, null, null, eventId, text, type, eventTime);
    }

    private static Verdict dead(String reason, String field, String detail) {
        return dead(null, reason, field, detail);
    }

    /** A dead letter; `text`: the payload as text when it was UTF-8. */
    private static Verdict dead(String text, String reason, String field, String detail) {
        return new Verdict(reason, field, truncate(detail), null, text, null, null);
    }

    private static String truncate(String detail) {
        if (detail == null || detail.length() <= DETAIL_LIMIT) {
            return detail;
        }
        return detail.substring(0, DETAIL_LIMIT);
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "not valid JSON";
        }
        int end = message.indexOf('\n');
        return end < 0 ? message : message.substring(0, end);
    }

    /** Python's type names for what json.loads returns, for the not_an_object detail. */
    private static String pythonTypeName(JsonNode node) {
        if (node.isArray()) {
            return "list";
        }
        if (node.isTextual()) {
            return "str";
        }
        if (node.isBoolean()) {
            return "bool";
        }
        if (node.isNull()) {
            return "NoneType";
        }
        return node.isIntegralNumber() ? "int" : "float";
    }

    /**
     * What Python's json module would not have read: an integer of more digits than Python
     * parses, or a lone UTF-16 surrogate escape (not Unicode, so storable nowhere).
     */
    private static String unreadable(JsonNode node) {
        if (node.isTextual()) {
            return loneSurrogate(node.textValue())
                    ? "an escaped lone UTF-16 surrogate is not Unicode" : null;
        }
        if (node.isBigInteger()
                && node.bigIntegerValue().abs().toString().length() > PYTHON_INT_MAX_DIGITS) {
            return "Exceeds the limit (" + PYTHON_INT_MAX_DIGITS
                    + " digits) for integer string conversion";
        }
        if (node.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> entry = it.next();
                if (loneSurrogate(entry.getKey())) {
                    return "an escaped lone UTF-16 surrogate is not Unicode";
                }
                String inner = unreadable(entry.getValue());
                if (inner != null) {
                    return inner;
                }
            }
        } else if (node.isArray()) {
            for (JsonNode item : node) {
                String inner = unreadable(item);
                if (inner != null) {
                    return inner;
                }
            }
        }
        return null;
    }

    static boolean loneSurrogate(String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (Character.isHighSurrogate(c)) {
                if (i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
                    i++;
                    continue;
                }
                return true;
            }
            if (Character.isLowSurrogate(c)) {
                return true;
            }
        }
        return false;
    }

    // ---------------------------------------------------------------------------- recognising

    /** The canonical type, as {@code flink_jobs.contract.canonical_type}; null if unknown. */
    public static String canonicalType(JsonNode record) {
        JsonNode eventType = record.get("event_type");
        if (eventType == null) {
            return record.has("product_id") && record.has("name") ? "product" : null;
        }
        if (!eventType.isTextual()) {
            return null;
        }
        String type = ALIASES.getOrDefault(eventType.textValue(), eventType.textValue());
        return EVENT_TYPES.contains(type) || CONTROL_TYPES.contains(type) ? type : null;
    }

    /**
     * Event time of a valid record in epoch milliseconds: its `timestamp`; a catalog record
     * without one (it is optional there) takes its `updated_at`.
     */
    static Long eventTimeOf(JsonNode record, String type) {
        JsonNode timestamp = record.get("timestamp");
        if ((timestamp == null || !timestamp.isTextual()) && "product".equals(type)) {
            timestamp = record.get("updated_at");
        }
        if (timestamp == null || !timestamp.isTextual()) {
            return null;
        }
        Long micros = epochMicros(timestamp.textValue());
        return micros == null ? null : Math.floorDiv(micros, 1000L);
    }

    // ----------------------------------------------------------------------------- validating

    /** Every way {@code record} (a JSON object) breaks the contract; empty when it is valid. */
    public List<Issue> validate(JsonNode record, long nowMillis, long maxFutureMillis) {
        List<Issue> issues = schemaIssues(record);
        if (issues.isEmpty()) {
            Issue storable = firstUnstorable(record, "$");
            if (storable != null) {
                issues.add(storable);
            }
        }
        String type = canonicalType(record);
        if (type != null) {
            Set<String> flagged = new LinkedHashSet<>();
            for (Issue issue : issues) {
                flagged.add(issue.field);
            }
            if ("purchase".equals(type)) {
                checkTotal(record, flagged, issues);
            }
            checkTimes(record, type, flagged, nowMillis, maxFutureMillis, issues);
        }
        return issues;
    }

    private List<Issue> schemaIssues(JsonNode record) {
        JsonNode eventType = record.get("event_type");
        Schema schema;
        if (eventType == null) {
            schema = untypedSchema;
            for (String name : untypedRequired) {
                if (!record.has(name)) {
                    List<Issue> missing = new ArrayList<>();
                    missing.add(new Issue("missing_field", "event_type", "event_type is required"));
                    return missing;
                }
            }
        } else {
            schema = eventType.isTextual() ? schemaByEventType.get(eventType.textValue()) : null;
            if (schema == null) {
                List<Issue> unknown = new ArrayList<>();
                unknown.add(new Issue("unknown_event_type", "event_type", shortValue(eventType)
                        + " is not one of " + String.join(", ", schemaByEventType.keySet())));
                return unknown;
            }
        }
        List<Error> errors = schema.validate(record);
        Set<Issue> issues = new LinkedHashSet<>();
        // anyOf of required alternatives ("one of total_amount, amount"): one issue per anyOf.
        Map<String, AnyOf> anyOfs = new LinkedHashMap<>();
        for (Error error : errors) {
            String path = field(error.getInstanceLocation());
            String evaluation = error.getEvaluationPath().toString();
            int at = evaluation.lastIndexOf("/anyOf/");
            if (at >= 0) {
                String key = evaluation.substring(0, at) + "|" + path;
                AnyOf group = anyOfs.computeIfAbsent(key, k -> new AnyOf(path));
                int end = evaluation.indexOf('/', at + 7);
                int alternative = Integer.parseInt(
                        evaluation.substring(at + 7, end < 0 ? evaluation.length() : end));
                group.add(alternative, error);
                continue;
            }
            issues.add(issueOf(error, path));
        }
        for (AnyOf group : anyOfs.values()) {
            issues.add(group.issue());
        }
        List<Issue> sorted = new ArrayList<>(issues);
        sorted.sort(FIRST_ISSUE);
        return sorted;
    }

    private Issue issueOf(Error error, String path) {
        String keyword = error.getKeyword();
        switch (keyword) {
            case "required":
                return new Issue("missing_field", join(path, error.getProperty()),
                        error.getProperty() + " is required");
            case "type":
                return new Issue("wrong_type", path, error.getMessage());
            case "pattern":
                if (timestampPatterns.contains(patternOf(error))) {
                    return new Issue("bad_timestamp", path, shortValue(error.getInstanceNode())
                            + " is not ISO 8601 with a zone (e.g. 2025-07-16T10:30:00Z)");
                }
                break;
            case "enum":
            case "const":
                if ("event_type".equals(path)) {
                    return new Issue("unknown_event_type", path, shortValue(
                            error.getInstanceNode()) + " is not one of "
                            + String.join(", ", EVENT_TYPES) + ", transaction");
                }
                break;
            default:
                break;
        }
        // minimum, exclusiveMaximum, minLength, maxLength, minItems, pattern, enum, const: a
        // value of the right type outside its domain.
        return new Issue("out_of_range", path, shortValue(error.getInstanceNode()) + ": "
                + error.getMessage());
    }

    private static String patternOf(Error error) {
        JsonNode node = error.getSchemaNode();
        if (node != null && node.isTextual()) {
            return node.textValue();
        }
        if (node != null && node.has("pattern")) {
            return node.get("pattern").textValue();
        }
        Object[] arguments = error.getArguments();
        return arguments != null && arguments.length > 0 ? String.valueOf(arguments[0]) : "";
    }

    /** The failures inside one anyOf of one instance, by alternative. */
    private static final class AnyOf {
        final String path;
        int firstAlternative = Integer.MAX_VALUE;
        String firstRequired;
        boolean onlyRequired = true;
        final List<String> names = new ArrayList<>();

        AnyOf(String path) {
            this.path = path;
        }

        void add(int alternative, Error error) {
            if (!"required".equals(error.getKeyword())) {
                onlyRequired = false;
                return;
            }
            names.add(error.getProperty());
            if (alternative < firstAlternative) {
                firstAlternative = alternative;
                firstRequired = error.getProperty();
            }
        }

        Issue issue() {
            if (onlyRequired && firstRequired != null) {
                return new Issue("missing_field", join(path, firstRequired),
                        "one of " + String.join(", ", names) + " is required");
            }
            return new Issue("out_of_range", path, "matches none of the allowed shapes");
        }
    }

    /** `items[0].quantity` for the instance location /items/0/quantity; `$` for the root. */
    static String field(NodePath location) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < location.getNameCount(); i++) {
            Object element = location.getElement(i);
            if (element instanceof Integer) {
                out.append('[').append(element).append(']');
            } else {
                if (out.length() > 0) {
                    out.append('.');
                }
                out.append(element);
            }
        }
        return out.length() == 0 ? "$" : out.toString();
    }

    static String join(String path, String name) {
        return "$".equals(path) ? name : path + "." + name;
    }

    private static String shortValue(JsonNode value) {
        String text = value == null ? "None" : value.toString();
        return text.length() <= 60 ? text : text.substring(0, 57) + "...";
    }

    // ---------------------------------------------------------------------------- storable

    /** The first text the job could not store (see text_limits.json), walking in order. */
    private Issue firstUnstorable(JsonNode value, String path) {
        if (value.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = value.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> entry = it.next();
                String name = entry.getKey();
                JsonNode item = entry.getValue();
                String where = join(path, name);
                if (name.codePointCount(0, name.length()) > MAX_NAME_LENGTH) {
                    return new Issue("out_of_range", path, "a field name of "
                            + name.codePointCount(0, name.length()) + " characters (at most "
                            + MAX_NAME_LENGTH + ")");
                }
                if (name.indexOf('\u0000') >= 0) {
                    return new Issue("out_of_range", where, "a field name contains U+0000");
                }
                Integer limit = textLimits.get(name);
                if (limit != null && item.isTextual()) {
                    int bytes = utf8Length(item.textValue());
                    if (bytes > limit) {
                        return new Issue("out_of_range", where, bytes
                                + " bytes of UTF-8 (at most " + limit + ")");
                    }
                }
                Issue inner = firstUnstorable(item, where);
                if (inner != null) {
                    return inner;
                }
            }
        } else if (value.isArray()) {
            for (int i = 0; i < value.size(); i++) {
                Issue inner = firstUnstorable(value.get(i), path + "[" + i + "]");
                if (inner != null) {
                    return inner;
                }
            }
        } else if (value.isTextual() && value.textValue().indexOf('\u0000') >= 0) {
            return new Issue("out_of_range", path,
                    "contains U+0000, which no warehouse text can hold");
        } else if (value.isIntegralNumber()
                && value.bigIntegerValue().abs().toString().length() > MAX_NUMBER_DIGITS) {
            return new Issue("out_of_range", path, "a number of more than " + MAX_NUMBER_DIGITS
                    + " digits");
        }
        return null;
    }

    /** UTF-8 length as Python's str.encode("utf-8", "surrogatepass") counts it. */
    public static int utf8Length(String text) {
        int bytes = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c < 0x80) {
                bytes += 1;
            } else if (c < 0x800) {
                bytes += 2;
            } else if (Character.isHighSurrogate(c) && i + 1 < text.length()
                    && Character.isLowSurrogate(text.charAt(i + 1))) {
                bytes += 4;
                i++;
            } else {
                bytes += 3;
            }
        }
        return bytes;
    }

    // ------------------------------------------------------------------------------- totals

    private static boolean isNumber(JsonNode node) {
        return node != null && node.isNumber()
                && !(node.isDouble() && !Double.isFinite(node.doubleValue()));
    }

    /** A purchase's total against the sum of quantity * unit price, as Python computes it. */
    private static void checkTotal(JsonNode record, Set<String> flagged, List<Issue> issues) {
        JsonNode items = record.get("items");
        if (items == null || !items.isArray() || items.size() == 0) {
            return;
        }
        for (String field : flagged) {
            if (field.equals("items") || field.startsWith("items[")) {
                return; // the items themselves are wrong: a sum over them means nothing
            }
        }
        double subtotal = 0.0;
        for (JsonNode item : items) {
            if (!item.isObject()) {
                return;
            }
            JsonNode price = item.has("unit_price") ? item.get("unit_price") : item.get("price");
            JsonNode quantity = item.get("quantity");
            if (!isNumber(price) || !isNumber(quantity)) {
                return;
            }
            subtotal += product(quantity, price);
        }
        double expected = round2(subtotal);
        for (String name : new String[] {"total_amount", "amount"}) {
            JsonNode total = record.get(name);
            if (flagged.contains(name) || !isNumber(total)) {
                continue;
            }
            // In whole cents, as Python: abs(round(total * 100) - round(expected * 100)) > 1
            BigInteger totalCents = total.isIntegralNumber()
                    ? total.bigIntegerValue().multiply(BigInteger.valueOf(100))
                    : new BigDecimal(Math.rint(total.doubleValue() * 100)).toBigInteger();
            BigInteger expectedCents = new BigDecimal(Math.rint(expected * 100)).toBigInteger();
            if (totalCents.subtract(expectedCents).abs().compareTo(BigInteger.ONE) > 0) {
                issues.add(new Issue("total_mismatch", name, name + " " + total + " != "
                        + expected + ", the sum of quantity * unit price over items"));
            }
        }
    }

    /** Python's `quantity * price` added to a float: exact for two ints, else in doubles. */
    private static double product(JsonNode quantity, JsonNode price) {
        if (quantity.isIntegralNumber() && price.isIntegralNumber()) {
            BigInteger exact = quantity.bigIntegerValue().multiply(price.bigIntegerValue());
            return exact.doubleValue();
        }
        return quantity.doubleValue() * price.doubleValue();
    }

    /** Python's round(x, 2): the exact binary value rounded half-even to cents. */
    private static double round2(double value) {
        if (!Double.isFinite(value)) {
            return value;
        }
        return new BigDecimal(value).setScale(2, RoundingMode.HALF_EVEN).doubleValue();
    }

    // -------------------------------------------------------------------------------- times

    private static final Map<String, String[]> TIMESTAMP_FIELDS = new HashMap<>();

    static {
        for (String type : EVENT_TYPES) {
            TIMESTAMP_FIELDS.put(type, new String[] {"timestamp"});
        }
        TIMESTAMP_FIELDS.put("product", new String[] {"timestamp", "created_at", "updated_at"});
        // expires_at lies in the future by design: only the request's own time is checked.
        TIMESTAMP_FIELDS.put(ERASURE_REQUEST, new String[] {"timestamp"});
    }

    private static void checkTimes(JsonNode record, String type, Set<String> flagged,
            long nowMillis, long maxFutureMillis, List<Issue> issues) {
        long limitMicros = (nowMillis + maxFutureMillis) * 1000L;
        for (String name : TIMESTAMP_FIELDS.get(type)) {
            JsonNode value = record.get(name);
            if (flagged.contains(name) || value == null || !value.isTextual()) {
                continue;
            }
            Long micros = epochMicros(value.textValue());
            if (micros == null) {
                issues.add(new Issue("bad_timestamp", name, shortValue(value)
                        + " is not a real calendar time"));
            } else if (micros > limitMicros) {
                issues.add(new Issue("future_timestamp", name, value.textValue()
                        + " is more than " + (maxFutureMillis / 1000) + " s after now"));
            }
        }
    }

    /**
     * Epoch microseconds of an ISO 8601 timestamp with a zone, read as Python 3.11's
     * datetime.fromisoformat reads the contract's timestamps
     * (YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|+HH:MM|-HH:MM), fractions cut to microseconds, year 1 to
     * 9999, real calendar days); null when Python would refuse it. Read by position: this runs
     * for every record.
     */
    public static Long epochMicros(String text) {
        int n = text.length();
        if (n < 20 || text.charAt(4) != '-' || text.charAt(7) != '-' || text.charAt(10) != 'T'
                || text.charAt(13) != ':' || text.charAt(16) != ':') {
            return null;
        }
        int year = digits(text, 0, 4);
        int month = digits(text, 5, 2);
        int day = digits(text, 8, 2);
        int hour = digits(text, 11, 2);
        int minute = digits(text, 14, 2);
        int second = digits(text, 17, 2);
        if (year < 1 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23
                || minute < 0 || minute > 59 || second < 0 || second > 59
                || day > LocalDate.of(year, month, 1).lengthOfMonth()) {
            return null;
        }
        int at = 19;
        int micros = 0;
        if (text.charAt(at) == '.') {
            int start = ++at;
            while (at < n && at - start < 9 && text.charAt(at) >= '0' && text.charAt(at) <= '9') {
                if (at - start < 6) {
                    micros = micros * 10 + (text.charAt(at) - '0');
                }
                at++;
            }
            if (at == start) {
                return null;
            }
            for (int i = Math.min(at - start, 6); i < 6; i++) {
                micros *= 10;
            }
        }
        int offsetSeconds;
        if (at == n - 1 && text.charAt(at) == 'Z') {
            offsetSeconds = 0;
        } else if (at == n - 6 && (text.charAt(at) == '+' || text.charAt(at) == '-')
                && text.charAt(at + 3) == ':') {
            int offsetHours = digits(text, at + 1, 2);
            int offsetMinutes = digits(text, at + 4, 2);
            if (offsetHours < 0 || offsetHours > 23 || offsetMinutes < 0 || offsetMinutes > 59) {
                return null;
            }
            offsetSeconds = (offsetHours * 3600 + offsetMinutes * 60)
                    * (text.charAt(at) == '-' ? -1 : 1);
        } else {
            return null;
        }
        long days = LocalDate.of(year, month, day).toEpochDay();
        long seconds = days * 86_400L + hour * 3600L + minute * 60L + second - offsetSeconds;
        return seconds * 1_000_000L + micros;
    }

    /** The number in `count` ASCII digits at `at`; -1 when one is not a digit. */
    private static int digits(String text, int at, int count) {
        int value = 0;
        for (int i = at; i < at + count; i++) {
            char c = text.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            value = value * 10 + (c - '0');
        }
        return value;
    }

    /** Python's re.search for the schemas' patterns: unanchored; `$` before a final \n only. */
    private static final class PythonRegex implements RegularExpression {
        private final Pattern pattern;

        PythonRegex(String regex) {
            this.pattern = Pattern.compile(regex, Pattern.UNIX_LINES);
        }

        @Override
        public boolean matches(String value) {
            return pattern.matcher(value).find();
        }
    }
}
