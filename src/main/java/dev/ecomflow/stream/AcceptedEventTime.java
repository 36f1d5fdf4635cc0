package dev.ecomflow.stream;

import java.time.Instant;

import org.apache.flink.api.common.eventtime.SerializableTimestampAssigner;
import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.common.eventtime.WatermarkGenerator;
import org.apache.flink.api.common.eventtime.WatermarkOutput;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.types.Row;

/**
 * The clean stream's watermarks: the newest event time of the records the contract accepted,
 * minus the delay (the rule {@link RecordHead} judges lateness by). Dead letters and control
 * records carry no event time and never move it. Emitted periodically
 * (pipeline.auto-watermark-interval); each record's own timestamp is its accounting time.
 */
final class AcceptedEventTime implements WatermarkGenerator<Row> {

    private final long delayMillis;
    private long newest = Long.MIN_VALUE;

    AcceptedEventTime(long delayMillis) {
        this.delayMillis = delayMillis;
    }

    static WatermarkStrategy<Row> strategy(long delayMillis) {
        return WatermarkStrategy.<Row>forGenerator(context -> new AcceptedEventTime(delayMillis))
                .withTimestampAssigner((SerializableTimestampAssigner<Row>) (row, previous) ->
                        ((Instant) row.getField(Records.ACCOUNTING_TIME)).toEpochMilli());
    }

    @Override
    public void onEvent(Row row, long timestamp, WatermarkOutput output) {
        Instant eventTime = (Instant) row.getField(Records.EVENT_TIME);
        if (eventTime != null) { // set for accepted records only
            newest = Math.max(newest, eventTime.toEpochMilli());
        }
    }

    @Override
    public void onPeriodicEmit(WatermarkOutput output) {
        if (newest != Long.MIN_VALUE) {
            output.emitWatermark(new Watermark(Math.max(0L, newest - delayMillis)));
        }
    }
}
