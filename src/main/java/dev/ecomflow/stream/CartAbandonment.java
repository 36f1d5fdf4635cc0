package dev.ecomflow.stream;

import java.math.BigDecimal;
import java.time.Instant;

import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.types.Row;
import org.apache.flink.util.Collector;

/**
 * Abandoned carts: a user's cart with no purchase within a timeout after its last change emits
 * one row, in event time. Flink SQL 1.20 cannot emit a pattern that timed out
 * (MATCH_RECOGNIZE has no timeout output, FLINK-18642), so this is an event-time timer.
 *
 * <p>Input rows: (user_id, event_type, product_id, quantity, price_usd) with the event time as
 * the record timestamp. Rows are applied in event-time order as the watermark reaches them:
 * add_to_cart adds quantity x price, remove_from_cart takes the product's whole line out, a
 * purchase empties the cart. The deadline is re-armed at every cart change; when the watermark
 * passes it, the cart is emitted and forgotten.
 *
 * <p>Output rows: (user_id, cart_value_usd, items, first_added_at, last_change_at,
 * abandoned_at), with abandoned_at = last change + timeout as the record timestamp.
 */
public class CartAbandonment {

    public static final String[] OUTPUT_FIELDS = {
        "user_id", "cart_value_usd", "items", "first_added_at", "last_change_at", "abandoned_at"
    };
    public static final TypeInformation<Row> OUTPUT_TYPE = Types.ROW_NAMED(OUTPUT_FIELDS,
            Types.STRING, Types.BIG_DEC, Types.INT, Types.INSTANT, Types.INSTANT, Types.INSTANT);

    /** What a parked row keeps: event_type, product_id, quantity, price_usd. */
    static final TypeInformation<Row> INPUT_ROW =
            Types.ROW(Types.STRING, Types.STRING, Types.INT, Types.BIG_DEC);

    public DataStream<Row> apply(DataStream<Row> input, long timeoutMillis) {
        return input
                .keyBy(new EventTimeOrdered.FirstField())
                .process(new Carts(timeoutMillis))
                .returns(OUTPUT_TYPE)
                .name("CartAbandonment(event-time timers)")
                .uid("ecomflow-cart-abandonment");
    }

    /** A user's cart, its changes applied in event-time order (EventTimeOrdered). */
    static final class Carts extends EventTimeOrdered {
        private static final long serialVersionUID = 1L;
        private final long timeoutMillis;
        private transient MapState<String, BigDecimal> lines; // product -> line value
        private transient MapState<String, Integer> quantities; // product -> quantity
        private transient ValueState<Long> firstAdded;
        private transient ValueState<Long> lastChange;

        Carts(long timeoutMillis) {
            super(INPUT_ROW);
            this.timeoutMillis = timeoutMillis;
        }

        @Override
        void openState() {
            lines = getRuntimeContext().getMapState(
                    new MapStateDescriptor<>("lines", Types.STRING, Types.BIG_DEC));
            quantities = getRuntimeContext().getMapState(
                    new MapStateDescriptor<>("quantities", Types.STRING, Types.INT));
            firstAdded = getRuntimeContext().getState(
                    new ValueStateDescriptor<>("first-added", Types.LONG));
            lastChange = getRuntimeContext().getState(
                    new ValueStateDescriptor<>("last-change", Types.LONG));
        }

        @Override
        Row parked(Row row) {
            return Row.of(row.getField(1), row.getField(2), row.getField(3), row.getField(4));
        }

        @Override
        void fired(long timestamp, OnTimerContext context, Collector<Row> out) throws Exception {
            Long last = lastChange.value();
            if (last == null || timestamp != last + timeoutMillis) {
                return; // not (or no longer) this cart's deadline
            }
            BigDecimal value = BigDecimal.ZERO;
            for (BigDecimal line : lines.values()) {
                value = value.add(line);
            }
            int items = 0;
            for (Integer quantity : quantities.values()) {
                items += quantity;
            }
            out.collect(Row.of(context.getCurrentKey(), value, items,
                    Instant.ofEpochMilli(firstAdded.value()), Instant.ofEpochMilli(last),
                    Instant.ofEpochMilli(timestamp)));
            clear();
        }

        /** One cart change (event_type, product_id, quantity, price_usd) at `time`. */
        @Override
        void apply(Row row, long time, Context context, Collector<Row> out) throws Exception {
            String type = (String) row.getField(0);
            String product = row.getField(1) == null ? "" : (String) row.getField(1);
            if ("purchase".equals(type)) {
                disarm(context);
                clear();
                return;
            }
            if ("add_to_cart".equals(type)) {
                Integer quantity = (Integer) row.getField(2);
                BigDecimal price = (BigDecimal) row.getField(3);
                int units = quantity == null ? 1 : quantity;
                BigDecimal value = price == null ? BigDecimal.ZERO
                        : price.multiply(BigDecimal.valueOf(units));
                BigDecimal before = lines.get(product);
                lines.put(product, before == null ? value : before.add(value));
                Integer had = quantities.get(product);
                quantities.put(product, (had == null ? 0 : had) + units);
                if (firstAdded.value() == null) {
                    firstAdded.update(time);
                }
            } else if ("remove_from_cart".equals(type) && lines.contains(product)) {
                lines.remove(product);
                quantities.remove(product);
            } else {
                return; // nothing of it in the cart, or not a cart event: no change
            }
            disarm(context);
            if (lines.isEmpty()) {
                clear();
                return;
            }
            lastChange.update(time);
            context.timerService().registerEventTimeTimer(time + timeoutMillis);
        }

        private void disarm(Context context) throws Exception {
            Long last = lastChange.value();
            if (last != null) {
                context.timerService().deleteEventTimeTimer(last + timeoutMillis);
            }
        }

        private void clear() {
            lines.clear();
            quantities.clear();
            firstAdded.clear();
            lastChange.clear();
        }
    }
}
