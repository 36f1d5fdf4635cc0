"""ecomflow.ingest.replay against moto's in-process Kinesis and against recording fake clients."""

from __future__ import annotations

import gzip
import json
import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from ecomflow import paths
from ecomflow.ingest import replay as replay_mod
from ecomflow.ingest.jsonl_input import input_files
from ecomflow.ingest.replay import (
    ReplayError,
    format_summary,
    partition_key,
    replay,
)
from ecomflow.kinesis.client import kinesis_client
from ecomflow.kinesis.limits import MAX_BATCH_BYTES, MAX_RECORD_BYTES
from ecomflow.local.stack import StackInfo
from ecomflow.synth.encoding import dumps, write_jsonl
from ecomflow.synth.generate import generate_events
from tests.kinesis_reader import create_active_stream, read_stream, stack_client
from tests.support.fake_clock import FakeClock
from tests.support.fake_kinesis import FakeKinesis, by_data
from tests.support.fault_proxy import THROTTLED, FaultProxy


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    sleeps: list[float] = []
    monkeypatch.setattr(replay_mod, "_sleep", sleeps.append)
    return sleeps


def _lines(n: int, seed: int = 7) -> list[bytes]:
    return [dumps(e).encode() for e in generate_events(n, seed=seed)]


@mock_aws
def test_moto_round_trip_exactly_once_and_unchanged(tmp_path: Path) -> None:
    client = boto3.client("kinesis", region_name="us-east-1")
    client.create_stream(StreamName="events", ShardCount=3)
    path = tmp_path / "events.jsonl.gz"
    write_jsonl(generate_events(1200), path)
    sent = gzip.decompress(path.read_bytes()).splitlines()

    summary = replay(path, stream_name="events", client=client)

    assert summary.records == 1200 and summary.failed_records == []
    assert summary.batches == 3  # 500 + 500 + 200
    assert summary.bytes == sum(len(line) for line in sent)
    got = read_stream(client, "events")
    assert sorted(r["Data"] for r in got) == sorted(sent)  # once each, byte for byte
    for r in got:
        assert r["PartitionKey"] == json.loads(r["Data"])["user_id"]
    assert "1,200 records" in format_summary(summary)


@mock_aws
def test_moto_invalid_json_and_key_fallbacks() -> None:
    client = kinesis_client(None, "us-east-1", "testing", "testing")
    client.create_stream(StreamName="raw", ShardCount=1)
    lines = [
        '{"customer_id":"cust_1","event_type":"purchase"}\n',
        "\n",
        '{"event_type":"page_view"}\r\n',
        "this is {not json\n",
        '   {"user_id": "user_9",  "spaces": true}  \n',
        b'{"user_id":"\xc3\xa9"}\n',
    ]
    summary = replay(lines, stream_name="raw", client=client)
    assert summary.records == 5
    got = read_stream(client, "raw")
    assert [(r["Data"], r["PartitionKey"]) for r in got] == [
        (b'{"customer_id":"cust_1","event_type":"purchase"}', "cust_1"),
        (b'{"event_type":"page_view"}', "anonymous"),
        (b"this is {not json", partition_key(b"this is {not json")),
        (b'   {"user_id": "user_9",  "spaces": true}  ', "user_9"),
        (b'{"user_id":"\xc3\xa9"}', "\u00e9"),
    ]
    assert len(partition_key(b"this is {not json")) == 32


def test_partition_key_rules() -> None:
    assert partition_key(b'{"user_id":"u","customer_id":"c"}') == "u"
    assert partition_key(b'{"user_id":null,"customer_id":"c"}') == "c"
    assert partition_key(b'{"user_id":42}') == "42"
    assert partition_key(b"[1,2]") == partition_key(b"[1,2]") != "anonymous"
    assert partition_key(b"\xff\xfe") != partition_key(b"\xff\xfd")
    long_id = json.dumps({"user_id": "x" * 300}).encode()
    assert len(partition_key(long_id)) <= 256


def test_batches_split_at_500_records() -> None:
    fake = FakeKinesis()
    summary = replay(_lines(1234), stream_name="s", client=fake)
    assert [len(c) for c in fake.calls] == [500, 500, 234]
    assert summary.batches == 3 and summary.records == 1234


def test_batches_split_at_5_mib() -> None:
    # 300 KiB records: 17 fit in 5 MiB (data + keys), the 18th starts a new request.
    big = [json.dumps({"user_id": f"u{i}", "pad": "x" * 300_000}).encode() for i in range(40)]
    fake = FakeKinesis()
    summary = replay(big, stream_name="s", client=fake)
    sizes = [sum(len(r["Data"]) + len(r["PartitionKey"].encode()) for r in c) for c in fake.calls]
    assert all(s <= MAX_BATCH_BYTES for s in sizes)
    assert [len(c) for c in fake.calls] == [17, 17, 6]
    assert fake.accepted_data() == big and summary.records == 40


def test_partial_failures_retried_in_order(no_sleep: list[float]) -> None:
    lines = _lines(1200)
    flaky = {lines[3]: 2, lines[10]: 1, lines[499]: 3, lines[700]: 1, lines[701]: 2}
    fake = FakeKinesis(by_data(flaky, message="Rate exceeded for shard"))
    summary = replay(lines, stream_name="s", client=fake, base_backoff=0.0)

    assert sorted(fake.accepted_data()) == sorted(lines)  # nothing lost, nothing duplicated
    assert len(set(fake.accepted_data())) == len(lines)
    assert summary.records == 1200 and summary.failed_records == []
    assert summary.retried_records == 2 + 1 + 3 + 1 + 2
    # Requests: batch 1 = 1 + 3 retry rounds, batch 2 = 1 + 2, batch 3 = 1.
    assert summary.batches == 4 + 3 + 1
    assert len(no_sleep) == summary.batches - 3
    # Retries of one batch keep relative order and precede the next batch.
    first_retry = [r["Data"] for r in fake.calls[1]]
    assert first_retry == [lines[3], lines[10], lines[499]]
    assert fake.accepted_data().index(lines[499]) < fake.accepted_data().index(lines[500])
    assert fake.accepted_data()[:500] == [ln for ln in lines[:500] if ln not in flaky] + [
        lines[10],
        lines[3],
        lines[499],
    ]


def test_whole_call_throttling_retried() -> None:
    lines = _lines(30)
    fake = FakeKinesis(throttle_calls=2)
    summary = replay(lines, stream_name="s", client=fake, base_backoff=0.0)
    assert fake.accepted_data() == lines
    assert summary.batches == 3 and summary.retried_records == 60


def test_backoff_full_jitter_capped(no_sleep: list[float]) -> None:
    fake = FakeKinesis(throttle_calls=9)
    replay(_lines(5), stream_name="s", client=fake, base_backoff=0.5, max_backoff=2.0)
    assert len(no_sleep) == 9
    caps = [min(2.0, 0.5 * 2**i) for i in range(9)]
    assert all(0.0 <= s <= cap for s, cap in zip(no_sleep, caps, strict=True))


def test_always_failing_record_reported_not_dropped() -> None:
    lines = [b""] + _lines(20)  # line numbers are physical: blank line 1 is skipped
    fake = FakeKinesis(by_data({lines[5]: 1_000}, message="Rate exceeded for shard"))
    summary = replay(lines, stream_name="s", client=fake, max_attempts=4, base_backoff=0.0)
    assert len(fake.calls) == 4
    assert summary.records == 19
    assert summary.failed_records == [(6, THROTTLED, "Rate exceeded for shard")]
    assert lines[5] not in fake.accepted_data()
    assert "1 failed" in format_summary(summary) and "line 6" in format_summary(summary)


def test_throttled_calls_exhausted_reported() -> None:
    fake = FakeKinesis(throttle_calls=100)
    summary = replay(_lines(3), stream_name="s", client=fake, max_attempts=3, base_backoff=0.0)
    assert summary.records == 0 and len(fake.calls) == 3
    assert [(n, code) for n, code, _ in summary.failed_records] == [
        (1, THROTTLED),
        (2, THROTTLED),
        (3, THROTTLED),
    ]


def test_non_retryable_call_error_raises_with_summary() -> None:
    fake = FakeKinesis(throttle_calls=1, call_error="ResourceNotFoundException")
    with pytest.raises(ReplayError) as info:
        replay(_lines(3), stream_name="missing", client=fake)
    assert info.value.summary.records == 0 and len(fake.calls) == 1


def test_oversized_record_reported() -> None:
    huge = json.dumps({"user_id": "u1", "blob": "x" * MAX_RECORD_BYTES}).encode()
    lines = [*_lines(3), huge, *_lines(2, seed=8)]
    fake = FakeKinesis()
    summary = replay(lines, stream_name="s", client=fake)
    assert huge not in fake.accepted_data() and len(fake.accepted_data()) == 5
    assert [(n, code) for n, code, _ in summary.failed_records] == [(4, "RecordTooLarge")]
    assert summary.records == 5


def test_progress_bar_goes_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    replay(_lines(10), stream_name="s", client=FakeKinesis(), progress=True)
    captured = capsys.readouterr()
    assert captured.out == ""


# --- folders, pacing, shard limits, Ctrl-C, progress -------------------------------------------


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(replay_mod, "_clock", fake)
    monkeypatch.setattr(replay_mod, "_sleep", fake.sleep)
    return fake


class TimedKinesis(FakeKinesis):
    """FakeKinesis that notes the (fake) time of each PutRecords call."""

    def __init__(self, clock: FakeClock, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.clock = clock
        self.sent_at: dict[bytes, float] = {}

    def put_records(self, *, StreamName: str, Records: list[dict[str, Any]]) -> dict[str, Any]:
        for r in Records:
            self.sent_at.setdefault(r["Data"], self.clock())
        return super().put_records(StreamName=StreamName, Records=Records)


def _write(path: Path, lines: list[bytes]) -> None:
    data = b"".join(line + b"\n" for line in lines)
    path.write_bytes(gzip.compress(data, mtime=0) if path.name.endswith(".gz") else data)


def test_folder_input_in_name_order_with_file_names_in_failures(tmp_path: Path) -> None:
    lines = _lines(9)
    _write(tmp_path / "b.jsonl.gz", lines[3:6])
    _write(tmp_path / "a.jsonl", lines[:3])
    _write(tmp_path / "c.jsonl", lines[6:])
    _write(tmp_path / "notes.txt", [b"not an event"])
    (tmp_path / "sub").mkdir()
    _write(tmp_path / "sub" / "d.jsonl", [b'{"nested": true}'])
    fake = FakeKinesis(by_data({lines[4]: 1_000}, message="Rate exceeded for shard"))

    summary = replay(tmp_path, stream_name="s", client=fake, max_attempts=2, base_backoff=0.0)

    assert fake.accepted_data() == [ln for ln in lines if ln != lines[4]]
    assert summary.records == 8
    [failure] = summary.failed_records
    assert failure == (2, THROTTLED, "Rate exceeded for shard")
    assert isinstance(failure, replay_mod.FailedLine) and failure.file == "b.jsonl.gz"
    assert "b.jsonl.gz:2" in format_summary(summary)
    assert input_files(tmp_path) == [
        tmp_path / "a.jsonl",
        tmp_path / "b.jsonl.gz",
        tmp_path / "c.jsonl",
    ]


def test_folder_without_jsonl_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("a,b\n")
    with pytest.raises(FileNotFoundError, match="no \\*.jsonl"):
        replay(tmp_path, stream_name="s", client=FakeKinesis())


def test_fixed_rate(clock: FakeClock) -> None:
    lines = _lines(200)
    fake = TimedKinesis(clock)
    summary = replay(lines, stream_name="s", client=fake, rate=50.0)
    assert summary.records == 200
    assert summary.seconds == pytest.approx(199 / 50, abs=0.06)
    start = fake.sent_at[lines[0]]
    for i, line in enumerate(lines):
        due = start + i / 50
        # never later than due (the fake clock has no latency), at most the slack early
        assert due - replay_mod._PACING_SLACK - 1e-9 <= fake.sent_at[line] <= due + 1e-9
    # Records due within the slack share a request: 50 rec/s, 50 ms -> about 3 per request.
    assert 40 < len(fake.calls) < 120


def test_speedup_follows_event_time(clock: FakeClock) -> None:
    def at(second: float, n: int) -> bytes:
        ts = f"2025-07-16T10:00:{second:06.3f}Z"
        return json.dumps({"user_id": f"u{n}", "timestamp": ts}).encode()

    lines = [
        at(0, 0),
        at(10, 1),
        b'{"user_id":"u2","timestamp":"not a time"}',  # goes at once
        at(10, 3),
        at(5, 4),  # out of order: already due
        at(30, 5),
        b"garbage",
    ]
    fake = TimedKinesis(clock)
    summary = replay(lines, stream_name="s", client=fake, speedup=10.0)
    assert summary.records == 7
    start = fake.sent_at[lines[0]]
    offsets = [round(fake.sent_at[line] - start, 3) for line in lines]
    assert offsets == [0.0, 1.0, 1.0, 1.0, 1.0, 3.0, 3.0]
    assert [len(c) for c in fake.calls] == [1, 4, 2]


def test_event_time_parsing() -> None:
    assert replay_mod.event_time(b'{"timestamp":"2025-07-16T10:00:00Z"}') == 1752660000.0
    assert replay_mod.event_time(b'{"timestamp":"2025-07-16T12:00:00+02:00"}') == 1752660000.0
    assert replay_mod.event_time(b'{"timestamp":"2025-07-16T10:00:00"}') == 1752660000.0
    assert replay_mod.event_time(b'{"timestamp":1752660000}') == 1752660000.0
    assert replay_mod.event_time(b'{"timestamp":1752660000500}') == 1752660000.5
    for bad in (b'{"timestamp":"soon"}', b'{"timestamp":true}', b"[1]", b"{", b"{}"):
        assert replay_mod.event_time(bad) is None


def test_pace_options_are_checked() -> None:
    with pytest.raises(ValueError, match="one of"):
        replay([], stream_name="s", client=FakeKinesis(), rate=1, speedup=2)
    with pytest.raises(ValueError, match="rate"):
        replay([], stream_name="s", client=FakeKinesis(), rate=0)
    with pytest.raises(ValueError, match="speedup"):
        replay([], stream_name="s", client=FakeKinesis(), speedup=-1)


@mock_aws
def test_per_shard_limits_kept_against_moto(clock: FakeClock) -> None:
    client = boto3.client("kinesis", region_name="us-east-1")
    client.create_stream(StreamName="one", ShardCount=1)
    lines = [json.dumps({"user_id": f"u{i % 50}", "n": i}).encode() for i in range(2500)]

    summary = replay(lines, stream_name="one", client=client)

    # 1,000 records/s on one shard: the 5 requests of 500 go at 0, 0.5, 1.0, 1.5, 2.0 s.
    assert summary.records == 2500 and summary.shards == 1
    assert summary.shard_wait_seconds == pytest.approx(2.0)
    assert summary.seconds == pytest.approx(2.0)
    assert "per-shard limits (1 shards)" in format_summary(summary)
    unguarded = replay(lines, stream_name="one", client=client, shard_limits=False)
    assert unguarded.shard_wait_seconds == 0.0 and unguarded.shards is None


@mock_aws
def test_per_shard_limits_count_bytes(clock: FakeClock) -> None:
    client = boto3.client("kinesis", region_name="us-east-1")
    client.create_stream(StreamName="two", ShardCount=2)
    # 12 records of ~512 KiB for one user, so one shard at 1 MiB/s: the first request takes
    # 10 (5 MiB), the second must wait until those 10 are paid for.
    lines = [
        json.dumps({"user_id": "u1", "pad": "x" * 524_000, "n": i}).encode() for i in range(12)
    ]
    summary = replay(lines, stream_name="two", client=client)
    assert summary.records == 12 and summary.shards == 2 and summary.batches == 2
    first_request = sum(len(line) + len("u1") for line in lines[:10])
    assert summary.shard_wait_seconds == pytest.approx(first_request / 1024**2)


class InterruptingKinesis(FakeKinesis):
    """Sends SIGINT to this process during the chosen PutRecords calls (1-based)."""

    def __init__(self, interrupt_calls: set[int], times: int = 1) -> None:
        super().__init__()
        self.interrupt_calls = interrupt_calls
        self.times = times

    def put_records(self, *, StreamName: str, Records: list[dict[str, Any]]) -> dict[str, Any]:
        if len(self.calls) + 1 in self.interrupt_calls:
            for _ in range(self.times):
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.05)  # let the handler run, as during a slow request
        return super().put_records(StreamName=StreamName, Records=Records)


def test_ctrl_c_during_a_request_finishes_it_then_stops() -> None:
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    fake = InterruptingKinesis({2})
    with pytest.raises(replay_mod.ReplayInterrupted) as info:
        replay(_lines(2000), stream_name="s", client=fake)
    summary = info.value.summary
    assert isinstance(info.value, KeyboardInterrupt)
    assert summary.interrupted and summary.in_doubt == 0
    assert summary.records == len(fake.accepted_data()) == 1000  # the request in flight counted
    assert len(fake.calls) == 2  # nothing further
    assert "Interrupted" in format_summary(summary)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored


def test_second_ctrl_c_abandons_the_request_in_doubt() -> None:
    fake = InterruptingKinesis({2}, times=2)
    with pytest.raises(replay_mod.ReplayInterrupted) as info:
        replay(_lines(1500), stream_name="s", client=fake)
    summary = info.value.summary
    assert summary.records == 500 and summary.in_doubt == 500
    assert "may or may not have landed" in format_summary(summary)


def test_ctrl_c_while_pacing_sends_nothing_further(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits = 0

    def sleep(seconds: float) -> None:
        nonlocal waits
        waits += 1
        if waits == 5:
            raise KeyboardInterrupt
        clock.sleep(seconds)

    monkeypatch.setattr(replay_mod, "_sleep", sleep)
    fake = FakeKinesis()
    with pytest.raises(replay_mod.ReplayInterrupted) as info:
        replay(_lines(100), stream_name="s", client=fake, rate=10.0)
    # Records 0..4 went out, each when due (before the wait for the next); Ctrl-C during the
    # fifth wait: nothing after it is sent.
    summary = info.value.summary
    assert summary.interrupted and summary.records == len(fake.accepted_data()) == 5
    assert len(fake.calls) == 5 and summary.failed_records == []


def test_progress_bar_shows_records_rate_and_eta(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "events.jsonl.gz"
    write_jsonl(generate_events(50), path)
    replay(path, stream_name="s", client=FakeKinesis(), progress=True)
    err = capsys.readouterr().err
    assert "50 records" in err and "rec/s" in err and "ETA" in err and "100%" in err


# --- kinesis-mock -----------------------------------------------------------------------------


@pytest.fixture
def two_shard_stream(stack: StackInfo) -> Iterator[str]:
    name = f"replay-{uuid.uuid4().hex[:8]}"
    client = kinesis_client(
        stack.kinesis_endpoint, stack.region, stack.access_key, stack.secret_key
    )
    try:
        create_active_stream(client, name, shards=2)
        yield name
    finally:
        client.close()


@pytest.mark.stack
def test_kinesis_mock_sample_replay(stack: StackInfo, two_shard_stream: str) -> None:
    client = stack_client(stack)
    try:
        summary = replay(paths.SAMPLE_EVENTS, stream_name=two_shard_stream, client=client)
        got = read_stream(client, two_shard_stream)
    finally:
        client.close()
    sent = gzip.decompress(paths.SAMPLE_EVENTS.read_bytes()).splitlines()
    assert summary.records == 5000 and summary.failed_records == [] and summary.shards == 2
    assert sorted(r["Data"] for r in got) == sorted(sent)
    print(format_summary(summary))


@pytest.mark.stack
def test_kinesis_mock_injected_failures(stack: StackInfo, two_shard_stream: str) -> None:
    lines = _lines(1200)
    with FaultProxy(stack.kinesis_endpoint) as proxy:
        proxy.fail_times = {lines[3]: 2, lines[600]: 1, lines[1199]: 1, lines[42]: -1}
        proxy.throttle_calls = 1
        client = stack_client(stack, proxy.url)
        try:
            summary = replay(
                lines,
                stream_name=two_shard_stream,
                client=client,
                base_backoff=0.0,
                max_attempts=5,
            )
        finally:
            client.close()
    assert summary.records == 1199
    assert summary.failed_records == [(43, THROTTLED, "Rate exceeded for shard (injected)")]
    reader = stack_client(stack)
    try:
        got = [r["Data"] for r in read_stream(reader, two_shard_stream)]
    finally:
        reader.close()
    assert lines[42] not in got
    assert sorted(got) == sorted(ln for i, ln in enumerate(lines) if i != 42)  # once each


