package dev.ecomflow.contract;

/**
 * What the event contract says of one raw record: a dead letter ({@code reason != null}, with the
 * field and a detail) or a valid record, with its event id (its own, else derived) and, for the
 * job, its text, its canonical type and its event time.
 */
public final class Verdict {

    public final String reason;
    public final String field;
    public final String detail;
    public final String eventId;
    /** The payload as text, when it was UTF-8. */
    public final String text;
    /** The canonical event type ("purchase" for "transaction"; "product"; a control type). */
    public final String type;
    /** Event time in epoch milliseconds: NULL for dead letters and control records. */
    public final Long eventTimeMillis;

    Verdict(String reason, String field, String detail, String eventId, String text,
            String type, Long eventTimeMillis) {
        this.reason = reason;
        this.field = field;
        this.detail = detail;
        this.eventId = eventId;
        this.text = text;
        this.type = type;
        this.eventTimeMillis = eventTimeMillis;
    }

    public boolean valid() {
        return reason == null;
    }

    public boolean control() {
        return reason == null && EventContract.CONTROL_TYPES.contains(type);
    }
}
