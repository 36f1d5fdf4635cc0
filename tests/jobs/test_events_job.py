"""The events job as MSF runs it: the packaged zip on a local cluster (JobManager and
TaskManager of their own, real local servers), against the sample oracle (`oracle.expected()`).

The same input run bounded into a local-folder lake is the reliability tests' uninterrupted run
(tests/jobs/test_reliability.py, `baseline`), checked with the same oracle; a stream run stopped
with SIGTERM is the last run of their kill test.
"""

from __future__ import annotations

import gzip
import os
import threading
import time
from pathlib import Path

import pytest

from ecomflow import paths
from ecomflow.aws import package
from ecomflow.ingest.replay import replay
from ecomflow.kinesis.client import kinesis_client
from ecomflow.local.stack import StackInfo
from ecomflow.run import package_run, runner
from ecomflow.run.local_run import local_property_groups
from tests.jobs import oracle
from tests.jobs.lake_reader import fresh_lake
from tests.kinesis_reader import create_active_stream
from tests.support.jobs import assert_sample_output

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
    lake = fresh_lake(stack, "package_kill")
    groups = local_property_groups(
        home=stack.home, stack=stack, lake=lake.url, lake_database=lake.database,
        init_position="TRIM_HORIZON",
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
    assert_sample_output(input_file, BAD_LINES, lake, warehouse, stack)
