package dev.ecomflow.udf;

import java.util.HashMap;
import java.util.Map;

import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.table.functions.FunctionContext;
import org.apache.flink.table.functions.ScalarFunction;

/**
 * TALLY(outcome, delta): adds `delta` to the Flink counter named `outcome` and returns TRUE, so
 * that a view can count the rows it passes with `WHERE ... AND tally('late', 1)`.
 *
 * <p>The counters are the accounting identity's live side (records_in = valid + dead_letter +
 * duplicates + late). They live in the metric group `kinesisanalytics` / `ecomflow`, the group
 * Managed Service for Apache Flink forwards to CloudWatch. A negative delta lets an outcome that
 * is only known as a difference (duplicates = accepted - unique) be counted where it happens.
 *
 * <p>Non-deterministic, so the planner neither folds nor duplicates the call.
 */
public class Tally extends ScalarFunction {

    private transient MetricGroup group;
    private transient Map<String, Counter> counters;

    @Override
    public void open(FunctionContext context) {
        group = context.getMetricGroup().addGroup("kinesisanalytics").addGroup("ecomflow");
        counters = new HashMap<>();
    }

    @Override
    public boolean isDeterministic() {
        return false;
    }

    public Boolean eval(String outcome, Integer delta) {
        if (outcome != null && delta != null && group != null) {
            counters.computeIfAbsent(outcome, group::counter).inc(delta);
        }
        return Boolean.TRUE;
    }
}
