"""Latency on the local stack: from an event's put to (a) its per-minute aggregate row being
visible in the warehouse and (b) its row being committed to the lake's `events` table.

Events are put through kinesis-mock at a steady, modest rate with event time = put time, while
the job runs on the stream. The warehouse and the lake are polled; an event's latency is the
first poll that sees its window's row (its table snapshot) minus the moment its put returned.
Only windows the watermark closed are measured: a window whose end plus the watermark delay is
after the newest event put is closed by the final drain (its latency is the idle timeout's and
the drain's, not the job's), so its events are left out.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg2

from ecomflow.kinesis.client import kinesis_client
from ecomflow.lake.tables import LakeCatalog
from ecomflow.local.stack import StackInfo, warehouse_dsn
from flink_jobs.settings import JobSettings

LAKE_PREFIX = "latency"
WINDOW_S = 60  # event_counts_minute's window
# The job's default (Job.watermark.delay.seconds), set explicitly so the figures say what ran.
DEFAULT_DELAY_S = JobSettings.__dataclass_fields__["watermark_delay_seconds"].default


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"count": 0}
    ordered = sorted(values)
    return {"count": len(ordered), "p50_s": round(statistics.median(ordered), 3),
            "p95_s": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 3),
            "max_s": round(ordered[-1], 3)}


def warehouse_latencies(put_at: dict[str, tuple[float, datetime]],
                        window_seen: dict[datetime, float], delay_s: int,
                        window_s: int = WINDOW_S) -> list[float]:
    """Put -> row seconds of the events whose minute the watermark closed.

    `put_at`: event id -> (when its put returned, its event time); `window_seen`: window start
    (naive UTC) -> when its row was first seen. The watermark is the newest event time minus
    the delay, so a window closes on it only if its end plus the delay is at or before the
    newest event time; a later window is closed by the final drain, whenever that comes.
    """
    newest = max(ts for _, ts in put_at.values()).replace(tzinfo=None)
    latencies = []
    for put, ts in put_at.values():
        window = ts.replace(second=0, microsecond=0, tzinfo=None)
        closed = window + timedelta(seconds=window_s + delay_s) <= newest
        if closed and window in window_seen:
            latencies.append(window_seen[window] - put)
    return latencies


def _event(now: datetime, user: int) -> dict[str, Any]:
    return {"event_id": str(uuid.uuid4()), "event_type": "page_view",
            "timestamp": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "user_id": f"user_{user:05d}", "page_url": "/bench"}


class Poller(threading.Thread):
    """Records when each warehouse window and each committed lake file first appears."""

    def __init__(self, stack: StackInfo, database: str) -> None:
        super().__init__(daemon=True)
        self.stack, self.stopped = stack, threading.Event()
        self.lake = LakeCatalog(stack.catalog_url, user=stack.user, database=database,
                                s3_endpoint=stack.s3_endpoint, s3_access_key=stack.access_key,
                                s3_secret_key=stack.secret_key)
        self.window_seen: dict[datetime, float] = {}
        self.event_committed: dict[str, float] = {}
        self._snapshot: int | None = None
        self.errors: list[str] = []

    def run(self) -> None:
        try:
            self._poll()
        except Exception as exc:  # noqa: BLE001 - reported with the results, not lost
            self.errors.append(f"{type(exc).__name__}: {exc}")

    def _poll(self) -> None:
        with psycopg2.connect(warehouse_dsn(self.stack)) as conn:
            conn.autocommit = True
            while not self.stopped.wait(0.5):
                now = time.time()
                with conn.cursor() as cur:
                    cur.execute("SELECT DISTINCT window_start FROM event_counts_minute")
                    for (start,) in cur.fetchall():
                        self.window_seen.setdefault(start, now)
                self._poll_lake(now)

    def _poll_lake(self, now: float) -> None:
        """A new snapshot of `events` (one commit per checkpoint): its new ids committed now."""
        if "events" not in self.lake.tables():
            return  # not created yet
        snapshot = self.lake.table("events").current_snapshot()
        if snapshot is None or snapshot.snapshot_id == self._snapshot:
            return
        self._snapshot = snapshot.snapshot_id
        for event_id in self.lake.scan("events").column("event_id").to_pylist():
            self.event_committed.setdefault(event_id, now)


def latency(stack: StackInfo, *, rate: float = 50.0, seconds: float = 150.0,
            checkpoint_ms: int = 5000, watermark_delay_s: int = DEFAULT_DELAY_S,
            report=print) -> dict:  # noqa: ANN001
    env = {**os.environ, "ECOMFLOW_HOME": str(stack.home),
           "ECOMFLOW__Job__checkpoint.interval.ms": str(checkpoint_ms)}
    log = open(stack.home / "latency-run.log", "w")  # noqa: SIM115 (closed below)
    database = f"{LAKE_PREFIX}_{time.time_ns()}"  # a lake of its own: tables start empty
    job = subprocess.Popen(
        [sys.executable, "-m", "ecomflow.cli", "run", "--lake", f"{stack.lake_url}/{database}",
         "--lake-database", database, "--idle-timeout", "15", "--from", "TRIM_HORIZON",
         "--watermark-delay", str(watermark_delay_s)],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        time.sleep(20)  # JVM start, planning, first shard discovery
        poller = Poller(stack, database)
        poller.start()
        client = kinesis_client(stack.kinesis_endpoint, stack.region, "test", "test")
        put_at: dict[str, tuple[float, datetime]] = {}
        interval, started, sent = 0.1, time.time(), 0
        while time.time() - started < seconds:
            batch = []
            while sent < (time.time() - started) * rate:
                now = datetime.now(UTC)
                event = _event(now, sent % 97)
                batch.append(event)
                sent += 1
            if batch:
                response = client.put_records(StreamName=stack.stream_name, Records=[
                    {"Data": json.dumps(e).encode(), "PartitionKey": e["user_id"]}
                    for e in batch])
                accepted = time.time()
                for event, result in zip(batch, response["Records"], strict=True):
                    if "ErrorCode" not in result:
                        put_at[event["event_id"]] = (accepted, datetime.fromisoformat(
                            event["timestamp"].replace("Z", "+00:00")))
            time.sleep(interval)
        time.sleep(20)  # let the last checkpoints commit
        poller.stopped.set()
        poller.join()
        if job.wait(timeout=300) != 0:
            raise RuntimeError(f"the streaming job failed: see {stack.home / 'latency-run.log'}")
    finally:
        if job.poll() is None:
            job.terminate()
            job.wait(timeout=60)
        log.close()

    to_warehouse = warehouse_latencies(put_at, poller.window_seen, watermark_delay_s)
    to_lake = [poller.event_committed[event_id] - put
               for event_id, (put, _) in put_at.items() if event_id in poller.event_committed]
    result = {
        "rate_events_per_s": rate, "seconds": seconds, "events_put": len(put_at),
        "settings": {"window_s": WINDOW_S, "watermark_delay_s": watermark_delay_s,
                     "checkpoint_interval_ms":
                     checkpoint_ms, "kinesis_poll_ms": 200, "jdbc_flush_ms": 1000},
        "to_warehouse_row": _percentiles(to_warehouse),
        "to_lake_commit": _percentiles(to_lake),
        "events_not_in_lake": len(put_at) - len(to_lake),
        "poller_errors": poller.errors,
    }
    if not to_lake or not to_warehouse:
        # Keep the evidence: the run log goes away with the benchmark's temporary stack.
        result["job_log_tail"] = (stack.home / "latency-run.log").read_text()[-2000:]
        result["flink_log_tail"] = "".join(
            p.read_text()[-4000:] for p in (stack.home / "logs" / "flink").glob("*.log"))
    report(f"  put -> warehouse row: {result['to_warehouse_row']}")
    report(f"  put -> lake commit:   {result['to_lake_commit']}")
    return result
