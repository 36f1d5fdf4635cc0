"""Reliability, by breaking things: hard kills, a warehouse outage and an upgrade from a savepoint.

Two scenarios, each several cases in one stream to spare job starts: three hard kills in a row,
and an upgrade from a savepoint whose second version rides out a warehouse outage. Each
consumes the same input (the bundled sample plus bad records) from its own kinesis-mock stream
while a replay is still putting it there, and ends with the same checks against an
uninterrupted run over the same input (a bounded run, `baseline`, itself equal to the oracle):

- every clean event is in the lake's tables exactly once, and so is every dead letter (the
  baseline's and the kills' tables in local folders, the upgrade's in the stack's S3);
- every warehouse view equals the uninterrupted run's;
- the accounting identity holds in every minute and adds up to the input.

The bad records all carry a readable timestamp: a record without one is counted in the minute
of the watermark it met, and after a restore the watermark starts again (Flink does not keep
watermarks in checkpoints), so such a record may land in another minute (see the README).
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from ecomflow import paths
from ecomflow.ingest.replay import ReplaySummary, replay
from ecomflow.kinesis.client import kinesis_client
from ecomflow.local import stack as local_stack
from ecomflow.local.stack import StackInfo, warehouse_dsn
from ecomflow.run import runner
from flink_jobs.graph import WAREHOUSE_VIEWS
from tests.jobs import oracle
from tests.jobs.lake_reader import LakeReader, fresh_lake
from tests.kinesis_reader import create_active_stream
from tests.support import sockets
from tests.support.jobs import assert_sample_output, query, truncate_logs

pytestmark = [pytest.mark.flink, pytest.mark.stack, pytest.mark.long]

# records/s: the replay goes on while the job starts, so kills hit a live run (what the
# resumed run reads is held back until the kill: Replay).
REPLAY_RATE = 150.0


def _bad_lines(stamps: list[str]) -> dict[str, str]:
    """Bad records (payload -> reason), each timed like the record it is inserted after: a
    readable timestamp moves the watermark even on a dead letter."""
    return {
        json.dumps({"timestamp": stamps[0], "user_id": "u1"}): "missing_field",
        json.dumps({"event_type": "add_to_cart", "timestamp": stamps[1], "user_id": "u2",
                    "product_id": "prod_101", "quantity": "two", "price": 1.0}): "wrong_type",
        json.dumps({"event_type": "checkout", "timestamp": stamps[2], "user_id": "u3"}):
            "unknown_event_type",
        json.dumps({"event_type": "add_to_cart", "timestamp": stamps[3], "user_id": "u4",
                    "product_id": "prod_101", "quantity": -3, "price": 1.0}): "out_of_range",
    }


@dataclass(frozen=True)
class Case:
    path: Path
    lines: list[str]
    bad: dict[str, str]


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> Case:
    lines = oracle.read_lines(paths.SAMPLE_EVENTS)
    positions = [700, 1800, 2900, 4000]
    bad = _bad_lines([json.loads(lines[at - 1])["timestamp"] for at in positions])
    for at, line in zip(reversed(positions), reversed(list(bad)), strict=True):
        lines.insert(at, line)
    path = tmp_path_factory.mktemp("reliability") / "events.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    return Case(path, lines, bad)


@dataclass(frozen=True)
class Outcome:
    """What a run left behind, in comparable form."""

    events: Counter[tuple[str, str]]
    dead_letters: Counter[tuple[str, str, str]]
    late: int
    views: dict[str, list[tuple[Any, ...]]]
    event_times: list[datetime]


def outcome(lake: LakeReader, dsn: str) -> Outcome:
    events = lake("events")
    return Outcome(
        events=Counter((r["event_id"], r["payload"]) for r in events),
        dead_letters=Counter((r["payload"], r["reason"], r["field"])
                             for r in lake("dead_letter")),
        late=len(lake("late_events")),
        views={view: query(dsn, f"SELECT * FROM {view} ORDER BY 1, 2, 3")
               for view in WAREHOUSE_VIEWS},
        event_times=[r["event_time"] for r in events])


@pytest.fixture(scope="module")
def baseline(stack: StackInfo, case: Case, tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    """The uninterrupted run: the same job, bounded over the same input."""
    dsn = warehouse_dsn(stack)
    truncate_logs(dsn)
    lake = fresh_lake(stack, "baseline", tmp_path_factory.mktemp("baseline-lake").as_uri())
    # A local-folder lake, and the warehouse named by flag (the other runs use the stack's S3
    # and settings).
    _cli(stack, {}, "run", "--input", str(case.path), *lake.args,
         "--warehouse-url", f"{stack.warehouse_url}?user={stack.user}")
    # The baseline is itself right: it equals the oracle, no event is there twice, every bad
    # record is dead-lettered.
    assert_sample_output(case.path, case.bad, lake, dsn, stack)
    result = outcome(lake.rows, dsn)
    assert max(result.events.values()) == 1
    assert sorted((p, r) for p, r, _ in result.dead_letters.elements()) == sorted(
        case.bad.items())
    assert result.late == 0
    return result


def assert_same_as_baseline(got: Outcome, baseline: Outcome, case: Case,
                            views: tuple[str, ...] = WAREHOUSE_VIEWS) -> None:
    assert max(got.events.values()) == 1, "an event is twice in the lake"
    assert got.events == baseline.events, "the lake's events differ from the uninterrupted run"
    assert got.dead_letters == baseline.dead_letters
    assert got.late == 0
    for view in views:
        assert got.views[view] == baseline.views[view], view
    health = got.views["pipeline_health"]
    # window_start, window_end, records_in, valid, dead_letter, duplicates, late, ...
    assert all(row[2] == sum(row[3:7]) for row in health)
    assert sum(row[2] for row in health) == len(case.lines)


# -- running the job as a user would, in its own process group ----------------------------------

def _env(stack: StackInfo, extra: dict[str, str]) -> dict[str, str]:
    return {**os.environ, "ECOMFLOW_HOME": str(stack.home), **extra}


def _cli(stack: StackInfo, extra: dict[str, str], *args: str, timeout: float = 600
         ) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "ecomflow.cli", *args],
                          env=_env(stack, extra), cwd=paths.REPO_ROOT, capture_output=True,
                          text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        _keep_evidence(stack.home, done.stderr)
    assert done.returncode == 0, f"ecomflow {' '.join(args)} failed:\n{done.stderr[-4000:]}"
    return done


def _keep_evidence(home: Path, stderr: str) -> None:
    """Copy Flink's logs out of the stack's folder, which goes with the test session."""
    keep = Path(os.environ.get("TMPDIR", "/tmp"), "ecomflow-reliability-failure")
    shutil.rmtree(keep, ignore_errors=True)
    shutil.copytree(home / "logs" / "flink", keep / "flink", dirs_exist_ok=True)
    (keep / "stderr.txt").write_text(stderr)


def _rest(port: int, path: str) -> Any:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
        return json.load(response)


def _running_job(port: int) -> str | None:
    try:
        jobs = _rest(port, "/jobs")["jobs"]
    except OSError:
        return None
    return next((job["id"] for job in jobs if job["status"] == "RUNNING"), None)


@dataclass
class LiveRun:
    """`ecomflow run` on a stream, started in its own session so that it can be killed whole."""

    process: subprocess.Popen[str]
    rest_port: int
    checkpoint_dir: str
    home: Path

    def job(self, timeout: float = 240) -> str:
        deadline = time.monotonic() + timeout
        while (job_id := _running_job(self.rest_port)) is None:
            assert self.process.poll() is None, self.process.communicate()[1][-3000:]
            assert time.monotonic() < deadline, "the job did not start"
            time.sleep(0.5)
        return job_id

    def records_read(self, job_id: str) -> int:
        try:
            return runner.records_read(self.rest_port, job_id)
        except OSError:
            return 0

    def checkpoints(self, job_id: str) -> dict[str, int]:
        return _rest(self.rest_port, f"/jobs/{job_id}/checkpoints")["counts"]

    def kill_hard(self) -> str:
        """SIGKILL the whole run at once, the Python driver and the mini-cluster's JVM, as a
        machine losing power would; return what the run had printed."""
        os.killpg(self.process.pid, signal.SIGKILL)
        out, err = self.process.communicate(timeout=30)
        deadline = time.monotonic() + 30
        while True:
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                break
            assert time.monotonic() < deadline, "processes of the killed run survived"
            time.sleep(0.2)
        return out + err

    def finish(self, timeout: float = 600) -> str:
        out, err = self.process.communicate(timeout=timeout)
        if self.process.returncode != 0:
            _keep_evidence(self.home, err)
        assert self.process.returncode == 0, err[-4000:]
        return out + err


def start_run(stack: StackInfo, extra: dict[str, str], *args: str) -> LiveRun:
    port = runner.free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "ecomflow.cli", "run", *args],
        env=_env(stack, {**extra, "ECOMFLOW__Job__rest.port": str(port)}),
        cwd=paths.REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True)
    _STARTED.append(LiveRun(process, port, extra["ECOMFLOW__Job__checkpoint.dir"], stack.home))
    return _STARTED[-1]


_STARTED: list[LiveRun] = []


@dataclass
class Replay:
    """A replay onto the scenario's stream, running beside the job, in parts: each part after
    the first waits for `release()`. A run resumed after a kill (or restarted after an outage)
    then always has records to read. Else, on a slow start, the run before may have read them
    all, and a run that reads nothing waits out the first-record grace (runner, 60 s) before
    it counts as idle."""

    thread: threading.Thread
    gates: list[threading.Event]
    summaries: list[ReplaySummary] = field(default_factory=list)

    def release(self) -> None:
        """Let the next held-back part go."""
        next(gate for gate in self.gates if not gate.is_set()).set()

    def join(self, expected: int) -> None:
        for gate in self.gates:
            gate.set()
        self.thread.join(timeout=300)
        assert sum(s.records for s in self.summaries) == expected
        assert not [r for s in self.summaries for r in s.failed_records]


def start_replay(stack: StackInfo, path: Path, stream: str, *held_back: int) -> Replay:
    """Replay `path`, holding back its last records in parts of `held_back` records each."""
    client = kinesis_client(stack.kinesis_endpoint, stack.region, stack.access_key,
                            stack.secret_key)
    create_active_stream(client, stream, shards=2)
    lines = oracle.read_lines(path)
    cuts = [len(lines) - sum(held_back[i:]) for i in range(len(held_back))] + [len(lines)]
    parts = [lines[start:end] for start, end in zip([0, *cuts], cuts, strict=False)]
    gates = [threading.Event() for _ in held_back]
    summaries: list[ReplaySummary] = []

    def work() -> None:
        for number, part in enumerate(parts):
            if number:
                gates[number - 1].wait(timeout=300)
            if part:
                summaries.append(replay(part, stream_name=stream, client=client,
                                        rate=REPLAY_RATE))

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return Replay(thread, gates, summaries)


@pytest.fixture
def scenario(stack: StackInfo, tmp_path: Path) -> Iterator[Callable[[str], dict[str, str]]]:
    """Per scenario: its own stream, lake prefix, checkpoint and savepoint folders."""
    truncate_logs(warehouse_dsn(stack))

    def make(name: str) -> dict[str, str]:
        return {"ECOMFLOW__KinesisSource__stream.name": f"reliability-{name}",
                "ECOMFLOW__Job__checkpoint.dir": str(tmp_path / "checkpoints"),
                "ECOMFLOW__Job__savepoint.dir": str(tmp_path / "savepoints"),
                "ECOMFLOW__Job__checkpoint.interval.ms": "2000"}

    yield make
    while _STARTED:  # a failed test must not leave a job running
        run = _STARTED.pop()
        if run.process.poll() is None:
            os.killpg(run.process.pid, signal.SIGKILL)
            run.process.wait(timeout=30)


# -- 1. crash and restore -----------------------------------------------------------------------

def _before_first_checkpoint(run: LiveRun, job_id: str) -> bool:
    return run.records_read(job_id) >= 300 and run.checkpoints(job_id)["completed"] == 0


def _mid_window(run: LiveRun, job_id: str) -> bool:
    # Half the sample read: minute windows, sessions and carts are open.
    return run.checkpoints(job_id)["completed"] >= 2 and run.records_read(job_id) >= 2500


def _during_sink_write(run: LiveRun, job_id: str) -> bool:
    """A checkpoint is being taken: its folder exists, its _metadata does not yet. Meanwhile
    the lake sinks close their data files (Iceberg: a commit follows the checkpoint) and the
    JDBC sinks flush.
    (The REST API's checkpoint counts are cached for seconds: the folder is the live signal.)"""
    if run.checkpoints(job_id)["completed"] < 2 or run.records_read(job_id) < 300:
        return False
    folder = Path(run.checkpoint_dir) / job_id
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for checkpoint in folder.glob("chk-*"):
            if not (checkpoint / "_metadata").exists():
                return True
        time.sleep(0.002)
    raise AssertionError("no checkpoint in progress seen for 60 s")


# (how the run starts, what it prints then, when it is killed, checkpoint interval and
# minimum pause in ms). Flink starts the first checkpoint at a random time between the minimum
# pause and the interval: a pause equal to the interval puts it 20 s after the start, while
# the job reads the 300 records it needs in about 2 s (the stream is fed from before the job
# starts). The first kill leaves no checkpoint, so the second run starts afresh.
KILLS = (
    (("--from", "TRIM_HORIZON"), "", _before_first_checkpoint, "20000", "20000"),
    (("--resume",), "nothing to resume from: starting afresh", _mid_window, "2000", "0"),
    (("--resume",), "resuming from checkpoint", _during_sink_write, "2000", "0"),
)
# Records the replay holds back after its first part, one part per kill: each part is let go
# once the next run is running, so that the kill after it hits records in flight.
HELD_BACK = (1000, 1000, 1000)


def test_sigkill_then_resume_loses_and_doubles_nothing(
        stack: StackInfo, case: Case, baseline: Outcome,
        scenario: Callable[[str], dict[str, str]], tmp_path: Path) -> None:
    """One stream, killed three times in a row (-9, the whole process group), each time
    resumed from what the last run left: before the first checkpoint, mid-window, and while a
    checkpoint is being written. The last run is stopped with SIGTERM, drains, and the output
    equals the baseline's. The lake's files are committed to a table once per checkpoint, and
    a restore re-commits what a checkpoint held but a kill kept from being committed, never
    twice. (A local-folder lake here; the upgrade's is in the stack's S3.)"""
    lake = fresh_lake(stack, "sigkill", (tmp_path / "lake").as_uri())
    env = scenario("sigkill")
    feeding = start_replay(stack, case.path, env["ECOMFLOW__KinesisSource__stream.name"],
                           *HELD_BACK)
    for number, (start, says, condition, interval, min_pause) in enumerate(KILLS):
        run_env = {**env, "ECOMFLOW__Job__checkpoint.interval.ms": interval,
                   "ECOMFLOW__Job__checkpoint.min.pause.ms": min_pause}
        run = start_run(stack, run_env, *lake.args, *start)
        job_id = run.job()
        if number:
            feeding.release()
        deadline = time.monotonic() + 300
        while not condition(run, job_id):
            assert run.process.poll() is None, run.process.communicate()[1][-3000:]
            assert time.monotonic() < deadline, f"never reached kill point {number + 1}"
            time.sleep(0.2)
        printed = run.kill_hard()
        assert says in printed, printed[-3000:]

    # The last run is stopped as a service manager stops it, `kill PID` (SIGTERM), once it
    # has read everything: it drains, open windows fire and the last lake files are committed.
    feeding.release()
    last = start_run(stack, env, *lake.args, "--resume")
    job_id = last.job()
    feeding.join(len(case.lines))
    # Enrichment holds each event until the watermark (30 s behind the newest event) passes
    # it, and windows close the same way: wait until everything older has landed; the tail is
    # only released by the drain that SIGTERM starts.
    newest = max(event_time for event_time in baseline.event_times)
    released = sum(t < newest - timedelta(seconds=35) for t in baseline.event_times)
    deadline = time.monotonic() + 300
    while lake.catalog.row_count("events") < released:  # (the first run made the tables)
        assert last.process.poll() is None, last.process.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "the last run did not read the stream in time"
        time.sleep(2)
    # Every server the run started (mini-cluster RPC, BLOB, REST, data exchange, PyFlink's
    # gateway) listens on loopback only.
    assert sockets.off_loopback(last.process.pid) == []
    last.process.send_signal(signal.SIGTERM)
    printed = last.finish(timeout=180)
    assert f"resuming from checkpoint {Path(env['ECOMFLOW__Job__checkpoint.dir'])}" in printed
    assert "finished" in printed
    assert_same_as_baseline(outcome(lake.rows, warehouse_dsn(stack)), baseline, case)


# -- 2. upgrade from a savepoint, through a warehouse outage ------------------------------------

def test_upgrade_from_a_savepoint_through_a_warehouse_outage(
        stack: StackInfo, case: Case, baseline: Outcome,
        scenario: Callable[[str], dict[str, str]], tmp_path: Path) -> None:
    """Version 1 runs without the country enrichment and stops with a savepoint that keeps
    its state; version 2, with the enrichment on, resumes from it and reads the rest. While
    version 2 runs, the warehouse is down for 30 s: the job fails over, recovers by itself
    once the warehouse is back, and nothing is lost or doubled."""
    env = scenario("upgrade")
    stream = env["ECOMFLOW__KinesisSource__stream.name"]
    lake = fresh_lake(stack, "upgrade")
    half = len(case.lines) // 2
    first_half, second_half = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    first_half.write_text("\n".join(case.lines[:half]) + "\n")
    second_half.write_text("\n".join(case.lines[half:]) + "\n")

    # Version 1 starts while the first half is put (it reads from the stream's start, and
    # the puts go on without a pause until the half is there).
    first = start_replay(stack, first_half, stream)
    v1 = _cli(stack, {**env, "ECOMFLOW__CleanStream__enrich.country": "false"},
              "run", *lake.args, "--from", "TRIM_HORIZON", "--idle-timeout", "10",
              "--keep-state")
    first.join(half)
    assert "stopped after idle timeout" in v1.stdout
    # Version 1 read the first half: its country step ran (switched off) on those events, even
    # on the ones still held in its savepoint (enrichment waits for the watermark).
    version_one = {json.loads(line).get("event_id") for line in case.lines[:half]}

    # The last 1,500 records of the second half wait for the end of the outage.
    feeding = start_replay(stack, second_half, stream, 1500)
    v2 = start_run(stack, env, *lake.args, "--resume", "--idle-timeout", "10")
    job_id = v2.job()
    deadline = time.monotonic() + 300
    while v2.checkpoints(job_id)["completed"] < 1 or v2.records_read(job_id) < 1000:
        assert time.monotonic() < deadline and v2.process.poll() is None
        time.sleep(0.5)
    local_stack.stop_warehouse(stack)
    failures: list[Any] = []
    try:
        ends = time.monotonic() + 30
        while time.monotonic() < ends:
            assert v2.process.poll() is None, "the job gave up:\n" + v2.finish()[-4000:]
            with contextlib.suppress(OSError):
                failures = _rest(v2.rest_port, f"/jobs/{job_id}/exceptions")[
                    "exceptionHistory"]["entries"]
            time.sleep(1)
    finally:
        local_stack.start_warehouse(stack)
        feeding.release()  # the recovered job has news to read
    # The outage was felt: the job failed over at least once, and recovers by itself.
    assert failures, "the job never noticed the warehouse was down"
    output = v2.finish()
    assert "resuming from savepoint" in output
    assert "stopped after idle timeout" in output
    feeding.join(len(case.lines) - half)

    got = outcome(lake.rows, warehouse_dsn(stack))
    # Country feeds sessions and the ordered funnels' breakdown, which therefore differ from
    # the baseline (where country was on throughout); everything else must be equal.
    assert_same_as_baseline(got, baseline, case, views=tuple(
        v for v in WAREHOUSE_VIEWS if v not in ("sessions", "funnel_steps_hourly")))
    events = lake.rows("events")
    v1 = [e for e in events if e["event_id"] in version_one]
    v2 = [e for e in events if e["event_id"] not in version_one]
    assert v1 and v2
    assert all(e["country"] is None for e in v1), "version 1 had no country enrichment"
    assert [e["country"] for e in v2] == [_country(e["payload"]) for e in v2]
    assert any(e["country"] for e in v2), "version 2 enriches country"
    # Sessions: the same sessions, with the same counts, whatever their country says.
    no_country = [tuple(v for k, v in zip(_session_columns(stack), row, strict=True)
                        if k != "country") for row in got.views["sessions"]]
    assert no_country == [tuple(v for k, v in zip(_session_columns(stack), row, strict=True)
                                if k != "country") for row in baseline.views["sessions"]]


def _country(payload: str) -> str | None:
    """The country enrichment's rule: the shipping address's, else the event's own."""
    event = json.loads(payload)
    country = (event.get("shipping_address") or {}).get("country") or event.get("country")
    return country.upper() if country else None


def _session_columns(stack: StackInfo) -> list[str]:
    with psycopg2.connect(warehouse_dsn(stack)) as conn, conn.cursor() as cur:
        cur.execute("SELECT * FROM sessions LIMIT 0")
        return [column.name for column in cur.description]
