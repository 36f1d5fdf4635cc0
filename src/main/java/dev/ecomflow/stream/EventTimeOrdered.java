package dev.ecomflow.stream;

import java.util.ArrayList;
import java.util.List;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.types.Row;
import org.apache.flink.util.Collector;

/**
 * A keyed step that sees each key's rows in event-time order: a row is parked (in the
 * "pending" map state, by its event time) until the watermark reaches its time, then handed
 * to {@link #apply} with the others of that moment, oldest moment first. Rows reach the Java
 * steps ordered by event time only per upstream key (the temporal joins release them per
 * currency and per product), so a step that follows a user's story must re-order them.
 *
 * <p>A timer at a time that is also a deadline of the step's own (a cart's timeout, a
 * session's gap) first releases the rows of that moment, then calls {@link #fired}.
 */
abstract class EventTimeOrdered extends KeyedProcessFunction<String, Row, Row> {

    private static final long serialVersionUID = 1L;

    private final TypeInformation<Row> parkedType;
    private transient MapState<Long, List<Row>> pending; // event time -> rows, not yet applied

    EventTimeOrdered(TypeInformation<Row> parkedType) {
        this.parkedType = parkedType;
    }

    /** The fields of an input row the step needs later (what is kept in state). */
    abstract Row parked(Row row);

    /** One parked row, at its event time, once the watermark has reached it. */
    abstract void apply(Row row, long time, Context context, Collector<Row> out)
            throws Exception;

    /** A timer of the step's own at `time`, after the rows of that moment were applied. */
    abstract void fired(long time, OnTimerContext context, Collector<Row> out) throws Exception;

    /** The step's other state; the parking state is opened here. */
    abstract void openState();

    @Override
    public final void open(OpenContext context) {
        pending = getRuntimeContext().getMapState(new MapStateDescriptor<>(
                "pending", Types.LONG, Types.LIST(parkedType)));
        openState();
    }

    @Override
    public final void processElement(Row row, Context context, Collector<Row> out)
            throws Exception {
        long time = context.timestamp();
        List<Row> rows = pending.get(time);
        if (rows == null) {
            rows = new ArrayList<>();
        }
        rows.add(parked(row));
        pending.put(time, rows);
        context.timerService().registerEventTimeTimer(time);
    }

    @Override
    public final void onTimer(long timestamp, OnTimerContext context, Collector<Row> out)
            throws Exception {
        List<Row> rows = pending.get(timestamp);
        if (rows != null) {
            pending.remove(timestamp);
            for (Row row : rows) {
                apply(row, timestamp, context, out);
            }
        }
        fired(timestamp, context, out);
    }

    /** The user id in the first field: how the event-time steps key their rows. */
    static final class FirstField implements KeySelector<Row, String> {
        private static final long serialVersionUID = 1L;

        @Override
        public String getKey(Row row) {
            return (String) row.getField(0);
        }
    }
}
