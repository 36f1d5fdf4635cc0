"""The job's verdict on one raw record, in plain Python: the reference for the Java check.

The job checks every record in the JVM (`dev.ecomflow.contract.EventContract`, run by the
head of the clean stream, `dev.ecomflow.stream.RecordHead`): a Python function on the per-event
path would cap the job near 20 K events/s per core. The rules are the contract's
(`flink_jobs.contract`, the same JSON Schema files and the same code the producer SDK and the
collector run), and this function is what the Java side must answer: the parity tests feed both
the same records and require the same (reason, field, event_id).

``reason`` is None for a valid record; otherwise the first issue's code from the dead-letter
taxonomy (``flink_jobs.contract.REASONS``), the field it concerns (``items[0].quantity``, ``$``
for the whole record) and a one-line detail. ``event_id`` is the record's own, or one derived
from its content when it has none, so that deduplication has a key for every valid record.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flink_jobs.contract import derive_event_id, validate_payload

DETAIL_LIMIT = 300  # characters of the issue's message kept in the dead letter


def verdict(payload: bytes | str | None, max_bytes: int, max_future_seconds: int, *,
            now: datetime | None = None
            ) -> tuple[str | None, str | None, str | None, str | None]:
    """(reason, field, detail, event_id) for one raw payload (bytes as they came, or text)."""
    if payload is None:
        return "not_json", "$", "empty record", None
    try:
        record, issues = validate_payload(
            payload, max_bytes=max_bytes, now=now,
            max_future=timedelta(seconds=max_future_seconds))
    except RecursionError:
        # Nesting just under the parser's limit parses, then overflows a later step (the
        # surrogate check re-serialises the record one frame deeper).
        return "not_json", "$", "nested too deeply", None
    event_id = None
    if record is not None:
        own = record.get("event_id")
        event_id = own if isinstance(own, str) and own else None
        if event_id is None and not issues:
            try:
                event_id = derive_event_id(record)
            except (ValueError, RecursionError) as exc:
                # e.g. 1e400, which Python parses as inf: the record has no canonical JSON
                # (the collector rejects such numbers as not_json too).
                detail = f"no canonical JSON for an event id: {exc}"
                return "not_json", "$", detail[:DETAIL_LIMIT], None
    if issues:
        first = issues[0]
        return first.reason, first.field, first.message[:DETAIL_LIMIT], event_id
    return None, None, None, event_id
