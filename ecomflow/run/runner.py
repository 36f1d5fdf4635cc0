"""Run the events job locally on Flink's mini-cluster, bounded (a file) or on the stream.

The job itself (`flink_jobs`) is what MSF runs; this module only adds what a laptop needs: the
connector jars on the JVM classpath, a checkpoint folder, a loopback REST port, and a way to
end an unbounded run (stop when idle, or on Ctrl-C) that flushes every window and commits every
lake file.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import threading
import time
import urllib.request
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ecomflow import paths
from ecomflow.errors import EcomflowError
from ecomflow.local.stack import StackError, require
from ecomflow.run import restore_points
from flink_jobs.settings import JobSettings

# Per-subtask operator metric, e.g. "0.Source__src_stream__raw_events[1].numRecordsOut".
SOURCE_RECORDS_OUT = re.compile(r"^\d+\.Source__[^.]+\.numRecordsOut$")
# The job's accounting counters (fn_tally), e.g. "0.Calc[12].kinesisanalytics.ecomflow.late".
ACCOUNTING_METRIC = re.compile(r"^\d+\..+\.kinesisanalytics\.ecomflow\.([a-z_]+)$")
# The vertex that reads the stream (sql/10_sources/src_stream__raw_events.sql).
STREAM_SOURCE = "Source: src_stream__raw_events"
ACCOUNTING_TERMS = ("records_in", "valid", "dead_letter", "duplicates", "late", "forgotten",
                    "control")


class RunError(EcomflowError, RuntimeError):
    """The job could not run; the message says what to do."""


@dataclass(frozen=True)
class RunResult:
    job_id: str
    final_state: str
    seconds: float
    stopped_on_idle: bool = False
    savepoint: str | None = None
    # The accounting counters as the job last reported them (stream runs; empty if unknown).
    accounting: dict[str, int] | None = None


def require_jars() -> list[Path]:
    """Java, the uber-jar and the local S3 filesystem jar, or a one-line error saying what to do."""
    try:
        require("java")
    except StackError as exc:
        raise RunError(str(exc)) from None
    jars = [paths.UBER_JAR, *sorted(paths.LOCAL_LIB_DIR.glob("flink-s3-fs-hadoop-*.jar"))]
    if not paths.UBER_JAR.is_file() or len(jars) < 2:
        raise RunError(paths.missing_jar_message())
    return jars


def prepare_jvm(jars: list[Path], log_dir: Path) -> None:
    """Put the jars on the gateway JVM's classpath before PyFlink starts it.

    Flink discovers filesystems (s3://) through the JVM's own class loader, not through
    `pipeline.jars`, so the jars go on the classpath; PyFlink adds HADOOP_CLASSPATH to it.
    """
    if os.environ.get("_ECOMFLOW_JVM_PREPARED"):
        return  # the gateway JVM starts once per process; later changes would be ignored
    existing = os.environ.get("HADOOP_CLASSPATH", "")
    os.environ["HADOOP_CLASSPATH"] = os.pathsep.join([*(str(j) for j in jars), existing]).strip(
        os.pathsep)
    log_dir.mkdir(parents=True, exist_ok=True)
    os.environ["FLINK_LOG_DIR"] = str(log_dir)
    os.environ["LOG4J_PROPERTIES"] = str(Path(__file__).with_name("log4j-local.properties"))
    os.environ["_ECOMFLOW_JVM_PREPARED"] = "1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get_json(rest_port: int, path: str) -> object:
    url = f"http://127.0.0.1:{rest_port}{path}"
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (loopback only)
        return json.load(response)


def records_read(rest_port: int, job_id: str, *, stream_only: bool = False) -> int:
    """Records the job's sources (`stream_only`: the stream's, not the rates file's) have
    emitted so far: it grows while the stream has news.

    Only the source operators' own counters are summed: other vertices also count the
    file-commit messages sent on every checkpoint, so they never stand still.
    """
    total = 0
    job = _get_json(rest_port, f"/jobs/{job_id}")
    for vertex in job.get("vertices", []):  # type: ignore[union-attr]
        if not vertex["name"].startswith(STREAM_SOURCE if stream_only else "Source:"):
            continue
        base = f"/jobs/{job_id}/vertices/{vertex['id']}/metrics"
        names = [m["id"] for m in _get_json(rest_port, base)  # type: ignore[union-attr]
                 if SOURCE_RECORDS_OUT.match(m["id"])]
        if names:
            values = _get_json(rest_port, f"{base}?get={','.join(names)}")
            total += sum(int(float(m["value"])) for m in values)  # type: ignore[union-attr]
    return total


def all_tasks_running(rest_port: int, job_id: str) -> bool:
    """Whether every task runs (or has finished, like the bounded rates source): not so while
    the job fails over, when a stop would fail and a pause in records means nothing."""
    job = _get_json(rest_port, f"/jobs/{job_id}")
    return all(vertex["status"] in ("RUNNING", "FINISHED")
               for vertex in job.get("vertices", []))  # type: ignore[union-attr]


def accounting(rest_port: int, job_id: str) -> dict[str, int]:
    """The job's accounting counters, summed over operators and subtasks (0 when not seen)."""
    totals = dict.fromkeys(ACCOUNTING_TERMS, 0)
    job = _get_json(rest_port, f"/jobs/{job_id}")
    for vertex in job.get("vertices", []):  # type: ignore[union-attr]
        base = f"/jobs/{job_id}/vertices/{vertex['id']}/metrics"
        names = [m["id"] for m in _get_json(rest_port, base)  # type: ignore[union-attr]
                 if ACCOUNTING_METRIC.match(m["id"])]
        for start in range(0, len(names), 20):  # keep the query string short
            chunk = names[start:start + 20]
            for metric in _get_json(rest_port, f"{base}?get={','.join(chunk)}"):  # type: ignore[union-attr]
                term = ACCOUNTING_METRIC.match(metric["id"]).group(1)  # type: ignore[union-attr]
                totals[term] = totals.get(term, 0) + int(float(metric["value"]))
    return totals


def wait_until_classified(rest_port: int, job_id: str, *, timeout: float = 120.0,
                          poll_seconds: float = 1.0) -> dict[str, int] | None:
    """The accounting once it counts every record the stream's source has read (records_in),
    or as it stands after `timeout` seconds (None if the REST API does not answer).

    A record read is not yet classified while it waits in the job: the FX step holds events
    until the rates file has been read whole. Read at once, the counters of one CI run said 0
    while every record reached its sink at the drain (its logs were gone: this wait is the
    likely cause's cure; if the REST API's metric store itself was behind, the wait covers
    that too, for as long as `timeout`).
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            counted: dict[str, int] | None = accounting(rest_port, job_id)
            if counted["records_in"] >= records_read(rest_port, job_id, stream_only=True):
                return counted
        except (OSError, ValueError):
            counted = None
        if time.monotonic() >= deadline:
            return counted
        time.sleep(poll_seconds)


def _accounting_or_none(rest_port: int | None, job_id: str) -> dict[str, int] | None:
    if rest_port is None:
        return None
    try:
        return accounting(rest_port, job_id)
    except (OSError, ValueError):
        return None


# Before the first record, a stream run waits at least this long: producers started after the
# job (a replay, a benchmark's load) must not find it already stopped.
FIRST_RECORD_GRACE_SECONDS = 60.0


def idle_for_long_enough(records_so_far: int, quiet_seconds: float, idle_timeout: float) -> bool:
    """Whether a stream run has gone `idle_timeout` seconds without a new record."""
    needed = idle_timeout if records_so_far > 0 else max(idle_timeout, FIRST_RECORD_GRACE_SECONDS)
    return quiet_seconds >= needed


def run_job(
    settings: JobSettings,
    *,
    idle_timeout: float | None = None,
    savepoint_dir: Path | None = None,
    keep_state: bool = False,
    on_submitted: Callable[[str], None] | None = None,
    poll_seconds: float = 1.0,
) -> RunResult:
    """Run the job to completion (bounded) or until idle / interrupted (stream).

    A stream run ends with a savepoint: drained by default (every window fires, results are
    complete), or with `keep_state` not drained, so that `--resume` can continue it.
    """
    # apache-beam (a PyFlink dependency) warns about pkg_resources on import: not ours to fix.
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
    from pyflink.common import JobStatus

    from flink_jobs.environment import create_table_environment
    from flink_jobs.events_job import build

    started = time.monotonic()
    t_env = create_table_environment(settings)
    table_result = build(t_env, settings).execute()
    job_client = table_result.get_job_client()
    if job_client is None:
        raise RunError("Flink returned no job client")
    job_id = str(job_client.get_job_id())
    if on_submitted:
        on_submitted(job_id)

    if settings.bounded:
        table_result.wait()
        return RunResult(job_id, "FINISHED", time.monotonic() - started)

    if settings.rest_port is None:
        raise RunError("an unbounded local run needs Job.rest.port to watch progress")
    last_total, last_change = -1, time.monotonic()
    _stop_gracefully_on_sigterm()
    try:
        while True:
            try:
                status = job_client.get_job_status().result()
            except Exception:  # noqa: BLE001 - the mini-cluster is gone once the job ended
                status = None
            if status in (None, JobStatus.FAILED, JobStatus.CANCELED, JobStatus.FINISHED):
                table_result.wait()  # raises with the job's failure cause
                return RunResult(job_id, str(status), time.monotonic() - started)
            if idle_timeout is not None and status == JobStatus.RUNNING:
                try:
                    total = records_read(settings.rest_port, job_id)
                    healthy = all_tasks_running(settings.rest_port, job_id)
                except OSError:
                    total, healthy = last_total, False
                if total != last_total or not healthy:
                    last_total, last_change = total, time.monotonic()
                elif idle_for_long_enough(total, time.monotonic() - last_change, idle_timeout):
                    # Read before stopping: the counters go with the job. Windows and joins
                    # wait for the drain; every record read is classified before it.
                    counted = wait_until_classified(settings.rest_port, job_id)
                    try:
                        savepoint = _stop_with_savepoint(job_client, savepoint_dir, keep_state)
                    except Exception as exc:  # noqa: BLE001 - py4j wraps Flink's refusal
                        # A failover began meanwhile: keep watching, stop once it is over.
                        warnings.warn(f"stop with savepoint refused, retrying: {exc!s:.200}",
                                      stacklevel=1)
                        last_change = time.monotonic()
                        continue
                    return RunResult(job_id, "FINISHED", time.monotonic() - started,
                                     stopped_on_idle=True, savepoint=savepoint,
                                     accounting=counted)
            time.sleep(poll_seconds)
    except KeyboardInterrupt:
        counted = _accounting_or_none(settings.rest_port, job_id)
        savepoint = _stop_with_savepoint(job_client, savepoint_dir, keep_state)
        return RunResult(job_id, "FINISHED", time.monotonic() - started, savepoint=savepoint,
                         accounting=counted)


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _stop_gracefully_on_sigterm() -> None:
    """`kill PID` ends a stream run like Ctrl-C: drained, committed, with a savepoint.

    (The gateway JVM ignores SIGINT, so Ctrl-C reaches only us; SIGTERM needs this handler,
    or Python would die at once and take the JVM, and the uncommitted files, with it.)
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_interrupt)


def _stop_with_savepoint(job_client, savepoint_dir: Path | None,  # noqa: ANN001
                        keep_state: bool) -> str | None:
    """Stop with a savepoint; unless `keep_state`, advance to the end of event time.

    Draining emits the final watermark, so every open window fires and the final checkpoint
    commits every lake file and flushes the warehouse sink before the job ends. Without it,
    lake files and the warehouse are still committed and flushed, but open windows, sessions
    and carts stay in the savepoint for the next run to continue.
    """
    target = savepoint_dir.as_uri() if savepoint_dir else None
    savepoint = str(job_client.stop_with_savepoint(not keep_state, target).result())
    if not keep_state:
        restore_points.mark_drained(savepoint)
    return savepoint
