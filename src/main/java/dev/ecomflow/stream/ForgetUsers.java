package dev.ecomflow.stream;

import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.StateTtlConfig;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.types.Row;
import org.apache.flink.util.Collector;

/**
 * Erasure on the stream: after an `erasure_request` control row for a (hashed) user, that user's
 * later rows are dropped until the request expires (`ecomflow forget`, README "Privacy").
 *
 * <p>Keyed by the hashed user id. A control row stores "forgotten until" = its time + dropMillis
 * (or its own expiry, when a field names one and it is earlier) in keyed state whose TTL is
 * dropMillis, so the state of every request disappears by itself. A later row of that key whose
 * time is before "until" is dropped. Rows without a user (anonymous visitors) and every row
 * while dropMillis is 0 pass through untouched. Rows keep their timestamps, so event time flows.
 *
 * <p>{@link #apply} drops control rows and forgotten rows; {@link #mark} keeps every row and
 * sets the type field of a forgotten row to "forgotten" (control rows pass unchanged), so that
 * SQL can count both before filtering them out (the job's accounting: int_stream__outcomes).
 *
 * <p>"time" is the field `timeIndex`: an Instant (TIMESTAMP_LTZ), a LocalDateTime or Timestamp
 * (TIMESTAMP, read as UTC) or epoch milliseconds (Long); NULL means the processing time. Use the
 * arrival time, so that "later" means "arrived later", whatever the event time says.
 */
public class ForgetUsers {

    public static final String CONTROL_TYPE = "erasure_request";
    public static final String FORGOTTEN_TYPE = "forgotten";

    /** Drops control rows and the rows of forgotten users (see the class comment). */
    public DataStream<Row> apply(DataStream<Row> input, int userIndex, int typeIndex,
            int timeIndex, long dropMillis) {
        return build(input, userIndex, typeIndex, timeIndex, -1, dropMillis, false);
    }

    /** As {@link #apply}; a control row's field `expiresIndex` may shorten its drop period. */
    public DataStream<Row> apply(DataStream<Row> input, int userIndex, int typeIndex,
            int timeIndex, int expiresIndex, long dropMillis) {
        return build(input, userIndex, typeIndex, timeIndex, expiresIndex, dropMillis, false);
    }

    /** Keeps every row; a forgotten user's row gets the type "forgotten" instead of its own. */
    public DataStream<Row> mark(DataStream<Row> input, int userIndex, int typeIndex,
            int timeIndex, int expiresIndex, long dropMillis) {
        return build(input, userIndex, typeIndex, timeIndex, expiresIndex, dropMillis, true);
    }

    private DataStream<Row> build(DataStream<Row> input, int userIndex, int typeIndex,
            int timeIndex, int expiresIndex, long dropMillis, boolean mark) {
        return input
                .keyBy(new UserKey(userIndex))
                .process(new Forget(typeIndex, timeIndex, expiresIndex, dropMillis, mark))
                .returns(input.getType())
                .name("ForgetUsers(erasure)")
                .uid("ecomflow-forget-users");
    }

    static final class UserKey implements KeySelector<Row, String> {
        private final int index;

        UserKey(int index) {
            this.index = index;
        }

        @Override
        public String getKey(Row row) {
            Object value = row.getField(index);
            return value == null ? "" : value.toString();
        }
    }

    static long millis(Object value, long fallback) {
        if (value instanceof Instant) {
            return ((Instant) value).toEpochMilli();
        }
        if (value instanceof LocalDateTime) {
            return ((LocalDateTime) value).toInstant(ZoneOffset.UTC).toEpochMilli();
        }
        if (value instanceof Timestamp) {
            return ((Timestamp) value).toLocalDateTime().toInstant(ZoneOffset.UTC).toEpochMilli();
        }
        if (value instanceof Number) {
            return ((Number) value).longValue();
        }
        return fallback;
    }

    static final class Forget extends KeyedProcessFunction<String, Row, Row> {
        private final int typeIndex;
        private final int timeIndex;
        private final int expiresIndex;
        private final long dropMillis;
        private final boolean mark;
        private transient ValueState<Long> until;

        Forget(int typeIndex, int timeIndex, int expiresIndex, long dropMillis, boolean mark) {
            this.typeIndex = typeIndex;
            this.timeIndex = timeIndex;
            this.expiresIndex = expiresIndex;
            this.dropMillis = dropMillis;
            this.mark = mark;
        }

        @Override
        public void open(OpenContext context) {
            ValueStateDescriptor<Long> descriptor =
                    new ValueStateDescriptor<>("forgotten-until", Types.LONG);
            if (dropMillis > 0) {
                // The check against "until" is exact; the TTL only cleans expired requests up.
                descriptor.enableTimeToLive(
                        StateTtlConfig.newBuilder(Duration.ofMillis(dropMillis))
                                .setUpdateType(StateTtlConfig.UpdateType.OnCreateAndWrite)
                                .setStateVisibility(
                                        StateTtlConfig.StateVisibility.NeverReturnExpired)
                                .build());
            }
            until = getRuntimeContext().getState(descriptor);
        }

        @Override
        public void processElement(Row row, Context context, Collector<Row> out)
                throws Exception {
            boolean anonymous = context.getCurrentKey().isEmpty();
            long now = context.timerService().currentProcessingTime();
            long time = millis(row.getField(timeIndex), now);
            if (CONTROL_TYPE.equals(row.getField(typeIndex))) {
                if (dropMillis > 0 && !anonymous) {
                    long end = time + dropMillis;
                    if (expiresIndex >= 0) {
                        end = Math.min(end, millis(row.getField(expiresIndex), end));
                    }
                    Long previous = until.value();
                    until.update(previous == null ? end : Math.max(previous, end));
                }
                if (mark) {
                    out.collect(row);
                }
                return;
            }
            Long end = anonymous || dropMillis <= 0 ? null : until.value();
            if (end == null || time >= end) {
                out.collect(row);
                return;
            }
            if (mark) {
                Row copy = Row.copy(row);
                copy.setField(typeIndex, FORGOTTEN_TYPE);
                out.collect(copy);
            }
        }
    }
}
