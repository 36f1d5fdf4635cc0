"""A boto3 Kinesis client for AWS or a local endpoint (kinesis-mock)."""


from __future__ import annotations

from typing import Any


def kinesis_client(
    endpoint_url: str | None,
    region: str | None,
    access_key: str | None = None,
    secret_key: str | None = None,
) -> Any:
    """A boto3 Kinesis client whose own retries are off, so the sender's loop handles
    throttling (and counts it); timeouts are short enough to notice a dead endpoint."""
    import boto3
    from botocore.config import Config

    config = Config(
        region_name=region,
        retries={"max_attempts": 0, "mode": "standard"},
        connect_timeout=5,
        read_timeout=30,
    )
    return boto3.client(
        "kinesis",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        config=config,
    )
