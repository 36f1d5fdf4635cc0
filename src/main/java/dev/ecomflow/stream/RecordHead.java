package dev.ecomflow.stream;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.types.Row;
import org.apache.flink.util.Collector;

import dev.ecomflow.contract.EventContract;
import dev.ecomflow.contract.Verdict;
import dev.ecomflow.privacy.Pseudonymiser;

/**
 * The head of the clean stream: every record of the stream, parsed, checked and pseudonymised
 * once, into the flat row of {@link Records}.
 *
 * <ol>
 *   <li>The event contract ({@link EventContract}: size, UTF-8, JSON, the schema files, the
 *       rules around them). A record it rejects is a dead letter, kept as received (invalid
 *       UTF-8 replaced by U+FFFD).</li>
 *   <li>A record it accepts is pseudonymised ({@link Pseudonymiser}, the Privacy group's rules)
 *       and its fields are read from the result in the same pass.</li>
 *   <li>The watermark it met: the newest event time of the accepted records before it, minus
 *       the delay. Only records the contract accepts move event time (a rejected record with
 *       a timestamp hours ahead would otherwise make everyone else late), and control records
 *       carry wall-clock time, so they do not move it either. {@link AcceptedEventTime}
 *       generates the stream's watermarks by the same rule, so no record reaches a window
 *       behind the watermark the head judged it by.</li>
 * </ol>
 *
 * <p>Lateness and duplicates are decided next, by {@link FirstArrival}: duplicates first. A
 * record is counted in the minute of its accounting time: its event time, or the watermark it
 * met when that is later (or when it has no event time), so every record lands in a per-minute
 * window that is still open.
 */
public final class RecordHead extends ProcessFunction<Row, Row> {

    private static final long serialVersionUID = 1L;
    /** Event time as text that sorts like it ("2025-07-16 10:00:00.500", UTC). */
    static final DateTimeFormatter TIME_TEXT =
            DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSS").withZone(ZoneOffset.UTC);

    private final CleanStreamConfig config;
    private transient EventContract contract;
    private transient Pseudonymiser pseudonymiser;
    private transient long newestEventTime;
    private transient Counter checked;

    public RecordHead(CleanStreamConfig config) {
        this.config = config;
    }

    @Override
    public void open(OpenContext context) {
        contract = EventContract.get();
        pseudonymiser = config.pseudonymise
                ? new Pseudonymiser(config.hashKey, config.privacySpec) : Pseudonymiser.readOnly();
        newestEventTime = Long.MIN_VALUE;
        checked = getRuntimeContext().getMetricGroup().addGroup("kinesisanalytics")
                .addGroup("ecomflow").counter("checked");
    }

    @Override
    public void processElement(Row raw, Context context, Collector<Row> out) {
        checked.inc();
        long now = System.currentTimeMillis();
        byte[] payload = (byte[]) raw.getField(0);
        Verdict verdict = contract.check(payload, config.maxPayloadBytes, now,
                config.maxFutureMillis);
        long arrival = newestEventTime == Long.MIN_VALUE ? 0L
                : Math.max(0L, newestEventTime - config.watermarkDelayMillis);
        Row row = Records.empty();
        Long eventTime = verdict.eventTimeMillis;
        if (verdict.valid() && !verdict.control() && (eventTime == null || eventTime <= 0)) {
            // Valid, but at or before 1970: no window can hold it (nor a NULL rowtime).
            deadLetter(row, payload, verdict.eventId, "bad_timestamp", "timestamp",
                    "an event time at or before 1970-01-01T00:00:00Z", true);
            eventTime = null;
        } else if (verdict.valid()) {
            Pseudonymiser.Result parsed = pseudonymiser.apply(payload, verdict.control());
            if (parsed == null) {
                throw new IllegalStateException("a record the contract accepted could not be "
                        + "read again: " + verdict.eventId);
            }
            fill(row, parsed);
            // NULL when pseudonymisation is off: the record continues as received
            row.setField(Records.PAYLOAD, parsed.payload != null ? parsed.payload : payload);
            row.setField(Records.EVENT_ID, verdict.eventId);
            if (verdict.control()) {
                row.setField(Records.OUTCOME, Records.CONTROL);
            } else {
                row.setField(Records.OUTCOME, Records.ACCEPTED);
                row.setField(Records.EVENT_TIME, Instant.ofEpochMilli(eventTime));
                row.setField(Records.EVENT_TIME_TEXT, TIME_TEXT.format(
                        Instant.ofEpochMilli(eventTime)));
                newestEventTime = Math.max(newestEventTime, eventTime);
            }
        } else {
            deadLetter(row, payload, verdict.eventId, verdict.reason, verdict.field,
                    verdict.detail, verdict.text != null);
        }
        row.setField(Records.ARRIVAL_WATERMARK, Instant.ofEpochMilli(arrival));
        row.setField(Records.ACCOUNTING_TIME, Instant.ofEpochMilli(
                eventTime == null ? arrival : Math.max(eventTime, arrival)));
        row.setField(Records.RECEIVED_AT, LocalDateTime.ofEpochSecond(Math.floorDiv(now, 1000L),
                (int) Math.floorMod(now, 1000L) * 1_000_000, ZoneOffset.UTC));
        out.collect(row);
    }

    /** A rejected record, kept as received (invalid UTF-8 shown as U+FFFD). */
    private static void deadLetter(Row row, byte[] payload, String eventId, String reason,
            String field, String detail, boolean utf8) {
        row.setField(Records.PAYLOAD, payload == null || utf8 ? payload
                : new String(payload, StandardCharsets.UTF_8).getBytes(StandardCharsets.UTF_8));
        row.setField(Records.EVENT_ID, eventId);
        row.setField(Records.OUTCOME, Records.DEAD_LETTER);
        row.setField(Records.REASON, reason);
        row.setField(Records.FIELD, field);
        row.setField(Records.DETAIL, detail);
    }

    private static void fill(Row row, Pseudonymiser.Result parsed) {
        Object[] f = parsed.fields;
        row.setField(Records.EVENT_TYPE, f[Pseudonymiser.EVENT_TYPE]);
        row.setField(Records.USER_ID, f[Pseudonymiser.USER_ID]);
        row.setField(Records.CUSTOMER_ID, f[Pseudonymiser.CUSTOMER_ID]);
        row.setField(Records.SESSION_ID, f[Pseudonymiser.SESSION_ID]);
        row.setField(Records.PAGE_URL, f[Pseudonymiser.PAGE_URL]);
        row.setField(Records.REFERRER, f[Pseudonymiser.REFERRER]);
        row.setField(Records.USER_AGENT, f[Pseudonymiser.USER_AGENT]);
        row.setField(Records.DEVICE_TYPE, f[Pseudonymiser.DEVICE_TYPE]);
        row.setField(Records.PRODUCT_ID, f[Pseudonymiser.PRODUCT_ID]);
        // a catalog record's `name`, else an event's `product_name`
        row.setField(Records.PRODUCT_NAME, f[Pseudonymiser.NAME] != null
                ? f[Pseudonymiser.NAME] : f[Pseudonymiser.PRODUCT_NAME]);
        row.setField(Records.CATEGORY, f[Pseudonymiser.CATEGORY]);
        row.setField(Records.BRAND, f[Pseudonymiser.BRAND]);
        row.setField(Records.PRICE, Records.money(f[Pseudonymiser.PRICE]));
        row.setField(Records.QUANTITY, f[Pseudonymiser.QUANTITY]);
        row.setField(Records.TRANSACTION_ID, f[Pseudonymiser.TRANSACTION_ID]);
        row.setField(Records.TOTAL_AMOUNT, Records.money(f[Pseudonymiser.TOTAL_AMOUNT]));
        row.setField(Records.CURRENCY, f[Pseudonymiser.CURRENCY]);
        row.setField(Records.PAYMENT_METHOD, f[Pseudonymiser.PAYMENT_METHOD]);
        row.setField(Records.SHIPPING_COUNTRY, f[Pseudonymiser.SHIPPING_COUNTRY]);
        row.setField(Records.EVENT_COUNTRY, f[Pseudonymiser.COUNTRY]);
        row.setField(Records.ITEMS_JSON, f[Pseudonymiser.ITEMS_JSON]);
    }
}
