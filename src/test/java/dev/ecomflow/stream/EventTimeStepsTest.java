package dev.ecomflow.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.math.BigDecimal;
import java.time.Instant;
import java.util.List;

import org.apache.flink.api.common.ExecutionConfig;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.types.Row;
import org.junit.jupiter.api.Test;

/**
 * The event-time steps on Flink's operator test harness: rows in, watermarks, state snapshots
 * and restores, rows out, in milliseconds and without a job. The job tests run them whole.
 */
class EventTimeStepsTest {

    private static final long MINUTE = 60_000L;

    /** A harness around `step`, its output copied with the serializer the job uses. */
    private static KeyedOneInputStreamOperatorTestHarness<String, Row, Row> harness(
            EventTimeOrdered step, TypeInformation<Row> output, OperatorSubtaskState restored)
            throws Exception {
        KeyedOneInputStreamOperatorTestHarness<String, Row, Row> harness =
                new KeyedOneInputStreamOperatorTestHarness<>(
                        new KeyedProcessOperator<>(step), new EventTimeOrdered.FirstField(),
                        Types.STRING);
        harness.setup(output.createSerializer(new ExecutionConfig().getSerializerConfig()));
        if (restored != null) {
            harness.initializeState(restored);
        }
        harness.open();
        return harness;
    }

    private static KeyedOneInputStreamOperatorTestHarness<String, Row, Row> carts(
            OperatorSubtaskState restored) throws Exception {
        return harness(new CartAbandonment.Carts(MINUTE), CartAbandonment.OUTPUT_TYPE, restored);
    }

    private static KeyedOneInputStreamOperatorTestHarness<String, Row, Row> sessions(
            String funnels) throws Exception {
        return harness(new OrderedFunnels.Sessions(OrderedFunnels.Funnel.parseAll(funnels),
                30 * MINUTE), OrderedFunnels.OUTPUT_TYPE, null);
    }

    /** A cart change (user, event_type, product_id, quantity, price_usd) at `time`. */
    private static StreamRecord<Row> cart(long time, String user, String type, String product,
                                          Integer quantity, String price) {
        return at(time, Row.of(user, type, product, quantity,
                price == null ? null : new BigDecimal(price)));
    }

    private static StreamRecord<Row> at(long time, Row row) {
        return new StreamRecord<>(row, time);
    }

    /** Everything `step` has emitted once the watermark reached `watermark`. */
    private static List<Row> emittedAt(
            KeyedOneInputStreamOperatorTestHarness<String, Row, Row> step, long watermark)
            throws Exception {
        step.processWatermark(new Watermark(watermark));
        return step.extractOutputValues();
    }

    /** The row an abandoned cart emits, a minute (the timeout) after its last change. */
    private static Row abandoned(String user, String value, int items, long firstAdded,
                                 long lastChange) {
        return Row.of(user, new BigDecimal(value), items, Instant.ofEpochMilli(firstAdded),
                Instant.ofEpochMilli(lastChange), Instant.ofEpochMilli(lastChange + MINUTE));
    }

    @Test
    void cartChangesApplyInEventTimeOrderNotArrivalOrder() throws Exception {
        var carts = carts(null);
        carts.processElement(cart(1000, "u1", "add_to_cart", "p1", 2, "10.00"));
        carts.processElement(cart(3000, "u1", "add_to_cart", "p2", 1, "5.00"));
        // Arrives last, happened second: p1 leaves the cart before p2 is added, so the cart
        // that times out holds p2 alone and was first filled at 3 s.
        carts.processElement(cart(2000, "u1", "remove_from_cart", "p1", null, null));
        assertEquals(List.of(), emittedAt(carts, 3000 + MINUTE - 1));
        assertEquals(List.of(abandoned("u1", "5.00", 1, 3000, 3000)),
                emittedAt(carts, 3000 + MINUTE));
        carts.close();
    }

    @Test
    void aPurchaseBeforeTheDeadlineEmptiesTheCart() throws Exception {
        var carts = carts(null);
        carts.processElement(cart(1000, "u2", "add_to_cart", "p1", 1, "3.00"));
        carts.processElement(cart(30_000, "u2", "purchase", null, null, null));
        assertEquals(List.of(), emittedAt(carts, 10 * MINUTE));
        carts.close();
    }

    @Test
    void parkedRowsAndOpenCartsSurviveASnapshotAndRestore() throws Exception {
        var before = carts(null);
        before.processElement(cart(1000, "u3", "add_to_cart", "p1", 1, "4.00"));
        before.processWatermark(new Watermark(1000));                // applied: an open cart
        before.processElement(cart(5000, "u3", "add_to_cart", "p2", 2, "1.50"));
        OperatorSubtaskState snapshot = before.snapshot(1L, 6000L);  // p2 still parked
        before.close();

        var after = carts(snapshot);
        assertEquals(List.of(abandoned("u3", "7.00", 3, 1000, 5000)),
                emittedAt(after, 5000 + MINUTE));
        after.close();
    }

    @Test
    void aStrictFunnelSeesTheSessionInEventTimeOrder() throws Exception {
        String funnels = "checkout|strict|30|page_view,add_to_cart,purchase";
        var sessions = sessions(funnels);
        // Arrival order purchase, page_view, add_to_cart would break the strict funnel at its
        // first step; in event time the session went through all three.
        sessions.processElement(at(3000, Row.of("u4", "purchase", "mobile", "ES")));
        sessions.processElement(at(1000, Row.of("u4", "page_view", "mobile", "ES")));
        sessions.processElement(at(2000, Row.of("u4", "add_to_cart", null, null)));
        Instant start = Instant.ofEpochMilli(1000);
        assertEquals(List.of(
                Row.of("checkout", 1, "page_view", "u4", start, "mobile", "ES"),
                Row.of("checkout", 2, "add_to_cart", "u4", start, "mobile", "ES"),
                Row.of("checkout", 3, "purchase", "u4", start, "mobile", "ES")),
                emittedAt(sessions, 3000 + 30 * MINUTE));
        sessions.close();
    }

    @Test
    void aGapClosesOneSessionAndOpensTheNext() throws Exception {
        String funnels = "browse|sequential|30|page_view,add_to_cart";
        var sessions = sessions(funnels);
        sessions.processElement(at(0, Row.of("u5", "page_view", null, null)));
        // After the gap: a new session, which never viewed a page.
        sessions.processElement(at(31 * MINUTE, Row.of("u5", "add_to_cart", null, null)));
        assertEquals(List.of(Row.of("browse", 1, "page_view", "u5", Instant.EPOCH, null, null)),
                emittedAt(sessions, 62 * MINUTE));
        sessions.close();
    }
}
