"""check_event(payload, max_bytes, max_future_seconds): the event contract, applied in the job.

A table function yielding exactly one row (reason, field, detail, event_id) per payload: a
table function's columns are plain columns, which the planner handles better than the fields of
a Python scalar function's ROW mixed with other expressions in one projection.

``reason`` is NULL for a valid record; otherwise the first issue's code from the dead-letter
taxonomy (``flink_jobs.contract.REASONS``), the field it concerns (``items[0].quantity``, ``$``
for the whole record) and a one-line detail. ``event_id`` is the record's own, or one derived
from its content when it has none, so that deduplication has a key for every valid record.

The rules are the contract's (``flink_jobs/contract``): the same code validates in the producer
SDK, the HTTP collector and here. Future timestamps are judged against the time the record is
checked, i.e. its arrival in the job.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from pyflink.common import Row
from pyflink.table import DataTypes
from pyflink.table.udf import udtf

from flink_jobs.contract import derive_event_id, validate_payload

RESULT_TYPE = DataTypes.ROW([
    DataTypes.FIELD("reason", DataTypes.STRING()),
    DataTypes.FIELD("field", DataTypes.STRING()),
    DataTypes.FIELD("detail", DataTypes.STRING()),
    DataTypes.FIELD("event_id", DataTypes.STRING()),
])
DETAIL_LIMIT = 300  # characters of the issue's message kept in the dead letter


def verdict(payload: str | None, max_bytes: int, max_future_seconds: int
            ) -> tuple[str | None, str | None, str | None, str | None]:
    """(reason, field, detail, event_id) for one raw payload; plain Python, unit-testable."""
    if payload is None:
        return "not_json", "$", "empty record", None
    try:
        record, issues = validate_payload(
            payload, max_bytes=max_bytes, max_future=timedelta(seconds=max_future_seconds))
    except RecursionError:
        # Nesting just under the parser's limit parses, then overflows a later step (the
        # surrogate check re-serialises the record one frame deeper): never fail the job.
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


def _check_event(payload: str | None, max_bytes: int, max_future_seconds: int
                 ) -> Iterator[Row]:
    yield Row(*verdict(payload, max_bytes, max_future_seconds))


check_event = udtf(_check_event, result_types=[field.data_type for field in RESULT_TYPE.fields])

