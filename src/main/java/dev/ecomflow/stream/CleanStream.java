package dev.ecomflow.stream;

import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.table.api.Table;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;
import org.apache.flink.types.Row;

/**
 * The clean stream's per-record path, in the JVM: every record of the stream in, one row per
 * record out (the table {@code java_stream__records}, named column by column by
 * sql/30_intermediate/int_stream__records.sql; see {@link Records}), with its outcome and,
 * for on-time events, the enrichment. The SQL from there on (sql/30_intermediate) only filters
 * and computes columns; windows, sessions and sinks are SQL too.
 *
 * <pre>
 *   src_stream__raw_events ─▶ RecordHead ─▶ watermarks ─▶ CatalogVersions ─▶ FirstArrival
 *     (payload as bytes)      contract,      accepted      by product_id:    by event_id:
 *                             pseudonymise,  event time    catalog as of     duplicate, late
 *                             fields         - delay       event time        or on time
 *   ─▶ ForgetUsers ─▶ FxRates ◀─ src_reference__fx_rates ─▶ DeviceOf ─▶ java_stream__records
 *      by user:       rate as of                             user agent
 *      erased users   event time
 * </pre>
 *
 * <p>Why Java and not SQL: Flink's code generator evaluates a function once per field it
 * feeds, not once per record, and a Python function costs a worker round trip per record; the
 * SQL decisions the job needs in this order (contract before the watermark, duplicates before
 * lateness, reference data looked up on arrival) have no SQL form in Flink 1.20.
 *
 * <p>Between the head and the table, records cross four shuffles (one per keyed step) as
 * {@link RecordsSerializer#wireType()}; the steps chained after the last one work on
 * {@link Records#typeInfo()}, and hand the table its text as UTF-8 bytes ({@link TextAsBytes}).
 *
 * <p>Operator ids are fixed (uid), so a savepoint restores across changes of the SQL after it.
 */
public final class CleanStream {

    /** `java_stream__records` from the raw stream table and the rates table (NULL: FX off).
     * An instance method: Python reaches it through a loaded class's newInstance(). */
    public Table build(StreamTableEnvironment tEnv, Table raw, Table fxRates,
            CleanStreamConfig config) {
        DataStream<Row> records = tEnv.toDataStream(raw)
                .process(new RecordHead(config), RecordsSerializer.wireType())
                .name("RecordHead(contract, pseudonymise, fields)")
                .uid("ecomflow-record-head")
                .assignTimestampsAndWatermarks(
                        AcceptedEventTime.strategy(config.watermarkDelayMillis))
                .name("AcceptedEventTime(watermark)")
                .uid("ecomflow-accepted-event-time");
        if (config.enrichCatalog) {
            // Right after the head: catalog records meet their products' events in read order.
            records = records
                    .keyBy(new CatalogVersions.Key())
                    .process(new CatalogVersions(), RecordsSerializer.wireType())
                    .name("CatalogVersions(catalog as of event time)")
                    .uid("ecomflow-catalog-versions");
        }
        SingleOutputStreamOperator<Row> enriched = records
                .keyBy(new FirstArrival.Key())
                .process(new FirstArrival(config.dedupHorizonMillis),
                        RecordsSerializer.wireType())
                .name("FirstArrival(duplicate, late)")
                .uid("ecomflow-deduplicate-first-by-key")
                .keyBy(new ForgetUsers.Key())
                .process(new ForgetUsers(config.forgetDropMillis), RecordsSerializer.wireType())
                .name("ForgetUsers(erasure)")
                .uid("ecomflow-forget-users");
        if (config.enrichFx && fxRates != null) {
            enriched = enriched
                    .connect(tEnv.toDataStream(fxRates).broadcast())
                    .transform("FxRates(rate as of event time)", Records.typeInfo(),
                            new FxRates())
                    .uid("ecomflow-fx-rates");
        }
        if (config.enrichUserAgent) {
            enriched = enriched
                    .map(new DeviceOf(), Records.typeInfo())
                    .name("DeviceOf(user agent)")
                    .uid("ecomflow-device-of");
        }
        enriched = enriched
                .map(new CountOutcomes(), Records.typeInfo())
                .name("CountOutcomes(accounting)")
                .uid("ecomflow-count-outcomes")
                .map(new TextAsBytes(), Records.tableTypeInfo())
                .name("TextAsBytes")
                .uid("ecomflow-text-as-bytes");
        return tEnv.fromDataStream(enriched, Records.schema());
    }
}
