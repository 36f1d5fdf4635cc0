package dev.ecomflow.stream;

import java.util.HashMap;
import java.util.Map;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.types.Row;

/**
 * The accounting identity's live side: records_in = valid + dead_letter + duplicates + late +
 * forgotten + control, as Flink counters in the metric group `kinesisanalytics` / `ecomflow`
 * (the group Managed Service for Apache Flink forwards to CloudWatch). Counted at the end of
 * the clean stream's Java path, where every record has its final outcome and passes once.
 */
final class CountOutcomes extends RichMapFunction<Row, Row> {

    private static final long serialVersionUID = 1L;
    private transient Counter recordsIn;
    private transient Map<String, Counter> byOutcome;

    @Override
    public void open(OpenContext context) {
        MetricGroup group = getRuntimeContext().getMetricGroup().addGroup("kinesisanalytics")
                .addGroup("ecomflow");
        recordsIn = group.counter("records_in");
        byOutcome = new HashMap<>();
        byOutcome.put(Records.ON_TIME, group.counter("valid"));
        byOutcome.put(Records.DEAD_LETTER, group.counter("dead_letter"));
        byOutcome.put(Records.DUPLICATE, group.counter("duplicates"));
        byOutcome.put(Records.LATE, group.counter("late"));
        byOutcome.put(Records.FORGOTTEN, group.counter("forgotten"));
        byOutcome.put(Records.CONTROL, group.counter("control"));
    }

    @Override
    public Row map(Row row) {
        recordsIn.inc();
        byOutcome.get(Records.outcome(row)).inc();
        return row;
    }
}
