"""ecomflow.ingest.producer: the Producer SDK and the PutRecords core.

In-process: moto's mock for the API calls, and recording fake clients for exact request
shapes and injected failures. Against the real kinesis-mock (``stack`` marker): a round trip,
and failures injected by a small HTTP proxy in front of kinesis-mock (which cannot fail on
demand) that marks chosen records failed or throttles whole calls.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from ecomflow.ingest.delivery import DeliveryError
from ecomflow.ingest.producer import Producer
from ecomflow.ingest.replay import partition_key
from ecomflow.kinesis.client import kinesis_client
from ecomflow.kinesis.limits import MAX_BATCH_BYTES, MAX_RECORD_BYTES
from ecomflow.kinesis.pacing import ShardRateGuard
from ecomflow.kinesis.records import (
    BufferFull,
    FailedRecord,
    ProducerClosed,
    Record,
    RecordTooLarge,
)
from ecomflow.kinesis.sender import PutRecordsSender, send_records
from ecomflow.local.stack import StackInfo
from ecomflow.synth.generate import generate_events
from flink_jobs.contract import EventValidationError, derive_event_id
from tests.kinesis_reader import read_stream
from tests.support.fake_clock import FakeClock
from tests.support.fake_kinesis import FakeKinesis, by_event_id
from tests.support.fault_proxy import THROTTLED, FaultProxy

# --- helpers ----------------------------------------------------------------------------------


def _events(n: int, seed: int = 7) -> list[dict[str, Any]]:
    return list(generate_events(n, seed=seed))


def _event(user: str, i: int, **extra: Any) -> dict[str, Any]:
    """A valid page_view for ``user`` (timestamps one second apart)."""
    return {
        "event_id": str(uuid.UUID(int=i + 1)),
        "event_type": "page_view",
        "timestamp": f"2025-07-16T10:{i // 60 % 60:02d}:{i % 60:02d}.000Z",
        "user_id": user,
        "session_id": f"sess_{user}",
        "page_url": f"/p/{i}",
        **extra,
    }


def _eid(data: bytes) -> str:
    return json.loads(data)["event_id"]


def _assert_key_order(got: list[dict[str, Any]], sent: list[dict[str, Any]]) -> None:
    """Per partition key, the stream holds the events in the order they were sent."""
    by_key: dict[str, list[str]] = {}
    for r in got:
        by_key.setdefault(r["PartitionKey"], []).append(_eid(r["Data"]))
    landed = {eid for ids in by_key.values() for eid in ids}
    expected: dict[str, list[str]] = {}
    for e in sent:
        if e["event_id"] in landed:
            expected.setdefault(e["user_id"], []).append(e["event_id"])
    assert by_key == expected


# --- moto: the API calls ----------------------------------------------------------------------


@mock_aws
def test_moto_round_trip_exactly_once_compact_json_keyed_by_user() -> None:
    client = boto3.client("kinesis", region_name="us-east-1")
    client.create_stream(StreamName="events", ShardCount=3)
    events = _events(1200)
    with Producer("events", client=client) as producer:
        ids = [producer.send(e) for e in events]
        result = producer.flush()
    assert result.accepted == 1200 and result.failed == () and result.pending == 0
    assert ids == [e["event_id"] for e in events]
    got = read_stream(client, "events")
    assert sorted(r["Data"] for r in got) == sorted(
        json.dumps(e, separators=(",", ":")).encode() for e in events
    )
    for r in got:
        assert r["PartitionKey"] == json.loads(r["Data"])["user_id"]
        assert r["PartitionKey"] == partition_key(r["Data"])  # the same key replay uses
    _assert_key_order(got, events)


@mock_aws
def test_moto_missing_stream_reports_every_record() -> None:
    client = boto3.client("kinesis", region_name="us-east-1")
    producer = Producer("no-such-stream", client=client)
    producer.send_batch(_events(3))
    result = producer.close()
    assert result.accepted == 0
    assert [f.error_code for f in result.failed] == ["ResourceNotFoundException"] * 3
    assert [f.event["event_id"] for f in result.failed] == [e["event_id"] for e in _events(3)]


@mock_aws
def test_moto_own_client_from_endpoint_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    boto3.client("kinesis", region_name="eu-west-1").create_stream(StreamName="s", ShardCount=1)
    with Producer("s", region="eu-west-1", access_key="a", secret_key="b") as producer:
        producer.send(_events(1)[0])
    assert producer.total_accepted == 1


# --- validation and event ids -----------------------------------------------------------------


def test_event_id_derived_when_missing_and_stable() -> None:
    fake = FakeKinesis()
    event = {k: v for k, v in _event("u1", 1).items() if k != "event_id"}
    with Producer("s", client=fake) as producer:
        first = producer.send(event)
        second = producer.send(dict(event))
    assert first == second == derive_event_id(event)
    assert "event_id" not in event  # the caller's dict is not modified
    assert fake.accepted_ids() == [first, first]


def test_validation_error_names_the_field_and_buffers_nothing() -> None:
    fake = FakeKinesis()
    producer = Producer("s", client=fake)
    bad = _event("u1", 1)
    del bad["timestamp"]
    with pytest.raises(EventValidationError, match="timestamp"):
        producer.send(bad)
    with pytest.raises(ValueError, match="timestamp: bad_timestamp"):
        producer.send({**_event("u1", 2), "timestamp": "yesterday"})
    assert producer.pending == 0
    assert producer.close().accepted == 0 and fake.calls == []


def test_validation_can_be_turned_off() -> None:
    fake = FakeKinesis()
    with Producer("s", client=fake, validate=False) as producer:
        producer.send({"event_type": "whatever", "customer_id": "c9"})
    [record] = fake.accepted
    assert record["PartitionKey"] == "c9"
    assert json.loads(record["Data"])["event_id"]  # still gets an id


def test_send_batch_validates_everything_first() -> None:
    fake = FakeKinesis()
    producer = Producer("s", client=fake)
    events = [_event("u1", 1), _event("u2", 2), {"event_type": "page_view"}, _event("u3", 3)]
    with pytest.raises(EventValidationError) as info:
        producer.send_batch(events)
    assert "events[2]" in "".join(info.value.__notes__)
    assert producer.pending == 0
    assert producer.send_batch(events[:2]) == [events[0]["event_id"], events[1]["event_id"]]
    assert producer.close().accepted == 2


def test_not_a_dict_and_not_json_are_clear_errors() -> None:
    producer = Producer("s", client=FakeKinesis(), validate=False)
    with pytest.raises(TypeError, match="dict"):
        producer.send([1, 2])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="JSON-serialisable"):
        producer.send({"user_id": "u", "when": object()})
    with pytest.raises(ValueError, match="JSON-serialisable"):
        producer.send({"user_id": "u", "price": float("nan")})
    producer.close()


def test_oversized_event_rejected_at_send() -> None:
    producer = Producer("s", client=FakeKinesis(), validate=False)
    with pytest.raises(RecordTooLarge, match="1048576"):
        producer.send({"user_id": "u", "blob": "x" * MAX_RECORD_BYTES})
    assert producer.pending == 0
    producer.close()


# --- batching ---------------------------------------------------------------------------------


def test_requests_within_500_records() -> None:
    fake = FakeKinesis()
    events = [_event(f"u{i}", i) for i in range(1234)]
    producer = Producer("s", client=fake, linger_seconds=60)
    producer.send_batch(events)
    result = producer.close()
    assert result.accepted == 1234
    assert all(len(c) <= 500 for c in fake.calls) and sum(map(len, fake.calls)) == 1234
    assert fake.accepted_ids() == [e["event_id"] for e in events]


def test_requests_within_5_mib() -> None:
    fake = FakeKinesis()
    events = [_event(f"u{i}", i, pad="x" * 300_000) for i in range(40)]
    producer = Producer("s", client=fake, linger_seconds=60)
    producer.send_batch(events)
    producer.close()
    sizes = [sum(len(r["Data"]) + len(r["PartitionKey"]) for r in c) for c in fake.calls]
    assert all(s <= MAX_BATCH_BYTES for s in sizes)
    assert [len(c) for c in fake.calls] == [17, 17, 6]


def test_one_record_per_key_per_request_when_preserving_order() -> None:
    fake = FakeKinesis()
    events = [_event(f"u{i % 3}", i) for i in range(10)]
    producer = Producer("s", client=fake, linger_seconds=60)
    producer.send_batch(events)
    producer.close()
    assert [len(c) for c in fake.calls] == [3, 3, 3, 1]
    for call in fake.calls:
        keys = [r["PartitionKey"] for r in call]
        assert len(keys) == len(set(keys))
    assert fake.accepted_ids() == [e["event_id"] for e in events]


def test_relaxed_order_fills_requests() -> None:
    fake = FakeKinesis()
    events = [_event(f"u{i % 3}", i) for i in range(10)]
    producer = Producer("s", client=fake, linger_seconds=60, preserve_key_order=False)
    producer.send_batch(events)
    producer.close()
    assert [len(c) for c in fake.calls] == [10]


def test_linger_sends_without_flush() -> None:
    fake = FakeKinesis()
    producer = Producer("s", client=fake, linger_seconds=0.05)
    producer.send(_event("u1", 1))
    deadline = time.monotonic() + 10
    while not fake.accepted and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(fake.accepted) == 1 and producer.pending == 0
    # The background send is reported by the next flush().
    assert producer.flush().accepted == 1
    assert producer.close().accepted == 0


def test_full_batch_goes_before_linger() -> None:
    fake = FakeKinesis()
    producer = Producer("s", client=fake, linger_seconds=3600, max_batch_records=5)
    producer.send_batch([_event(f"u{i}", i) for i in range(5)])
    deadline = time.monotonic() + 10
    while len(fake.accepted) < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [len(c) for c in fake.calls] == [5]
    producer.close()


# --- failures ---------------------------------------------------------------------------------


def test_partial_failures_retried_exactly_once_in_key_order() -> None:
    events = [_event(f"u{i % 7}", i) for i in range(300)]
    flaky = {events[3]["event_id"]: 2, events[10]["event_id"]: 1, events[299]["event_id"]: 3}
    fake = FakeKinesis(by_event_id(flaky))
    with Producer("s", client=fake, base_backoff=0.001, linger_seconds=60) as producer:
        producer.send_batch(events)
        result = producer.flush()
    assert result.accepted == 300 and result.failed == ()
    assert result.retried == 2 + 1 + 3
    assert sorted(fake.accepted_ids()) == sorted(e["event_id"] for e in events)
    per_key: dict[str, list[str]] = {}
    for r in fake.accepted:
        per_key.setdefault(r["PartitionKey"], []).append(_eid(r["Data"]))
    for key, ids in per_key.items():
        assert ids == [e["event_id"] for e in events if e["user_id"] == key]


def test_whole_call_throttling_retried() -> None:
    fake = FakeKinesis(throttle_calls=4)
    producer = Producer("s", client=fake, base_backoff=0.001, linger_seconds=60)
    producer.send_batch([_event("u1", 1), _event("u2", 2)])
    result = producer.close()
    assert result.accepted == 2 and result.requests == 5 and result.retried == 8
    assert len(fake.accepted) == 2


def test_backoff_is_full_jitter_capped() -> None:
    sleeps: list[float] = []
    sender = PutRecordsSender(
        FakeKinesis(throttle_calls=9), "s", base_backoff=0.5, max_backoff=2.0, sleep=sleeps.append
    )
    outcome = sender.put([Record(json.dumps(_event("u1", 1)).encode(), "u1")])
    assert len(outcome.accepted) == 1 and outcome.requests == 10 and len(sleeps) == 9
    caps = [min(2.0, 0.5 * 2**i) for i in range(9)]
    assert all(0.0 <= s <= cap for s, cap in zip(sleeps, caps, strict=True))
    assert len(set(sleeps)) > 1  # jittered


def test_always_failing_record_reported_never_counted() -> None:
    events = [_event(f"u{i}", i) for i in range(20)]
    doomed = events[5]["event_id"]
    fake = FakeKinesis(by_event_id({doomed: -1}))
    seen: list[FailedRecord] = []
    producer = Producer("s", client=fake, max_attempts=4, base_backoff=0.0, on_failure=seen.append)
    producer.send_batch(events)
    result = producer.close()
    assert result.accepted == 19 and not result.ok
    [failure] = result.failed
    assert failure.error_code == THROTTLED and failure.message == "Rate exceeded"
    assert failure.event == events[5] and failure.partition_key == "u5"
    assert seen == [failure]
    assert doomed not in fake.accepted_ids()
    assert producer.total_accepted == 19 and producer.total_failed == 1
    with pytest.raises(DeliveryError, match=THROTTLED):
        result.raise_for_failures()


def test_context_manager_raises_for_undelivered_records() -> None:
    fake = FakeKinesis(by_event_id({_event("u1", 1)["event_id"]: -1}))
    with pytest.raises(DeliveryError) as info:
        with Producer("s", client=fake, max_attempts=2, base_backoff=0.0) as producer:
            producer.send(_event("u1", 1))
            producer.send(_event("u2", 2))
    assert info.value.result.accepted == 1
    assert [f.event["user_id"] for f in info.value.result.failed] == ["u1"]


def test_non_retryable_error_reports_records() -> None:
    fake = FakeKinesis(throttle_calls=1, call_error="AccessDeniedException")
    producer = Producer("s", client=fake)
    producer.send(_event("u1", 1))
    result = producer.close()
    assert [f.error_code for f in result.failed] == ["AccessDeniedException"]
    assert len(fake.calls) == 1


def test_client_exception_reported_not_raised() -> None:
    class Broken:
        def put_records(self, **_: Any) -> dict[str, Any]:
            raise RuntimeError("no credentials")

    producer = Producer("s", client=Broken())
    producer.send(_event("u1", 1))
    result = producer.close()
    assert [(f.error_code, f.message) for f in result.failed] == [
        ("RuntimeError", "no credentials")
    ]


def test_missing_sequence_number_is_not_success() -> None:
    class Odd:
        def put_records(self, *, StreamName: str, Records: list[Any]) -> dict[str, Any]:
            return {"FailedRecordCount": 0, "Records": [{} for _ in Records]}

    producer = Producer("s", client=Odd(), max_attempts=2, base_backoff=0.0)
    producer.send(_event("u1", 1))
    result = producer.close()
    assert result.accepted == 0 and [f.error_code for f in result.failed] == ["NoSequenceNumber"]


# --- the bounded buffer, close, exit ----------------------------------------------------------


def test_buffer_full_raises_after_block_seconds() -> None:
    gate = threading.Event()
    fake = FakeKinesis(gate=gate)
    producer = Producer(
        "s", client=fake, max_buffer_records=3, max_batch_records=3, block_seconds=0.2
    )
    try:
        producer.send_batch([_event(f"u{i}", i) for i in range(3)])  # taken by the sender
        deadline = time.monotonic() + 10
        while producer.pending and time.monotonic() < deadline:
            time.sleep(0.01)
        producer.send_batch([_event(f"u{i}", i) for i in range(3, 6)])  # fills the buffer
        started = time.monotonic()
        with pytest.raises(BufferFull, match="full"):
            producer.send(_event("u9", 9))
        assert time.monotonic() - started >= 0.15
    finally:
        gate.set()
    assert producer.close().accepted == 6


def test_send_blocks_until_there_is_room() -> None:
    gate = threading.Event()
    fake = FakeKinesis(gate=gate)
    producer = Producer(
        "s", client=fake, max_buffer_records=2, max_batch_records=2, block_seconds=None
    )
    producer.send_batch([_event("u0", 0), _event("u1", 1)])
    timer = threading.Timer(0.2, gate.set)
    timer.start()
    producer.send_batch([_event(f"u{i}", i) for i in range(2, 8)])  # blocks, then proceeds
    assert producer.close().accepted == 8
    assert fake.accepted_ids() == [_event(f"u{i}", i)["event_id"] for i in range(8)]


def test_ctrl_c_in_flush_keeps_records_for_close() -> None:
    class CtrlCOnce(FakeKinesis):
        def put_records(self, **kwargs: Any) -> dict[str, Any]:
            if not self.calls:
                self.calls.append(kwargs["Records"])
                raise KeyboardInterrupt  # as if Ctrl-C hit during the request
            return super().put_records(**kwargs)

    fake = CtrlCOnce()
    producer = Producer("s", client=fake, linger_seconds=3600)
    producer.send_batch([_event("u1", 1), _event("u2", 2)])
    with pytest.raises(KeyboardInterrupt):
        producer.flush()
    assert producer.pending == 2  # in doubt: kept (at least once), not reported as sent
    assert producer.close().accepted == 2
    assert fake.accepted_ids() == [_event("u1", 1)["event_id"], _event("u2", 2)["event_id"]]


def test_closed_producer_refuses_events() -> None:
    producer = Producer("s", client=FakeKinesis())
    producer.send(_event("u1", 1))
    assert producer.close().accepted == 1
    assert producer.close().accepted == 0  # idempotent
    with pytest.raises(ProducerClosed):
        producer.send(_event("u2", 2))


def test_unclosed_producer_flushes_at_exit(tmp_path: Path) -> None:
    out = tmp_path / "sent.jsonl"
    script = f"""
import json
from ecomflow.ingest.producer import Producer

class FileKinesis:
    def put_records(self, *, StreamName, Records):
        with open({str(out)!r}, "a") as fh:
            for r in Records:
                fh.write(r["Data"].decode() + "\\n")
        return {{"FailedRecordCount": 0,
                 "Records": [{{"SequenceNumber": "1", "ShardId": "s"}} for _ in Records]}}

p = Producer("s", client=FileKinesis(), linger_seconds=3600)
for i in range(3):
    p.send({{"user_id": f"u{{i}}", "event_type": "page_view",
            "timestamp": "2025-07-16T10:00:00Z", "session_id": "s1", "page_url": "/"}})
print("pending", p.pending)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert "pending 3" in done.stdout
    assert len(out.read_text().splitlines()) == 3


# --- the core: raw records, shard guard -------------------------------------------------------


def test_send_records_sends_bytes_unchanged_and_reports_too_large() -> None:
    fake = FakeKinesis()
    raw = [b'{"event_id":"a"}', b'{"event_id":"b",   "x": 1}', b"x" * (MAX_RECORD_BYTES + 1)]
    outcomes = list(send_records(fake, "s", [Record(d, "k", ref=i) for i, d in enumerate(raw)]))
    assert [r["Data"] for r in fake.accepted] == raw[:2]
    assert [f.ref for o in outcomes for f in o.failed] == [2]
    assert sum(len(o.accepted) for o in outcomes) == 2


def test_sender_rejects_oversized_batch() -> None:
    sender = PutRecordsSender(FakeKinesis(), "s")
    with pytest.raises(ValueError, match="limits"):
        sender.put([Record(b"{}", "k")] * 501)


def test_shard_guard_routes_like_kinesis_and_keeps_rates() -> None:
    # Two shards splitting the 128-bit hash space in half, as CreateStream does.
    clock = FakeClock(100.0)
    guard = ShardRateGuard([0, 2**127], clock=clock, sleep=clock.sleep)
    keys = [f"user_{i:05d}" for i in range(4000)]
    shard0 = [k for k in keys if guard.shard_of(k) == 0]
    assert 1500 < len(shard0) < 2500  # MD5 spreads keys
    # 3,000 small records all on shard 0 in batches of 500: 1,000 records/s.
    for _ in range(6):
        guard.acquire([Record(b"{}", shard0[0])] * 500)
    assert clock.now - 100.0 == pytest.approx(2.5)
    # Bytes: 4 records of 512 KiB + key on shard 1 need ~2 s at 1 MiB/s.
    clock2 = FakeClock(100.0)
    guard2 = ShardRateGuard([0, 2**127], clock=clock2, sleep=clock2.sleep)
    shard1 = next(k for k in keys if guard2.shard_of(k) == 1)
    for _ in range(4):
        guard2.acquire([Record(b"x" * 512 * 1024, shard1)])
    assert clock2.now - 100.0 == pytest.approx(1.5, rel=0.01)


@mock_aws
def test_shard_guard_for_stream_lists_open_shards() -> None:
    client = boto3.client("kinesis", region_name="us-east-1")
    client.create_stream(StreamName="g", ShardCount=4)
    guard = ShardRateGuard.for_stream(client, "g")
    assert guard is not None and guard.shards == 4
    assert ShardRateGuard.for_stream(object(), "g") is None  # no ListShards: no guard


# --- kinesis-mock, with and without a fault-injecting proxy -----------------------------------


def _kinesis(stack: StackInfo, endpoint: str | None = None) -> Any:
    return kinesis_client(
        endpoint or stack.kinesis_endpoint, stack.region, stack.access_key, stack.secret_key
    )


@pytest.fixture
def fresh_stream(stack: StackInfo) -> Iterator[str]:
    """A new 2-shard stream on the session's kinesis-mock."""
    name = f"producer-{uuid.uuid4().hex[:8]}"
    client = _kinesis(stack)
    try:
        client.create_stream(StreamName=name, ShardCount=2)
        deadline = time.monotonic() + 30
        while (
            client.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"][
                "StreamStatus"
            ]
            != "ACTIVE"
        ):
            assert time.monotonic() < deadline, "stream did not become ACTIVE"
            time.sleep(0.1)
        yield name
    finally:
        client.close()


def _with_client(stack: StackInfo, fn: Callable[[Any], Any]) -> Any:
    client = _kinesis(stack)
    try:
        return fn(client)
    finally:
        client.close()


@pytest.mark.stack
def test_kinesis_mock_round_trip(stack: StackInfo, fresh_stream: str) -> None:
    events = _events(1000)
    with Producer(
        fresh_stream,
        endpoint_url=stack.kinesis_endpoint,
        region=stack.region,
        access_key=stack.access_key,
        secret_key=stack.secret_key,
    ) as producer:
        producer.send_batch(events)
        result = producer.flush()
    assert result.accepted == 1000 and result.failed == ()
    got = _with_client(stack, lambda c: read_stream(c, fresh_stream))
    assert sorted(_eid(r["Data"]) for r in got) == sorted(e["event_id"] for e in events)
    _assert_key_order(got, events)


@pytest.mark.stack
def test_kinesis_mock_injected_failures(stack: StackInfo, fresh_stream: str) -> None:
    events = [_event(f"user_{i % 12}", i) for i in range(240)]
    transient = {events[i]["event_id"]: n for i, n in ((0, 1), (7, 3), (100, 2), (238, 1))}
    doomed = events[42]["event_id"]
    with FaultProxy(stack.kinesis_endpoint) as proxy:
        proxy.fail_times = {eid.encode(): n for eid, n in transient.items()}
        proxy.fail_times[doomed.encode()] = -1
        proxy.throttle_calls = 2
        failures: list[FailedRecord] = []
        producer = Producer(
            fresh_stream,
            client=_kinesis(stack, proxy.url),
            max_attempts=8,  # whole-call throttles count as attempts too
            base_backoff=0.01,
            max_backoff=0.05,
            on_failure=failures.append,
        )
        producer.send_batch(events)
        result = producer.close()
        producer.client.close()
        assert proxy.put_calls > 2

    # The record that always failed is reported with its event, never counted as sent.
    assert result.accepted == 239
    assert [(f.event["event_id"], f.error_code) for f in result.failed] == [(doomed, THROTTLED)]
    assert failures == list(result.failed)
    assert result.retried >= sum(transient.values())

    got = _with_client(stack, lambda c: read_stream(c, fresh_stream))
    ids = [_eid(r["Data"]) for r in got]
    assert doomed not in ids
    assert sorted(ids) == sorted(e["event_id"] for e in events if e["event_id"] != doomed)
    for eid in transient:
        assert ids.count(eid) == 1  # transient failures arrive exactly once
    _assert_key_order(got, events)
