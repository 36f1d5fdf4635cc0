package dev.ecomflow.udf;

import java.io.IOException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;

import org.apache.flink.table.annotation.DataTypeHint;
import org.apache.flink.table.functions.ScalarFunction;

/**
 * EVENT_TIME_OF(payload): the top-level `timestamp` of a JSON payload (for catalog records, which
 * may carry none, their `updated_at`), an ISO 8601 timestamp
 * WITH a zone ("2025-07-16T10:30:00Z", "2025-07-16T12:30:00.5+02:00"), as a TIMESTAMP_LTZ(3);
 * NULL when the payload is not a JSON object or the timestamp is missing, has no zone or does
 * not parse.
 *
 * <p>Java because Flink SQL 1.20 has no zone-aware string-to-instant function (TO_TIMESTAMP
 * ignores offsets, CAST throws on bad input), and because this runs in the source's computed
 * column for every record: it scans only the top level and stops at the field. It never throws,
 * so a bad record cannot fail the job.
 */
public class EventTimeOf extends ScalarFunction {

    private static final JsonFactory FACTORY = new JsonFactory();
    static final String CONTROL_EVENT_TYPE = "erasure_request";

    /** Whether the payload's top-level event_type is the control type. */
    static boolean isControl(String payload) {
        try (JsonParser parser = FACTORY.createParser(payload)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                return false;
            }
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
                String name = parser.getCurrentName();
                JsonToken value = parser.nextToken();
                if ("event_type".equals(name)) {
                    return value == JsonToken.VALUE_STRING
                            && CONTROL_EVENT_TYPE.equals(parser.getText());
                }
                parser.skipChildren();
            }
            return false;
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * As {@link #eval(String)}, but NULL for a timestamp more than `maxFutureSeconds` after now:
     * such a record is a dead letter (future_timestamp), and must not drag the watermark, and
     * with it every later record, into the future.
     */
    public @DataTypeHint("TIMESTAMP_LTZ(3)") Instant eval(String payload, Integer maxFutureSeconds) {
        if (payload != null && payload.contains(CONTROL_EVENT_TYPE) && isControl(payload)) {
            // A control event (`ecomflow forget`) is stamped with the wall clock, not with event
            // time: replayed or delayed traffic would all become late behind it.
            return null;
        }
        Instant time = eval(payload);
        if (time == null || maxFutureSeconds == null) {
            return time;
        }
        long limit = System.currentTimeMillis() + maxFutureSeconds * 1000L;
        return time.toEpochMilli() > limit ? null : time;
    }

    public @DataTypeHint("TIMESTAMP_LTZ(3)") Instant eval(String payload) {
        if (payload == null) {
            return null;
        }
        try (JsonParser parser = FACTORY.createParser(payload)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                return null;
            }
            String updatedAt = null;
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
                String name = parser.getCurrentName();
                JsonToken value = parser.nextToken();
                if ("timestamp".equals(name)) {
                    return value == JsonToken.VALUE_STRING ? parse(parser.getText()) : null;
                }
                if ("updated_at".equals(name) && value == JsonToken.VALUE_STRING) {
                    updatedAt = parser.getText();
                }
                parser.skipChildren();
            }
            return updatedAt == null ? null : parse(updatedAt);
        } catch (IOException e) {
            return null;
        }
    }

    static Instant parse(String value) {
        try {
            return OffsetDateTime.parse(value, DateTimeFormatter.ISO_OFFSET_DATE_TIME).toInstant();
        } catch (DateTimeParseException e) {
            return null;
        }
    }
}
