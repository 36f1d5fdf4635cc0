package dev.ecomflow.stream;

import java.time.Instant;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.types.Row;
import org.apache.flink.util.Collector;

/**
 * Duplicates before lateness: keyed by event id, the first arrival of an id within the dedup
 * horizon is the record; any later one is a duplicate, whenever it arrives (a resend hours
 * after its original is a duplicate, not a late event). Then a first arrival older than the
 * watermark it met is late; else it is on time. So late_events holds only records that were
 * never counted, and nobody who folds late events back in counts a record twice.
 *
 * <p>Why not SQL: Flink SQL 1.20 deduplicates with ROW_NUMBER(), whose state expires only by
 * the job-wide `table.exec.state.ttl`, which would expire every other keyed state of the job.
 * Here the TTL (the horizon) applies to this state alone. Records other than accepted ones
 * (dead letters, control records) pass untouched.
 */
final class FirstArrival extends KeyedProcessFunction<String, Row, Row> {

    private static final long serialVersionUID = 1L;
    private final long horizonMillis;
    private transient ValueState<Boolean> seen;

    FirstArrival(long horizonMillis) {
        this.horizonMillis = horizonMillis;
    }

    /** Accepted events and control records by event id. */
    static final class Key extends KeyedRows {
        private static final long serialVersionUID = 1L;

        @Override
        String stateKey(Row row) {
            return deduplicated(row) ? (String) row.getField(Records.EVENT_ID) : null;
        }
    }

    @Override
    public void open(OpenContext context) {
        ValueStateDescriptor<Boolean> descriptor =
                new ValueStateDescriptor<>("seen", Types.BOOLEAN);
        descriptor.enableTimeToLive(KeyedRows.expiringAfter(horizonMillis));
        seen = getRuntimeContext().getState(descriptor);
    }

    /** Accepted events and control records have ids to deduplicate by. */
    static boolean deduplicated(Row row) {
        String outcome = Records.outcome(row);
        return Records.ACCEPTED.equals(outcome) || Records.CONTROL.equals(outcome);
    }

    @Override
    public void processElement(Row row, Context context, Collector<Row> out) throws Exception {
        if (deduplicated(row)) {
            if (seen.value() != null) {
                row.setField(Records.OUTCOME, Records.DUPLICATE);
            } else if (Records.ACCEPTED.equals(Records.outcome(row))) {
                seen.update(Boolean.TRUE);
                Instant eventTime = (Instant) row.getField(Records.EVENT_TIME);
                Instant met = (Instant) row.getField(Records.ARRIVAL_WATERMARK);
                row.setField(Records.OUTCOME, eventTime.isBefore(met) ? Records.LATE
                        : Records.ON_TIME);
            } else {
                seen.update(Boolean.TRUE); // a control record: its resends are duplicates
            }
        }
        out.collect(row);
    }
}
