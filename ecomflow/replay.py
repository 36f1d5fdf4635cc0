"""Replay JSONL(.gz) events onto a Kinesis stream with PutRecords, byte for byte.

Each non-blank line is sent unchanged as one record's Data (the line ending is not part of
the payload), so the Flink job sees exactly what the producer wrote, malformed lines
included. Batches respect the PutRecords limits; throttled records are retried with
full-jitter exponential backoff, in order, before the next batch is sent.

Ordering caveat: Kinesis applies a batch's successful records even when others in the same
request fail, so a retried record lands on its shard after records that followed it in the
batch. Retries therefore add out-of-orderness of up to one batch's span of event time.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    ReadTimeoutError,
)

MAX_BATCH_RECORDS = 500
MAX_BATCH_BYTES = 5 * 1024 * 1024  # per request, data + partition keys
MAX_RECORD_BYTES = 1024 * 1024  # per record; we count data + partition key (conservative)
MAX_PARTITION_KEY_CHARS = 256

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
_RETRYABLE_TRANSPORT_ERRORS = (EndpointConnectionError, ConnectionClosedError, ReadTimeoutError)

# Module-level indirection so tests can replace the sleep without touching time.sleep.
_sleep = time.sleep


@dataclass(frozen=True)
class ReplaySummary:
    """What a replay did.

    records/bytes count records Kinesis accepted (bytes = Data only); batches counts
    PutRecords requests including retries; retried_records counts record re-sends;
    failed_records lists (line_no, error_code, message) for lines never accepted.
    """

    records: int
    bytes: int
    batches: int
    retried_records: int
    failed_records: list[tuple[int, str, str]] = field(default_factory=list)
    seconds: float = 0.0
    records_per_second: float = 0.0


class ReplayError(RuntimeError):
    """A non-retryable PutRecords failure; ``summary`` covers what was done before it."""

    def __init__(self, message: str, summary: ReplaySummary) -> None:
        super().__init__(message)
        self.summary = summary


@dataclass
class _Entry:
    line_no: int
    data: bytes
    partition_key: str

    @property
    def size(self) -> int:
        return len(self.data) + len(self.partition_key.encode("utf-8"))


def _hash_key(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


def partition_key(data: bytes) -> str:
    """``user_id``, else ``customer_id``, else "anonymous"; a hash of the line if not JSON.

    Keying by user keeps a user's events on one shard (per-shard order), which the
    session-level logic downstream relies on.
    """
    try:
        obj = json.loads(data)
    except ValueError:  # includes UnicodeDecodeError
        return _hash_key(data)
    if not isinstance(obj, dict):
        return _hash_key(data)
    for name in ("user_id", "customer_id"):
        value = obj.get(name)
        if value is None or value == "":
            continue
        key = value if isinstance(value, str) else json.dumps(value)
        # Kinesis limits keys to 1..256 Unicode chars; a hash still groups equal ids.
        return key if len(key) <= MAX_PARTITION_KEY_CHARS else _hash_key(key.encode("utf-8"))
    return "anonymous"


def _iter_lines(path_or_lines: str | Path | Iterable[str | bytes]) -> Iterator[tuple[int, bytes]]:
    """(1-based physical line number, line without its line ending), blank lines skipped."""
    if isinstance(path_or_lines, str | Path):
        path = Path(path_or_lines)
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rb") as fh:
            yield from _numbered(fh)
    else:
        yield from _numbered(
            line.encode("utf-8") if isinstance(line, str) else line for line in path_or_lines
        )


def _numbered(lines: Iterable[bytes]) -> Iterator[tuple[int, bytes]]:
    for line_no, line in enumerate(lines, start=1):
        if line.endswith(b"\n"):
            line = line[:-1]
            if line.endswith(b"\r"):
                line = line[:-1]
        if line.strip():
            yield line_no, line


def _batches(entries: Iterable[_Entry], max_records: int, max_bytes: int) -> Iterator[list[_Entry]]:
    batch: list[_Entry] = []
    size = 0
    for entry in entries:
        if batch and (len(batch) >= max_records or size + entry.size > max_bytes):
            yield batch
            batch, size = [], 0
        batch.append(entry)
        size += entry.size
    if batch:
        yield batch


def _error_code(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "ClientError"))
    return type(exc).__name__


def _backoff(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Full jitter: uniform(0, min(cap, base * 2**(attempt - 1)))."""
    return rng.uniform(0, min(cap, base * (2 ** (attempt - 1))))


def replay(
    path_or_lines: str | Path | Iterable[str | bytes],
    *,
    stream_name: str,
    client: Any,
    max_attempts: int = 10,
    base_backoff: float = 0.1,
    max_backoff: float = 5.0,
    progress: bool = False,
    max_batch_records: int = MAX_BATCH_RECORDS,
) -> ReplaySummary:
    """Put every non-blank line of a JSONL(.gz) file (or an iterable of lines) on a stream.

    Lines are read lazily. Records over 1 MiB are not sent and are reported as
    "RecordTooLarge". Failed records (per-record ErrorCode or a throttled whole call) are
    re-sent in their original relative order, up to ``max_attempts`` sends per record;
    what still fails is reported in ``failed_records``. Non-retryable call errors raise
    ``ReplayError``. ``max_batch_records`` (<= 500) caps records per request.
    """
    if max_attempts < 1:
        raise ValueError("max_attempts must be >= 1")
    if not 1 <= max_batch_records <= MAX_BATCH_RECORDS:
        raise ValueError(f"max_batch_records must be in 1..{MAX_BATCH_RECORDS}")
    rng = random.Random()  # jitter only; determinism is not wanted here
    started = time.monotonic()
    records = sent_bytes = batches = retried = 0
    failed: list[tuple[int, str, str]] = []

    def summary() -> ReplaySummary:
        seconds = time.monotonic() - started
        return ReplaySummary(
            records=records,
            bytes=sent_bytes,
            batches=batches,
            retried_records=retried,
            failed_records=list(failed),
            seconds=seconds,
            records_per_second=records / seconds if seconds > 0 else 0.0,
        )

    def entries() -> Iterator[_Entry]:
        for line_no, data in _iter_lines(path_or_lines):
            entry = _Entry(line_no, data, partition_key(data))
            if entry.size > MAX_RECORD_BYTES:
                failed.append(
                    (
                        line_no,
                        "RecordTooLarge",
                        f"{entry.size} bytes (data + partition key) > {MAX_RECORD_BYTES}",
                    )
                )
                continue
            yield entry

    bar = None
    if progress:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        bar = Progress(
            SpinnerColumn(),
            TextColumn("[bold]replay[/] {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:.0f} rec/s"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        bar.start()
        task = bar.add_task(stream_name, total=None, rate=0.0)

    try:
        for batch in _batches(entries(), max_batch_records, MAX_BATCH_BYTES):
            pending = batch
            attempt = 0
            while pending:
                attempt += 1
                if attempt > 1:
                    retried += len(pending)
                    _sleep(_backoff(attempt - 1, base_backoff, max_backoff, rng))
                batches += 1
                try:
                    response = client.put_records(
                        StreamName=stream_name,
                        Records=[
                            {"Data": e.data, "PartitionKey": e.partition_key} for e in pending
                        ],
                    )
                except (ClientError, *_RETRYABLE_TRANSPORT_ERRORS) as exc:
                    code = _error_code(exc)
                    retryable = not isinstance(exc, ClientError) or code in RETRYABLE_CALL_ERRORS
                    if not retryable:
                        raise ReplayError(
                            f"PutRecords to {stream_name!r} failed: {exc}", summary()
                        ) from exc
                    if attempt >= max_attempts:
                        failed.extend((e.line_no, code, str(exc)) for e in pending)
                        pending = []
                    continue
                still: list[_Entry] = []
                # Results are positional: result i belongs to pending[i].
                for entry, result in zip(pending, response["Records"], strict=True):
                    code = result.get("ErrorCode")
                    if not code:
                        records += 1
                        sent_bytes += len(entry.data)
                    elif attempt >= max_attempts:
                        failed.append((entry.line_no, code, result.get("ErrorMessage", "")))
                    else:
                        still.append(entry)
                pending = still
            if bar is not None:
                elapsed = time.monotonic() - started
                bar.update(
                    task,
                    completed=records,
                    rate=records / elapsed if elapsed > 0 else 0.0,
                )
    finally:
        if bar is not None:
            bar.stop()
    failed.sort(key=lambda f: f[0])  # RecordTooLarge entries are found ahead of sends
    return summary()


def format_summary(summary: ReplaySummary) -> str:
    """One short paragraph for the CLI."""
    text = (
        f"Replayed {summary.records:,} records ({summary.bytes:,} bytes) in "
        f"{summary.batches:,} PutRecords batches; {summary.retried_records:,} record retries, "
        f"{len(summary.failed_records):,} failed; {summary.seconds:.1f} s "
        f"({summary.records_per_second:,.0f} records/s)."
    )
    if summary.failed_records:
        shown = ", ".join(f"line {n} {code}" for n, code, _ in summary.failed_records[:3])
        more = len(summary.failed_records) - 3
        text += f" Failed: {shown}" + (f" and {more} more." if more > 0 else ".")
    return text


def kinesis_client(
    endpoint_url: str | None,
    region: str,
    access_key: str | None = None,
    secret_key: str | None = None,
) -> Any:
    """A boto3 Kinesis client whose own retries are off, so ``replay``'s loop handles
    throttling (and counts it); timeouts are short enough to notice a dead endpoint."""
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


__all__ = [
    "MAX_BATCH_BYTES",
    "MAX_BATCH_RECORDS",
    "MAX_RECORD_BYTES",
    "ReplayError",
    "ReplaySummary",
    "format_summary",
    "kinesis_client",
    "partition_key",
    "replay",
]
