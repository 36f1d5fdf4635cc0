package dev.ecomflow.stream;

import java.time.Duration;
import java.util.Arrays;

import org.apache.flink.api.common.state.StateTtlConfig;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.types.Row;

/**
 * How the clean stream's keyed steps key its rows: by what the step keeps state for
 * ({@link #stateKey}), and every other row (dead letters, anonymous events, ...) by a key that
 * spreads it evenly and touches no state, the same for the same row wherever it is computed.
 */
abstract class KeyedRows implements KeySelector<Row, String> {

    private static final long serialVersionUID = 1L;

    /** The key of the step's state for this row; NULL when the step keeps none for it. */
    abstract String stateKey(Row row);

    @Override
    public final String getKey(Row row) {
        String key = stateKey(row);
        if (key != null) {
            return key;
        }
        Object id = row.getField(Records.EVENT_ID);
        byte[] payload = (byte[]) row.getField(Records.PAYLOAD);
        return "\u0000" + (id != null ? id : Arrays.hashCode(payload));
    }

    /** State that expires `millis` after it was written, and is never read once expired. */
    static StateTtlConfig expiringAfter(long millis) {
        return StateTtlConfig.newBuilder(Duration.ofMillis(millis))
                .setUpdateType(StateTtlConfig.UpdateType.OnCreateAndWrite)
                .setStateVisibility(StateTtlConfig.StateVisibility.NeverReturnExpired)
                .build();
    }
}
