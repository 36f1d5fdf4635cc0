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

``serve(config, producer)`` binds a ``CollectorServer`` (aiohttp's server on its own event
loop); ``running_collector(config, producer)`` serves it from a thread and stops it cleanly;
what a request does apart from HTTP (settings, bodies, delivery) is ecomflow/ingest/collection.py;
``ecomflow collect`` (ecomflow/cli/collect.py) serves it. The library logs through ``logging``
and never prints.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from aiohttp import ClientPayloadError, web
from aiohttp.http_exceptions import HttpProcessingError

from ecomflow.ingest.collection import (
    API_KEY_HEADER,
    EVENTS_PATH,
    HEALTH_PATH,
    STREAM_UNAVAILABLE,
    CollectorConfig,
    _BadBody,
    _Delivery,
    _is_json_media_type,
    _rejection,
    parse_body,
    receive_timestamp,
)
from ecomflow.ingest.producer import Producer
from ecomflow.kinesis.records import Record, RecordTooLarge
from ecomflow.served_app import ServedApp
from flink_jobs import contract

log = logging.getLogger(__name__)

_EVENTS_METHODS = "POST, OPTIONS"
_HEALTH_METHODS = "GET, HEAD"
_CORS_HEADERS = "Content-Type, X-API-Key"
# After an answer sent before the body was read, the rest of the body is read and thrown away
# for at most this long (aiohttp's lingering close), so the client can read the answer instead
# of a connection reset; then the connection is closed.
_LINGER_SECONDS = 2.0
_BACKLOG = 1024
_SHUTDOWN_SECONDS = 30.0
# Set on a request whose headers the Expect handler has checked already.
_PRECHECKED = "ecomflow.prechecked"


# --------------------------------------------------------------------------- server


class CollectorServer(ServedApp):
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
        family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
        # A listen backlog of 1,024: the default overflows when a few dozen clients connect
        # at once (the kernel then drops SYNs or answers with SYN cookies and resets).
        bound = socket.create_server((config.host, config.port), family=family,
                                     backlog=_BACKLOG)
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._dispatch, expect_handler=self._expect)
        super().__init__(
            app, bound, backlog=_BACKLOG, shutdown_seconds=_SHUTDOWN_SECONDS,
            pool=ThreadPoolExecutor(max_workers=32, thread_name_prefix="collector"),
            keepalive_timeout=config.request_timeout,
            # After an answer sent before the body was read, the rest of the body is read and
            # dropped for at most this long, so the client reads the answer instead of a reset.
            lingering_time=_LINGER_SECONDS)

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

    def stop(self) -> None:
        """Stop accepting, wait up to 30 s for requests in flight (their events are flushed
        and answered), close keep-alive connections and the listening socket. The producer
        stays open: it belongs to the caller."""
        self.stopping = True
        super().stop()

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
            request[_PRECHECKED] = True
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
        refusal = None if request.get(_PRECHECKED) else self._precheck(request)
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


# CollectorConfig stays reachable here: docs/collect.md documents
# ``from ecomflow.ingest.collect import CollectorConfig, running_collector``.
__all__ = [
    "CollectorConfig",
    "CollectorServer",
    "running_collector",
    "serve",
]
