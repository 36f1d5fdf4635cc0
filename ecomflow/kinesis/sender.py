"""The PutRecords core: batches sent with per-record retries, full-jitter backoff and
optional pacing; a record counts as sent only once Kinesis gave it a sequence number."""


from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from botocore.exceptions import (
    ClientError,
)

from ecomflow.kinesis.limits import (
    MAX_BATCH_BYTES,
    MAX_BATCH_RECORDS,
    MAX_RECORD_BYTES,
    RETRYABLE_CALL_ERRORS,
    RETRYABLE_TRANSPORT_ERRORS,
    backoff_delay,
    error_code,
)
from ecomflow.kinesis.pacing import (
    ShardRateGuard,
    SigintDeferral,
)
from ecomflow.kinesis.records import (
    BatchOutcome,
    FailedRecord,
    PutRecordsError,
    Record,
    SendInterrupted,
    _too_large,
    batches,
)


class PutRecordsSender:
    """Puts batches of raw records on one stream; the only PutRecords loop in ecomflow.

    ``put(batch)`` sends one batch (<= 500 records, <= 5 MiB) and re-sends the records
    Kinesis rejected (per-record ErrorCode, or a retryable whole-call error) in their
    original relative order, sleeping a full-jitter exponential backoff before each re-send,
    until they are accepted or have been sent ``max_attempts`` times; then they are
    reported as failed. The batch is finished before ``put`` returns, so consecutive calls
    never overtake each other.
    """

    def __init__(
        self,
        client: Any,
        stream_name: str,
        *,
        max_attempts: int = 10,
        base_backoff: float = 0.1,
        max_backoff: float = 5.0,
        guard: ShardRateGuard | None = None,
        interrupts: SigintDeferral | None = None,
        sleep: Callable[[float], Any] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        self.client = client
        self.stream_name = stream_name
        self.max_attempts = max_attempts
        self.base_backoff = base_backoff
        self.max_backoff = max_backoff
        self.guard = guard
        self.interrupts = interrupts
        self._sleep = sleep
        self._rng = rng or random.Random()  # jitter only; determinism is not wanted here

    def put(self, batch: Sequence[Record]) -> BatchOutcome:
        """Send one batch to completion. Raises PutRecordsError for non-retryable call
        errors and SendInterrupted on Ctrl-C, both carrying the outcome so far."""
        if len(batch) > MAX_BATCH_RECORDS or sum(r.size for r in batch) > MAX_BATCH_BYTES:
            raise ValueError("batch exceeds the PutRecords limits: use batches()")
        outcome = BatchOutcome()
        pending: list[Record] = list(batch)
        in_flight: list[Record] | None = None
        attempt = 0
        try:
            while pending:
                attempt += 1
                if attempt > 1:
                    outcome.retried += len(pending)
                    self._sleep(
                        backoff_delay(attempt - 1, self.base_backoff, self.max_backoff, self._rng)
                    )
                if self.guard is not None:
                    outcome.waited += self.guard.acquire(pending)
                outcome.requests += 1
                in_flight = pending
                try:
                    response = self._call(pending)
                except (ClientError, *RETRYABLE_TRANSPORT_ERRORS) as exc:
                    in_flight = None
                    code = error_code(exc)
                    retryable = not isinstance(exc, ClientError) or code in RETRYABLE_CALL_ERRORS
                    if not retryable:
                        outcome.unsent.extend(pending)
                        raise PutRecordsError(
                            f"PutRecords to {self.stream_name!r} failed: {exc}", code, outcome
                        ) from exc
                    if attempt >= self.max_attempts:
                        outcome.failed.extend(FailedRecord.of(r, code, str(exc)) for r in pending)
                        pending = []
                    self._check_stop(outcome, pending)
                    continue
                in_flight = None
                still: list[Record] = []
                # Results are positional: result i belongs to pending[i].
                for record, result in zip(pending, response["Records"], strict=True):
                    code = result.get("ErrorCode")
                    if not code and result.get("SequenceNumber") is not None:
                        outcome.accepted.append(record)
                    elif attempt >= self.max_attempts:
                        outcome.failed.append(
                            FailedRecord.of(
                                record,
                                code or "NoSequenceNumber",
                                result.get("ErrorMessage", ""),
                            )
                        )
                    else:
                        still.append(record)
                pending = still
                self._check_stop(outcome, pending)
        except KeyboardInterrupt as exc:
            if isinstance(exc, SendInterrupted):
                raise
            if in_flight is not None:
                outcome.in_doubt.extend(in_flight)
            else:
                outcome.unsent.extend(pending)
            raise SendInterrupted(outcome) from exc
        return outcome

    def _call(self, records: list[Record]) -> dict[str, Any]:
        entries = [r.entry() for r in records]
        if self.interrupts is None:
            return self.client.put_records(StreamName=self.stream_name, Records=entries)
        with self.interrupts.call():
            return self.client.put_records(StreamName=self.stream_name, Records=entries)

    def _check_stop(self, outcome: BatchOutcome, pending: list[Record]) -> None:
        if pending and self.interrupts is not None and self.interrupts.requested:
            outcome.unsent.extend(pending)
            pending.clear()
            raise SendInterrupted(outcome)


def send_records(
    client: Any,
    stream_name: str,
    records: Iterable[Record],
    *,
    max_batch_records: int = MAX_BATCH_RECORDS,
    **sender_options: Any,
) -> Iterator[BatchOutcome]:
    """Put raw records (sent byte for byte) on a stream in PutRecords batches; yield one
    outcome per batch. Records over 1 MiB are not sent: they are reported as failed with
    "RecordTooLarge" in the outcome of the batch they would have joined (or a last one)."""
    if not 1 <= max_batch_records <= MAX_BATCH_RECORDS:
        raise ValueError(f"max_batch_records must be in 1..{MAX_BATCH_RECORDS}")
    sender = PutRecordsSender(client, stream_name, **sender_options)
    too_large: list[FailedRecord] = []

    def sendable() -> Iterator[Record]:
        for record in records:
            if record.size > MAX_RECORD_BYTES:
                too_large.append(FailedRecord.of(record, "RecordTooLarge", _too_large(record)))
            else:
                yield record

    for batch in batches(sendable(), max_batch_records, MAX_BATCH_BYTES):
        outcome = sender.put(batch)
        outcome.failed[:0], too_large[:] = too_large, []
        yield outcome
    if too_large:
        yield BatchOutcome(failed=list(too_large))
