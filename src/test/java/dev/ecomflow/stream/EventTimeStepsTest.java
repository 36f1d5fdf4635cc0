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

    private static Row cart(String user, String type, String product, Integer quantity,
                            String price) {
        return Row.of(user, type, product, quantity, price == null ? null : new BigDecimal(price));
    }

    @Test
    void cartChangesApplyInEventTimeOrderNotArrivalOrder() throws Exception {
        var carts = carts(null);
        carts.processElement(new StreamRecord<>(cart("u1", "add_to_cart", "p1", 2, "10.00"), 1000));
        carts.processElement(new StreamRecord<>(cart("u1", "add_to_cart", "p2", 1, "5.00"), 3000));
        // Arrives last, happened second: p1 leaves the cart before p2 is added, so the cart
        // that times out holds p2 alone and was first filled at 3 s.
        carts.processElement(new StreamRecord<>(cart("u1", "remove_from_cart", "p1", null, null),
                2000));
        carts.processWatermark(new Watermark(3000 + MINUTE - 1));
        assertEquals(List.of(), carts.extractOutputValues());
        carts.processWatermark(new Watermark(3000 + MINUTE));
        assertEquals(List.of(Row.of("u1", new BigDecimal("5.00"), 1, Instant.ofEpochMilli(3000),
                        Instant.ofEpochMilli(3000), Instant.ofEpochMilli(3000 + MINUTE))),
                carts.extractOutputValues());
        carts.close();
    }

    @Test
    void aPurchaseBeforeTheDeadlineEmptiesTheCart() throws Exception {
        var carts = carts(null);
        carts.processElement(new StreamRecord<>(cart("u2", "add_to_cart", "p1", 1, "3.00"), 1000));
        carts.processElement(new StreamRecord<>(cart("u2", "purchase", null, null, null), 30_000));
        carts.processWatermark(new Watermark(10 * MINUTE));
        assertEquals(List.of(), carts.extractOutputValues());
        carts.close();
    }

    @Test
    void parkedRowsAndOpenCartsSurviveASnapshotAndRestore() throws Exception {
        var before = carts(null);
        before.processElement(new StreamRecord<>(cart("u3", "add_to_cart", "p1", 1, "4.00"), 1000));
        before.processWatermark(new Watermark(1000));                // applied: an open cart
        before.processElement(new StreamRecord<>(cart("u3", "add_to_cart", "p2", 2, "1.50"), 5000));
        OperatorSubtaskState snapshot = before.snapshot(1L, 6000L);  // p2 still parked
        before.close();

        var after = carts(snapshot);
        after.processWatermark(new Watermark(5000 + MINUTE));
        assertEquals(List.of(Row.of("u3", new BigDecimal("7.00"), 3, Instant.ofEpochMilli(1000),
                        Instant.ofEpochMilli(5000), Instant.ofEpochMilli(5000 + MINUTE))),
                after.extractOutputValues());
        after.close();
    }

    @Test
    void aStrictFunnelSeesTheSessionInEventTimeOrder() throws Exception {
        String funnels = "checkout|strict|30|page_view,add_to_cart,purchase";
        var sessions = sessions(funnels);
        // Arrival order purchase, page_view, add_to_cart would break the strict funnel at its
        // first step; in event time the session went through all three.
        sessions.processElement(new StreamRecord<>(Row.of("u4", "purchase", "mobile", "ES"), 3000));
        sessions.processElement(new StreamRecord<>(Row.of("u4", "page_view", "mobile", "ES"), 1000));
        sessions.processElement(new StreamRecord<>(Row.of("u4", "add_to_cart", null, null), 2000));
        sessions.processWatermark(new Watermark(3000 + 30 * MINUTE));
        Instant start = Instant.ofEpochMilli(1000);
        assertEquals(List.of(
                Row.of("checkout", 1, "page_view", "u4", start, "mobile", "ES"),
                Row.of("checkout", 2, "add_to_cart", "u4", start, "mobile", "ES"),
                Row.of("checkout", 3, "purchase", "u4", start, "mobile", "ES")),
                sessions.extractOutputValues());
        sessions.close();
    }

    @Test
    void aGapClosesOneSessionAndOpensTheNext() throws Exception {
        String funnels = "browse|sequential|30|page_view,add_to_cart";
        var sessions = sessions(funnels);
        sessions.processElement(new StreamRecord<>(Row.of("u5", "page_view", null, null), 0));
        sessions.processElement(new StreamRecord<>(Row.of("u5", "add_to_cart", null, null),
                31 * MINUTE));   // after the gap: a new session, which never viewed a page
        sessions.processWatermark(new Watermark(62 * MINUTE));
        assertEquals(List.of(Row.of("browse", 1, "page_view", "u5", Instant.EPOCH, null, null)),
                sessions.extractOutputValues());
        sessions.close();
    }
}
