"""What goes on the stream and what can go wrong: records, failed records, one batch's
outcome, the errors, and splitting records into PutRecords batches."""


from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ecomflow.errors import EcomflowError
from ecomflow.kinesis.limits import (
    MAX_BATCH_BYTES,
    MAX_BATCH_RECORDS,
    MAX_RECORD_BYTES,
)


class Record:
    """One PutRecords entry: ``data`` is sent as is; ``ref`` is the caller's handle on it
    (the event for the Producer, the file and line for replay) and is never sent."""

    __slots__ = ("data", "partition_key", "ref", "size")

    def __init__(self, data: bytes, partition_key: str, ref: Any = None) -> None:
        self.data = data
        self.partition_key = partition_key
        self.ref = ref
        # What counts towards the request and per-record limits.
        self.size = len(data) + len(partition_key.encode("utf-8"))

    def entry(self) -> dict[str, Any]:
        return {"Data": self.data, "PartitionKey": self.partition_key}

    def __repr__(self) -> str:
        return f"Record({self.data[:40]!r}..., key={self.partition_key!r}, ref={self.ref!r})"


@dataclass(frozen=True)
class FailedRecord:
    """A record Kinesis never accepted: its last error code and message."""

    data: bytes
    partition_key: str
    error_code: str
    message: str
    ref: Any = None

    @property
    def event(self) -> dict[str, Any] | None:
        """The event as sent (with its event_id) when the record came from a Producer."""
        return self.ref if isinstance(self.ref, dict) else None

    @classmethod
    def of(cls, record: Record, error_code: str, message: str) -> FailedRecord:
        return cls(record.data, record.partition_key, error_code, message, record.ref)


@dataclass
class BatchOutcome:
    """What ``PutRecordsSender.put`` did with one batch.

    accepted: records Kinesis answered with a sequence number for, in acceptance order.
    failed: records given up on (attempts exhausted) with the last error.
    unsent: records not (re)sent because the send was interrupted.
    in_doubt: records of a request interrupted in flight: they may or may not have landed.
    requests counts PutRecords calls; retried counts record re-sends; waited is the time
    spent waiting for the shard rate guard.
    """

    accepted: list[Record] = field(default_factory=list)
    failed: list[FailedRecord] = field(default_factory=list)
    unsent: list[Record] = field(default_factory=list)
    in_doubt: list[Record] = field(default_factory=list)
    requests: int = 0
    retried: int = 0
    waited: float = 0.0

    @property
    def accepted_bytes(self) -> int:
        """Data bytes accepted (partition keys not counted)."""
        return sum(len(r.data) for r in self.accepted)


class ProducerError(EcomflowError):
    """Base class of the errors this module raises."""


class PutRecordsError(ProducerError):
    """A non-retryable PutRecords call error (missing stream, bad credentials, ...).

    ``outcome`` covers the batch up to the failure; the records of the failed call are in
    ``outcome.unsent``.
    """

    def __init__(self, message: str, error_code: str, outcome: BatchOutcome) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.outcome = outcome


class SendInterrupted(KeyboardInterrupt):
    """Ctrl-C while a batch was being sent; ``outcome`` says what had been accepted."""

    def __init__(self, outcome: BatchOutcome) -> None:
        super().__init__("interrupted while sending to Kinesis")
        self.outcome = outcome


class BufferFull(ProducerError):
    """The producer's buffer stayed full for ``block_seconds``: Kinesis is slower than the
    application, or unreachable."""


class ProducerClosed(ProducerError):
    """``send`` after ``close``."""


class RecordTooLarge(ProducerError, ValueError):
    """A serialised event over 1 MiB (data + partition key): Kinesis would reject it."""


def batches(
    records: Iterable[Record],
    max_records: int = MAX_BATCH_RECORDS,
    max_bytes: int = MAX_BATCH_BYTES,
) -> Iterator[list[Record]]:
    """Consecutive records cut into PutRecords-sized batches, order kept."""
    batch: list[Record] = []
    size = 0
    for record in records:
        if batch and (len(batch) >= max_records or size + record.size > max_bytes):
            yield batch
            batch, size = [], 0
        batch.append(record)
        size += record.size
    if batch:
        yield batch


def _too_large(record: Record) -> str:
    return f"{record.size} bytes (data + partition key) > {MAX_RECORD_BYTES}"
