package dev.ecomflow.tools;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.ecomflow.contract.EventContract;
import dev.ecomflow.contract.Verdict;
import dev.ecomflow.enrich.UserAgents;
import dev.ecomflow.privacy.Pseudonymiser;

/**
 * The job's per-record Java logic as a line-oriented command, so that tests can hold it against
 * the Python references without starting Flink (one JVM serves any number of records):
 *
 * <pre>
 *   java -cp ecomflow-connectors.jar dev.ecomflow.tools.Probe contract &lt; requests.jsonl
 * </pre>
 *
 * <p>Each input line is a JSON object, each output line the answer to it:
 * <ul>
 *   <li>{@code contract}: {"payload_b64", "max_bytes", "now_ms", "max_future_s"} ->
 *       {"reason", "field", "detail", "event_id", "event_time_ms"}</li>
 *   <li>{@code pseudonymise}: {"payload", "key", "spec"} -> {"payload", "fields": {...}}</li>
 *   <li>{@code user-agent}: {"user_agent"} -> {"device_class", "browser", "os"}</li>
 * </ul>
 */
public final class Probe {

    private Probe() {}

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: Probe contract|pseudonymise|user-agent < requests.jsonl");
            System.exit(2);
        }
        ObjectMapper mapper = new ObjectMapper();
        BufferedReader in = new BufferedReader(
                new InputStreamReader(System.in, StandardCharsets.UTF_8));
        BufferedWriter out = new BufferedWriter(
                new OutputStreamWriter(System.out, StandardCharsets.UTF_8));
        UserAgents agents = "user-agent".equals(args[0]) ? UserAgents.load() : null;
        String line;
        while ((line = in.readLine()) != null) {
            JsonNode request = mapper.readTree(line);
            ObjectNode answer = mapper.createObjectNode();
            switch (args[0]) {
                case "contract":
                    contract(request, answer);
                    break;
                case "pseudonymise":
                    pseudonymise(request, answer);
                    break;
                case "user-agent":
                    String[] device = agents.classify(request.get("user_agent").textValue());
                    answer.put("device_class", device[0]);
                    answer.put("browser", device[1]);
                    answer.put("os", device[2]);
                    break;
                default:
                    throw new IllegalArgumentException("unknown probe " + args[0]);
            }
            out.write(mapper.writeValueAsString(answer));
            out.write('\n');
            out.flush();
        }
    }

    private static void contract(JsonNode request, ObjectNode answer) {
        byte[] payload = request.get("payload_b64").isNull() ? null
                : Base64.getDecoder().decode(request.get("payload_b64").textValue());
        Verdict verdict = EventContract.get().check(payload, request.get("max_bytes").intValue(),
                request.get("now_ms").longValue(),
                request.get("max_future_s").longValue() * 1000L);
        answer.put("reason", verdict.reason);
        answer.put("field", verdict.field);
        answer.put("detail", verdict.detail);
        answer.put("event_id", verdict.eventId);
        answer.put("event_time_ms", verdict.eventTimeMillis);
    }

    private static void pseudonymise(JsonNode request, ObjectNode answer) {
        Pseudonymiser pseudonymiser = new Pseudonymiser(
                request.get("key").textValue(), request.get("spec").textValue());
        String payload = request.get("payload").textValue();
        // Whether it is a control event, as the job decides it: the contract's verdict.
        boolean control = payload != null && EventContract.get()
                .check(payload, System.currentTimeMillis(), Long.MAX_VALUE / 4).control();
        Pseudonymiser.Result result = payload == null ? null
                : pseudonymiser.apply(payload.getBytes(StandardCharsets.UTF_8), control);
        if (result == null) {
            answer.putNull("payload");
            return;
        }
        answer.put("payload", result.payload == null ? payload
                : new String(result.payload, java.nio.charset.StandardCharsets.UTF_8));
        ObjectNode fields = answer.putObject("fields");
        for (int i = 0; i < Pseudonymiser.FIELDS.length; i++) {
            Object value = result.fields[i];
            if (value == null) {
                fields.putNull(Pseudonymiser.FIELDS[i]);
            } else if (value instanceof Double) {
                fields.put(Pseudonymiser.FIELDS[i], (Double) value);
            } else if (value instanceof Integer) {
                fields.put(Pseudonymiser.FIELDS[i], (Integer) value);
            } else {
                fields.put(Pseudonymiser.FIELDS[i], value.toString());
            }
        }
    }
}
