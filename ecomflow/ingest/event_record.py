"""How the Producer turns an event (a dict) into a Record: ``event_id`` added when missing,
checked against the event contract (when asked), compact JSON, partition key = the event's user
key, and no more than Kinesis' 1 MiB per record. The contract (``flink_jobs.contract``) is
imported on first use, so the SDK module loads (and replay works) without it. Kept apart from
producer.py, which buffers and sends the records."""


from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ecomflow.kinesis.keys import key_for_object, normalise_key
from ecomflow.kinesis.limits import MAX_RECORD_BYTES
from ecomflow.kinesis.records import Record, RecordTooLarge, _too_large


def load_contract() -> Any:
    """``flink_jobs.contract``, imported on first use."""
    from flink_jobs import contract

    return contract


def event_record(event: Mapping[str, Any], *, validate: bool = True) -> Record:
    """The record for ``event``: event_id added when missing, validated (when ``validate``),
    compact JSON, partition key = the event's user key. Raises TypeError/ValueError for an
    event that is not a JSON-serialisable dict, the contract's EventValidationError (a
    ValueError) for an invalid one, RecordTooLarge for one over 1 MiB."""
    if not isinstance(event, Mapping):
        raise TypeError(f"an event is a dict, not {type(event).__name__}")
    contract = load_contract()
    try:
        # with_event_id serialises the event to derive an id, so it fails here too.
        record = contract.with_event_id(dict(event))
        data = json.dumps(record, separators=(",", ":"), allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"event is not JSON-serialisable: {exc}") from exc
    if validate:
        contract.check(record)
    # The contract's user key; events it calls anonymous fall back to the rule replay
    # uses for raw lines (non-string ids), so the same event always gets the same key.
    user = contract.user_key(record)
    key = normalise_key(user) if user is not None else key_for_object(record)
    prepared = Record(data, key, record)
    if prepared.size > MAX_RECORD_BYTES:
        raise RecordTooLarge(
            f"event {record.get('event_id')!r} is {_too_large(prepared)}: Kinesis rejects it"
        )
    return prepared
