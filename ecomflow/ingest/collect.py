"""HTTP collection endpoint: ``POST /events`` validated onto the Kinesis stream.

The local stand-in for the API Gateway route the browser SDK posts to (docs/collect.md): one
event (a JSON object) or a batch (a JSON array) per request, authenticated by ``X-API-Key``.
Each event is checked against the event contract (``flink_jobs.contract``); the valid ones go
to the stream through the Producer SDK (``ecomflow.ingest.producer``), which does the batching and
the retries. The answer lists the accepted event ids and every rejected event with its reason.

An event is reported accepted only after Kinesis answered with a sequence number for it: each
request flushes the producer before it answers, and events the stream did not take are
rejected with reason ``stream_unavailable`` (503 when none was accepted).

Events without a ``timestamp`` (the design's JS SDK sends none on ``product_view`` and
``purchase``) get the server's receive time (ISO 8601, UTC, milliseconds, ``Z``); events
without an ``event_id`` get the contract's derived id (``with_event_id``), computed after the
timestamp was added.

``serve(config, producer)`` binds a ``CollectorServer`` (a ``ThreadingHTTPServer``);
``running_collector(config, producer)`` serves it from a thread and stops it cleanly;
``ecomflow collect`` (ecomflow/cli/collect.py) serves it. The library logs through ``logging``
and never prints.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import ipaddress
import json
import logging
import math
import re
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from ecomflow.ingest.producer import FailedRecord, Producer, ProducerError, Record, RecordTooLarge
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

_EVENTS_METHODS = "POST, OPTIONS"
_HEALTH_METHODS = "GET, HEAD"
_CORS_HEADERS = "Content-Type, X-API-Key"
# After an error answered before the body was read, the rest of the body is read and thrown
# away for at most this long / this many bytes, so the client can read the answer instead of
# a connection reset (a "lingering close"); then the connection is closed.
_LINGER_SECONDS = 2.0
_LINGER_BYTES = 16 * 1024 * 1024
_CHUNK_SIZE_LINE = re.compile(rb"[0-9A-Fa-f]{1,16}")
_MAX_HEADER_LINE = 8192
_MAX_TRAILERS = 64


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


# --------------------------------------------------------------------------- server


class CollectorServer(ThreadingHTTPServer):
    """The collection endpoint, bound to ``config.host:config.port``.

    ``serve_forever()`` serves it (a thread per connection, HTTP/1.1 keep-alive); ``stop()``
    lets requests in flight finish, closes idle connections and the listening socket.
    ``collect(events, received)`` is the per-request logic without HTTP.
    """

    daemon_threads = True
    allow_reuse_address = True
    # The listen backlog. socketserver's default of 5 overflows when a few dozen clients
    # connect at once: the kernel then drops SYNs (a 1 s retransmit) or answers with SYN
    # cookies, some of which end in a connection reset. The kernel caps it at somaxconn.
    request_queue_size = 1024

    def __init__(self, config: CollectorConfig, producer: Producer) -> None:
        self.config = config
        self.producer = producer
        self._delivery = _Delivery(producer)
        self._key_digests = tuple(hashlib.sha256(k.encode()).digest() for k in config.api_keys)
        self._state = threading.Condition()
        self._busy = 0
        self._connections: set[socket.socket] = set()
        self._serving = False
        self.stopping = False
        if ":" in config.host:
            self.address_family = socket.AF_INET6
        super().__init__((config.host, config.port), _Handler)

    @property
    def url(self) -> str:
        """``http://host:port`` as bound (the real port when ``config.port`` was 0)."""
        host, port = self.server_address[:2]
        host = f"[{host}]" if ":" in str(host) else host
        return f"http://{host}:{port}"

    def key_ok(self, key: str) -> bool:
        """Whether ``key`` is one of the API keys, in time independent of the keys."""
        digest = hashlib.sha256(key.encode("utf-8", "surrogateescape")).digest()
        found = False
        for known in self._key_digests:  # no early exit
            found |= hmac.compare_digest(known, digest)
        return found

    # -- events -------------------------------------------------------------------------------

    def collect(self, events: Sequence[Any], received: datetime) -> tuple[int, dict[str, Any]]:
        """Validate, stamp and deliver ``events``; return (HTTP status, response body)."""
        stamp = receive_timestamp(received)
        rejected: list[dict[str, Any]] = []
        prepared: list[tuple[int, Record]] = []
        for index, event in enumerate(events):
            if not isinstance(event, dict):
                issues = contract.validate(event)  # not_an_object
                rejected.append(_rejection(index, issues))
                continue
            if contract.is_control(event):
                # Control events (erasure requests) come from `ecomflow forget` alone.
                rejected.append(_rejection(index, [contract.Issue(
                    "unknown_event_type", "event_type",
                    f"{event['event_type']!r} is a control event, not accepted from clients")]))
                continue
            record = dict(event)
            if record.get("timestamp") is None and contract.canonical_type(record) != "product":
                record["timestamp"] = stamp
            issues = contract.validate(record, now=received, max_future=self.config.max_future)
            if issues:
                rejected.append(_rejection(index, issues))
                continue
            try:
                prepared.append((index, self.producer.prepare(contract.with_event_id(record))))
            except RecordTooLarge as exc:
                rejected.append(
                    _rejection(index, [contract.Issue("payload_too_large", "$", str(exc))])
                )
            except contract.EventValidationError as exc:  # the producer's own check
                rejected.append(_rejection(index, exc.issues))
            except (TypeError, ValueError) as exc:
                rejected.append(_rejection(index, [contract.Issue("not_json", "$", str(exc))]))
        outcomes = self._delivery.deliver([record for _, record in prepared])
        accepted: list[str] = []
        unavailable = 0
        for (index, record), failure in zip(prepared, outcomes, strict=True):
            event_id = record.ref["event_id"]
            if failure is None:
                accepted.append(event_id)
                continue
            unavailable += 1
            issue = contract.Issue(
                STREAM_UNAVAILABLE,
                "$",
                f"the stream did not accept the event ({failure.error_code}: "
                f"{failure.message}); send it again",
            )
            rejected.append(_rejection(index, [issue], event_id=event_id))
        rejected.sort(key=lambda entry: entry["index"])
        if unavailable:
            log.warning(
                "collector: %d of %d event(s) not accepted by the stream (%s)",
                unavailable,
                len(prepared),
                ", ".join(sorted({o.error_code for o in outcomes if o is not None})),
            )
        if accepted or not rejected:
            status = 200
        elif unavailable:
            status = 503
        else:
            status = 400
        return status, {"accepted": accepted, "rejected": rejected}

    # -- lifecycle ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def busy(self) -> Iterator[None]:
        with self._state:
            self._busy += 1
        try:
            yield
        finally:
            with self._state:
                self._busy -= 1
                self._state.notify_all()

    def server_bind(self) -> None:
        # HTTPServer.server_bind also looks up the host's FQDN (a DNS query): not needed.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        with self._state:
            if self.stopping:
                return
            self._serving = True
        try:
            super().serve_forever(poll_interval)
        finally:
            with self._state:
                self._serving = False

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._state:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._state:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError):
            log.debug("collector: connection from %s dropped: %s", client_address, exc)
        else:
            log.exception("collector: error while handling a request from %s", client_address)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop accepting, wait up to ``timeout`` s for requests in flight (their events are
        flushed and answered), close idle keep-alive connections and the listening socket.
        The producer stays open: it belongs to the caller."""
        with self._state:
            self.stopping = True
            serving = self._serving
        if serving:
            self.shutdown()
        deadline = time.monotonic() + timeout
        with self._state:
            while self._busy and (remaining := deadline - time.monotonic()) > 0:
                self._state.wait(remaining)
            if self._busy:
                log.warning("collector: %d request(s) still in flight at stop", self._busy)
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: CollectorServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes
    server_version = "ecomflow-collector"
    sys_version = ""

    # Per request (a connection can carry several): reset in parse_request.
    _body_done = False  # the body was read or thrown away
    _awaiting_100 = False  # Expect: 100-continue, not yet answered: no body was sent
    _linger = False  # answer, then drain what the client still sends and close
    _prechecked = False
    _chunked = False
    _length = 0

    def setup(self) -> None:
        self.timeout = self.server.config.request_timeout
        super().setup()

    def parse_request(self) -> bool:
        self._body_done = False
        self._awaiting_100 = False
        self._linger = False
        self._prechecked = False
        self._chunked = False
        self._length = 0
        return super().parse_request()

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def __getattr__(self, name: str) -> Any:
        # Any method without its own do_* (PUT, DELETE, PATCH, ...) is 405, not 501.
        if name.startswith("do_"):
            return self._method_not_allowed
        raise AttributeError(name)

    # -- routing ------------------------------------------------------------------------------

    def _path(self) -> str:
        return urlsplit(self.path).path

    def _refused_while_stopping(self) -> bool:
        if self.server.stopping:
            self._error(503, "shutting_down", "the collector is stopping", close=True)
            return True
        return False

    def _method_not_allowed(self) -> None:
        if self._refused_while_stopping():
            return
        path = self._path()
        if path == EVENTS_PATH:
            allow = _EVENTS_METHODS
        elif path == HEALTH_PATH:
            allow = _HEALTH_METHODS
        else:
            self._error(404, "not_found", f"no such path: {path}; events go to {EVENTS_PATH}")
            return
        self._error(
            405,
            "method_not_allowed",
            f"{self.command} is not allowed on {path} (allowed: {allow})",
            headers=[("Allow", allow)],
        )

    def do_GET(self) -> None:
        if self._refused_while_stopping():
            return
        if self._path() == HEALTH_PATH:
            self._respond(200, {"status": "ok"})
        else:
            self._method_not_allowed()

    do_HEAD = do_GET

    def do_OPTIONS(self) -> None:
        if self._refused_while_stopping():
            return
        path = self._path()
        if path not in (EVENTS_PATH, HEALTH_PATH):
            self._method_not_allowed()
            return
        allow = _EVENTS_METHODS if path == EVENTS_PATH else f"{_HEALTH_METHODS}, OPTIONS"
        origin = self.headers.get("Origin")
        if origin is None:  # not a CORS preflight
            self._respond(204, None, headers=[("Allow", allow)])
            return
        if self._allowed_origin() is None:
            self._error(403, "origin_not_allowed", f"origin {origin} is not allowed")
            return
        self._respond(
            204,
            None,
            headers=[
                ("Allow", allow),
                ("Access-Control-Allow-Methods", allow),
                ("Access-Control-Allow-Headers", _CORS_HEADERS),
                ("Access-Control-Max-Age", str(self.server.config.cors_max_age)),
            ],
        )

    def do_POST(self) -> None:
        if self._refused_while_stopping():
            return
        if self._path() != EVENTS_PATH:
            self._method_not_allowed()
            return
        with self.server.busy():
            if not self._prechecked and not self._precheck_events():
                return
            body = self._read_body()
            if body is None:
                return
            received = datetime.now(UTC)
            started = time.perf_counter()
            try:
                events = parse_body(body)
            except _BadBody as exc:
                self._error(400, exc.reason, exc.message)
                return
            limit = self.server.config.max_events_per_request
            if len(events) > limit:
                self._error(
                    413, "too_many_events", f"{len(events)} events in one request > {limit}"
                )
                return
            try:
                status, payload = self.server.collect(events, received)
            except Exception:
                log.exception("collector: processing %d event(s) failed", len(events))
                self._error(500, "internal_error", "the collector failed; send the events again")
                return
            log.debug(
                "collector: %d event(s): %d accepted, %d rejected, status %d, %.1f ms",
                len(events),
                len(payload["accepted"]),
                len(payload["rejected"]),
                status,
                (time.perf_counter() - started) * 1000,
            )
            self._respond(status, payload, headers=[("Retry-After", "1")] if status == 503 else [])

    # -- the checks before the body ------------------------------------------------------------

    def handle_expect_100(self) -> bool:
        # Expect: 100-continue (curl sends it for large bodies): answer 401/403/413/... before
        # the client sends a body we would refuse.
        if self.command == "POST" and self._path() == EVENTS_PATH and not self.server.stopping:
            self._awaiting_100 = True
            if not self._precheck_events():
                return False
            self._awaiting_100 = False
        return super().handle_expect_100()

    def _precheck_events(self) -> bool:
        """Key, content type and length of a POST /events; answer and return False when
        one is wrong."""
        key = self.headers.get(API_KEY_HEADER, "")
        if not key.strip():
            self._error(
                401,
                "missing_api_key",
                f"send your API key in the {API_KEY_HEADER} header",
                headers=[("WWW-Authenticate", f'ApiKey header="{API_KEY_HEADER}"')],
            )
            return False
        if not self.server.key_ok(key.strip()):
            self._error(403, "invalid_api_key", f"the {API_KEY_HEADER} is not valid")
            return False
        content_type = self.headers.get("Content-Type")
        if not _is_json_media_type(content_type):
            self._error(
                415,
                "unsupported_media_type",
                f"Content-Type {content_type!r} is not supported: send application/json (UTF-8)",
            )
            return False
        encoding = self.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            self._error(
                415, "unsupported_media_type", f"Content-Encoding {encoding!r} is not supported"
            )
            return False
        lengths = self.headers.get_all("Content-Length") or []
        transfer = self.headers.get_all("Transfer-Encoding") or []
        max_bytes = self.server.config.max_body_bytes
        if transfer:
            if lengths:
                self._error(
                    400, "bad_request", "both Content-Length and Transfer-Encoding", close=True
                )
                return False
            if len(transfer) > 1 or transfer[0].strip().lower() != "chunked":
                self._error(400, "bad_request", "only Transfer-Encoding: chunked is supported")
                return False
            self._chunked = True
        elif not lengths:
            self._error(411, "length_required", "send Content-Length (or chunked encoding)")
            return False
        else:
            text = lengths[0].strip()
            if len(set(lengths)) > 1 or not text.isdigit() or not text.isascii():
                self._error(400, "bad_request", "invalid Content-Length", close=True)
                return False
            self._length = int(text)
            if self._length > max_bytes:
                self._error(
                    413,
                    "payload_too_large",
                    f"the body is {self._length} bytes > {max_bytes}: send smaller batches",
                )
                return False
        self._prechecked = True
        return True

    # -- bodies ---------------------------------------------------------------------------------

    def _read_body(self) -> bytes | None:
        """The request body (at most max_body_bytes are ever read), or None when an answer
        has been sent or the connection is lost."""
        self._body_done = True
        try:
            if self._chunked:
                return self._read_chunked()
            body = self.rfile.read(self._length)
        except TimeoutError:
            self._error(408, "request_timeout", "the body did not arrive in time", close=True)
            return None
        if len(body) < self._length:  # the client went away
            self.close_connection = True
            return None
        return body

    def _read_chunked(self) -> bytes | None:
        limit = self.server.config.max_body_bytes
        parts: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(_MAX_HEADER_LINE + 1)
            size_text = line.split(b";", 1)[0].strip()
            if not line.endswith(b"\n") or not _CHUNK_SIZE_LINE.fullmatch(size_text):
                return self._bad_chunking("invalid chunk size line")
            size = int(size_text, 16)
            if size == 0:
                for _ in range(_MAX_TRAILERS):
                    trailer = self.rfile.readline(_MAX_HEADER_LINE + 1)
                    if trailer in (b"\r\n", b"\n", b""):
                        break
                else:
                    return self._bad_chunking("too many trailer lines")
                return b"".join(parts)
            if total + size > limit:
                self._linger = True
                self._error(
                    413,
                    "payload_too_large",
                    f"the body is over {limit} bytes: send smaller batches",
                )
                return None
            chunk = self.rfile.read(size)
            if len(chunk) < size or self.rfile.read(2) != b"\r\n":
                return self._bad_chunking("truncated chunk")
            parts.append(chunk)
            total += size

    def _bad_chunking(self, message: str) -> None:
        self._linger = True
        self._error(400, "bad_request", f"malformed chunked body: {message}")
        return None

    def _dispose_body(self) -> None:
        """Before an answer that did not read the body: read and drop a small declared body
        (the connection stays usable), else answer and linger-close."""
        if self._body_done:
            return
        self._body_done = True
        headers = getattr(self, "headers", None)
        if headers is None:
            return
        if self._awaiting_100:  # the client waits for our answer before sending a body
            self.close_connection = True
            return
        if headers.get("Transfer-Encoding") is not None:
            self._linger = True
            return
        declared = headers.get("Content-Length")
        if declared is None:
            return
        declared = declared.strip()
        if not (declared.isdigit() and declared.isascii()):
            self._linger = True
            return
        remaining = int(declared)
        if remaining > self.server.config.max_body_bytes:
            self._linger = True
            return
        try:
            while remaining > 0:
                chunk = self.rfile.read(min(remaining, 65536))
                if not chunk:
                    break
                remaining -= len(chunk)
        except OSError:
            self.close_connection = True
        if remaining:
            self.close_connection = True

    def _lingering_close(self) -> None:
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + _LINGER_SECONDS
            drained = 0
            while drained < _LINGER_BYTES:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self.connection.settimeout(remaining)
                chunk = self.connection.recv(65536)
                if not chunk:
                    break
                drained += len(chunk)
        except OSError:
            pass

    # -- answers ------------------------------------------------------------------------------

    def _allowed_origin(self) -> str | None:
        """The Access-Control-Allow-Origin value for this request's Origin, or None."""
        headers = getattr(self, "headers", None)
        origin = headers.get("Origin") if headers is not None else None
        allowed = self.server.config.allowed_origins
        if origin is None or not allowed:
            return None
        if "*" in allowed:
            return "*"
        return origin if origin.strip().rstrip("/").lower() in allowed else None

    def _respond(
        self,
        status: int,
        payload: dict[str, Any] | None,
        *,
        headers: Iterable[tuple[str, str]] = (),
        close: bool = False,
    ) -> None:
        body = b""
        if payload is not None:
            body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        self._dispose_body()
        self.send_response(status)
        if payload is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        if status != 204:
            self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        origin = self._allowed_origin()
        if origin is not None:
            self.send_header("Access-Control-Allow-Origin", origin)
        if self.server.config.allowed_origins and "*" not in self.server.config.allowed_origins:
            self.send_header("Vary", "Origin")
        for name, value in headers:
            self.send_header(name, value)
        if close or self._linger or self.close_connection or self.server.stopping:
            self.send_header("Connection", "close")
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)
        if self._linger:
            self._lingering_close()

    def _error(
        self,
        status: int,
        reason: str,
        message: str,
        *,
        headers: Iterable[tuple[str, str]] = (),
        close: bool = False,
    ) -> None:
        log.debug(
            "collector: %s %s -> %d %s", self.command, getattr(self, "path", "?"), status, reason
        )
        self._respond(status, {"reason": reason, "message": message}, headers=headers, close=close)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # http.server's own errors (malformed request line, headers too long): JSON, closed.
        self.close_connection = True
        self._body_done = True
        reasons = {414: "uri_too_long", 431: "headers_too_large", 408: "request_timeout"}
        self._error(code, reasons.get(code, "bad_request"), message or explain or "bad request")


def serve(config: CollectorConfig, producer: Producer) -> CollectorServer:
    """A bound ``CollectorServer``; call ``serve_forever()`` on it, and ``stop()`` when done.

    The producer must be dedicated to the collector: its flush results are how the collector
    learns which events Kinesis accepted, so nobody else may call its ``flush()``.
    """
    server = CollectorServer(config, producer)
    log.info("collector listening on %s%s", server.url, EVENTS_PATH)
    return server


@contextlib.contextmanager
def running_collector(config: CollectorConfig, producer: Producer) -> Iterator[CollectorServer]:
    """Serve the collector from a thread; on exit, stop it cleanly (requests in flight are
    answered first). The producer is left open."""
    server = serve(config, producer)
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.1},
        name=f"ecomflow-collector-{server.server_address[1]}",
        daemon=True,
    )
    thread.start()
    try:
        yield server
    finally:
        server.stop()
        thread.join()
        log.info("collector on %s stopped", server.url)


__all__ = [
    "API_KEYS_ENV",
    "API_KEY_HEADER",
    "CollectorConfig",
    "CollectorServer",
    "EVENTS_PATH",
    "HEALTH_PATH",
    "STREAM_UNAVAILABLE",
    "parse_body",
    "receive_timestamp",
    "running_collector",
    "serve",
]
