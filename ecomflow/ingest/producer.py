"""Producer SDK: put e-commerce events on a Kinesis stream (the PutRecords core it shares with
replay is ecomflow/kinesis/; import its names from there).

Two layers, one implementation of batching and retrying:

``Producer``
    The SDK for applications. ``send(event)`` / ``send_batch(events)`` validate each event
    against the event contract (on by default), add a stable ``event_id`` when it is missing,
    serialise it as compact JSON and buffer it. A background thread sends a PutRecords
    request whenever a full batch is buffered or the oldest buffered record is
    ``linger_seconds`` old; ``flush()`` sends everything buffered and reports what Kinesis
    accepted and what it did not; ``close()`` (or leaving the ``with`` block) flushes too, and
    so does interpreter exit for producers nobody closed. See docs/producer.md. Its parts:
    event -> record (``event_record.py``), the buffer (``send_buffer.py``) and what a flush
    reports (``delivery.py``: FlushResult, DeliveryError; DeliveryError is also reachable
    here, as docs/producer.md documents it).

``PutRecordsSender`` / ``send_records`` (ecomflow/kinesis/sender.py)
    The lower level: raw ``Record`` s (bytes + partition key, sent byte for byte, never
    re-serialised or validated) put with PutRecords, failed records and throttled calls
    retried with full-jitter exponential backoff, optionally paced by a ``ShardRateGuard``
    (1,000 records/s and 1 MiB/s per shard). ``ecomflow.ingest.replay`` is built on it.

The guarantee both layers keep: a record counts as sent only when Kinesis answered with a
sequence number for it. Everything else ends up in a failure list with Kinesis' error code.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import Any

from ecomflow.ingest.delivery import DeliveryError, FlushResult
from ecomflow.ingest.event_record import event_record, load_contract
from ecomflow.ingest.send_buffer import SendBuffer
from ecomflow.kinesis.client import kinesis_client
from ecomflow.kinesis.limits import MAX_BATCH_BYTES, MAX_BATCH_RECORDS, MAX_RECORD_BYTES, error_code
from ecomflow.kinesis.records import (
    BatchOutcome,
    BufferFull,
    FailedRecord,
    ProducerClosed,
    PutRecordsError,
    Record,
    RecordTooLarge,
    SendInterrupted,
    _too_large,
)
from ecomflow.kinesis.sender import PutRecordsSender

log = logging.getLogger(__name__)


# --- the Producer SDK -------------------------------------------------------------------------


def __getattr__(name: str) -> Any:
    # ``ecomflow.ingest.producer.EventValidationError`` is the contract's, loaded on first use.
    if name == "EventValidationError":
        return load_contract().EventValidationError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_OPEN_PRODUCERS: weakref.WeakSet[Producer] = weakref.WeakSet()


@atexit.register
def _flush_open_producers() -> None:
    for producer in list(_OPEN_PRODUCERS):
        try:
            result = producer.close()
        except BaseException as exc:  # never let one producer stop the others' flush
            log.error(
                "ecomflow producer for %s: flush at exit failed: %s", producer.stream_name, exc
            )
            continue
        if result.failed:
            log.error(
                "ecomflow producer for %s: %d record(s) not accepted at exit (%s)",
                producer.stream_name,
                len(result.failed),
                ", ".join(sorted({f.error_code for f in result.failed})),
            )


class Producer:
    """Buffered, validated, retried PutRecords for events (dicts). Thread-safe.

    ``stream_name``: the stream. ``client``: a boto3 Kinesis client; without one, the
    producer makes (and closes) its own from ``endpoint_url``, ``region``, ``access_key`` and
    ``secret_key`` (None: boto3's usual resolution) with boto3's own retries off.

    ``validate``: check each event against the event contract in ``send`` (a
    ``flink_jobs.contract.EventValidationError``, a ValueError, names the field).
    ``linger_seconds``: the longest a record waits in the buffer for more records to share
    its request. ``max_buffer_records`` / ``max_buffer_bytes``: the bounded buffer; ``send``
    blocks while it is full, up to ``block_seconds`` (None: forever, 0: not at all), then
    raises BufferFull. ``max_attempts``, ``base_backoff``, ``max_backoff``: the retry policy
    of each record (full-jitter exponential backoff). ``preserve_key_order``: one record per
    partition key per request, so a retried record never lands behind a later record with
    the same key (costs throughput when few keys are buffered). ``on_failure``: called with
    each FailedRecord, from the thread that sent it.
    """

    def __init__(
        self,
        stream_name: str,
        *,
        client: Any = None,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        validate: bool = True,
        max_buffer_records: int = 10_000,
        max_buffer_bytes: int = 64 * 1024 * 1024,
        linger_seconds: float = 0.1,
        block_seconds: float | None = 30.0,
        max_attempts: int = 10,
        base_backoff: float = 0.1,
        max_backoff: float = 5.0,
        max_batch_records: int = MAX_BATCH_RECORDS,
        preserve_key_order: bool = True,
        on_failure: Callable[[FailedRecord], Any] | None = None,
    ) -> None:
        if max_buffer_records < 1 or max_buffer_bytes < 1:
            raise ValueError("max_buffer_records and max_buffer_bytes must be >= 1")
        if not 1 <= max_batch_records <= MAX_BATCH_RECORDS:
            raise ValueError(f"max_batch_records must be in 1..{MAX_BATCH_RECORDS}")
        if linger_seconds < 0:
            raise ValueError("linger_seconds must be >= 0")
        self.stream_name = stream_name
        self._owns_client = client is None
        self.client = (
            kinesis_client(endpoint_url, region, access_key, secret_key)
            if client is None
            else client
        )
        self.validate = validate
        self.max_buffer_records = max_buffer_records
        self.max_buffer_bytes = max_buffer_bytes
        self.linger_seconds = linger_seconds
        self.block_seconds = block_seconds
        self.max_batch_records = max_batch_records
        self.preserve_key_order = preserve_key_order
        self.on_failure = on_failure
        self._sender = PutRecordsSender(
            self.client,
            stream_name,
            max_attempts=max_attempts,
            base_backoff=base_backoff,
            max_backoff=max_backoff,
        )
        self._cond = threading.Condition()
        self._send_lock = threading.Lock()  # one batch in flight at a time: keeps order
        self._buffer = SendBuffer()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._sending_thread: int | None = None
        # Completed since the last result.
        self._accepted = 0
        self._failed: list[FailedRecord] = []
        self._requests = 0
        self._retried = 0
        # Totals since creation.
        self.total_accepted = 0
        self.total_failed = 0
        _OPEN_PRODUCERS.add(self)

    # -- context manager ----------------------------------------------------------------------

    def __enter__(self) -> Producer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        result = self.close()
        # Undelivered records must not vanish silently: raise unless a callback heard of
        # them or another exception is already on its way.
        if exc_type is None and self.on_failure is None:
            result.raise_for_failures()

    # -- sending ------------------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Records buffered, not yet handed to PutRecords."""
        with self._cond:
            return len(self._buffer)

    def prepare(self, event: Mapping[str, Any]) -> Record:
        """The record ``send`` would buffer for ``event``: event_id added when missing,
        validated (when on), compact JSON, partition key = the event's user key."""
        return event_record(event, validate=self.validate)

    def send(self, event: Mapping[str, Any]) -> str | None:
        """Validate and buffer one event; return its event_id. Sent within
        ``linger_seconds`` or as soon as a batch is full; ``flush()`` reports the outcome."""
        record = self.prepare(event)
        self._enqueue([record])
        return record.ref.get("event_id")

    def send_batch(self, events: Iterable[Mapping[str, Any]]) -> list[str | None]:
        """Validate all events first (nothing is buffered if one is invalid: the error notes
        its index), then buffer them in order; return their event_ids."""
        records: list[Record] = []
        for index, event in enumerate(events):
            try:
                records.append(self.prepare(event))
            except (ValueError, TypeError) as exc:
                exc.add_note(f"in send_batch: events[{index}]; nothing of this batch was buffered")
                raise
        self._enqueue(records)
        return [r.ref.get("event_id") for r in records]

    def send_records(self, records: Iterable[Record]) -> None:
        """Buffer raw records as they are (no validation, no event_id, no re-serialising)."""
        items = list(records)
        for record in items:
            if record.size > MAX_RECORD_BYTES:
                raise RecordTooLarge(f"record of {_too_large(record)}: Kinesis rejects it")
        self._enqueue(items)

    def _enqueue(self, records: list[Record]) -> None:
        deadline = None if self.block_seconds is None else time.monotonic() + self.block_seconds
        for record in records:
            with self._cond:
                while True:
                    if self._closed:
                        raise ProducerClosed(f"producer for {self.stream_name!r} is closed")
                    if self._buffer.fits(record, self.max_buffer_records, self.max_buffer_bytes):
                        break
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if (remaining is not None and remaining <= 0) or (
                        self._sending_thread == threading.get_ident()
                    ):
                        raise BufferFull(
                            f"producer buffer for {self.stream_name!r} full "
                            f"({len(self._buffer)} records, {self._buffer.bytes} bytes) for "
                            f"{self.block_seconds} s: Kinesis is slower than the sender or "
                            "unreachable"
                        )
                    self._ensure_thread()
                    self._cond.notify_all()
                    self._cond.wait(remaining)
                self._buffer.add(record)
                self._ensure_thread()
                if self._due_in() == 0:
                    self._cond.notify_all()

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(
                target=self._run, name=f"ecomflow-producer-{self.stream_name}", daemon=True
            )
            self._thread.start()

    def _due_in(self) -> float | None:
        """0 when a request should go now; seconds until the oldest record's linger ends;
        None when the buffer is empty. Call with the lock held."""
        return self._buffer.due_in(
            min(self.max_batch_records, self.max_buffer_records),
            min(MAX_BATCH_BYTES, self.max_buffer_bytes),
            self.linger_seconds,
        )

    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    if self._closed:
                        return
                    wait = self._due_in()
                    if wait == 0:
                        break
                    self._cond.wait(wait)
            try:
                self._drain(None)
            except BaseException:  # keep the thread alive; flush()/close() will retry
                log.exception("ecomflow producer for %s: send failed", self.stream_name)

    def _drain(self, upto: int | None) -> None:
        """Send batches: while due (upto None), or until every record enqueued up to
        sequence ``upto`` is done."""
        with self._send_lock:
            self._sending_thread = threading.get_ident()
            try:
                while True:
                    with self._cond:
                        if upto is None:
                            if self._due_in() != 0:
                                return
                        elif not self._buffer.holds_upto(upto):
                            return
                        batch = self._buffer.take_batch(
                            upto, self.max_batch_records, self.preserve_key_order
                        )
                        self._cond.notify_all()  # room in the buffer
                    self._put(batch)
            finally:
                self._sending_thread = None

    def _put(self, batch: list[Record]) -> None:
        try:
            outcome = self._sender.put(batch)
        except PutRecordsError as exc:
            outcome = exc.outcome
            outcome.failed.extend(
                FailedRecord.of(r, exc.error_code, str(exc)) for r in outcome.unsent
            )
            outcome.unsent = []
        except SendInterrupted as exc:
            # Ctrl-C in flush(): count what landed, put the rest back (in doubt included:
            # at least once) so close()/exit can still deliver it, and stop.
            self._complete(exc.outcome)
            back = exc.outcome.in_doubt + exc.outcome.unsent
            with self._cond:
                self._buffer.put_back(back)
            raise
        except Exception as exc:  # a client bug or missing credentials: report, not crash
            outcome = BatchOutcome(
                failed=[FailedRecord.of(r, error_code(exc), str(exc)) for r in batch],
                requests=1,
            )
        self._complete(outcome)

    def _complete(self, outcome: BatchOutcome) -> None:
        with self._cond:
            self._accepted += len(outcome.accepted)
            self._failed.extend(outcome.failed)
            self._requests += outcome.requests
            self._retried += outcome.retried
            self.total_accepted += len(outcome.accepted)
            self.total_failed += len(outcome.failed)
        if self.on_failure is not None:
            for failure in outcome.failed:
                try:
                    self.on_failure(failure)
                except Exception:
                    log.exception("ecomflow producer: on_failure callback raised")

    def _result(self) -> FlushResult:
        with self._cond:
            result = FlushResult(
                accepted=self._accepted,
                failed=tuple(self._failed),
                requests=self._requests,
                retried=self._retried,
                pending=len(self._buffer),
            )
            self._accepted = self._requests = self._retried = 0
            self._failed = []
        return result

    def flush(self) -> FlushResult:
        """Send everything buffered so far and wait for it; return what completed since the
        previous result. Never raises for rejected records: check ``result.failed`` (or
        call ``result.raise_for_failures()``)."""
        with self._cond:
            upto = self._buffer.seq
        self._drain(upto)
        return self._result()

    def close(self) -> FlushResult:
        """Stop accepting events, flush, stop the background thread, close an owned client.
        Idempotent; later calls return an empty result."""
        with self._cond:
            already = self._closed
            self._closed = True
            self._cond.notify_all()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        if already:
            return self._result()
        try:
            result = self.flush()
        finally:
            _OPEN_PRODUCERS.discard(self)
            if self._owns_client:
                with contextlib.suppress(Exception):
                    self.client.close()
        return result


# The documented SDK surface (docs/producer.md): the Producer, and the two names the docs reach
# through this module: ``ecomflow.ingest.producer.kinesis_client`` and
# ``ecomflow.ingest.producer.DeliveryError`` (``EventValidationError`` is ``__getattr__``'s).
# Everything else is imported from where it is defined.
__all__ = [
    "DeliveryError",
    "Producer",
    "kinesis_client",
]
