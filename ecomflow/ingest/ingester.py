"""``EcommerceDataIngester``: the design's Python ingestion API, built on the producer SDK.

The original design (``ingest_api.py``, "API de Ingesta") sketched a class that did one
synchronous ``put_record`` per event. This class keeps its constructor, method names,
required-field errors and return value (Kinesis' ``SequenceNumber``), so code written against
the design's example runs unchanged, but sends through :class:`ecomflow.ingest.producer.Producer`:
validated against the event contract, retried with backoff, and never reporting success for a
record Kinesis did not accept. Loops can use the buffered ``send_*_async`` methods instead
(batched PutRecords), then ``flush()``/``close()``. See docs/producer.md.

Differences from the sketch (deliberate):

- ``timestamp`` is zoned UTC ISO 8601 (``2025-07-16T10:30:00.123456+00:00``); the design's
  ``datetime.utcnow().isoformat()`` has no zone, which the contract rejects.
- The caller's dict is never modified (the design wrote ``timestamp``/``event_type`` into it).
- A user event without ``user_id`` is sent with ``user_id: null`` (the contract's anonymous
  visitor; the design just keyed it "anonymous").
- Events are checked against the contract before sending (``EventValidationError``, a
  ``ValueError``); an ``event_id`` (a random UUID, one per call) is added when missing.
- A record Kinesis does not accept raises ``DeliveryError`` after the retries, instead of
  boto3's exception on the first error.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from ecomflow.ingest.delivery import DeliveryError, FlushResult
from ecomflow.ingest.producer import Producer
from ecomflow.kinesis.client import kinesis_client
from ecomflow.kinesis.keys import ANONYMOUS_KEY, normalise_key
from ecomflow.kinesis.limits import MAX_RECORD_BYTES
from ecomflow.kinesis.records import FailedRecord, ProducerError, Record, RecordTooLarge

log = logging.getLogger(__name__)

#: The design's required transaction fields, checked in this order.
REQUIRED_TRANSACTION_FIELDS: tuple[str, ...] = ("customer_id", "amount", "currency")


def utc_timestamp() -> str:
    """Now as zoned ISO 8601 UTC, microseconds included (``...T10:30:00.123456+00:00``)."""
    return datetime.now(UTC).isoformat()


def _stamped(data: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``data`` with a fresh zoned timestamp and, when it has none, a random
    event_id: every call is a new event, so two identical calls in the same microsecond must
    not share the payload-derived id a consumer would drop as a duplicate. Retries of one
    call resend the same bytes, so they keep the id."""
    event = dict(data)
    event["timestamp"] = utc_timestamp()
    if event.get("event_id") is None:
        event["event_id"] = str(uuid.uuid4())
    return event


class _SequenceCapture:
    """Wraps a boto3 Kinesis client: remembers the SequenceNumber Kinesis gave each watched
    record (by the identity of its data bytes) and counts the other accepted records.
    Every other attribute is the client's."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._lock = threading.Lock()
        self._watched: dict[int, bytes] = {}  # id(data) -> data (kept alive: ids stay unique)
        self._sequence: dict[int, str] = {}
        self.other_accepted = 0

    def watch(self, data: bytes) -> None:
        with self._lock:
            self._watched[id(data)] = data

    def is_watched(self, data: bytes) -> bool:
        with self._lock:
            return self._watched.get(id(data)) is data

    def release(self, data: bytes) -> str | None:
        """Stop watching ``data``; its sequence number if Kinesis accepted it."""
        with self._lock:
            self._watched.pop(id(data), None)
            return self._sequence.pop(id(data), None)

    def take_other_accepted(self) -> int:
        with self._lock:
            n, self.other_accepted = self.other_accepted, 0
            return n

    def put_records(self, **kwargs: Any) -> dict[str, Any]:
        response = self._client.put_records(**kwargs)
        with self._lock:
            # Results are positional, as in PutRecordsSender.
            for entry, result in zip(kwargs["Records"], response["Records"], strict=True):
                sequence = result.get("SequenceNumber")
                if result.get("ErrorCode") or sequence is None:
                    continue
                data = entry["Data"]
                if self._watched.get(id(data)) is data:
                    self._sequence[id(data)] = sequence
                else:
                    self.other_accepted += 1
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


class EcommerceDataIngester:
    """Client to send data to the e-commerce pipeline (the design's API).

    ``EcommerceDataIngester(stream_name, region='us-east-1')`` as in the design. The Kinesis
    endpoint and credentials come from boto3's standard configuration (environment variables
    ``AWS_ENDPOINT_URL_KINESIS`` or ``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``,
    ``AWS_SECRET_ACCESS_KEY``, profiles, instance roles), unless given as keywords.

    Keyword-only extras: ``endpoint_url``, ``access_key``, ``secret_key``; ``client`` (a
    boto3 Kinesis client of your own, not closed here; turn its retries off, see
    ``ecomflow.ingest.producer.kinesis_client``); ``validate`` (check events against the contract,
    default True); ``on_failure`` (called with each ``FailedRecord`` of an async send; without
    it, ``close()`` raises ``DeliveryError`` for them); anything else is passed to
    :class:`~ecomflow.ingest.producer.Producer` (``max_attempts``, ``linger_seconds``, ...).
    """

    def __init__(
        self,
        stream_name: str,
        region: str = "us-east-1",
        *,
        endpoint_url: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        client: Any = None,
        validate: bool = True,
        on_failure: Callable[[FailedRecord], Any] | None = None,
        **producer_options: Any,
    ) -> None:
        self.stream_name = stream_name
        self.region = region
        self._owns_client = client is None
        raw = (
            kinesis_client(endpoint_url, region, access_key, secret_key)
            if client is None
            else client
        )
        self._capture = _SequenceCapture(raw)
        self.kinesis = raw  # the design's attribute name
        self.on_failure = on_failure
        self._lock = threading.Lock()
        self._sync_failed: dict[int, FailedRecord] = {}
        self._async_failed: list[FailedRecord] = []
        self._closed = False
        self.producer = Producer(
            stream_name,
            client=self._capture,
            validate=validate,
            on_failure=self._record_failure,
            **producer_options,
        )

    # -- the design's API ---------------------------------------------------------------------

    def send_transaction(self, transaction_data: Mapping[str, Any]) -> str:
        """Send a transaction and wait until Kinesis accepted it; return its SequenceNumber.

        ``ValueError("Campo requerido faltante: <field>")`` when customer_id, amount or
        currency is missing (as in the design); ``EventValidationError`` (a ValueError) when
        the event breaks the contract; ``DeliveryError`` when Kinesis did not accept it after
        the retries. Partition key: customer_id.
        """
        return self._send_now(self._transaction(transaction_data), partition="customer_id")

    def send_user_event(self, event_data: Mapping[str, Any]) -> str:
        """Send a user event (it carries its own ``event_type``) and wait until Kinesis
        accepted it; return its SequenceNumber. Partition key: user_id, or "anonymous"."""
        return self._send_now(self._user_event(event_data), partition="user_id")

    # -- buffered variants for loops ----------------------------------------------------------

    def send_transaction_async(self, transaction_data: Mapping[str, Any]) -> str:
        """Like ``send_transaction`` but buffered (batched PutRecords); returns the event_id.
        The outcome is reported by ``flush()``/``close()`` (and ``on_failure``)."""
        record = self._record(self._transaction(transaction_data), "customer_id")
        self.producer.send_records([record])
        return record.ref["event_id"]

    def send_user_event_async(self, event_data: Mapping[str, Any]) -> str:
        """Like ``send_user_event`` but buffered; returns the event_id."""
        record = self._record(self._user_event(event_data), "user_id")
        self.producer.send_records([record])
        return record.ref["event_id"]

    def flush(self) -> FlushResult:
        """Send everything buffered and wait; report the async sends completed since the last
        ``flush``: ``accepted`` and ``failed`` (never raises for them: see
        ``result.raise_for_failures()``)."""
        self.producer.flush()
        return self._async_result(pending=self.producer.pending)

    def close(self) -> FlushResult:
        """Flush, stop the producer, close an owned client. Raises ``DeliveryError`` when an
        async record was never accepted and no ``on_failure`` callback heard of it.
        Idempotent."""
        with self._lock:
            already, self._closed = self._closed, True
        if not already:
            try:
                self.producer.close()
            finally:
                if self._owns_client:
                    try:
                        self._capture._client.close()
                    except Exception:  # closing is best effort
                        log.debug("closing the Kinesis client failed", exc_info=True)
        result = self._async_result(pending=0)
        if self.on_failure is None:
            result.raise_for_failures()
        return result

    def __enter__(self) -> EcommerceDataIngester:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.close()
        except DeliveryError as error:
            if exc_type is None:
                raise
            # Another exception is on its way: do not mask it, but do not lose these either.
            log.error("ecomflow ingester for %s: %s", self.stream_name, error)

    # -- internals ----------------------------------------------------------------------------

    @staticmethod
    def _transaction(transaction_data: Mapping[str, Any]) -> dict[str, Any]:
        for field in REQUIRED_TRANSACTION_FIELDS:
            if field not in transaction_data:
                raise ValueError(f"Campo requerido faltante: {field}")
        event = _stamped(transaction_data)  # the caller's dict stays as it was
        event["event_type"] = "transaction"  # the contract's alias of "purchase"
        return event

    @staticmethod
    def _user_event(event_data: Mapping[str, Any]) -> dict[str, Any]:
        if not isinstance(event_data, Mapping):
            raise TypeError(f"an event is a dict, not {type(event_data).__name__}")
        event = _stamped(event_data)
        # The design allowed events without user_id (key "anonymous"); the contract spells an
        # anonymous visitor user_id: null.
        event.setdefault("user_id", None)
        return event

    def _record(self, event: dict[str, Any], partition: str) -> Record:
        """Validated compact JSON with an event_id (the Producer's rules), keyed by the
        design's partition key: customer_id for transactions, user_id for user events."""
        prepared = self.producer.prepare(event)
        value = event.get(partition)
        key = normalise_key(value) if value not in (None, "") else ANONYMOUS_KEY
        record = Record(prepared.data, key, prepared.ref)
        if record.size > MAX_RECORD_BYTES:
            raise RecordTooLarge(f"event of {record.size} bytes: Kinesis rejects it")
        return record

    def _send_now(self, event: dict[str, Any], partition: str) -> str:
        record = self._record(event, partition)
        self._capture.watch(record.data)
        try:
            # Buffered behind any async records (so per-key order holds), then flushed: the
            # record's fate is known when flush returns.
            self.producer.send_records([record])
            self.producer.flush()
        finally:
            sequence = self._capture.release(record.data)
            with self._lock:
                failure = self._sync_failed.pop(id(record.data), None)
        if sequence is not None:
            return sequence
        if failure is None:  # defensive: neither accepted nor reported failed
            failure = FailedRecord.of(record, "Unknown", "no result for the record")
        raise DeliveryError(FlushResult(accepted=0, failed=(failure,)))

    def _record_failure(self, failure: FailedRecord) -> None:
        if self._capture.is_watched(failure.data):
            with self._lock:
                self._sync_failed[id(failure.data)] = failure
            return
        with self._lock:
            self._async_failed.append(failure)
        if self.on_failure is not None:
            self.on_failure(failure)

    def _async_result(self, pending: int) -> FlushResult:
        with self._lock:
            failed, self._async_failed = tuple(self._async_failed), []
        return FlushResult(
            accepted=self._capture.take_other_accepted(), failed=failed, pending=pending
        )


__all__ = [
    "REQUIRED_TRANSACTION_FIELDS",
    "DeliveryError",
    "EcommerceDataIngester",
    "ProducerError",
    "utc_timestamp",
]
