"""The events job, run for real (Flink mini-cluster, real local servers), against an oracle.

Each test runs `ecomflow run` in a subprocess, as a user would, then reads the lake back with
pyarrow and the warehouse with psycopg2 and compares exact rows with `oracle.expected()`.
"""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from ecomflow import package, package_run, paths, runner
from ecomflow.local_run import local_property_groups
from ecomflow.local_stack import StackInfo
from ecomflow.replay import kinesis_client, replay
from tests.jobs import oracle
from tests.jobs.lake_reader import read_dataset
from tests.jobs.privacy_view import private_text
from tests.kinesis_reader import create_active_stream
from tests.support.jobs import run_cli

pytestmark = [pytest.mark.flink, pytest.mark.stack]

# Records a producer might send that are not events, each wrong in one way, with the reason it
# must be dead-lettered for. tests/jobs/test_clean_stream.py covers every reason; these check
# that bad records mixed into real traffic leave it untouched.
BAD_LINES = {
    "this is not json": "not_json",
    '{"timestamp": "2025-07-16T10:01:00Z", "user_id": "u1"}': "missing_field",
    '{"event_type": "page_view", "timestamp": "2025-07-16T10:01:00", "user_id": "u1", '
    '"page_url": "/"}': "bad_timestamp",
    '{"event_type": "page_view", "timestamp": "yesterday", "user_id": "u1", "page_url": "/"}':
        "bad_timestamp",
}


@pytest.fixture(scope="module")
def input_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled sample traffic with bad records mixed in."""
    lines = oracle.read_lines(paths.SAMPLE_EVENTS)
    for offset, bad in enumerate(BAD_LINES):
        lines.insert(500 + offset * 1000, bad)
    path = tmp_path_factory.mktemp("input") / "events.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    return path


def warehouse_rows(dsn: str) -> list[tuple[Any, ...]]:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT window_start, window_end, event_type, event_count "
                    "FROM event_counts_minute ORDER BY window_start, event_type")
        return [tuple(row) for row in cur.fetchall()]


def assert_matches_oracle(input_path: Path, lake_url: str, dsn: str, stack: StackInfo,
                          *, s3: bool = True) -> None:
    """`stack`: whose state folder holds the key the job hashed with; `s3`: read the lake
    through the stack's S3 (else lake_url is a local folder)."""
    events, dead, per_minute = oracle.expected(input_path, BAD_LINES, private_text(stack.home))
    lake_stack = stack if s3 else None
    assert len(events) == 5000 and len(dead) == len(BAD_LINES)  # the oracle sees the input

    lake = read_dataset(lake_url, "events", lake_stack)
    got = sorted(({k: row[k] for k in oracle.LAKE_COLUMNS} for row in lake),
                 key=lambda r: r["payload"])
    assert len(got) == len(events), "every event exactly once in the lake"
    for actual, wanted in zip(got, events, strict=True):
        assert actual == wanted

    dead_rows = read_dataset(lake_url, "dead_letter", lake_stack)
    assert sorted((r["payload"], r["reason"]) for r in dead_rows) == dead
    assert all(r["dt"] == r["received_at"].strftime("%Y-%m-%d") for r in dead_rows)

    assert warehouse_rows(dsn) == per_minute


def test_bounded_run_to_a_local_lake(stack: StackInfo, warehouse: str, input_file: Path,
                                     tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    url = f"{stack.warehouse_url}?user={stack.user}"
    run_cli(stack, "run", "--input", str(input_file), "--lake", str(lake),
            "--warehouse-url", url)
    assert_matches_oracle(input_file, lake.as_uri(), warehouse, stack, s3=False)


@pytest.fixture(scope="module")
def msf_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What `ecomflow deploy` uploads."""
    return package.build_zip(tmp_path_factory.mktemp("dist") / "ecomflow-msf.zip")


def test_a_killed_taskmanager_is_replaced_and_the_job_recovers(
        stack: StackInfo, warehouse: str, input_file: Path, msf_zip: Path,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The MSF zip, not the source tree (its own main.py, run options and property file, MSF's
    Python, a JobManager and a TaskManager of their own), against the oracle. SIGKILL the
    TaskManager mid-stream, as a managed cluster loses a machine: a new one registers, the job
    restarts from its last checkpoint by itself, and the lake and the warehouse end with every
    row once. (`ecomflow run --package` drives the same functions: package_run.run_package.)"""
    # What a source-tree run leaves in its process (runner.prepare_jvm) must not reach the
    # cluster: a second S3 filesystem on its classpath stops the JobManager at start.
    monkeypatch.setenv("HADOOP_CLASSPATH", os.pathsep.join(str(j) for j in runner.require_jars()))
    client = kinesis_client(stack.kinesis_endpoint, stack.region, stack.access_key,
                            stack.secret_key)
    stream = "package-kill"
    create_active_stream(client, stream)
    # Fed while the job runs (20 s), so that the kill lands mid-stream.
    feeding = threading.Thread(target=replay, args=(input_file,), daemon=True, kwargs={
        "stream_name": stream, "client": client, "rate": 250.0})
    lake_url = f"{stack.lake_url}/package-kill"
    groups = local_property_groups(
        home=stack.home, stack=stack, lake=lake_url, init_position="TRIM_HORIZON",
        environ={"ECOMFLOW__KinesisSource__stream.name": stream,
                 "ECOMFLOW__Job__checkpoint.interval.ms": "2000"})
    # The cluster's folder (logs, checkpoints) under tmp_path: pytest keeps it for a look.
    run = package_run.prepare(msf_zip, groups, home=tmp_path)
    with package_run.package_cluster(run.folder, run.configuration) as cluster:
        job_id = package_run.submit(cluster, run.app, run.options, run.groups, run.python)
        package_run.wait_for(cluster, job_id, ("RUNNING",), timeout=300)
        feeding.start()
        deadline = time.monotonic() + 300
        while (cluster.rest(f"/jobs/{job_id}/checkpoints")["counts"]["completed"] < 1
               or runner.records_read(cluster.rest_port, job_id) < 1500):
            assert time.monotonic() < deadline, "never reached the kill point"
            time.sleep(0.5)
        cluster.kill("taskmanager")
        cluster.start_taskmanager("taskmanager-2")
        # The JobManager notices the loss (missed heartbeats), restarts the job on the new
        # TaskManager and restores its last checkpoint: nobody tells it to.
        deadline = time.monotonic() + 300
        while cluster.rest(f"/jobs/{job_id}/checkpoints")["latest"]["restored"] is None:
            assert time.monotonic() < deadline, "the job did not restore a checkpoint"
            time.sleep(0.5)
        history = cluster.rest(f"/jobs/{job_id}/exceptions")["exceptionHistory"]["entries"]
        feeding.join(timeout=300)
        package_run.wait_until_idle(cluster, job_id, idle_timeout=10)
        package_run.drain(cluster, job_id)
    assert history, "the job never noticed its TaskManager died"
    assert_matches_oracle(input_file, lake_url, warehouse, stack)


def test_sigterm_stops_a_stream_run_with_everything_flushed(
        stack: StackInfo, warehouse: str, input_file: Path) -> None:
    """Replay to Kinesis, then a stream run from TRIM_HORIZON that `kill PID` stops: the job
    drains, open windows fire and the last lake files are committed, and the lake and the
    warehouse equal the oracle. (Runs that stop on their idle timeout: test_bad_input,
    test_reliability.)"""
    client = kinesis_client(stack.kinesis_endpoint, stack.region, stack.access_key,
                            stack.secret_key)
    stream = "sigterm-test"
    create_active_stream(client, stream)
    summary = replay(input_file, stream_name=stream, client=client)
    assert summary.records == 5000 + len(BAD_LINES) and not summary.failed_records

    lake_url = f"{stack.lake_url}/sigterm"
    env = {**os.environ, "ECOMFLOW_HOME": str(stack.home),
           "ECOMFLOW__KinesisSource__stream.name": stream}
    job = subprocess.Popen(
        [sys.executable, "-m", "ecomflow.cli", "run", "--lake", lake_url, "--from",
         "TRIM_HORIZON"], env=env, cwd=paths.REPO_ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        # Enrichment holds each event until the watermark (30 s behind the newest event) passes
        # it, and windows close the same way: wait until everything older has landed; the tail
        # is only released by the drain that SIGTERM starts.
        events, _, _ = oracle.expected(input_file, BAD_LINES)
        newest = max(e["event_time"] for e in events)
        released = sum(e["event_time"] < newest - timedelta(seconds=35) for e in events)
        deadline = time.monotonic() + 300
        while len(read_dataset(lake_url, "events", stack)) < released:
            assert job.poll() is None, job.communicate()[1][-3000:]
            assert time.monotonic() < deadline, "the job did not read the stream in time"
            time.sleep(2)
        job.send_signal(signal.SIGTERM)
        out, err = job.communicate(timeout=180)
    finally:
        if job.poll() is None:
            job.kill()
    assert job.returncode == 0, err[-3000:]
    assert "finished" in out
    assert_matches_oracle(input_file, lake_url, warehouse, stack)
