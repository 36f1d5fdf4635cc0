"""Producer SDK: put e-commerce events on a Kinesis stream, and the PutRecords core replay uses.

Two layers, one implementation of batching and retrying:

``Producer``
    The SDK for applications. ``send(event)`` / ``send_batch(events)`` validate each event
    against the event contract (on by default), add a stable ``event_id`` when it is missing,
    serialise it as compact JSON and buffer it. A background thread sends a PutRecords
    request whenever a full batch is buffered or the oldest buffered record is
    ``linger_seconds`` old; ``flush()`` sends everything buffered and reports what Kinesis
    accepted and what it did not; ``close()`` (or leaving the ``with`` block) flushes too, and
    so does interpreter exit for producers nobody closed. See docs/producer.md.

``PutRecordsSender`` / ``send_records``
    The lower level: raw ``Record`` s (bytes + partition key, sent byte for byte, never
    re-serialised or validated) put with PutRecords, failed records and throttled calls
    retried with full-jitter exponential backoff, optionally paced by a ``ShardRateGuard``
    (1,000 records/s and 1 MiB/s per shard). ``ecomflow.ingest.replay`` is built on it.

The guarantee both layers keep: a record counts as sent only when Kinesis answered with a
sequence number for it. Everything else ends up in a failure list with Kinesis' error code.
"""

from __future__ import annotations

import atexit
import bisect
import contextlib
import hashlib
import json
import logging
import random
import signal
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from ecomflow.errors import EcomflowError

log = logging.getLogger(__name__)

# --- Kinesis limits ---------------------------------------------------------------------------

MAX_BATCH_RECORDS = 500  # records per PutRecords request
MAX_BATCH_BYTES = 5 * 1024 * 1024  # per request, data + partition keys
MAX_RECORD_BYTES = 1024 * 1024  # per record; we count data + partition key (conservative)
MAX_PARTITION_KEY_CHARS = 256
SHARD_RECORDS_PER_SECOND = 1000.0  # write limit per shard
SHARD_BYTES_PER_SECOND = 1024.0 * 1024.0  # write limit per shard (data + partition keys)
ANONYMOUS_KEY = "anonymous"

# Whole-call errors worth retrying; anything else (missing stream, bad credentials, ...)
# is a configuration problem and is raised.
RETRYABLE_CALL_ERRORS = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "LimitExceededException",
        "KMSThrottlingException",
        "InternalFailure",
        "InternalFailureException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)
# No response or a dropped connection: the request may or may not have been applied, so a
# retry can duplicate records (Kinesis is at-least-once anyway).
RETRYABLE_TRANSPORT_ERRORS: tuple[type[Exception], ...] = (
    EndpointConnectionError,
    ConnectionClosedError,
    ReadTimeoutError,
)


# --- records, outcomes, errors ----------------------------------------------------------------


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


class DeliveryError(ProducerError):
    """Records Kinesis never accepted; ``result.failed`` lists them with their error codes."""

    def __init__(self, result: FlushResult) -> None:
        codes = sorted({f.error_code for f in result.failed})
        super().__init__(
            f"{len(result.failed)} record(s) not accepted by Kinesis ({', '.join(codes)}); "
            f"{result.accepted} accepted"
        )
        self.result = result


# --- partition keys ---------------------------------------------------------------------------


def _hash_key(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


def normalise_key(value: Any) -> str:
    """A user id as a partition key: strings as they are, other JSON values as JSON, missing or
    empty ids as "anonymous"; ids over Kinesis' 256 characters as a hash (equal ids still
    share a key)."""
    if value is None or value == "":
        return ANONYMOUS_KEY
    key = value if isinstance(value, str) else json.dumps(value)
    return key if len(key) <= MAX_PARTITION_KEY_CHARS else _hash_key(key.encode("utf-8"))


def key_for_object(obj: Mapping[str, Any]) -> str:
    """The partition key of an event: ``user_id``, else ``customer_id`` (the first that is
    neither missing, null nor empty), else "anonymous"; see ``normalise_key``."""
    for name in ("user_id", "customer_id"):
        value = obj.get(name)
        if value is None or value == "":
            continue
        return normalise_key(value)
    return ANONYMOUS_KEY


def key_for_bytes(data: bytes) -> str:
    """The partition key of a raw JSON line: ``key_for_object`` of the object; a hash of the
    line if it is not a JSON object (so malformed lines spread over the shards)."""
    try:
        obj = json.loads(data)
    except ValueError:  # includes UnicodeDecodeError
        return _hash_key(data)
    if not isinstance(obj, dict):
        return _hash_key(data)
    return key_for_object(obj)


# --- per-shard rate guard ---------------------------------------------------------------------


class ShardRateGuard:
    """Keeps each shard's write rate within Kinesis' limits before requests are made.

    A record goes to the shard whose hash-key range holds MD5(partition key), exactly as
    Kinesis routes it. Each shard has a virtual schedule per limit (records and bytes, a
    generic cell rate algorithm without burst): a request waits until every shard it writes
    to has paid for its previous writes, then books its own. Requests span shards, so a busy
    shard also delays records for idle ones; throttling that still happens (other writers,
    resharding) is handled by the sender's backoff.
    """

    def __init__(
        self,
        starting_hash_keys: Sequence[int],
        *,
        records_per_second: float = SHARD_RECORDS_PER_SECOND,
        bytes_per_second: float = SHARD_BYTES_PER_SECOND,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Any] = time.sleep,
    ) -> None:
        if not starting_hash_keys:
            raise ValueError("a stream has at least one shard")
        self._starts = sorted(starting_hash_keys)
        self._records_per_second = records_per_second
        self._bytes_per_second = bytes_per_second
        self._clock = clock
        self._sleep = sleep
        n = len(self._starts)
        self._records_due = [float("-inf")] * n
        self._bytes_due = [float("-inf")] * n
        self.waited = 0.0

    @classmethod
    def for_stream(cls, client: Any, stream_name: str, **kwargs: Any) -> ShardRateGuard | None:
        """A guard for the stream's open shards (ListShards), or None if they cannot be
        listed (e.g. a role allowed PutRecords only): throttling then relies on backoff."""
        try:
            starts: list[int] = []
            request: dict[str, Any] = {"StreamName": stream_name}
            while True:
                response = client.list_shards(**request)
                for shard in response.get("Shards", []):
                    if shard.get("SequenceNumberRange", {}).get("EndingSequenceNumber"):
                        continue  # closed by a reshard: takes no writes
                    starts.append(int(shard["HashKeyRange"]["StartingHashKey"]))
                token = response.get("NextToken")
                if not token:
                    break
                request = {"NextToken": token}
        except Exception as exc:  # any failure only means "no guard"
            log.debug("no shard rate guard for %s: %s", stream_name, exc)
            return None
        return cls(starts, **kwargs) if starts else None

    @property
    def shards(self) -> int:
        return len(self._starts)

    def shard_of(self, partition_key: str) -> int:
        """Index of the open shard Kinesis routes this partition key to."""
        point = int(hashlib.md5(partition_key.encode("utf-8")).hexdigest(), 16)
        return max(bisect.bisect_right(self._starts, point) - 1, 0)

    def acquire(self, records: Sequence[Record]) -> float:
        """Sleep until the records may be written without exceeding any shard's limits;
        book them; return the seconds waited."""
        counts: dict[int, list[int]] = {}
        for record in records:
            slot = counts.setdefault(self.shard_of(record.partition_key), [0, 0])
            slot[0] += 1
            slot[1] += record.size
        now = self._clock()
        ready = now
        for shard in counts:
            ready = max(ready, self._records_due[shard], self._bytes_due[shard])
        wait = ready - now
        if wait > 0:
            self._sleep(wait)
            self.waited += wait
        for shard, (n, size) in counts.items():
            self._records_due[shard] = (
                max(self._records_due[shard], ready) + n / self._records_per_second
            )
            self._bytes_due[shard] = (
                max(self._bytes_due[shard], ready) + size / self._bytes_per_second
            )
        return max(wait, 0.0)


# --- Ctrl-C deferral --------------------------------------------------------------------------


class SigintDeferral:
    """While active (main thread, default SIGINT handler only), a first Ctrl-C that arrives
    during a PutRecords call is deferred until the call has returned, so its results are
    counted; ``requested`` tells the caller to stop. Ctrl-C at any other moment, or a second
    one, raises KeyboardInterrupt as usual."""

    def __init__(self) -> None:
        self.requested = False
        self._in_call = False
        self._previous: Any = None
        self._installed = False

    def __enter__(self) -> SigintDeferral:
        if (
            threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler
        ):
            self._previous = signal.signal(signal.SIGINT, self._handler)
            self._installed = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)
            self._installed = False

    def _handler(self, signum: int, frame: Any) -> None:
        if self._in_call and not self.requested:
            self.requested = True
            return
        raise KeyboardInterrupt

    @contextlib.contextmanager
    def call(self) -> Iterator[None]:
        self._in_call = True
        try:
            yield
        finally:
            self._in_call = False


# --- the PutRecords core ----------------------------------------------------------------------


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "ClientError"))
    return type(exc).__name__


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Full jitter: uniform(0, min(cap, base * 2**(attempt - 1)))."""
    return rng.uniform(0, min(cap, base * (2 ** (attempt - 1))))


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


def _too_large(record: Record) -> str:
    return f"{record.size} bytes (data + partition key) > {MAX_RECORD_BYTES}"


def kinesis_client(
    endpoint_url: str | None,
    region: str | None,
    access_key: str | None = None,
    secret_key: str | None = None,
) -> Any:
    """A boto3 Kinesis client whose own retries are off, so the sender's loop handles
    throttling (and counts it); timeouts are short enough to notice a dead endpoint."""
    import boto3
    from botocore.config import Config

    config = Config(
        region_name=region,
        retries={"max_attempts": 0, "mode": "standard"},
        connect_timeout=5,
        read_timeout=30,
    )
    return boto3.client(
        "kinesis",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        config=config,
    )


# --- the Producer SDK -------------------------------------------------------------------------


def _contract() -> Any:
    # Imported lazily: the SDK module loads (and replay works) without the contract package.
    from flink_jobs import contract

    return contract


def __getattr__(name: str) -> Any:
    # ``ecomflow.ingest.producer.EventValidationError`` is the contract's, loaded on first use.
    if name == "EventValidationError":
        return _contract().EventValidationError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class FlushResult:
    """Records that completed since the previous result (``flush`` or ``close``), including
    those the background thread sent meanwhile.

    accepted: records Kinesis accepted. failed: records it never accepted, each with its
    error code, message and the event (``failure.event``). requests/retried: PutRecords calls
    and record re-sends. pending: records still buffered when the result was taken (0 after
    ``flush``/``close`` unless other threads kept sending).
    """

    accepted: int = 0
    failed: tuple[FailedRecord, ...] = ()
    requests: int = 0
    retried: int = 0
    pending: int = 0

    @property
    def ok(self) -> bool:
        return not self.failed

    def raise_for_failures(self) -> FlushResult:
        """Raise DeliveryError if any record was not accepted; return self otherwise."""
        if self.failed:
            raise DeliveryError(self)
        return self


class _Buffered:
    __slots__ = ("record", "seq", "since")

    def __init__(self, record: Record, seq: int, since: float) -> None:
        self.record = record
        self.seq = seq
        self.since = since


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
        self._buffer: deque[_Buffered] = deque()
        self._buffer_bytes = 0
        self._seq = 0
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
        if not isinstance(event, Mapping):
            raise TypeError(f"an event is a dict, not {type(event).__name__}")
        contract = _contract()
        try:
            # with_event_id serialises the event to derive an id, so it fails here too.
            record = contract.with_event_id(dict(event))
            data = json.dumps(record, separators=(",", ":"), allow_nan=False).encode("utf-8")
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"event is not JSON-serialisable: {exc}") from exc
        if self.validate:
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
                    if self._fits(record):
                        break
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if (remaining is not None and remaining <= 0) or (
                        self._sending_thread == threading.get_ident()
                    ):
                        raise BufferFull(
                            f"producer buffer for {self.stream_name!r} full "
                            f"({len(self._buffer)} records, {self._buffer_bytes} bytes) for "
                            f"{self.block_seconds} s: Kinesis is slower than the sender or "
                            "unreachable"
                        )
                    self._ensure_thread()
                    self._cond.notify_all()
                    self._cond.wait(remaining)
                self._seq += 1
                self._buffer.append(_Buffered(record, self._seq, time.monotonic()))
                self._buffer_bytes += record.size
                self._ensure_thread()
                if self._due_in() == 0:
                    self._cond.notify_all()

    def _fits(self, record: Record) -> bool:
        if not self._buffer:
            return True
        return (
            len(self._buffer) < self.max_buffer_records
            and self._buffer_bytes + record.size <= self.max_buffer_bytes
        )

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(
                target=self._run, name=f"ecomflow-producer-{self.stream_name}", daemon=True
            )
            self._thread.start()

    def _due_in(self) -> float | None:
        """0 when a request should go now; seconds until the oldest record's linger ends;
        None when the buffer is empty. Call with the lock held."""
        if not self._buffer:
            return None
        if len(self._buffer) >= min(
            self.max_batch_records, self.max_buffer_records
        ) or self._buffer_bytes >= min(MAX_BATCH_BYTES, self.max_buffer_bytes):
            return 0.0
        return max(0.0, self._buffer[0].since + self.linger_seconds - time.monotonic())

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

    def _take_batch(self, upto: int | None) -> list[Record]:
        """Take the next request's records from the buffer (lock held). With
        preserve_key_order, at most one record per key: later ones wait their turn."""
        batch: list[Record] = []
        size = 0
        keys: set[str] = set()
        skipped: list[_Buffered] = []
        scanned = 0
        buffer = self._buffer
        while buffer and len(batch) < self.max_batch_records and scanned < 4 * MAX_BATCH_RECORDS:
            item = buffer[0]
            if upto is not None and item.seq > upto:
                break
            record = item.record
            if size + record.size > MAX_BATCH_BYTES:
                break
            buffer.popleft()
            scanned += 1
            if self.preserve_key_order and record.partition_key in keys:
                skipped.append(item)
                continue
            keys.add(record.partition_key)
            batch.append(record)
            size += record.size
            self._buffer_bytes -= record.size
        buffer.extendleft(reversed(skipped))
        return batch

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
                        elif not self._buffer or self._buffer[0].seq > upto:
                            return
                        batch = self._take_batch(upto)
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
                for record in reversed(back):
                    self._buffer.appendleft(_Buffered(record, 0, time.monotonic()))
                    self._buffer_bytes += record.size
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
            upto = self._seq
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


__all__ = [
    "ANONYMOUS_KEY",
    "BatchOutcome",
    "BufferFull",
    "DeliveryError",
    "FailedRecord",
    "FlushResult",
    "MAX_BATCH_BYTES",
    "MAX_BATCH_RECORDS",
    "MAX_PARTITION_KEY_CHARS",
    "MAX_RECORD_BYTES",
    "Producer",
    "ProducerClosed",
    "ProducerError",
    "PutRecordsError",
    "PutRecordsSender",
    "RETRYABLE_CALL_ERRORS",
    "Record",
    "RecordTooLarge",
    "SHARD_BYTES_PER_SECOND",
    "SHARD_RECORDS_PER_SECOND",
    "SendInterrupted",
    "ShardRateGuard",
    "SigintDeferral",
    "backoff_delay",
    "batches",
    "key_for_bytes",
    "key_for_object",
    "kinesis_client",
    "normalise_key",
    "send_records",
]
