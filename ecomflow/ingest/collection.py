"""What the collection endpoint does with a request, HTTP aside: its settings (CollectorConfig),
reading a body (parse_body), and delivering events through a dedicated producer so that each
request learns which of its events Kinesis accepted (_Delivery). The server is collect.py."""


from __future__ import annotations

import ipaddress
import json
import logging
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from ecomflow.ingest.producer import Producer
from ecomflow.kinesis.records import FailedRecord, ProducerError, Record
from flink_jobs import contract

log = logging.getLogger(__name__)

EVENTS_PATH = "/events"
HEALTH_PATH = "/health"
API_KEY_HEADER = "X-API-Key"
API_KEYS_ENV = "ECOMFLOW_API_KEYS"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8088
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
DEFAULT_MAX_EVENTS = 500

#: Reason of an event that was valid but that the stream did not accept.
STREAM_UNAVAILABLE = "stream_unavailable"


# --------------------------------------------------------------------------- configuration


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _normalise_origin(origin: str) -> str:
    value = origin.strip().rstrip("/").lower()
    if value in ("*", "null"):
        return value
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path or parts.query:
        raise ValueError(
            f"allowed origin {origin!r} is not an origin: use scheme://host[:port] "
            "(e.g. https://shop.example.com) or *"
        )
    return value


@dataclass(frozen=True, kw_only=True)
class CollectorConfig:
    """Settings of the collection endpoint; checked when built.

    ``host``: a loopback address unless ``allow_non_loopback`` (the collector speaks plain
    HTTP: put TLS in front of it). ``port``: 0 picks a free one (see ``CollectorServer.url``).
    ``api_keys``: the accepted ``X-API-Key`` values (at least one; compared in constant
    time). ``max_body_bytes``: larger bodies get 413 without being read.
    ``max_events_per_request``: longer arrays get 413. ``allowed_origins``: browser origins
    (``https://shop.example.com``, or ``*`` for any) answered with CORS headers; empty: no
    CORS. ``max_future``: clock skew tolerated on event timestamps. ``request_timeout``:
    seconds a connection may stay silent (idle keep-alive, slow bodies).

        CollectorConfig(api_keys={"k1"}, port=0, allowed_origins={"http://localhost:3000"})
    """

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    api_keys: frozenset[str] = frozenset()
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_events_per_request: int = DEFAULT_MAX_EVENTS
    allowed_origins: frozenset[str] = frozenset()
    allow_non_loopback: bool = False
    max_future: timedelta = timedelta(minutes=5)
    request_timeout: float = 30.0
    cors_max_age: int = 600

    def __post_init__(self) -> None:
        for name in ("api_keys", "allowed_origins"):
            value = getattr(self, name)
            if isinstance(value, str | bytes):
                raise TypeError(f"{name} is a set of strings, not one string")
        keys = frozenset(self.api_keys)
        if not keys:
            raise ValueError(f"at least one API key is needed (api_keys, or {API_KEYS_ENV})")
        for key in keys:
            if not isinstance(key, str) or not key or not key.isascii() or not key.isprintable():
                raise ValueError("API keys are non-empty printable ASCII strings")
            if key != key.strip():
                raise ValueError("an API key must not start or end with whitespace")
        object.__setattr__(self, "api_keys", keys)
        origins = frozenset(_normalise_origin(o) for o in self.allowed_origins)
        object.__setattr__(self, "allowed_origins", origins)
        if not self.allow_non_loopback and not _is_loopback(self.host):
            raise ValueError(
                f"host {self.host!r} is not a loopback address: the collector speaks plain "
                "HTTP; set allow_non_loopback (--allow-remote) to serve it anyway"
            )
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port {self.port} is not in 0..65535")
        if self.max_body_bytes < 1:
            raise ValueError("max_body_bytes must be >= 1")
        if self.max_events_per_request < 1:
            raise ValueError("max_events_per_request must be >= 1")
        if self.request_timeout <= 0:
            raise ValueError("request_timeout must be > 0")

    def __repr__(self) -> str:  # never show the keys
        return (
            f"CollectorConfig(host={self.host!r}, port={self.port}, "
            f"api_keys=<{len(self.api_keys)} keys>, max_body_bytes={self.max_body_bytes}, "
            f"max_events_per_request={self.max_events_per_request}, "
            f"allowed_origins={sorted(self.allowed_origins)!r})"
        )


# --------------------------------------------------------------------------- request bodies


class _BadBody(ValueError):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:40]} is out of range")
    return value


def parse_body(body: bytes) -> list[Any]:
    """The events of a request body: ``[object]`` for one object, the list for an array.

    Raises ``_BadBody`` with reason ``not_json`` (empty, not UTF-8, not JSON, NaN/Infinity,
    numbers out of range, nested too deeply) or ``not_an_object`` (any other JSON value).
    """
    if not body.strip():
        raise _BadBody("not_json", "the body is empty")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _BadBody("not_json", f"not UTF-8: {exc.reason} at byte {exc.start}") from None
    try:
        document = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except RecursionError:
        raise _BadBody("not_json", "nested too deeply") from None
    except ValueError as exc:  # json.JSONDecodeError included
        raise _BadBody("not_json", str(exc)) from None
    if isinstance(document, dict):
        return [document]
    if isinstance(document, list):
        return document
    raise _BadBody(
        "not_an_object",
        f"expected a JSON object or an array of objects, got {type(document).__name__}",
    )


def receive_timestamp(moment: datetime) -> str:
    """``moment`` as the collector stamps it: ISO 8601, UTC, milliseconds, ``Z`` (the shape
    of JavaScript's ``toISOString()``)."""
    moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


def _is_json_media_type(value: str | None) -> bool:
    if not value:
        return False
    media, _, params = value.partition(";")
    if media.strip().lower() != "application/json":
        return False
    for param in params.split(";"):
        name, _, param_value = param.partition("=")
        if name.strip().lower() == "charset":
            if param_value.strip().strip('"').lower() not in ("utf-8", "utf8"):
                return False
    return True


def _rejection(index: int, issues: Sequence[contract.Issue], **extra: Any) -> dict[str, Any]:
    first = issues[0]
    return {
        "index": index,
        "reason": first.reason,
        "field": first.field,
        "message": first.message,
        **extra,
        "issues": [{"reason": i.reason, "field": i.field, "message": i.message} for i in issues],
    }


# --------------------------------------------------------------------------- delivery


@dataclass(frozen=True)
class _NotDelivered:
    error_code: str
    message: str


class _Delivery:
    """Puts prepared records on the stream through the producer and tells, per record,
    whether Kinesis accepted it.

    The producer reports failures in the result of whichever ``flush()`` collects them, not
    per caller, so requests flush one at a time under a lock and hand every failure they
    collect to the request whose record it is (matched by the record's event object). When
    a request's flush returns, every record it enqueued has completed: the ones without a
    failure were accepted. Records still go out in shared batches: a flush sends whatever
    every request has buffered.
    """

    def __init__(self, producer: Producer) -> None:
        self.producer = producer
        self._lock = threading.Lock()
        self._failures: dict[int, FailedRecord | None] = {}

    def deliver(self, records: Sequence[Record]) -> list[_NotDelivered | None]:
        """None for each record Kinesis accepted, else why it was not."""
        if not records:
            return []
        keys = [id(record.ref) for record in records]
        with self._lock:
            for key in keys:
                self._failures[key] = None
        refused: _NotDelivered | None = None
        sent = 0
        try:
            for record in records:  # one at a time: a refusal names exactly what was buffered
                self.producer.send_records([record])
                sent += 1
        except ProducerError as exc:  # BufferFull, ProducerClosed
            refused = _NotDelivered(type(exc).__name__, str(exc))
        except Exception as exc:  # never leave the request without an answer
            log.exception("collector: buffering records failed")
            refused = _NotDelivered(type(exc).__name__, str(exc))
        in_doubt: _NotDelivered | None = None
        with self._lock:
            try:
                if sent:
                    result = self.producer.flush()
                    for failure in result.failed:
                        key = id(failure.ref)
                        if key in self._failures:
                            self._failures[key] = failure
            except Exception as exc:
                log.exception("collector: flushing the producer failed")
                in_doubt = _NotDelivered(type(exc).__name__, f"delivery in doubt: {exc}")
            failures = [self._failures.pop(key, None) for key in keys]
        outcome: list[_NotDelivered | None] = []
        for position, failure in enumerate(failures):
            if position >= sent:
                outcome.append(refused)
            elif in_doubt is not None:
                outcome.append(in_doubt)
            elif failure is not None:
                outcome.append(_NotDelivered(failure.error_code, failure.message))
            else:
                outcome.append(None)
        return outcome
