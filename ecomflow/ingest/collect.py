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

import asyncio
import contextlib
import hashlib
import hmac
import ipaddress
import json
import logging
import math
import signal
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from aiohttp import ClientPayloadError, web
from aiohttp.http_exceptions import HttpProcessingError

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
# After an answer sent before the body was read, the rest of the body is read and thrown away
# for at most this long (aiohttp's lingering close), so the client can read the answer instead
# of a connection reset; then the connection is closed.
_LINGER_SECONDS = 2.0
_BACKLOG = 1024
_SHUTDOWN_SECONDS = 30.0


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


class CollectorServer:
    """The collection endpoint on aiohttp, bound to ``config.host:config.port`` when built.

    ``serve_forever()`` serves it until ``stop()`` (from another thread) or Ctrl-C; ``stop()``
    stops accepting, lets requests in flight finish (their events are flushed and answered)
    and closes keep-alive connections. ``collect(events, received)`` is the per-request logic
    without HTTP. aiohttp parses HTTP/1.1 (keep-alive, chunked bodies, `Expect:
    100-continue`, lingering close); the producer blocks, so each request's delivery runs on a
    thread pool while the event loop goes on answering.
    """

    def __init__(self, config: CollectorConfig, producer: Producer) -> None:
        self.config = config
        self.producer = producer
        self.stopping = False
        self._delivery = _Delivery(producer)
        self._key_digests = tuple(hashlib.sha256(k.encode()).digest() for k in config.api_keys)
        self._loop = asyncio.new_event_loop()
        self._pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="collector")
        self._stopped = asyncio.Event()
        self._served = threading.Event()
        self._closed = False
        family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
        # A listen backlog of 1,024: the default overflows when a few dozen clients connect
        # at once (the kernel then drops SYNs or answers with SYN cookies and resets).
        self._socket = socket.create_server((config.host, config.port), family=family,
                                            backlog=_BACKLOG)
        self._address = self._socket.getsockname()[:2]
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._dispatch, expect_handler=self._expect)
        self._runner = web.AppRunner(
            app, handle_signals=False, access_log=None,
            shutdown_timeout=_SHUTDOWN_SECONDS,
            keepalive_timeout=config.request_timeout,
            # After an answer sent before the body was read, the rest of the body is read and
            # dropped for at most this long, so the client reads the answer instead of a reset.
            lingering_time=_LINGER_SECONDS)
        self._loop.run_until_complete(self._start())

    async def _start(self) -> None:
        await self._runner.setup()
        await web.SockSite(self._runner, self._socket, backlog=_BACKLOG).start()

    @property
    def url(self) -> str:
        """``http://host:port`` as bound (the real port when ``config.port`` was 0)."""
        host, port = self._address
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

    def serve_forever(self) -> None:
        """Serve until ``stop()`` is called from another thread or, when this is the main
        thread, until Ctrl-C or SIGTERM; then call ``stop()``. The signals are handled by the
        event loop: a KeyboardInterrupt raised inside a request's task would be raised again
        by every task awaiting it, during the stop."""
        signals = ((signal.SIGINT, signal.SIGTERM)
                   if threading.current_thread() is threading.main_thread() else ())
        try:
            for signum in signals:
                self._loop.add_signal_handler(signum, self._stopped.set)
            if not self._closed:
                self._loop.run_until_complete(self._stopped.wait())
        finally:
            for signum in signals:
                self._loop.remove_signal_handler(signum)
            self._served.set()

    def stop(self) -> None:
        """Stop accepting, wait up to 30 s for requests in flight (their events are flushed
        and answered), close keep-alive connections and the listening socket. The producer
        stays open: it belongs to the caller."""
        if self._closed:
            return
        self.stopping = True
        if self._loop.is_running():  # serve_forever in another thread
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(
                _SHUTDOWN_SECONDS + 10)
            self._served.wait(10)
        else:
            self._loop.run_until_complete(self._shutdown())
        self._closed = True
        self._loop.close()
        self._pool.shutdown(wait=True)

    async def _shutdown(self) -> None:
        await self._runner.cleanup()
        self._stopped.set()
        await asyncio.sleep(0)  # let serve_forever's wait (if Ctrl-C cut it short) finish

    # -- HTTP -----------------------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = urlsplit(request.raw_path).path
        if self.stopping:
            return self._error(request, 503, "shutting_down", "the collector is stopping",
                               close=True)
        method = request.method
        if path == EVENTS_PATH and method == "POST":
            return await self._post_events(request)
        if path in (EVENTS_PATH, HEALTH_PATH) and method == "OPTIONS":
            return self._options(request, path)
        if path == HEALTH_PATH and method in ("GET", "HEAD"):
            return self._respond(request, 200, {"status": "ok"})
        if path not in (EVENTS_PATH, HEALTH_PATH):
            return self._error(request, 404, "not_found",
                               f"no such path: {path}; events go to {EVENTS_PATH}")
        allow = _EVENTS_METHODS if path == EVENTS_PATH else _HEALTH_METHODS
        return self._error(request, 405, "method_not_allowed",
                           f"{method} is not allowed on {path} (allowed: {allow})",
                           headers={"Allow": allow})

    def _options(self, request: web.Request, path: str) -> web.StreamResponse:
        allow = _EVENTS_METHODS if path == EVENTS_PATH else f"{_HEALTH_METHODS}, OPTIONS"
        origin = request.headers.get("Origin")
        if origin is None:  # not a CORS preflight
            return self._respond(request, 204, None, headers={"Allow": allow})
        if self._allowed_origin(request) is None:
            return self._error(request, 403, "origin_not_allowed",
                               f"origin {origin} is not allowed")
        return self._respond(request, 204, None, headers={
            "Allow": allow, "Access-Control-Allow-Methods": allow,
            "Access-Control-Allow-Headers": _CORS_HEADERS,
            "Access-Control-Max-Age": str(self.config.cors_max_age)})

    async def _expect(self, request: web.Request) -> web.StreamResponse | None:
        """`Expect: 100-continue` (curl sends it for large bodies): answer 401/403/413/... before
        the client sends a body we would refuse; else tell it to go on."""
        if (request.method == "POST" and urlsplit(request.raw_path).path == EVENTS_PATH
                and not self.stopping):
            refusal = self._precheck(request)
            if refusal is not None:
                refusal.force_close()  # no body follows: the client waited for this answer
                return refusal
        if request.headers.get("Expect", "").lower() == "100-continue":
            await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            request.writer.output_size = 0
        return None

    def _precheck(self, request: web.Request) -> web.StreamResponse | None:
        """Key, content type and length of a POST /events: the answer when one is wrong."""
        headers = request.headers
        key = headers.get(API_KEY_HEADER, "").strip()
        if not key:
            return self._error(
                request, 401, "missing_api_key",
                f"send your API key in the {API_KEY_HEADER} header",
                headers={"WWW-Authenticate": f'ApiKey header="{API_KEY_HEADER}"'})
        if not self.key_ok(key):
            return self._error(request, 403, "invalid_api_key",
                               f"the {API_KEY_HEADER} is not valid")
        content_type = headers.get("Content-Type")
        if not _is_json_media_type(content_type):
            return self._error(
                request, 415, "unsupported_media_type",
                f"Content-Type {content_type!r} is not supported: send application/json (UTF-8)")
        encoding = headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            return self._error(request, 415, "unsupported_media_type",
                               f"Content-Encoding {encoding!r} is not supported")
        # aiohttp's parser has refused conflicting or malformed framing already (400).
        if "Transfer-Encoding" not in headers:
            if "Content-Length" not in headers:
                return self._error(request, 411, "length_required",
                                   "send Content-Length (or chunked encoding)")
            length, limit = request.content_length or 0, self.config.max_body_bytes
            if length > limit:
                return self._error(
                    request, 413, "payload_too_large",
                    f"the body is {length} bytes > {limit}: send smaller batches", close=True)
        return None

    async def _read_body(self, request: web.Request) -> bytes | web.StreamResponse:
        """The body (at most max_body_bytes are ever kept), or the answer that refuses it."""
        limit, parts, total = self.config.max_body_bytes, [], 0
        try:
            async with asyncio.timeout(self.config.request_timeout):
                async for chunk in request.content.iter_any():
                    total += len(chunk)
                    if total > limit:
                        return self._error(
                            request, 413, "payload_too_large",
                            f"the body is over {limit} bytes: send smaller batches", close=True)
                    parts.append(chunk)
        except TimeoutError:
            return self._error(request, 408, "request_timeout", "the body did not arrive in time",
                               close=True)
        except (ClientPayloadError, HttpProcessingError) as exc:
            return self._error(request, 400, "bad_request", f"malformed body: {exc}", close=True)
        return b"".join(parts)

    async def _post_events(self, request: web.Request) -> web.StreamResponse:
        refusal = self._precheck(request)
        if refusal is not None:
            return refusal
        body = await self._read_body(request)
        if isinstance(body, web.StreamResponse):
            return body
        received = datetime.now(UTC)
        started = time.perf_counter()
        try:
            events = parse_body(body)
        except _BadBody as exc:
            return self._error(request, 400, exc.reason, exc.message)
        limit = self.config.max_events_per_request
        if len(events) > limit:
            return self._error(request, 413, "too_many_events",
                               f"{len(events)} events in one request > {limit}")
        try:
            status, payload = await asyncio.get_running_loop().run_in_executor(
                self._pool, self.collect, events, received)
        except Exception:
            log.exception("collector: processing %d event(s) failed", len(events))
            return self._error(request, 500, "internal_error",
                               "the collector failed; send the events again")
        log.debug("collector: %d event(s): %d accepted, %d rejected, status %d, %.1f ms",
                  len(events), len(payload["accepted"]), len(payload["rejected"]), status,
                  (time.perf_counter() - started) * 1000)
        return self._respond(request, status, payload,
                             headers={"Retry-After": "1"} if status == 503 else {})

    # -- answers ------------------------------------------------------------------------------

    def _allowed_origin(self, request: web.Request) -> str | None:
        """The Access-Control-Allow-Origin value for this request's Origin, or None."""
        origin, allowed = request.headers.get("Origin"), self.config.allowed_origins
        if origin is None or not allowed:
            return None
        if "*" in allowed:
            return "*"
        return origin if origin.strip().rstrip("/").lower() in allowed else None

    def _respond(self, request: web.Request, status: int, payload: dict[str, Any] | None, *,
                 headers: dict[str, str] | None = None, close: bool = False) -> web.Response:
        response = web.Response(status=status, headers={
            "Server": "ecomflow-collector", "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff", **(headers or {})})
        if payload is not None:
            response.body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
            response.content_type, response.charset = "application/json", "utf-8"
        origin = self._allowed_origin(request)
        if origin is not None:
            response.headers["Access-Control-Allow-Origin"] = origin
        if self.config.allowed_origins and "*" not in self.config.allowed_origins:
            response.headers["Vary"] = "Origin"
        if close or self.stopping:
            response.force_close()
        return response

    def _error(self, request: web.Request, status: int, reason: str, message: str, *,
               headers: dict[str, str] | None = None, close: bool = False) -> web.Response:
        log.debug("collector: %s %s -> %d %s", request.method, request.raw_path, status, reason)
        return self._respond(request, status, {"reason": reason, "message": message},
                             headers=headers, close=close)


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
    thread = threading.Thread(target=server.serve_forever, daemon=True,
                              name=f"ecomflow-collector-{server.url.rsplit(':', 1)[1]}")
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
