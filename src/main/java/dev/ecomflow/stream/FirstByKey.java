package dev.ecomflow.stream;

import java.time.Duration;

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
 * Deduplication that keeps the first row per key for a horizon: the clean stream's
 * `int_events__unique` (see flink_jobs/events_job.py).
 *
 * <p>Why not SQL: Flink SQL 1.20 deduplicates with ROW_NUMBER(), whose state expires only by the
 * job-wide `table.exec.state.ttl`, and that TTL would also expire the temporal joins' exchange
 * rates and catalog versions of keys that are quiet for longer than the horizon. Here the TTL
 * applies to this operator's state alone. Rows keep their timestamps, so event time flows on.
 */
public class FirstByKey {

    /** Rows of `input` whose field `keyIndex` has not been seen within `horizonMillis`. */
    public DataStream<Row> apply(DataStream<Row> input, int keyIndex, long horizonMillis) {
        return input
                .keyBy(new FieldKey(keyIndex))
                .process(new KeepFirst(horizonMillis))
                .returns(input.getType())
                .name("FirstByKey(deduplicate)")
                .uid("ecomflow-deduplicate-first-by-key");
    }

    static final class FieldKey implements KeySelector<Row, String> {
        private final int index;

        FieldKey(int index) {
            this.index = index;
        }

        @Override
        public String getKey(Row row) {
            Object value = row.getField(index);
            return value == null ? "" : value.toString();
        }
    }

    static final class KeepFirst extends KeyedProcessFunction<String, Row, Row> {
        private final long horizonMillis;
        private transient ValueState<Boolean> seen;

        KeepFirst(long horizonMillis) {
            this.horizonMillis = horizonMillis;
        }

        @Override
        public void open(OpenContext context) {
            ValueStateDescriptor<Boolean> descriptor =
                    new ValueStateDescriptor<>("seen", Types.BOOLEAN);
            descriptor.enableTimeToLive(
                    StateTtlConfig.newBuilder(Duration.ofMillis(horizonMillis))
                            .setUpdateType(StateTtlConfig.UpdateType.OnCreateAndWrite)
                            .setStateVisibility(
                                    StateTtlConfig.StateVisibility.NeverReturnExpired)
                            .build());
            seen = getRuntimeContext().getState(descriptor);
        }

        @Override
        public void processElement(Row row, Context context, Collector<Row> out)
                throws Exception {
            if (seen.value() == null) {
                seen.update(Boolean.TRUE);
                out.collect(row);
            }
        }
    }
}
