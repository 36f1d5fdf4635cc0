"""The browser SDK end to end: real headless Chromium → ``ecomflow collect`` → Kinesis.

A test page (``clients/js/e2e/shop.html``, the SDK as an ES module) is served from
127.0.0.1 by an ``http.server`` thread; the collector runs in-process (``running_collector``)
with a Producer to a fresh stream on the session's kinesis-mock, and allows the page's origin
(CORS). ``clients/js/e2e/drive.mjs`` drives Debian's Chromium with playwright-core: page view,
product view and add to cart, an explicit ``flush()`` (fetch with a preflight), then a
purchase sent by the SDK's page-hide path (keepalive fetch) when the page is left.

No skip: without /usr/bin/chromium, Node or clients/js/node_modules the test fails and says
what to install.
"""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from ecomflow.ingest.collect import running_collector
from ecomflow.ingest.collection import CollectorConfig
from ecomflow.ingest.producer import Producer
from ecomflow.kinesis.client import kinesis_client
from ecomflow.local.stack import StackInfo
from flink_jobs import contract
from tests.kinesis_reader import create_active_stream, read_stream

JS = Path(__file__).resolve().parents[2] / "clients" / "js"
CHROMIUM = Path("/usr/bin/chromium")
KEY = "browser-e2e-key"


class _Collected:
    """What the collector answered, request by request (wrapping ``CollectorServer.collect``)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[tuple[int, list[Any], dict[str, Any]]] = []
        self.purchase = threading.Event()

    def wrap(self, collect: Any) -> Any:
        def wrapped(events: Any, received: datetime) -> tuple[int, dict[str, Any]]:
            status, body = collect(events, received)
            with self.lock:
                self.requests.append((status, list(events), body))
            if any(isinstance(e, dict) and e.get("event_type") == "purchase" for e in events):
                if status == 200 and not body.get("rejected"):
                    self.purchase.set()
            return status, body

        return wrapped


def _page_server(collected: _Collected) -> ThreadingHTTPServer:
    class Handler(SimpleHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            if self.path == "/status":  # drive.mjs waits for this before closing the browser
                code = 200 if collected.purchase.is_set() else 204
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            super().do_GET()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    Handler.extensions_map = {
        **Handler.extensions_map,
        ".js": "text/javascript",
        ".mjs": "text/javascript",
    }
    return ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(JS)))


@pytest.fixture
def stream(stack: StackInfo) -> Iterator[tuple[Any, str]]:
    client = kinesis_client(
        stack.kinesis_endpoint, stack.region, stack.access_key, stack.secret_key
    )
    name = f"browser-{uuid.uuid4().hex[:8]}"
    create_active_stream(client, name)
    yield client, name
    client.close()


def _prerequisites() -> str:
    assert CHROMIUM.exists(), (
        f"{CHROMIUM} is missing: the browser SDK's end-to-end test needs Debian's chromium "
        "package (apt-get install -y chromium); it never downloads a browser"
    )
    node = shutil.which("node")
    assert node, "Node.js is missing (scripts/dev installs Node.js 20)"
    assert (JS / "node_modules" / "playwright-core").is_dir(), (
        "clients/js/node_modules is missing: run `npm ci --prefix clients/js`"
    )
    return node


@pytest.mark.stack
def test_browser_to_collector_to_stream(stream: tuple[Any, str]) -> None:
    node = _prerequisites()
    client, name = stream
    collected = _Collected()
    pages = _page_server(collected)
    page_thread = threading.Thread(
        target=pages.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
    )
    page_thread.start()
    origin = f"http://127.0.0.1:{pages.server_address[1]}"
    try:
        config = CollectorConfig(
            port=0, api_keys=frozenset({KEY}), allowed_origins=frozenset({origin})
        )
        with Producer(name, client=client) as producer:
            with running_collector(config, producer) as server:
                server.collect = collected.wrap(server.collect)  # type: ignore[method-assign]
                page = f"{origin}/e2e/shop.html?collector={server.url}&key={KEY}"
                run = subprocess.run(
                    [node, str(JS / "e2e" / "drive.mjs"), page, f"{origin}/status"],
                    cwd=JS,
                    capture_output=True,
                    text=True,
                    timeout=180,
                )
                assert run.returncode == 0, f"drive.mjs failed:\n{run.stdout}\n{run.stderr}"
    finally:
        pages.shutdown()
        pages.server_close()
        page_thread.join()

    report = json.loads(run.stdout.strip().splitlines()[-1])
    detail = json.dumps(report, indent=1)
    tracked = report["tracked"]
    assert [e["event_type"] for e in tracked] == [
        "page_view",
        "product_view",
        "add_to_cart",
        "purchase",
    ], detail
    assert not [m for m in report["console"] if m.startswith(("error", "pageerror"))], detail
    # the explicit flush: three events accepted, nothing left
    assert report["afterFlush"] == {
        "stats": {"accepted": 3, "droppedOverflow": 0, "droppedRejected": 0, "retries": 0},
        "pending": 0,
    }, detail
    assert report["pendingBeforeLeave"] == 1, detail
    assert report["delivered"] is True, f"the purchase sent on pagehide never arrived\n{detail}"

    # at the collector: every request fully accepted, the tracked events in order, once
    statuses = [status for status, _, _ in collected.requests]
    assert statuses and set(statuses) == {200}, collected.requests
    assert all(body["rejected"] == [] for _, _, body in collected.requests), collected.requests
    received = [e for _, events, _ in collected.requests for e in events]
    accepted = [i for _, _, body in collected.requests for i in body["accepted"]]
    ids = [e["event_id"] for e in tracked]
    assert [e["event_id"] for e in received] == ids
    assert accepted == ids
    assert received == tracked  # sent exactly as tracked (the collector added nothing to them)

    # on the stream: the same four events, each once, valid, with the browser's context
    records = read_stream(client, name)
    on_stream = {json.loads(r["Data"])["event_id"]: json.loads(r["Data"]) for r in records}
    assert len(records) == 4 and set(on_stream) == set(ids), records
    user_id = tracked[0]["user_id"]
    assert user_id.startswith("anon_")
    for event in tracked:
        landed = on_stream[event["event_id"]]
        assert landed == event
        assert contract.validate(landed) == [], landed
        assert landed["user_id"] == user_id
        assert landed["session_id"] == tracked[0]["session_id"]
    partition_keys = {r["PartitionKey"] for r in records}
    assert partition_keys == {user_id}
    # per partition key (one shard), the stream keeps the page's order
    assert [json.loads(r["Data"])["event_id"] for r in records] == ids
    view = on_stream[ids[0]]
    assert view["page_url"].startswith(f"{origin}/e2e/shop.html")
    assert "Chrome" in view["user_agent"]
    purchase = on_stream[ids[3]]
    assert purchase["customer_id"] == user_id
    assert purchase["total_amount"] == 25.0
    assert purchase["items"] == [
        {
            "product_id": "prod_e2e_1",
            "product_name": "Coffee mug",
            "unit_price": 12.5,
            "quantity": 2,
        }
    ]
