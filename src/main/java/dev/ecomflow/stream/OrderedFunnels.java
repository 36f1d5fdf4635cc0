package dev.ecomflow.stream;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

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
 * Ordered funnels per server-side session: how far each session got through each configured
 * funnel (flink_jobs/conf/funnels.json), in event time.
 *
 * <p>Input rows: (user_id, event_type, device_class, country), event time as the record
 * timestamp, keyed by user. Rows are applied in event-time order as the watermark reaches them
 * (as in {@link CartAbandonment}); a session closes after `gapMillis` without events. A funnel
 * is entered at its first step; step k+1 counts only after step k and within the conversion
 * window from the first step. `sequential` allows other events in between; `strict` stops the
 * funnel at the first funnel event that is neither the current step again nor the next one.
 *
 * <p>Output: one row per (session, funnel, step reached): (funnel, step_index, step, user_id,
 * session_start, device_class, country), with the session's close time as record timestamp.
 * Funnels are passed as "name|order|window_minutes|step,step,..." strings joined by ";".
 */
public class OrderedFunnels {

    public static final TypeInformation<Row> OUTPUT_TYPE = Types.ROW_NAMED(
            new String[] {"funnel", "step_index", "step", "user_id", "session_start",
                "device_class", "country"},
            Types.STRING, Types.INT, Types.STRING, Types.STRING, Types.INSTANT, Types.STRING,
            Types.STRING);

    static final TypeInformation<Row> PARKED = Types.ROW(Types.STRING, Types.STRING, Types.STRING);

    public DataStream<Row> apply(DataStream<Row> input, String funnels, long gapMillis) {
        return input
                .keyBy(new EventTimeOrdered.FirstField())
                .process(new Sessions(Funnel.parseAll(funnels), gapMillis))
                .returns(OUTPUT_TYPE)
                .name("OrderedFunnels(event-time sessions)")
                .uid("ecomflow-ordered-funnels");
    }

    static final class Funnel implements java.io.Serializable {
        final String name;
        final boolean strict;
        final long windowMillis;
        final String[] steps;

        Funnel(String spec) {
            String[] parts = spec.split("\\|");
            name = parts[0];
            strict = "strict".equals(parts[1]);
            windowMillis = Long.parseLong(parts[2]) * 60_000L;
            steps = parts[3].split(",");
        }

        static List<Funnel> parseAll(String specs) {
            List<Funnel> funnels = new ArrayList<>();
            for (String spec : specs.split(";")) {
                if (!spec.isBlank()) {
                    funnels.add(new Funnel(spec));
                }
            }
            return funnels;
        }

        boolean isStep(String type) {
            for (String step : steps) {
                if (step.equals(type)) {
                    return true;
                }
            }
            return false;
        }
    }

    /** A user's sessions, their events applied in event-time order (EventTimeOrdered). */
    static final class Sessions extends EventTimeOrdered {
        private static final long serialVersionUID = 1L;
        private final List<Funnel> funnels;
        private final long gapMillis;
        private transient ValueState<Long> start;
        private transient ValueState<Long> last;
        private transient ValueState<String> device;
        private transient ValueState<String> country;
        private transient MapState<Integer, Integer> reached; // funnel -> steps reached
        private transient MapState<Integer, Long> entered; // funnel -> time of its first step
        private transient MapState<Integer, Boolean> stopped; // strict funnels that broke

        Sessions(List<Funnel> funnels, long gapMillis) {
            super(PARKED);
            this.funnels = funnels;
            this.gapMillis = gapMillis;
        }

        @Override
        void openState() {
            start = getRuntimeContext().getState(new ValueStateDescriptor<>("start", Types.LONG));
            last = getRuntimeContext().getState(new ValueStateDescriptor<>("last", Types.LONG));
            device = getRuntimeContext().getState(
                    new ValueStateDescriptor<>("device", Types.STRING));
            country = getRuntimeContext().getState(
                    new ValueStateDescriptor<>("country", Types.STRING));
            reached = getRuntimeContext().getMapState(
                    new MapStateDescriptor<>("reached", Types.INT, Types.INT));
            entered = getRuntimeContext().getMapState(
                    new MapStateDescriptor<>("entered", Types.INT, Types.LONG));
            stopped = getRuntimeContext().getMapState(
                    new MapStateDescriptor<>("stopped", Types.INT, Types.BOOLEAN));
        }

        @Override
        Row parked(Row row) {
            return Row.of(row.getField(1), row.getField(2), row.getField(3));
        }

        @Override
        void fired(long timestamp, OnTimerContext context, Collector<Row> out) throws Exception {
            Long lastTime = last.value();
            if (lastTime != null && timestamp == lastTime + gapMillis) {
                close(context.getCurrentKey(), out);
            }
        }

        @Override
        void apply(Row row, long time, Context context, Collector<Row> out) throws Exception {
            Long lastTime = last.value();
            if (lastTime != null && time - lastTime > gapMillis) {
                close(context.getCurrentKey(), out); // the timer has not fired yet: same gap
            }
            if (start.value() == null) {
                start.update(time);
            } else {
                context.timerService().deleteEventTimeTimer(last.value() + gapMillis);
            }
            last.update(time);
            context.timerService().registerEventTimeTimer(time + gapMillis);
            if (device.value() == null && row.getField(1) != null) {
                device.update((String) row.getField(1));
            }
            if (country.value() == null && row.getField(2) != null) {
                country.update((String) row.getField(2));
            }
            String type = (String) row.getField(0);
            for (int f = 0; f < funnels.size(); f++) {
                Funnel funnel = funnels.get(f);
                if (Boolean.TRUE.equals(stopped.get(f)) || !funnel.isStep(type)) {
                    continue;
                }
                Integer done = reached.get(f);
                int k = done == null ? 0 : done;
                if (k == 0) {
                    if (funnel.steps[0].equals(type)) {
                        reached.put(f, 1);
                        entered.put(f, time);
                    }
                    continue;
                }
                if (k == funnel.steps.length || time - entered.get(f) > funnel.windowMillis) {
                    continue;
                }
                if (funnel.steps[k].equals(type)) {
                    reached.put(f, k + 1);
                } else if (funnel.strict && !funnel.steps[k - 1].equals(type)) {
                    stopped.put(f, true);
                }
            }
        }

        private void close(String user, Collector<Row> out) throws Exception {
            Instant began = Instant.ofEpochMilli(start.value());
            for (int f = 0; f < funnels.size(); f++) {
                Integer done = reached.get(f);
                Funnel funnel = funnels.get(f);
                for (int k = 0; done != null && k < done; k++) {
                    out.collect(Row.of(funnel.name, k + 1, funnel.steps[k], user, began,
                            device.value(), country.value()));
                }
            }
            start.clear();
            last.clear();
            device.clear();
            country.clear();
            reached.clear();
            entered.clear();
            stopped.clear();
        }
    }
}
