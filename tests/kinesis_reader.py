"""Streams in tests: create one and wait until it is ACTIVE, a client on the stack (reading
back: ecomflow.kinesis.read_back.read_stream, re-exported here)."""

from __future__ import annotations

import time
from typing import Any

from ecomflow.kinesis.client import kinesis_client
from ecomflow.kinesis.read_back import read_stream
from ecomflow.local.stack import StackInfo

__all__ = ["create_active_stream", "read_stream", "stack_client"]


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


def stack_client(stack: StackInfo, endpoint: str | None = None) -> Any:
    """A Kinesis client on the stack's kinesis-mock (or on `endpoint`, a proxy in front of it)."""
    return kinesis_client(
        endpoint or stack.kinesis_endpoint, stack.region, stack.access_key, stack.secret_key
    )
