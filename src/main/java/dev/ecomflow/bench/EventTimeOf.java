package dev.ecomflow.bench;

import java.io.IOException;
import java.time.Instant;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;

import org.apache.flink.table.annotation.DataTypeHint;
import org.apache.flink.table.functions.ScalarFunction;

import dev.ecomflow.contract.EventContract;

/**
 * BENCH_EVENT_TIME_OF(payload): the top-level `timestamp` of a JSON payload as a
 * TIMESTAMP_LTZ(3), NULL when there is none. For the benchmarks' pass-through only
 * (sql/90_benchmarks): read each record and its event time, parse nothing else, the baseline
 * every figure is a ratio of. The job itself reads event time in its head (RecordHead).
 */
public class EventTimeOf extends ScalarFunction {

    private static final JsonFactory FACTORY = new JsonFactory();

    public @DataTypeHint("TIMESTAMP_LTZ(3)") Instant eval(byte[] payload) {
        if (payload == null) {
            return null;
        }
        try (JsonParser parser = FACTORY.createParser(payload)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                return null;
            }
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
                String name = parser.currentName();
                JsonToken value = parser.nextToken();
                if ("timestamp".equals(name)) {
                    Long micros = value == JsonToken.VALUE_STRING
                            ? EventContract.epochMicros(parser.getText()) : null;
                    return micros == null ? null : Instant.ofEpochMilli(micros / 1000);
                }
                parser.skipChildren();
            }
            return null;
        } catch (IOException e) {
            return null;
        }
    }
}
