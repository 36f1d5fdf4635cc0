"""`ecomflow collect` under a bounded load, loopback only.

The load is benchmarks/collect_load.py's: a planned mix of single events, arrays with some
invalid events, single invalid events, bodies that are not JSON, and requests with a wrong
or no API key, sent by 16 threads on keep-alive connections to `ecomflow collect` running as
its own process in front of a fresh stream of the session's kinesis-mock. Every answer is
checked against the plan and the stream is read back independently (tests/kinesis_reader).
Speed is printed, never asserted.
"""

from __future__ import annotations

import http.client
import json
import threading
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from benchmarks.collect_load import (
    API_KEY,
    collector_process,
    figures,
    plan_requests,
    run_load,
)
from ecomflow.ingest.collect import running_collector
from ecomflow.ingest.collection import CollectorConfig
from ecomflow.ingest.producer import Producer
from ecomflow.kinesis.client import kinesis_client
from ecomflow.local.stack import StackInfo
from tests.kinesis_reader import create_active_stream, read_stream

REQUESTS = 800  # every kind of request, 16 at a time (benchmarks/collect_load.py sends more)
CONCURRENCY = 16


@pytest.mark.stack
@pytest.mark.long
def test_bounded_load_on_ecomflow_collect(stack: StackInfo, tmp_path: Path) -> None:
    client = kinesis_client(
        stack.kinesis_endpoint, stack.region, stack.access_key, stack.secret_key
    )
    stream = f"load-{uuid.uuid4().hex[:8]}"
    try:
        create_active_stream(client, stream, shards=2)
        planned = plan_requests(REQUESTS, seed=17)
        kinds = Counter(r.kind for r in planned)
        assert set(kinds) == {"single", "array", "invalid", "malformed", "wrong_key", "missing_key"}
        with collector_process(stack, stream, tmp_path / "collect.log") as collector:
            run = run_load(collector.url, planned, CONCURRENCY)
        records = read_stream(client, stream)
    finally:
        client.close()
    result = figures(run)
    print()
    print("\n".join(result.lines()))

    # Every request answered, none with a 5xx.
    assert [a.error for a in run.answers if a.error] == []
    assert all(a.status is not None and a.status < 500 for a in run.answers)

    accepted: list[str] = []
    refused: set[str] = set()
    for request, answer in zip(planned, run.answers, strict=True):
        body = answer.body
        assert answer.status == request.status, (request.kind, answer.status, body)
        if request.refusal is not None:  # refused as a whole: key, not JSON, not an object
            assert body["reason"] == request.refusal and body["message"]
            if request.kind == "missing_key":
                assert answer.status == 401
            if request.kind == "wrong_key":
                assert answer.status == 403
            refused.update(request.event_ids)
            continue
        assert body["accepted"] == list(request.valid)
        rejected = body["rejected"]
        assert [(r["index"], r["reason"]) for r in rejected] == list(request.invalid)
        for entry in rejected:  # each with its reason, field and message
            assert entry["field"] and entry["message"] and entry["issues"]
        accepted.extend(body["accepted"])
        refused.update(set(request.event_ids) - set(body["accepted"]))

    # The stream holds every accepted event exactly once, unchanged, and nothing else.
    on_stream = Counter(json.loads(r["Data"])["event_id"] for r in records)
    assert len(records) == len(accepted) == len(set(accepted))
    assert on_stream == Counter(accepted)
    assert not refused & set(on_stream)
    sent = {}
    for request in planned:
        if request.valid:
            body = json.loads(request.body)
            for event in body if isinstance(body, list) else [body]:
                if isinstance(event, dict) and event.get("event_id") in request.valid:
                    sent[event["event_id"]] = event
    for record in records:
        event = json.loads(record["Data"])
        assert event == sent[event["event_id"]]
    assert collector.stopped_line == f"stopped: {len(accepted)} event(s) put on {stream}"
    print(
        f"{result.requests_per_second:.1f} requests/s, p50 {result.p50_ms:.0f} ms, "
        f"p95 {result.p95_ms:.0f} ms ({REQUESTS} requests, concurrency {CONCURRENCY})"
    )


def _burst(url: str, clients: int, key: str | None) -> Counter[Any]:
    """``clients`` connections opened at the same moment, one POST each: status counts
    (or the exception's name)."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    barrier = threading.Barrier(clients)
    got: list[Any] = []
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["X-API-Key"] = key

    def one() -> None:
        barrier.wait()
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            conn.request("POST", "/events", body=b"{}", headers=headers)
            response = conn.getresponse()
            response.read()
            got.append(response.status)
        except OSError as exc:
            got.append(type(exc).__name__)
        finally:
            conn.close()

    threads = [threading.Thread(target=one) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return Counter(got)


def test_a_burst_of_connections_is_answered() -> None:
    """64 clients connecting at the same moment all get their answer: the listen backlog
    holds them (with socketserver's default of 5 the kernel reset some of the connections
    and delayed others by a SYN retransmit). Refused keys need no Kinesis."""
    with Producer("unused", client=object()) as producer:
        with running_collector(CollectorConfig(api_keys={API_KEY}, port=0), producer) as server:
            for key, status in (("wrong", 403), (None, 401), ("wrong", 403)):
                assert _burst(server.url, 64, key) == {status: 64}
