"""Kinesis' limits (PutRecords batch and record sizes, per-shard write budget) and which
failures are worth retrying, with the backoff between attempts."""


from __future__ import annotations

import random

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    ReadTimeoutError,
)

MAX_BATCH_RECORDS = 500  # records per PutRecords request
MAX_BATCH_BYTES = 5 * 1024 * 1024  # per request, data + partition keys
MAX_RECORD_BYTES = 1024 * 1024  # per record; we count data + partition key (conservative)
SHARD_RECORDS_PER_SECOND = 1000.0  # write limit per shard
SHARD_BYTES_PER_SECOND = 1024.0 * 1024.0  # write limit per shard (data + partition keys)

# Whole-call errors worth retrying; anything else (missing stream, bad credentials, ...)
# is a configuration problem and is raised.
RETRYABLE_CALL_ERRORS = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "LimitExceededException",
        "KMSThrottlingException",
        "InternalFailure",
        "InternalFailureException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)
# No response or a dropped connection: the request may or may not have been applied, so a
# retry can duplicate records (Kinesis is at-least-once anyway).
RETRYABLE_TRANSPORT_ERRORS: tuple[type[Exception], ...] = (
    EndpointConnectionError,
    ConnectionClosedError,
    ReadTimeoutError,
)


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "ClientError"))
    return type(exc).__name__


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Full jitter: uniform(0, min(cap, base * 2**(attempt - 1)))."""
    return rng.uniform(0, min(cap, base * (2 ** (attempt - 1))))
