"""Streams in tests: create one and wait until it is ACTIVE; read every record back."""

from __future__ import annotations

import time
from typing import Any


def read_stream(client: Any, stream: str) -> list[dict[str, Any]]:
    """Every record of every shard, each shard in sequence order."""
    out: list[dict[str, Any]] = []
    for shard in client.list_shards(StreamName=stream)["Shards"]:
        iterator = client.get_shard_iterator(
            StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            response = client.get_records(ShardIterator=iterator, Limit=10_000)
            out.extend(response["Records"])
            if not response["Records"] and not response.get("MillisBehindLatest"):
                break
            iterator = response.get("NextShardIterator")
    return out


def create_active_stream(client: Any, name: str, shards: int = 2) -> None:
    """Create `name` (or reuse it if it exists) and wait, at most 30 s, until it is ACTIVE."""
    try:
        client.create_stream(StreamName=name, ShardCount=shards)
    except client.exceptions.ResourceInUseException:
        pass
    deadline = time.monotonic() + 30
    while (
        client.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamStatus"]
        != "ACTIVE"
    ):
        assert time.monotonic() < deadline, "stream did not become ACTIVE"
        time.sleep(0.1)
