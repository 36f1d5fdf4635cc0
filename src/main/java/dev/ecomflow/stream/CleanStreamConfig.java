package dev.ecomflow.stream;

import java.io.Serializable;

/**
 * The settings of the clean stream's Java steps, set from the job's settings
 * (flink_jobs/settings.py, groups Job, CleanStream and Privacy).
 *
 * <p>The hash key travels inside the job graph, as any function's state would, but never in an
 * operator name, the plan or {@link #toString()}.
 */
public final class CleanStreamConfig implements Serializable {

    private static final long serialVersionUID = 1L;

    public long watermarkDelayMillis = 5_000L;
    public int maxPayloadBytes = 1_000_000;
    public long maxFutureMillis = 300_000L;
    public long dedupHorizonMillis = 86_400_000L;
    public long forgetDropMillis = 30L * 86_400_000L;
    public boolean pseudonymise = true;
    public String hashKey;
    public String privacySpec;
    public boolean enrichUserAgent = true;
    public boolean enrichCatalog = true;
    public boolean enrichFx = true;

    @Override
    public String toString() {
        return "CleanStreamConfig(delay=" + watermarkDelayMillis + "ms, maxBytes="
                + maxPayloadBytes + ", dedup=" + dedupHorizonMillis + "ms, pseudonymise="
                + pseudonymise + ", userAgent=" + enrichUserAgent + ", catalog="
                + enrichCatalog + ", fx=" + enrichFx + ")";
    }
}
