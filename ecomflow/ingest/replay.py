"""Replay JSONL(.gz) events onto a Kinesis stream with PutRecords, byte for byte.

Each non-blank line is sent unchanged as one record's Data (the line ending is not part of
the payload), so the Flink job sees exactly what the producer wrote, malformed lines
included: replay never validates or re-serialises. The input is a file, a folder (every
``*.jsonl`` and ``*.jsonl.gz`` in it, in name order) or an iterable of lines, read by
``ecomflow.ingest.jsonl_input``.

Pace: as fast as possible (default), ``rate`` records per second, or event time scaled by
``speedup`` (the gaps between the events' ``timestamp`` values divided by X). Either way the
per-shard write limits (1,000 records/s and 1 MiB/s per shard, shards from ListShards) are
kept by waiting before a request (``ecomflow.kinesis.pacing.ShardRateGuard``), and throttling that
still happens is retried with backoff. The PutRecords loop itself (batches within the
limits, failed records re-sent with full-jitter exponential backoff, in order, before the
next batch) is ``ecomflow.kinesis.sender.PutRecordsSender``: one implementation for replay and
the Producer SDK.

Ctrl-C: a request already in flight is finished (its results are counted), nothing further
is sent, and ``ReplayInterrupted`` (a KeyboardInterrupt) carries the summary of what was.

Ordering caveat: Kinesis applies a batch's successful records even when others in the same
request fail, so a retried record lands on its shard after records that followed it in the
batch. Retries therefore add out-of-orderness of up to one batch's span of event time.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ecomflow.errors import EcomflowError
from ecomflow.ingest.jsonl_input import InputLines
from ecomflow.kinesis.keys import key_for_bytes
from ecomflow.kinesis.limits import MAX_BATCH_BYTES, MAX_BATCH_RECORDS, MAX_RECORD_BYTES
from ecomflow.kinesis.pacing import ShardRateGuard, SigintDeferral
from ecomflow.kinesis.records import BatchOutcome, PutRecordsError, Record, SendInterrupted
from ecomflow.kinesis.sender import PutRecordsSender

# Module-level indirection so tests can replace the sleep and the clock without touching
# the time module.
_sleep = time.sleep
_clock = time.monotonic

# A paced record may leave up to this much before it is due, to share a request with the
# records before it (the schedule is absolute, so the average rate is unaffected).
_PACING_SLACK = 0.05


class FailedLine(tuple):
    """(line_no, error_code, message) of a line Kinesis never accepted, a plain 3-tuple for
    comparison and unpacking; ``file`` names its file when the input was a folder."""

    def __new__(
        cls, line_no: int, error_code: str, message: str, file: str | None = None
    ) -> FailedLine:
        self = super().__new__(cls, (line_no, error_code, message))
        self.file = file
        return self

    @property
    def line_no(self) -> int:
        return self[0]

    @property
    def error_code(self) -> str:
        return self[1]

    @property
    def message(self) -> str:
        return self[2]

    def where(self) -> str:
        return f"{self.file}:{self.line_no}" if self.file else f"line {self.line_no}"

    def __repr__(self) -> str:
        return (
            f"FailedLine({self.line_no!r}, {self.error_code!r}, {self.message!r}, "
            f"file={self.file!r})"
        )


@dataclass(frozen=True)
class ReplaySummary:
    """What a replay did.

    records/bytes count records Kinesis accepted (bytes = Data only); batches counts
    PutRecords requests including retries; retried_records counts record re-sends;
    failed_records lists FailedLine (line_no, error_code, message) for lines never accepted.
    interrupted: stopped by Ctrl-C (lines after the last request were not sent);
    in_doubt: records of a request cut off in flight (second Ctrl-C), which may or may not
    have landed; shard_wait_seconds: time spent keeping within the per-shard limits;
    shards: the open shards the guard paced for (None: no guard).
    """

    records: int
    bytes: int
    batches: int
    retried_records: int
    failed_records: list[tuple[int, str, str]] = field(default_factory=list)
    seconds: float = 0.0
    records_per_second: float = 0.0
    interrupted: bool = False
    in_doubt: int = 0
    shard_wait_seconds: float = 0.0
    shards: int | None = None


class ReplayError(EcomflowError, RuntimeError):
    """A non-retryable PutRecords failure; ``summary`` covers what was done before it."""

    def __init__(self, message: str, summary: ReplaySummary) -> None:
        super().__init__(message)
        self.summary = summary


class ReplayInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped the replay; ``summary`` covers what was sent (``interrupted=True``).
    A KeyboardInterrupt, so callers that do not catch it still stop as on any Ctrl-C."""

    def __init__(self, summary: ReplaySummary) -> None:
        super().__init__(format_summary(summary))
        self.summary = summary


def partition_key(data: bytes) -> str:
    """``user_id``, else ``customer_id``, else "anonymous"; a hash of the line if not JSON.

    Keying by user keeps a user's events on one shard (per-shard order), which the
    session-level logic downstream relies on. The Producer SDK keys events the same way.
    """
    return key_for_bytes(data)


# --- pacing -----------------------------------------------------------------------------------


def event_time(data: bytes) -> float | None:
    """The line's ``timestamp`` as epoch seconds: ISO 8601 (no zone = UTC) or epoch seconds
    (milliseconds if > 1e11); None if the line has none that parses."""
    try:
        obj = json.loads(data)
    except ValueError:
        return None
    value = obj.get("timestamp") if isinstance(obj, dict) else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value / 1000.0 if value > 1e11 else float(value)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.timestamp()
    return None


class _Pacer:
    """When each record is due (a ``clock()`` time), or None for "now"."""

    def __init__(self, rate: float | None, speedup: float | None, clock: Callable[[], float]):
        self.rate = rate
        self.speedup = speedup
        self._clock = clock
        self._start: float | None = None
        self._first_event: float | None = None
        self._count = 0

    def due(self, data: bytes) -> float | None:
        if self.rate is not None:
            if self._start is None:
                self._start = self._clock()
            due = self._start + self._count / self.rate
            self._count += 1
            return due
        assert self.speedup is not None
        ts = event_time(data)
        if ts is None:
            return None
        if self._first_event is None:
            self._first_event, self._start = ts, self._clock()
        assert self._start is not None
        return self._start + (ts - self._first_event) / self.speedup


# --- progress ---------------------------------------------------------------------------------


class _Progress:
    """A rich progress bar on stderr: records, rate, and an ETA from the bytes read."""

    def __init__(self, description: str, total: int | None) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            Progress,
            SpinnerColumn,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.bar = Progress(
            SpinnerColumn(),
            TextColumn("[bold]replay[/] {task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[records]:,} records"),
            TextColumn("{task.fields[rate]:,.0f} rec/s"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self.task = self.bar.add_task(description, total=total, records=0, rate=0.0)

    def __enter__(self) -> _Progress:
        self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()

    def update(self, position: int, records: int, elapsed: float) -> None:
        self.bar.update(
            self.task,
            completed=position,
            records=records,
            rate=records / elapsed if elapsed > 0 else 0.0,
        )


# --- replay -----------------------------------------------------------------------------------


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
    rate: float | None = None,
    speedup: float | None = None,
    shard_limits: bool = True,
) -> ReplaySummary:
    """Put every non-blank line of a JSONL(.gz) file, a folder of them, or an iterable of
    lines on a stream, byte for byte.

    Lines are read lazily. Records over 1 MiB are not sent and are reported as
    "RecordTooLarge". Failed records (per-record ErrorCode or a throttled whole call) are
    re-sent in their original relative order, up to ``max_attempts`` sends per record;
    what still fails is reported in ``failed_records``. Non-retryable call errors raise
    ``ReplayError``; Ctrl-C raises ``ReplayInterrupted``; both carry the summary.
    ``max_batch_records`` (<= 500) caps records per request.

    Pace: ``rate`` records per second, or ``speedup`` X: each event is sent when the replay
    has run (its timestamp - the first timestamp) / X seconds (lines without a parseable
    timestamp go at once); neither means as fast as possible. ``shard_limits`` keeps each
    shard within 1,000 records/s and 1 MiB/s (shards from ListShards; without permission
    to list them, throttling is handled by backoff alone). ``progress`` draws a bar with
    rate and ETA on stderr.
    """
    if max_attempts < 1:
        raise ValueError("max_attempts must be >= 1")
    if not 1 <= max_batch_records <= MAX_BATCH_RECORDS:
        raise ValueError(f"max_batch_records must be in 1..{MAX_BATCH_RECORDS}")
    if rate is not None and speedup is not None:
        raise ValueError("choose one of rate and speedup")
    if rate is not None and not rate > 0:
        raise ValueError("rate must be > 0 records/s")
    if speedup is not None and not speedup > 0:
        raise ValueError("speedup must be > 0")

    def clock() -> float:
        return _clock()

    def sleep(seconds: float) -> None:
        _sleep(seconds)

    lines = InputLines(path_or_lines)
    started = clock()
    records = sent_bytes = requests = retried = in_doubt = 0
    failed: list[tuple[tuple[int, int], FailedLine]] = []
    interrupted = False

    guard = (
        ShardRateGuard.for_stream(client, stream_name, clock=clock, sleep=sleep)
        if shard_limits
        else None
    )
    interrupts = SigintDeferral()
    sender = PutRecordsSender(
        client,
        stream_name,
        max_attempts=max_attempts,
        base_backoff=base_backoff,
        max_backoff=max_backoff,
        guard=guard,
        interrupts=interrupts,
        sleep=sleep,
    )
    pacer = _Pacer(rate, speedup, clock) if rate is not None or speedup is not None else None

    def summary() -> ReplaySummary:
        seconds = clock() - started
        return ReplaySummary(
            records=records,
            bytes=sent_bytes,
            batches=requests,
            retried_records=retried,
            failed_records=[line for _, line in sorted(failed, key=lambda f: f[0])],
            seconds=seconds,
            records_per_second=records / seconds if seconds > 0 else 0.0,
            interrupted=interrupted,
            in_doubt=in_doubt,
            shard_wait_seconds=guard.waited if guard is not None else 0.0,
            shards=guard.shards if guard is not None else None,
        )

    def fail(ref: tuple[int, str | None, int], code: str, message: str) -> None:
        index, label, line_no = ref
        failed.append(((index, line_no), FailedLine(line_no, code, message, label)))

    def account(outcome: BatchOutcome) -> None:
        nonlocal records, sent_bytes, requests, retried, in_doubt
        records += len(outcome.accepted)
        sent_bytes += outcome.accepted_bytes
        requests += outcome.requests
        retried += outcome.retried
        in_doubt += len(outcome.in_doubt)
        for failure in outcome.failed:
            fail(failure.ref, failure.error_code, failure.message)

    bar = _Progress(stream_name, lines.total) if progress else None

    def send(batch: list[Record]) -> None:
        try:
            account(sender.put(batch))
        except (PutRecordsError, SendInterrupted) as exc:
            account(exc.outcome)
            raise
        if bar is not None:
            bar.update(lines.position, records, clock() - started)

    try:
        with interrupts:
            if bar is not None:
                bar.__enter__()
            try:
                batch: list[Record] = []
                size = 0
                for index, label, line_no, data in lines:
                    if interrupts.requested:  # Ctrl-C deferred during the last request
                        raise KeyboardInterrupt
                    record = Record(data, partition_key(data), (index, label, line_no))
                    if record.size > MAX_RECORD_BYTES:
                        fail(
                            record.ref,
                            "RecordTooLarge",
                            f"{record.size} bytes (data + partition key) > {MAX_RECORD_BYTES}",
                        )
                        continue
                    if pacer is not None:
                        due = pacer.due(data)
                        if due is not None and due - clock() > _PACING_SLACK:
                            if batch:
                                send(batch)
                                batch, size = [], 0
                            wait = due - clock()
                            if wait > 0:
                                sleep(wait)
                    if batch and (
                        len(batch) >= max_batch_records or size + record.size > MAX_BATCH_BYTES
                    ):
                        send(batch)
                        batch, size = [], 0
                    batch.append(record)
                    size += record.size
                if batch:
                    send(batch)
            finally:
                if bar is not None:
                    bar.update(lines.position, records, clock() - started)
                    bar.__exit__()
    except PutRecordsError as exc:
        raise ReplayError(str(exc), summary()) from exc
    except KeyboardInterrupt as exc:  # SendInterrupted included: already accounted
        interrupted = True
        raise ReplayInterrupted(summary()) from exc
    return summary()


def format_summary(summary: ReplaySummary) -> str:
    """One short paragraph for the CLI."""
    text = (
        f"Replayed {summary.records:,} records ({summary.bytes:,} bytes) in "
        f"{summary.batches:,} PutRecords batches; {summary.retried_records:,} record retries, "
        f"{len(summary.failed_records):,} failed; {summary.seconds:.1f} s "
        f"({summary.records_per_second:,.0f} records/s)."
    )
    if summary.shard_wait_seconds >= 0.05:
        text += (
            f" Waited {summary.shard_wait_seconds:.1f} s to stay within the per-shard limits"
            f" ({summary.shards} shards)."
        )
    if summary.interrupted:
        text += " Interrupted (Ctrl-C): later lines were not sent."
        if summary.in_doubt:
            text += f" {summary.in_doubt:,} records of the last request may or may not have landed."
    if summary.failed_records:
        shown = ", ".join(_where(f) + f" {f[1]}" for f in summary.failed_records[:3])
        more = len(summary.failed_records) - 3
        text += f" Failed: {shown}" + (f" and {more} more." if more > 0 else ".")
    return text


def _where(failure: tuple[int, str, str]) -> str:
    return failure.where() if isinstance(failure, FailedLine) else f"line {failure[0]}"


__all__ = [
    "FailedLine",
    "ReplayError",
    "ReplayInterrupted",
    "ReplaySummary",
    "event_time",
    "format_summary",
    "partition_key",
    "replay",
]
