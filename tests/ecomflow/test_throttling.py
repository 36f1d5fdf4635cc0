"""Replay under throttling: a 1-shard stream on the real kinesis-mock, far more data than the
shard takes per second, and every line accepted in the end, exactly once.

kinesis-mock never throttles: its PutRecords reports no per-record error other than
``InvalidArgumentException`` for an oversized record, whatever the rate (its source,
``PutRecordsRequest.processEntries``; measured on one shard: 1,800 records accepted within
one second, and 16 MB in 9.5 s, without a single error). So the shard's write limits are
applied by ``ShardThrottle``, a loopback proxy in front of kinesis-mock that keeps Kinesis'
budget per shard (1,000 records/s and 1 MiB/s of data + partition keys, one second of burst)
and answers the records beyond it with a per-record ``ProvisionedThroughputExceededException``,
as Kinesis does. The records within budget go on to kinesis-mock unchanged; throttled ones
never reach it. The stream is read back from kinesis-mock directly.

What replay promises about order (ecomflow/ingest/replay.py): a batch is finished, retries
included, before the next one is sent; within a batch a retried record lands after the
records of its batch that were accepted before it (out of order by at most one batch).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ecomflow.cli import main as cli_main
from ecomflow.ingest.replay import format_summary, partition_key, replay
from ecomflow.kinesis.records import Record, batches
from ecomflow.local.stack import StackInfo
from ecomflow.synth.encoding import dumps
from ecomflow.synth.generate import generate_events
from tests.kinesis_reader import create_active_stream, read_stream, stack_client
from tests.support.fault_proxy import ShardThrottle

THROTTLED = "ProvisionedThroughputExceededException"


# --- fixtures and helpers -----------------------------------------------------------------------


@pytest.fixture
def one_shard_stream(stack: StackInfo) -> Iterator[str]:
    name = f"throttle-{uuid.uuid4().hex[:8]}"
    client = stack_client(stack)
    try:
        create_active_stream(client, name, shards=1)
        yield name
    finally:
        client.close()


def _eid(data: bytes) -> str:
    return json.loads(data)["event_id"]


def _large(n: int, size: int) -> bytes:
    """An event-shaped line of about ``size`` bytes with a unique event_id."""
    event = {
        "event_id": f"large-{n:04d}",
        "event_type": "page_view",
        "timestamp": "2025-07-16T10:30:00.000Z",
        "user_id": f"user_{n:05d}",
        "page_url": "/big",
        "pad": "",
    }
    pad = size - len(dumps(event))
    return dumps({**event, "pad": "x" * pad}).encode()


def _stream_ids(stack: StackInfo, stream: str) -> list[dict[str, Any]]:
    reader = stack_client(stack)
    try:
        return read_stream(reader, stream)
    finally:
        reader.close()


def _assert_each_line_once(got: list[dict[str, Any]], lines: list[bytes]) -> None:
    ids = [_eid(r["Data"]) for r in got]
    assert len(ids) == len(set(ids)), "a line landed twice"
    assert sorted(r["Data"] for r in got) == sorted(lines)  # every line, byte for byte
    for record in got:
        assert record["PartitionKey"] == partition_key(record["Data"])


# --- tests --------------------------------------------------------------------------------------


@pytest.mark.stack
@pytest.mark.long
def test_replay_far_above_one_shards_limits(stack: StackInfo, one_shard_stream: str) -> None:
    """3,000 small events as fast as possible, and 12 lines of 400 KiB (4.7 MiB) sent in one
    request to a shard that takes 1 MiB/s: Kinesis' budget throttles most of that request, so
    retries are certain. Every line lands exactly once, the summary counts the retries the
    shard caused, and the order is the one replay promises."""
    small = [dumps(e).encode() for e in generate_events(3000, seed=23)]
    large = [_large(n, 400 * 1024) for n in range(12)]
    # Large lines open the 4th batch, followed in it by small ones: when the large ones are
    # throttled, those small ones are accepted before them (the documented caveat).
    lines = small[:1500] + large + small[1500:]
    assert len({_eid(line) for line in lines}) == len(lines)
    position = {_eid(line): i for i, line in enumerate(lines)}
    large_ids = [_eid(line) for line in large]

    with ShardThrottle(stack.kinesis_endpoint, stack) as shard:
        client = stack_client(stack, shard.url)
        try:
            summary = replay(lines, stream_name=one_shard_stream, client=client)
        finally:
            client.close()
    print(format_summary(summary), f"[{shard.throttled} records throttled by the shard]")

    # Every line accepted in the end, none twice, the retries reported.
    got = _stream_ids(stack, one_shard_stream)
    _assert_each_line_once(got, lines)
    assert summary.failed_records == []
    assert summary.records == len(lines) and summary.shards == 1
    assert summary.bytes == sum(len(line) for line in lines)
    assert shard.throttled >= 12 - 2  # a 1 MiB burst holds two of the 400 KiB lines
    assert summary.retried_records == shard.throttled > 0
    assert summary.batches == shard.put_calls == len(shard.log)
    assert f"{summary.retried_records:,} record retries, 0 failed" in format_summary(summary)

    # Order. Requests are sequential, so the stream holds each request's accepted entries in
    # request order, and a retry re-sends its records in their original relative order.
    accepted_in: dict[str, int] = {}
    first_sent_in: dict[str, int] = {}
    for request_no, entries in enumerate(shard.log):
        for data, ok in entries:
            first_sent_in.setdefault(_eid(data), request_no)
            if ok:
                assert _eid(data) not in accepted_in
                accepted_in[_eid(data)] = request_no
    on_stream = [_eid(r["Data"]) for r in got]  # one shard: sequence order
    assert on_stream == sorted(on_stream, key=lambda eid: (accepted_in[eid], position[eid]))
    # A batch is finished before the next starts: along the stream, the request that first
    # carried each line never goes back.
    first = [first_sent_in[eid] for eid in on_stream]
    assert first == sorted(first)
    # Those first requests are exactly replay's batches (500 records / 5 MiB).
    expected = batches(Record(line, partition_key(line)) for line in lines)
    carried_by = [{first_sent_in[_eid(r.data)] for r in batch} for batch in expected]
    assert all(len(requests) == 1 for requests in carried_by)
    assert len(carried_by) == len({*first_sent_in.values()}) == 7
    # And the caveat is real: small lines of the large lines' batch landed before them.
    landed = {eid: i for i, eid in enumerate(on_stream)}
    overtaken = {
        eid
        for eid in on_stream
        if any(landed[eid] < landed[big] and position[eid] > position[big] for big in large_ids)
    }
    assert overtaken
    assert {first_sent_in[eid] for eid in overtaken} == {first_sent_in[large_ids[0]]}
    print(f"{len(overtaken)} lines overtook a throttled large line of their batch")


@pytest.mark.stack
@pytest.mark.long
def test_replay_command_on_a_shared_shard(
    stack: StackInfo,
    one_shard_stream: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`ecomflow replay` on a shard that other writers already use at 700 records/s: its own
    pacing (1,000 records/s per shard) is too fast for what is left, every request of 500
    is partly throttled, and the command still puts every line exactly once and prints the
    retries."""
    lines = [dumps(e).encode() for e in generate_events(2000, seed=29)]
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    monkeypatch.setenv("ECOMFLOW_HOME", str(tmp_path / "no-stack"))  # only --endpoint counts
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", stack.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", stack.secret_key)

    with ShardThrottle(stack.kinesis_endpoint, stack, records_per_second=300.0) as shard:
        result = CliRunner().invoke(
            cli_main,
            [
                "replay",
                str(path),
                "--stream",
                one_shard_stream,
                "--endpoint",
                shard.url,
                "--region",
                stack.region,
            ],
        )
    print(result.output, f"[{shard.throttled} records throttled by the shard]")
    assert result.exit_code == 0, result.output

    got = _stream_ids(stack, one_shard_stream)
    _assert_each_line_once(got, lines)
    assert shard.throttled > 0  # a request of 500 cannot fit a 300-record burst
    match = re.search(
        r"Replayed ([\d,]+) records .* in ([\d,]+) PutRecords batches; ([\d,]+) record "
        r"retries, ([\d,]+) failed",
        result.output,
    )
    assert match, result.output
    replayed, requests, retries, failed = (int(g.replace(",", "")) for g in match.groups())
    assert (replayed, failed) == (len(lines), 0)
    assert retries == shard.throttled
    assert requests == shard.put_calls
