"""What the job tests share: running the CLI as a user would, the warehouse's log tables and
views, and the input as the job's sinks store it. (The `warehouse` fixture, which empties the
logs before a test, is in tests/jobs/conftest.py.)"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg2

from ecomflow import paths
from ecomflow.local.stack import StackInfo
from flink_jobs.graph import WAREHOUSE_LOGS
from tests.jobs import clean_case, oracle
from tests.jobs.lake_reader import JobLake
from tests.jobs.privacy_view import private_text

COMPARED = ("event_id", "event_type", "event_time", "user_id", "session_id", "page_url",
            "product_id", "quantity",
            "device_class", "browser", "os",
            "country", "fx_rate_to_usd", "price_usd", "total_amount_usd", "catalog_category",
            "catalog_brand", "catalog_price", "payload")


def run_cli(stack: StackInfo, *args: str, timeout: float = 600) -> str:
    env = {**os.environ, "ECOMFLOW_HOME": str(stack.home)}
    done = subprocess.run(
        [sys.executable, "-m", "ecomflow.cli", *args], env=env, cwd=paths.REPO_ROOT,
        capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, f"ecomflow {' '.join(args)} failed:\n{done.stderr[-4000:]}"
    return done.stdout


def query(dsn: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(sql)
        return [tuple(row) for row in cur.fetchall()]


def as_stored(lines: list[clean_case.Line], home: Path) -> list[clean_case.Line]:
    """The input as the job's sinks see it: pseudonymised, except the contract's dead letters,
    which keep the record as received (README "Privacy")."""
    private = private_text(home)
    return [line if line.label == "dead_letter" else replace(line, text=private(line.text))
            for line in lines]


def assert_sample_output(input_path: Path, bad_lines: dict[str, str], lake: JobLake, dsn: str,
                         stack: StackInfo) -> None:
    """The bundled sample with `bad_lines` mixed in, as the job left it, equals the oracle
    (tests/jobs/oracle.py). `stack`: whose state folder holds the key the job hashed with."""
    events, dead, per_minute = oracle.expected(input_path, bad_lines, private_text(stack.home))
    assert len(events) == 5000 and len(dead) == len(bad_lines)  # the oracle sees the input

    got = sorted(({k: row[k] for k in oracle.LAKE_COLUMNS} for row in lake.rows("events")),
                 key=lambda r: r["payload"])
    assert len(got) == len(events), "every event exactly once in the lake"
    for actual, wanted in zip(got, events, strict=True):
        assert actual == wanted
    # Partitioned by event hour: one partition per hour that has events, no other.
    assert lake.partition_hours("events") == {
        e["event_time"].replace(minute=0, second=0, microsecond=0) for e in events}

    dead_rows = lake.rows("dead_letter")
    assert sorted((r["payload"], r["reason"]) for r in dead_rows) == dead

    assert query(dsn, "SELECT window_start, window_end, event_type, event_count "
                      "FROM event_counts_minute ORDER BY window_start, event_type") == per_minute


def truncate_logs(dsn: str, *extra: str) -> None:
    """Empty the warehouse's logs (and the `extra` tables) before a run."""
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(f"TRUNCATE {', '.join((*WAREHOUSE_LOGS, *extra))}")
