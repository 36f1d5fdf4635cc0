package dev.ecomflow.contract;

import java.io.Serializable;
import java.util.Objects;

/**
 * One reason a record breaks the event contract: a reason code of the dead-letter taxonomy, the
 * field it concerns ({@code items[0].quantity}; {@code $} for the whole record) and a message.
 * The Java twin of {@code flink_jobs.contract.Issue}.
 */
public final class Issue implements Serializable {

    private static final long serialVersionUID = 1L;

    public final String reason;
    public final String field;
    public final String message;

    public Issue(String reason, String field, String message) {
        this.reason = reason;
        this.field = field;
        this.message = message;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof Issue && reason.equals(((Issue) other).reason)
                && field.equals(((Issue) other).field);
    }

    @Override
    public int hashCode() {
        return Objects.hash(reason, field);
    }

    @Override
    public String toString() {
        return field + ": " + reason + ": " + message;
    }
}
