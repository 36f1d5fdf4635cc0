"""The table environment: streaming mode, UTC, and the settings only local runs need."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from pyflink.common import Configuration
from pyflink.datastream import StreamExecutionEnvironment
from pyflink.table import StreamTableEnvironment

from flink_jobs.events_job import job_parameters
from flink_jobs.settings import JobSettings


def flink_configuration(settings: JobSettings) -> Configuration:
    """Cluster-level settings. On MSF the service owns checkpointing, so only local runs set it."""
    config = Configuration()
    # Read by switched_on() in the job's SQL, on MSF as locally.
    config.set_string("pipeline.global-job-parameters", ",".join(
        f"{key}:{value}" for key, value in job_parameters(settings).items()))
    if not settings.local:
        return config
    # Parquet files are committed on checkpoints only: without checkpointing nothing lands.
    config.set_string("execution.checkpointing.interval", f"{settings.checkpoint_interval_ms}ms")
    config.set_string("execution.checkpointing.mode", "EXACTLY_ONCE")
    config.set_string(
        "execution.checkpointing.min-pause", f"{settings.checkpoint_min_pause_ms}ms")
    config.set_string(
        "execution.checkpointing.externalized-checkpoint-retention", "RETAIN_ON_CANCELLATION")
    # Recover from passing failures (a warehouse restart), but give up on a persistent one
    # instead of restarting forever.
    config.set_string("restart-strategy.type", "exponential-delay")
    config.set_string("restart-strategy.exponential-delay.initial-backoff", "1s")
    config.set_string("restart-strategy.exponential-delay.max-backoff", "30s")
    config.set_string(
        "restart-strategy.exponential-delay.attempts-before-reset-backoff",
        str(settings.restart_attempts))
    if settings.checkpoint_dir:
        config.set_string("state.checkpoints.dir", Path(settings.checkpoint_dir).as_uri())
    if settings.restore_path:
        # Every operator's state must find its operator again: a plan change that drops
        # state fails the start instead of silently losing offsets or open windows.
        config.set_string("execution.savepoint.path", settings.restore_path)
        config.set_string("execution.savepoint.ignore-unclaimed-state", "false")
    # No Kerberos here: Flink's Hadoop token provider would build an HDFS configuration, whose
    # classes the uber-jar leaves out (the lake needs no HDFS).
    config.set_string("security.delegation.tokens.enabled", "false")
    # The mini-cluster's servers (REST API, used to watch progress; the BLOB server, which
    # binds the JobManager's bind-host or else every interface) listen on loopback only, and its
    # metrics are at most a second old (default 10 s): an idle stream run is noticed sooner.
    config.set_string("metrics.fetcher.update-interval", "1000")
    config.set_string("jobmanager.bind-host", "127.0.0.1")
    config.set_string("taskmanager.bind-host", "127.0.0.1")
    config.set_string("rest.bind-address", "127.0.0.1")
    config.set_string("rest.address", "127.0.0.1")
    if settings.rest_port is not None:
        config.set_string("rest.port", str(settings.rest_port))
    # The mini-cluster initialises its filesystems from this configuration: S3 endpoint and keys
    # for the emulator must be here, not only in the table config.
    for key, value in settings.lake.filesystem_config().items():
        config.set_string(key, value)
    return config


def _initialise_local_filesystems(config: Configuration) -> None:
    """Configure Flink's filesystems (s3:// endpoint and keys) in the local JVM.

    The mini-cluster does not pass the job's configuration to FileSystem: the planner resolves
    the lake path first, with defaults, and S3A then signs requests against real AWS with no
    credentials. Initialising FileSystem explicitly with our configuration fixes both.
    """
    from pyflink.java_gateway import get_gateway

    get_gateway().jvm.org.apache.flink.core.fs.FileSystem.initialize(
        config._j_configuration, None)


def create_table_environment(settings: JobSettings) -> StreamTableEnvironment:
    config = flink_configuration(settings)
    if settings.local:
        # On a mini-cluster PyFlink would start a "loopback" Python worker pool in this
        # process, a gRPC server on every interface ([::]), whether or not the job has Python
        # functions (it has none). Process mode starts none, and is what a cluster does.
        os.environ["_python_worker_execution_mode"] = "process"
    env = StreamExecutionEnvironment.get_execution_environment(config)
    if settings.local:
        _initialise_local_filesystems(config)
    if settings.parallelism:
        env.set_parallelism(settings.parallelism)
    # Chained operators hand records on without a deep copy (the job's Java operators never
    # keep an input object: they copy what they hold).
    env.get_config().enable_object_reuse()
    t_env = StreamTableEnvironment.create(env)
    # Partitions (dt/hr) and warehouse timestamps are UTC whatever the machine's zone.
    t_env.get_config().set("table.local-time-zone", "UTC")
    t_env.get_config().set("pipeline.name", "ecomflow-events")
    # No job-wide idle-state TTL: windows clean up by watermark, and the clean stream's keyed
    # steps have their own TTLs (the dedup horizon, the erasure period).
    if settings.local:
        # Should a Python function ever be added, its workers must use this interpreter (the
        # one with the project installed), not whatever `python` is first on PATH.
        t_env.get_config().set("python.executable", sys.executable)
        t_env.get_config().set("python.client.executable", sys.executable)
    return t_env
