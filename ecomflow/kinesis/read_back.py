"""Reading a stream back from its start: what tests and benchmarks check a run against."""

from __future__ import annotations

from typing import Any


def read_stream(client: Any, stream: str) -> list[dict[str, Any]]:
    """Every record of every shard from TRIM_HORIZON, each shard in sequence order."""
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
