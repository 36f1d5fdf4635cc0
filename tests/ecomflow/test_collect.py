"""ecomflow.ingest.collect: the HTTP collection endpoint, spoken to by a real HTTP client.

Every ``stack`` test runs the collector on a free loopback port in front of the session's
kinesis-mock (a fresh stream per test) and reads the stream back over all shards: what the
answer calls accepted must be on the stream, byte for byte as the producer serialised it, and
nothing else. Producer failures come from a stream that does not exist and from a thin wrapper
around the real client that fails chosen records the way Kinesis reports throttling.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ecomflow.cli.collect import collect_command
from ecomflow.ingest.collect import running_collector
from ecomflow.ingest.collection import CollectorConfig, parse_body, receive_timestamp
from ecomflow.ingest.producer import Producer
from ecomflow.kinesis.client import kinesis_client
from ecomflow.local.stack import StackInfo, free_port
from ecomflow.synth.generate import generate_events
from flink_jobs.contract import derive_event_id
from tests.kinesis_reader import create_active_stream, read_stream
from tests.support.fault_proxy import FaultProxy

KEY = "test-key-1"
OTHER_KEY = "test-key-2"
ORIGIN = "https://shop.example.com"
THROTTLED = "ProvisionedThroughputExceededException"
MIB = 1024 * 1024
STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


# --- an HTTP client -----------------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: Any  # parsed JSON, or None for an empty body

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


def call(
    url: str,
    body: Any = None,
    *,
    method: str = "POST",
    path: str = "/events",
    key: str | None = KEY,
    content_type: str | None = "application/json",
    headers: dict[str, str] | None = None,
    conn: http.client.HTTPConnection | None = None,
    chunked: bool = False,
) -> Reply:
    """One request; ``body`` is sent as is when bytes/str, else as JSON."""
    if body is not None and not isinstance(body, bytes | str):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    sent: dict[str, str] = {}
    if key is not None:
        sent["X-API-Key"] = key
    if content_type is not None and body is not None:
        sent["Content-Type"] = content_type
    sent.update(headers or {})
    own = conn is None
    if conn is None:
        host, port = url.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        if chunked:
            data = body or b""
            pieces = iter([data[i : i + 4096] for i in range(0, len(data), 4096)])
            conn.request(method, path, body=pieces, headers=sent, encode_chunked=True)
        else:
            conn.request(method, path, body=body, headers=sent)
        response = conn.getresponse()
        raw = response.read()
        return Reply(response.status, response.headers, json.loads(raw) if raw else None)
    finally:
        if own:
            conn.close()


def connection(url: str) -> http.client.HTTPConnection:
    host, port = url.removeprefix("http://").split(":")
    return http.client.HTTPConnection(host, int(port), timeout=60)


# --- the stream ---------------------------------------------------------------------------------


def payloads(client: Any, stream: str) -> dict[str, dict[str, Any]]:
    """event_id -> payload of everything on the stream (ids are unique in these tests)."""
    records = [json.loads(r["Data"]) for r in read_stream(client, stream)]
    by_id = {r["event_id"]: r for r in records}
    assert len(by_id) == len(records), "an event landed twice"
    return by_id


@pytest.fixture(scope="module")
def kinesis(stack: StackInfo) -> Iterator[Any]:
    client = kinesis_client(
        stack.kinesis_endpoint, stack.region, stack.access_key, stack.secret_key
    )
    yield client
    client.close()


@pytest.fixture
def stream(kinesis: Any) -> str:
    """A new 2-shard stream on the session's kinesis-mock."""
    name = f"collect-{uuid.uuid4().hex[:8]}"
    create_active_stream(kinesis, name)
    return name


def _config(**overrides: Any) -> CollectorConfig:
    values: dict[str, Any] = {
        "port": free_port(),
        "api_keys": frozenset({KEY, OTHER_KEY}),
        "allowed_origins": frozenset({ORIGIN}),
    }
    values.update(overrides)
    return CollectorConfig(**values)


@pytest.fixture
def proxy(stack: StackInfo) -> Iterator[FaultProxy]:
    """kinesis-mock behind the tests' fault-injecting proxy (tests/support/fault_proxy.py)."""
    with FaultProxy(stack.kinesis_endpoint) as fault_proxy:
        yield fault_proxy


@pytest.fixture
def url(kinesis: Any, stream: str) -> Iterator[str]:
    """A running collector in front of ``stream``."""
    with Producer(stream, client=kinesis) as producer:
        with running_collector(_config(), producer) as server:
            yield server.url


def _events(n: int, seed: int = 11) -> list[dict[str, Any]]:
    return list(generate_events(n, seed=seed))


# --- accepted events reach the stream -----------------------------------------------------------


@pytest.mark.stack
def test_one_event(url: str, kinesis: Any, stream: str) -> None:
    event = _events(1)[0]
    reply = call(url, event)
    assert reply.status == 200, reply.body
    assert reply.body == {"accepted": [event["event_id"]], "rejected": []}
    assert reply.header("Content-Type") == "application/json; charset=utf-8"
    [record] = read_stream(kinesis, stream)
    assert json.loads(record["Data"]) == event
    assert record["PartitionKey"] == (event.get("user_id") or event.get("customer_id"))


@pytest.mark.stack
def test_array(url: str, kinesis: Any, stream: str) -> None:
    events = _events(120)
    reply = call(url, events)
    assert reply.status == 200, reply.body
    assert reply.body == {"accepted": [e["event_id"] for e in events], "rejected": []}
    assert payloads(kinesis, stream) == {e["event_id"]: e for e in events}


@pytest.mark.stack
def test_mix_of_valid_and_invalid(url: str, kinesis: Any, stream: str) -> None:
    good = _events(6)
    purchase = {
        "event_type": "purchase",
        "timestamp": "2025-07-16T10:30:00Z",
        "customer_id": "cust_1",
        "currency": "EUR",
        "total_amount": 99.0,
        "items": [{"product_id": "p1", "quantity": 1, "unit_price": 10.0}],
    }
    batch = [
        good[0],
        {**good[1], "timestamp": "2025-07-16T10:30:00"},  # 1: no zone
        good[2],
        {**good[3], "event_type": "teleport"},  # 3
        "not an event",  # 4
        good[4],
        purchase,  # 6: total != items
        {"event_type": "page_view", "timestamp": "2025-07-16T10:30:00Z"},  # 7: no user_id, url
        {**good[5], "timestamp": (datetime.now(UTC) + timedelta(hours=1)).isoformat()},  # 8
    ]
    reply = call(url, batch)
    assert reply.status == 200, reply.body
    assert reply.body["accepted"] == [good[0]["event_id"], good[2]["event_id"], good[4]["event_id"]]
    rejected = {(r["index"], r["reason"], r["field"]) for r in reply.body["rejected"]}
    assert rejected == {
        (1, "bad_timestamp", "timestamp"),
        (3, "unknown_event_type", "event_type"),
        (4, "not_an_object", "$"),
        (6, "total_mismatch", "total_amount"),
        # 7: both are missing; the first by name is named (flink_jobs.contract.validate)
        (7, "missing_field", "page_url"),
        (8, "future_timestamp", "timestamp"),
    }
    [missing] = [r for r in reply.body["rejected"] if r["index"] == 7]
    assert {i["field"] for i in missing["issues"]} == {"user_id", "page_url"}
    assert all(r["message"] for r in reply.body["rejected"])
    # Only the valid events reached the stream, exactly as sent.
    assert payloads(kinesis, stream) == {e["event_id"]: e for e in (good[0], good[2], good[4])}


@pytest.mark.stack
def test_nothing_valid_is_400(url: str, kinesis: Any, stream: str) -> None:
    reply = call(url, {"event_type": "page_view", "user_id": "u1"})  # stamped, but no page_url
    assert reply.status == 400
    assert reply.body["accepted"] == []
    assert [(r["index"], r["reason"], r["field"]) for r in reply.body["rejected"]] == [
        (0, "missing_field", "page_url")
    ]
    assert call(url, []).body == {"accepted": [], "rejected": []}  # nothing to do: 200
    assert read_stream(kinesis, stream) == []


@pytest.mark.stack
def test_control_events_are_refused(url: str, kinesis: Any, stream: str) -> None:
    # Erasure requests come from `ecomflow forget` alone, never from a client.
    request = {"event_type": "erasure_request", "timestamp": "2025-07-16T10:30:00Z",
               "user_id": "0" * 64, "request_id": "erasure-x"}
    reply = call(url, request)
    assert reply.status == 400
    assert [(r["index"], r["reason"], r["field"]) for r in reply.body["rejected"]] == [
        (0, "unknown_event_type", "event_type")
    ]
    assert read_stream(kinesis, stream) == []


@pytest.mark.stack
def test_js_sdk_payloads(url: str, kinesis: Any, stream: str) -> None:
    """What the design's EcommerceAnalytics class posts, one event per request, browser-style
    (Origin, keep-alive): a page_view with its own timestamp and user_id null, and a
    product_view and a purchase without any timestamp."""
    user_agent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/125.0 Safari/537.36"
    page_view = {
        "event_type": "page_view",
        "page_url": "https://shop.example.com/product/books/the-art-of-cooking",
        "referrer": "",
        "user_agent": user_agent,
        "timestamp": "2025-07-16T10:30:00.123Z",
        "session_id": "anonymous",
        "user_id": None,
    }
    product_view = {
        "event_type": "product_view",
        "product_id": "prod_115",
        "product_name": "The Art of Cooking",
        "category": "books",
        "price": 29.0,
        "session_id": "sess_bb25156af840",
        "user_id": "user_00145",
    }
    purchase = {
        "event_type": "purchase",
        "customer_id": "cust_00145",
        "transaction_id": "txn_1",
        "currency": "EUR",
        "total_amount": 58.0,
        "items": [{"product_id": "prod_115", "quantity": 2, "price": 29.0}],
        "session_id": "sess_bb25156af840",
        "user_id": None,
    }
    before = datetime.now(UTC).replace(microsecond=0)
    conn = connection(url)
    ids = []
    try:
        for event in (page_view, product_view, purchase):
            reply = call(url, event, conn=conn, headers={"Origin": ORIGIN})
            assert reply.status == 200, reply.body
            assert reply.header("Access-Control-Allow-Origin") == ORIGIN
            assert reply.body["rejected"] == []
            ids.extend(reply.body["accepted"])
    finally:
        conn.close()
    after = datetime.now(UTC)

    records = {json.loads(r["Data"])["event_id"]: r for r in read_stream(kinesis, stream)}
    assert set(records) == set(ids)
    stored = [json.loads(records[i]["Data"]) for i in ids]
    keys = [records[i]["PartitionKey"] for i in ids]
    assert keys == ["anonymous", "user_00145", "cust_00145"]
    # The page_view keeps its own timestamp; the others get the receive time, UTC with Z.
    assert stored[0] == {**page_view, "event_id": ids[0]}
    for sent, landed in zip((product_view, purchase), stored[1:], strict=True):
        assert STAMP.fullmatch(landed["timestamp"]), landed["timestamp"]
        moment = datetime.fromisoformat(landed["timestamp"])
        assert before <= moment <= after
        assert landed == {**sent, "timestamp": landed["timestamp"], "event_id": landed["event_id"]}
    # Ids were derived from the payload as stored (after the timestamp was added).
    for landed in stored:
        assert landed["event_id"] == derive_event_id(landed)


# --- requests refused as a whole ------------------------------------------------------------------


@pytest.mark.stack
def test_bad_json(url: str, kinesis: Any, stream: str) -> None:
    cases: list[tuple[bytes, str]] = [
        (b"{not json", "not_json"),
        (b"", "not_json"),
        (b"   \n", "not_json"),
        (b'{"event_type": "page_view", "price": NaN}', "not_json"),
        (b'[{"price": 1e400}]', "not_json"),
        (b'{"page_url": "caf\xe9"}', "not_json"),  # Latin-1, not UTF-8
        (b"[" * 100_000 + b"]" * 100_000, "not_json"),  # too deep
        (b'"page_view"', "not_an_object"),
        (b"42", "not_an_object"),
        (b"null", "not_an_object"),
    ]
    conn = connection(url)  # one keep-alive connection survives all of them
    try:
        for body, reason in cases:
            reply = call(url, body, conn=conn)
            assert (reply.status, reply.body["reason"]) == (400, reason), body[:40]
            assert reply.body["message"]
        assert call(url, path="/health", method="GET", conn=conn).status == 200
    finally:
        conn.close()
    assert read_stream(kinesis, stream) == []


def _raw_exchange(url: str, head: bytes, body: bytes = b"", *, wait: float = 10.0) -> bytes:
    """Send raw bytes, return everything the server answers until it closes or goes quiet."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=wait) as sock:
        sock.sendall(head + body)
        chunks = []
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                if b"\r\n\r\n" in b"".join(chunks) and b"Connection: close" not in chunks[0]:
                    break
        except TimeoutError:
            pass
    return b"".join(chunks)


@pytest.mark.stack
def test_oversized_bodies(url: str, kinesis: Any, stream: str) -> None:
    event = _events(1)[0]
    # Just over the 1 MiB limit, declared: 413 from the headers alone; the client, which sends
    # the whole body before reading, still gets the answer (no connection reset).
    one = json.dumps(event).encode()
    big = b"[" + one + b" " * (MIB + 1 - len(one) - 2) + b"]"  # valid JSON, 1 byte too long
    assert len(big) == MIB + 1
    reply = call(url, big)
    assert (reply.status, reply.body["reason"]) == (413, "payload_too_large")
    assert reply.header("Connection") == "close"
    # The same body chunked (no length up front): refused once the limit is passed.
    reply = call(url, big, chunked=True)
    assert (reply.status, reply.body["reason"]) == (413, "payload_too_large")
    # A claim of 1 TB that never sends a byte of it: answered at once, nothing is read.
    started = time.monotonic()
    answer = _raw_exchange(
        url,
        b"POST /events HTTP/1.1\r\nHost: x\r\nX-API-Key: " + KEY.encode() + b"\r\n"
        b"Content-Type: application/json\r\nContent-Length: 1000000000000\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert time.monotonic() - started < 5
    # Expect: 100-continue (curl, for large bodies): refused before the body is sent...
    answer = _raw_exchange(
        url,
        b"POST /events HTTP/1.1\r\nHost: x\r\nX-API-Key: " + KEY.encode() + b"\r\n"
        b"Content-Type: application/json\r\nContent-Length: 2000000\r\n"
        b"Expect: 100-continue\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 413 ") and b"100 Continue" not in answer
    # ... or told to go on.
    small = json.dumps(event).encode()
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(
            b"POST /events HTTP/1.1\r\nHost: x\r\nX-API-Key: " + KEY.encode() + b"\r\n"
            b"Content-Type: application/json\r\nContent-Length: "
            + str(len(small)).encode()
            + b"\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"
        )
        assert sock.recv(1024).startswith(b"HTTP/1.1 100 Continue")
        sock.sendall(small)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200 ")
    # Too many events in one (small enough) body.
    reply = call(url, [event] * 501)
    assert (reply.status, reply.body["reason"]) == (413, "too_many_events")
    # A chunked body under the limit is fine.
    second = _events(2)[1]
    assert call(url, [second], chunked=True).body == {
        "accepted": [second["event_id"]],
        "rejected": [],
    }
    assert set(payloads(kinesis, stream)) == {event["event_id"], second["event_id"]}


@pytest.mark.stack
def test_malformed_framing(url: str, kinesis: Any, stream: str) -> None:
    """Framing the HTTP parser refuses (aiohttp's, before the collector sees the request) is a
    400 and a closed connection; a POST without any length is 411; nothing reaches the stream."""
    head = (b"POST /events HTTP/1.1\r\nHost: x\r\nX-API-Key: " + KEY.encode()
            + b"\r\nContent-Type: application/json\r\n")
    for framing in (b"Content-Length: abc\r\n\r\n",
                    b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
                    b"Transfer-Encoding: chunked\r\n\r\nzz\r\n"):
        answer = _raw_exchange(url, head + framing)
        assert re.match(rb"HTTP/1\.[01] 400 ", answer), (framing, answer[:80])
    answer = _raw_exchange(url, head + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 411 ") and b'"reason":"length_required"' in answer
    assert read_stream(kinesis, stream) == []


@pytest.mark.stack
def test_api_keys(url: str, kinesis: Any, stream: str) -> None:
    event = _events(1)[0]
    missing = call(url, event, key=None)
    assert (missing.status, missing.body["reason"]) == (401, "missing_api_key")
    assert missing.header("WWW-Authenticate") == 'ApiKey header="X-API-Key"'
    assert call(url, event, key="").status == 401
    for wrong in ("wrong", KEY + "x", KEY[:-1], KEY.upper()):
        reply = call(url, event, key=wrong)
        assert (reply.status, reply.body["reason"]) == (403, "invalid_api_key"), wrong
    assert read_stream(kinesis, stream) == []
    # The connection stays usable after a refusal (the small body was read and dropped);
    # header names are case-insensitive; every configured key works.
    conn = connection(url)
    try:
        assert call(url, event, key="wrong", conn=conn).status == 403
        reply = call(url, event, key=None, headers={"x-api-key": OTHER_KEY}, conn=conn)
        assert reply.status == 200, reply.body
    finally:
        conn.close()
    assert list(payloads(kinesis, stream)) == [event["event_id"]]


@pytest.mark.stack
def test_content_types(url: str, kinesis: Any, stream: str) -> None:
    events = _events(2)
    for content_type in (
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/json; charset=latin-1",
        None,
    ):
        reply = call(url, events[0], content_type=content_type)
        assert (reply.status, reply.body["reason"]) == (415, "unsupported_media_type")
    gzipped = call(url, events[0], headers={"Content-Encoding": "gzip"})
    assert gzipped.status == 415
    assert read_stream(kinesis, stream) == []
    assert call(url, events[0], content_type="application/json; charset=UTF-8").status == 200
    assert call(url, events[1], content_type="Application/JSON").status == 200
    assert len(read_stream(kinesis, stream)) == 2


@pytest.mark.stack
def test_cors_and_routes(url: str) -> None:
    preflight = call(
        url,
        method="OPTIONS",
        key=None,
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-api-key",
        },
    )
    assert preflight.status == 204 and preflight.body is None
    assert preflight.header("Access-Control-Allow-Origin") == ORIGIN
    assert "POST" in preflight.header("Access-Control-Allow-Methods")
    allowed_headers = preflight.header("Access-Control-Allow-Headers").lower()
    assert "x-api-key" in allowed_headers and "content-type" in allowed_headers
    assert int(preflight.header("Access-Control-Max-Age")) > 0
    assert "Origin" in preflight.header("Vary")

    denied = call(
        url,
        method="OPTIONS",
        key=None,
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert (denied.status, denied.body["reason"]) == (403, "origin_not_allowed")
    assert denied.header("Access-Control-Allow-Origin") is None
    # Errors carry the CORS header too, so browser code can read why.
    refused = call(url, {"x": 1}, key="wrong", headers={"Origin": ORIGIN})
    assert refused.status == 403
    assert refused.header("Access-Control-Allow-Origin") == ORIGIN

    assert call(url, method="GET", path="/health").body == {"status": "ok"}
    for method, path, status, allow in [
        ("GET", "/events", 405, "POST, OPTIONS"),
        ("DELETE", "/events", 405, "POST, OPTIONS"),
        ("PUT", "/events", 405, "POST, OPTIONS"),
        ("POST", "/health", 405, "GET, HEAD"),
        ("GET", "/", 404, None),
        ("POST", "/event", 404, None),
        ("POST", "/events/extra", 404, None),
    ]:
        reply = call(url, {"a": 1} if method in ("POST", "PUT") else None, method=method, path=path)
        assert reply.status == status, (method, path)
        assert reply.header("Allow") == allow, (method, path)


# --- the stream failing -----------------------------------------------------------------------


@pytest.mark.stack
def test_missing_stream_is_503(kinesis: Any) -> None:
    events = _events(3)
    with Producer(f"absent-{uuid.uuid4().hex[:8]}", client=kinesis) as producer:
        with running_collector(_config(), producer) as server:
            reply = call(server.url, events)
        # The producer saw the failures too (its result is empty: the collector took it).
        assert producer.total_accepted == 0 and producer.total_failed == 3
    assert reply.status == 503
    assert reply.header("Retry-After") == "1"
    assert reply.body["accepted"] == []
    assert [(r["index"], r["reason"], r["event_id"]) for r in reply.body["rejected"]] == [
        (i, "stream_unavailable", e["event_id"]) for i, e in enumerate(events)
    ]
    assert "ResourceNotFoundException" in reply.body["rejected"][0]["message"]


@pytest.mark.stack
def test_stream_failures_under_concurrent_requests(stack: StackInfo, kinesis: Any,
                                                   stream: str, proxy: FaultProxy) -> None:
    """Records the stream keeps refusing are reported to the request that sent them, never
    as accepted, while other requests' records share the same PutRecords calls."""
    events = _events(120)
    doomed = {e["event_id"] for e in events[::7]}
    proxy.fail_times = {event_id.encode(): -1 for event_id in doomed}  # refused every time
    wrapped = kinesis_client(proxy.url, stack.region, stack.access_key, stack.secret_key)
    batches = [events[i : i + 10] for i in range(0, len(events), 10)]
    replies: dict[int, Reply] = {}
    with Producer(stream, client=wrapped, max_attempts=2, base_backoff=0.001) as producer:
        with running_collector(_config(), producer) as server:

            def post(worker: int) -> None:
                conn = connection(server.url)
                try:
                    for n in range(worker, len(batches), 4):
                        replies[n] = call(server.url, batches[n], conn=conn)
                finally:
                    conn.close()

            threads = [threading.Thread(target=post, args=(w,)) for w in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=120)
        result = producer.flush()
    assert result.failed == ()  # every failure was handed to its request, none left over

    for n, batch in enumerate(batches):
        reply = replies[n]
        assert reply.status == 200, reply.body
        assert reply.body["accepted"] == [
            e["event_id"] for e in batch if e["event_id"] not in doomed
        ]
        assert [(r["index"], r["reason"], r["event_id"]) for r in reply.body["rejected"]] == [
            (i, "stream_unavailable", e["event_id"])
            for i, e in enumerate(batch)
            if e["event_id"] in doomed
        ]
        for rejected in reply.body["rejected"]:
            assert THROTTLED in rejected["message"]
    landed = payloads(kinesis, stream)
    assert set(landed) == {e["event_id"] for e in events} - doomed
    assert all(landed[e["event_id"]] == e for e in events if e["event_id"] not in doomed)

    # A request whose every event the stream refused is a 503.
    with Producer(stream, client=wrapped, max_attempts=1) as producer:
        with running_collector(_config(), producer) as server:
            reply = call(server.url, events[7])
    assert reply.status == 503 and reply.body["accepted"] == []


# --- the command ------------------------------------------------------------------------------


@pytest.mark.stack
def test_collect_command(stack: StackInfo, kinesis: Any, stream: str) -> None:
    """`ecomflow collect` end to end: keys from the environment, the local stack's endpoint,
    a real server until SIGINT."""
    port = free_port()
    env = {**os.environ, "ECOMFLOW_HOME": str(stack.home), "ECOMFLOW_API_KEYS": f"k1, {KEY}"}
    code = "import sys; from ecomflow.cli.collect import collect_command; collect_command()"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            code,
            "--port",
            str(port),
            "--stream",
            stream,
            "--allow-origin",
            ORIGIN,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.communicate()
            try:
                if call(url, method="GET", path="/health").status == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "collector did not start"
            time.sleep(0.2)
        event = _events(1)[0]
        reply = call(url, event)
        other = call(url, event, key="k1")  # the other key from the environment
        # Ctrl-C while requests are in flight: they are answered or refused, none half-done.
        late = _events(200, seed=3)
        answered: list[Reply] = []

        def keep_posting() -> None:
            for item in late:
                try:
                    answered.append(call(url, item))
                except (OSError, http.client.HTTPException):
                    return

        poster = threading.Thread(target=keep_posting)
        poster.start()
        while not answered and poster.is_alive():
            time.sleep(0.01)
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    poster.join(timeout=60)
    assert reply.body == {"accepted": [event["event_id"]], "rejected": []}, err
    assert other.status == 200, (other.body, err)
    assert proc.returncode == 0, err
    assert f"collecting on {url}/events -> stream {stream}" in err
    accepted = [late[i] for i, a in enumerate(answered) if a.status == 200]
    assert f"stopped: {2 + len(accepted)} event(s)" in err
    assert KEY not in err  # keys are never logged
    on_stream = [json.loads(r["Data"]) for r in read_stream(kinesis, stream)]
    by_id = lambda events: sorted(events, key=lambda e: e["event_id"])  # noqa: E731
    assert by_id(on_stream) == by_id([event, event, *accepted])  # two shards: order per shard


# --- without the stack ----------------------------------------------------------------------


def test_command_refuses_without_key_or_stack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ECOMFLOW_HOME", str(tmp_path))
    result = CliRunner().invoke(collect_command, [])
    assert result.exit_code == 1
    assert "no API key" in result.output and "ECOMFLOW_API_KEYS" in result.output
    monkeypatch.setenv("ECOMFLOW_API_KEYS", " , ")
    assert "no API key" in CliRunner().invoke(collect_command, []).output
    monkeypatch.setenv("ECOMFLOW_API_KEYS", "k1")
    result = CliRunner().invoke(collect_command, [])
    assert result.exit_code == 1 and "ecomflow local up" in result.output
    result = CliRunner().invoke(collect_command, ["--host", "0.0.0.0"])
    assert result.exit_code == 1 and "--allow-remote" in result.output
    assert "Traceback" not in result.output


def test_config_checks() -> None:
    with pytest.raises(ValueError, match="API key"):
        CollectorConfig(api_keys=frozenset())
    with pytest.raises(TypeError, match="set of strings"):
        CollectorConfig(api_keys="k1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="whitespace"):
        CollectorConfig(api_keys={" k1"})
    with pytest.raises(ValueError, match="loopback"):
        CollectorConfig(api_keys={"k1"}, host="0.0.0.0")
    with pytest.raises(ValueError, match="loopback"):
        CollectorConfig(api_keys={"k1"}, host="example.com")
    assert CollectorConfig(api_keys={"k1"}, host="0.0.0.0", allow_non_loopback=True)
    assert CollectorConfig(api_keys={"k1"}, host="::1").host == "::1"
    with pytest.raises(ValueError, match="not an origin"):
        CollectorConfig(api_keys={"k1"}, allowed_origins={"https://shop.example.com/cart"})
    config = CollectorConfig(
        api_keys=["secret-1", "secret-2"],  # type: ignore[arg-type]
        allowed_origins=["https://Shop.Example.com/"],  # type: ignore[arg-type]
    )
    assert config.api_keys == frozenset({"secret-1", "secret-2"})
    assert config.allowed_origins == frozenset({"https://shop.example.com"})
    assert "secret" not in repr(config)
    assert (config.host, config.port, config.max_body_bytes, config.max_events_per_request) == (
        "127.0.0.1",
        8088,
        MIB,
        500,
    )


def test_parse_body_and_stamp() -> None:
    assert parse_body(b'{"a": 1}') == [{"a": 1}]
    assert parse_body(b'[{"a": 1}, 2]') == [{"a": 1}, 2]
    moment = datetime(2025, 7, 16, 12, 30, 0, 123999, tzinfo=UTC)
    assert receive_timestamp(moment) == "2025-07-16T12:30:00.123Z"
    east = moment.astimezone(timezone(timedelta(hours=2)))
    assert receive_timestamp(east) == "2025-07-16T12:30:00.123Z"
