package dev.ecomflow.stream;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Instant;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.state.StateInitializationContext;
import org.apache.flink.runtime.state.StateSnapshotContext;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.BoundedMultiInput;
import org.apache.flink.streaming.api.operators.TwoInputStreamOperator;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.types.Row;

/**
 * Exchange rates to USD as of each event's time: the rate of the event's currency whose
 * valid_from is the latest at or before the event time (what an event-time temporal join
 * gives), and the event's price and total in USD at that rate (USD itself at 1), on on-time
 * events. An event with an amount in a currency without a rate at its time is a dead letter
 * (missing_fx_rate): never a guessed rate.
 *
 * <p>Input 1: the records. Input 2: src_reference__fx_rates (currency, rate_to_usd,
 * valid_from, valid_from_time), broadcast to every subtask. The rates file is read once at
 * start; records that arrive before it has been read whole wait here (and so does the
 * watermark), so no event meets a half-read table. After that nothing waits: an event is
 * enriched on arrival, with no state per event. Rates and the "read whole" mark are kept in
 * union operator state, so a restore (when the finished rates source does not run again)
 * starts with them.
 */
final class FxRates extends AbstractStreamOperator<Row>
        implements TwoInputStreamOperator<Row, Row, Row>, BoundedMultiInput {

    private static final long serialVersionUID = 1L;
    private static final BigDecimal USD_RATE = new BigDecimal("1.00000000");

    private transient Map<String, TreeMap<Long, BigDecimal>> rates;
    private transient List<Row> waiting;
    private transient boolean complete;
    private transient long recordsWatermark;
    private transient long emitted;
    private transient ListState<Row> rateState;
    private transient ListState<Boolean> completeState;
    private transient ListState<Row> waitingState;

    @Override
    public void initializeState(StateInitializationContext context) throws Exception {
        super.initializeState(context);
        rates = new HashMap<>();
        waiting = new ArrayList<>();
        recordsWatermark = Long.MIN_VALUE;
        emitted = Long.MIN_VALUE;
        rateState = context.getOperatorStateStore().getUnionListState(new ListStateDescriptor<>(
                "fx-rates", Types.ROW(Types.STRING, Types.LONG, Types.BIG_DEC)));
        completeState = context.getOperatorStateStore().getUnionListState(
                new ListStateDescriptor<>("fx-rates-complete", Types.BOOLEAN));
        waitingState = context.getOperatorStateStore().getListState(
                new ListStateDescriptor<>("fx-waiting", Records.typeInfo()));
        for (Row rate : rateState.get()) {
            put((String) rate.getField(0), (Long) rate.getField(1), (BigDecimal) rate.getField(2));
        }
        for (Boolean done : completeState.get()) {
            complete |= done;
        }
        for (Row row : waitingState.get()) {
            waiting.add(row);
        }
    }

    @Override
    public void snapshotState(StateSnapshotContext context) throws Exception {
        super.snapshotState(context);
        List<Row> all = new ArrayList<>();
        rates.forEach((currency, versions) -> versions.forEach((since, rate) ->
                all.add(Row.of(currency, since, rate))));
        rateState.update(all);
        completeState.update(java.util.Collections.singletonList(complete));
        waitingState.update(waiting);
    }

    private void put(String currency, long since, BigDecimal rate) {
        rates.computeIfAbsent(currency, c -> new TreeMap<>()).put(since, rate);
    }

    @Override
    public void processElement1(StreamRecord<Row> element) {
        if (!complete) {
            waiting.add(Row.copy(element.getValue())); // the input object may be reused
            return;
        }
        enrich(element.getValue());
        output.collect(element);
    }

    @Override
    public void processElement2(StreamRecord<Row> element) {
        Row rate = element.getValue();
        put((String) rate.getField(0), ((Instant) rate.getField(3)).toEpochMilli(),
                (BigDecimal) rate.getField(1));
    }

    /**
     * Sets the rate of an on-time event; an event with an amount in a currency that has no rate
     * at its time becomes a dead letter (missing_fx_rate): never a guessed rate.
     */
    private void enrich(Row row) {
        if (!Records.ON_TIME.equals(Records.outcome(row))) {
            return;
        }
        Object currency = row.getField(Records.CURRENCY);
        String code = currency == null ? "USD" : ((String) currency).toUpperCase(Locale.ROOT);
        BigDecimal rate = USD_RATE; // the shop's base currency
        if (!"USD".equals(code)) {
            TreeMap<Long, BigDecimal> versions = rates.get(code);
            long time = ((Instant) row.getField(Records.EVENT_TIME)).toEpochMilli();
            Map.Entry<Long, BigDecimal> found = versions == null ? null
                    : versions.floorEntry(time);
            rate = found == null ? null : found.getValue();
        }
        BigDecimal price = (BigDecimal) row.getField(Records.PRICE);
        BigDecimal total = (BigDecimal) row.getField(Records.TOTAL_AMOUNT);
        if (rate == null) {
            if (price != null || total != null) {
                row.setField(Records.OUTCOME, Records.DEAD_LETTER);
                row.setField(Records.REASON, "missing_fx_rate");
                row.setField(Records.FIELD, "currency");
                row.setField(Records.DETAIL, "no USD rate for " + code + " at "
                        + row.getField(Records.EVENT_TIME_TEXT));
            }
            return;
        }
        row.setField(Records.FX_RATE_TO_USD, rate);
        row.setField(Records.PRICE_USD, usd(price, rate));
        row.setField(Records.TOTAL_AMOUNT_USD, usd(total, rate));
    }

    /** CAST(amount * rate AS DECIMAL(18, 2)): the exact product, rounded half up. */
    private static BigDecimal usd(BigDecimal amount, BigDecimal rate) {
        if (amount == null) {
            return null;
        }
        BigDecimal usd = amount.multiply(rate).setScale(2, RoundingMode.HALF_UP);
        return usd.precision() > 18 ? null : usd;
    }

    /** The rates are read whole: release what waited, then pass records straight through. */
    private void ratesComplete() throws Exception {
        if (complete) {
            return;
        }
        complete = true;
        for (Row row : waiting) {
            enrich(row);
            output.collect(new StreamRecord<>(row,
                    ((Instant) row.getField(Records.ACCOUNTING_TIME)).toEpochMilli()));
        }
        waiting.clear();
        advance();
    }

    @Override
    public void endInput(int inputId) throws Exception {
        if (inputId == 2) {
            ratesComplete();
        }
    }

    @Override
    public void processWatermark1(Watermark mark) throws Exception {
        recordsWatermark = mark.getTimestamp();
        advance();
    }

    @Override
    public void processWatermark2(Watermark mark) throws Exception {
        if (mark.getTimestamp() == Long.MAX_VALUE) {
            ratesComplete();
        }
        advance();
    }

    /** The records' watermark, held back while the rates are still being read. */
    private void advance() throws Exception {
        if (complete && recordsWatermark > emitted) {
            emitted = recordsWatermark;
            super.processWatermark(new Watermark(emitted));
        }
    }
}
