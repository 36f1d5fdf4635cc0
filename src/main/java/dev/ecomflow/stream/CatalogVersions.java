package dev.ecomflow.stream;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.typeutils.ListTypeInfo;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.types.Row;
import org.apache.flink.util.Collector;

/**
 * The product catalog, versioned by event time, looked up as each event arrives: an event
 * with a product gets the name, category, brand, price and currency of the catalog version
 * valid at its event time (the newest catalog record at or before it).
 *
 * <p>The catalog is the stream's own `product` records, keyed by product_id, so a catalog
 * record and the events of its product meet in one keyed operator in the order they were read
 * (it runs right after the head, before any other shuffle, so that order is the stream's).
 * Unlike an event-time temporal join, nothing waits for the watermark: an event is enriched
 * with the versions that have arrived, and a catalog record that arrives after an event does
 * not change that event (replay the catalog first). Deduplication and lateness are decided
 * after this step: a catalog record behind the watermark is not a version, a resent one adds
 * nothing. Versions older than the newest one at or before the watermark can serve no on-time
 * event again and are dropped.
 */
final class CatalogVersions extends KeyedProcessFunction<String, Row, Row> {

    private static final long serialVersionUID = 1L;
    /** (valid from, name, category, brand, price, currency) per version, oldest first. */
    private transient ValueState<List<Row>> versions;

    /** Accepted records with a product by product_id. */
    static final class Key extends KeyedRows {
        private static final long serialVersionUID = 1L;

        @Override
        String stateKey(Row row) {
            return Records.ACCEPTED.equals(Records.outcome(row))
                    ? (String) row.getField(Records.PRODUCT_ID) : null;
        }
    }

    static boolean isCatalogRecord(Row row) {
        Object type = row.getField(Records.EVENT_TYPE);
        return type == null || "product".equals(type);
    }

    @Override
    public void open(OpenContext context) {
        versions = getRuntimeContext().getState(new ValueStateDescriptor<>("catalog-versions",
                new ListTypeInfo<>(Types.ROW(Types.LONG, Types.STRING, Types.STRING,
                        Types.STRING, Types.BIG_DEC, Types.STRING))));
    }

    @Override
    public void processElement(Row row, Context context, Collector<Row> out) throws Exception {
        if (row.getField(Records.PRODUCT_ID) != null
                && Records.ACCEPTED.equals(Records.outcome(row))) {
            long time = ((Instant) row.getField(Records.EVENT_TIME)).toEpochMilli();
            long met = ((Instant) row.getField(Records.ARRIVAL_WATERMARK)).toEpochMilli();
            List<Row> known = versions.value();
            if (isCatalogRecord(row) && time >= met) {
                known = add(known == null ? new ArrayList<>() : known, Row.of(time,
                        row.getField(Records.PRODUCT_NAME), row.getField(Records.CATEGORY),
                        row.getField(Records.BRAND), row.getField(Records.PRICE),
                        row.getField(Records.CURRENCY)),
                        context.timerService().currentWatermark());
                versions.update(known);
            }
            Row version = known == null ? null : asOf(known, time);
            if (version != null) {
                row.setField(Records.CATALOG_PRODUCT_NAME, version.getField(1));
                row.setField(Records.CATALOG_CATEGORY, version.getField(2));
                row.setField(Records.CATALOG_BRAND, version.getField(3));
                row.setField(Records.CATALOG_PRICE, version.getField(4));
                row.setField(Records.CATALOG_CURRENCY, version.getField(5));
            }
        }
        out.collect(row);
    }

    /** `version` in time order; versions no on-time event can reach again dropped. */
    private static List<Row> add(List<Row> known, Row version, long watermark) {
        long time = (Long) version.getField(0);
        int at = known.size();
        while (at > 0 && (Long) known.get(at - 1).getField(0) > time) {
            at--;
        }
        if (at > 0 && version.equals(known.get(at - 1))) {
            return known; // a resent catalog record
        }
        known.add(at, version);
        int current = -1; // the newest version valid at the watermark
        for (int i = 0; i < known.size(); i++) {
            if ((Long) known.get(i).getField(0) <= watermark) {
                current = i;
            }
        }
        return current > 0 ? new ArrayList<>(known.subList(current, known.size())) : known;
    }

    private static Row asOf(List<Row> known, long time) {
        Row found = null;
        for (Row version : known) {
            if ((Long) version.getField(0) <= time) {
                found = version;
            }
        }
        return found;
    }
}
