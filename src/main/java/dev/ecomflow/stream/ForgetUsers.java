package dev.ecomflow.stream;

import java.time.LocalDateTime;
import java.time.ZoneOffset;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.types.Row;
import org.apache.flink.util.Collector;

/**
 * Erasure on the stream: after an `erasure_request` control record for a (hashed) user, that
 * user's later events are marked `forgotten` until the request expires (`ecomflow forget`,
 * README "Privacy"); they are counted and go no further.
 *
 * <p>Keyed by the hashed user id (user_id, else customer_id). A control record stores
 * "forgotten until" = its arrival + dropMillis in keyed state whose TTL is dropMillis, so the
 * state of every request disappears by itself. "Later" is by arrival (received_at), whatever
 * the event time says. Anonymous events, every other outcome and every record while dropMillis
 * is 0 pass untouched.
 */
final class ForgetUsers extends KeyedProcessFunction<String, Row, Row> {

    private static final long serialVersionUID = 1L;
    private final long dropMillis;
    private transient ValueState<Long> until;

    ForgetUsers(long dropMillis) {
        this.dropMillis = dropMillis;
    }

    private static String user(Row row) {
        String outcome = Records.outcome(row);
        if (!Records.ON_TIME.equals(outcome) && !Records.CONTROL.equals(outcome)) {
            return null;
        }
        Object user = row.getField(Records.USER_ID);
        return (String) (user != null ? user : row.getField(Records.CUSTOMER_ID));
    }

    /** On-time events and control records by the user's hash. */
    static final class Key extends KeyedRows {
        private static final long serialVersionUID = 1L;

        @Override
        String stateKey(Row row) {
            return user(row);
        }
    }

    @Override
    public void open(OpenContext context) {
        ValueStateDescriptor<Long> descriptor =
                new ValueStateDescriptor<>("forgotten-until", Types.LONG);
        if (dropMillis > 0) {
            // The check against "until" is exact; the TTL only cleans expired requests up.
            descriptor.enableTimeToLive(KeyedRows.expiringAfter(dropMillis));
        }
        until = getRuntimeContext().getState(descriptor);
    }

    @Override
    public void processElement(Row row, Context context, Collector<Row> out) throws Exception {
        if (dropMillis > 0 && user(row) != null) {
            long arrived = ((LocalDateTime) row.getField(Records.RECEIVED_AT))
                    .toInstant(ZoneOffset.UTC).toEpochMilli();
            if (Records.CONTROL.equals(Records.outcome(row))) {
                Long previous = until.value();
                long end = arrived + dropMillis;
                until.update(previous == null ? end : Math.max(previous, end));
            } else {
                Long end = until.value();
                if (end != null && arrived < end) {
                    row.setField(Records.OUTCOME, Records.FORGOTTEN);
                }
            }
        }
        out.collect(row);
    }
}
