"""ecomflow.replay against moto's in-process Kinesis and against recording fake clients."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from ecomflow import replay as replay_mod
from ecomflow.generate import dumps, generate_events, write_jsonl
from ecomflow.replay import (
    MAX_BATCH_BYTES,
    MAX_RECORD_BYTES,
    ReplayError,
    format_summary,
    kinesis_client,
    partition_key,
    replay,
)

THROTTLED = "ProvisionedThroughputExceededException"


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    sleeps: list[float] = []
    monkeypatch.setattr(replay_mod, "_sleep", sleeps.append)
    return sleeps


class FakeKinesis:
    """Records every PutRecords call; fails chosen payloads a number of times."""

    def __init__(
        self,
        fail_times: dict[bytes, int] | None = None,
        throttle_calls: int = 0,
        call_error: str = THROTTLED,
    ) -> None:
        self.fail_times = dict(fail_times or {})
        self.throttle_calls = throttle_calls
        self.call_error = call_error
        self.calls: list[list[dict[str, Any]]] = []
        self.accepted: list[bytes] = []

    def put_records(self, *, StreamName: str, Records: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append(Records)
        if self.throttle_calls > 0:
            self.throttle_calls -= 1
            raise ClientError(
                {"Error": {"Code": self.call_error, "Message": "slow down"}}, "PutRecords"
            )
        results = []
        for r in Records:
            if self.fail_times.get(r["Data"], 0) > 0:
                self.fail_times[r["Data"]] -= 1
                results.append({"ErrorCode": THROTTLED, "ErrorMessage": "Rate exceeded for shard"})
            else:
                self.accepted.append(r["Data"])
                results.append({"SequenceNumber": str(len(self.accepted)), "ShardId": "s-0"})
        failed = sum("ErrorCode" in r for r in results)
        return {"FailedRecordCount": failed, "Records": results}


def _lines(n: int, seed: int = 7) -> list[bytes]:
    return [dumps(e).encode() for e in generate_events(n, seed=seed)]


def _read_stream(client: Any, stream: str) -> list[dict[str, Any]]:
    out = []
    for shard in client.list_shards(StreamName=stream)["Shards"]:
        it = client.get_shard_iterator(
            StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while it:
            resp = client.get_records(ShardIterator=it, Limit=10_000)
            if not resp["Records"]:
                break
            out.extend(resp["Records"])
            it = resp.get("NextShardIterator")
    return out


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
    got = _read_stream(client, "events")
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
    got = _read_stream(client, "raw")
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
    assert fake.accepted == big and summary.records == 40


def test_partial_failures_retried_in_order(no_sleep: list[float]) -> None:
    lines = _lines(1200)
    flaky = {lines[3]: 2, lines[10]: 1, lines[499]: 3, lines[700]: 1, lines[701]: 2}
    fake = FakeKinesis(fail_times=flaky)
    summary = replay(lines, stream_name="s", client=fake, base_backoff=0.0)

    assert sorted(fake.accepted) == sorted(lines)  # nothing lost, nothing duplicated
    assert len(set(fake.accepted)) == len(lines)
    assert summary.records == 1200 and summary.failed_records == []
    assert summary.retried_records == 2 + 1 + 3 + 1 + 2
    # Requests: batch 1 = 1 + 3 retry rounds, batch 2 = 1 + 2, batch 3 = 1.
    assert summary.batches == 4 + 3 + 1
    assert len(no_sleep) == summary.batches - 3
    # Retries of one batch keep relative order and precede the next batch.
    first_retry = [r["Data"] for r in fake.calls[1]]
    assert first_retry == [lines[3], lines[10], lines[499]]
    assert fake.accepted.index(lines[499]) < fake.accepted.index(lines[500])
    assert fake.accepted[:500] == [ln for ln in lines[:500] if ln not in flaky] + [
        lines[10],
        lines[3],
        lines[499],
    ]


def test_whole_call_throttling_retried() -> None:
    lines = _lines(30)
    fake = FakeKinesis(throttle_calls=2)
    summary = replay(lines, stream_name="s", client=fake, base_backoff=0.0)
    assert fake.accepted == lines
    assert summary.batches == 3 and summary.retried_records == 60


def test_backoff_full_jitter_capped(no_sleep: list[float]) -> None:
    fake = FakeKinesis(throttle_calls=9)
    replay(_lines(5), stream_name="s", client=fake, base_backoff=0.5, max_backoff=2.0)
    assert len(no_sleep) == 9
    caps = [min(2.0, 0.5 * 2**i) for i in range(9)]
    assert all(0.0 <= s <= cap for s, cap in zip(no_sleep, caps, strict=True))


def test_always_failing_record_reported_not_dropped() -> None:
    lines = [b""] + _lines(20)  # line numbers are physical: blank line 1 is skipped
    fake = FakeKinesis(fail_times={lines[5]: 1_000})
    summary = replay(lines, stream_name="s", client=fake, max_attempts=4, base_backoff=0.0)
    assert len(fake.calls) == 4
    assert summary.records == 19
    assert summary.failed_records == [(6, THROTTLED, "Rate exceeded for shard")]
    assert lines[5] not in fake.accepted
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
    assert huge not in fake.accepted and len(fake.accepted) == 5
    assert [(n, code) for n, code, _ in summary.failed_records] == [(4, "RecordTooLarge")]
    assert summary.records == 5


def test_progress_bar_goes_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    replay(_lines(10), stream_name="s", client=FakeKinesis(), progress=True)
    captured = capsys.readouterr()
    assert captured.out == ""
