"""Start, inspect and stop the local stand-ins for AWS: kinesis-mock, a moto S3 server, PostgreSQL.

Everything binds to 127.0.0.1 and keeps its state under one folder (``StackConfig.home``):

    stack.json              what `up` started and where it listens (StackInfo)
    logs/<service>.log      each service's stdout/stderr
    loopback-preload.js     forces kinesis-mock onto 127.0.0.1
    kinesis/, s3/           working directories of kinesis-mock and moto (both keep their data in
                            memory: streams and objects are gone after `down`)
    postgres/data           the PostgreSQL cluster

The library never prints: it returns data and raises StackError with one actionable line.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import ssl
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

# The pieces: config (settings, where things listen), processes, services (start, probe),
# provision (stream, bucket, database). This module is the stack's API: up, down, status, and
# the names callers need from the pieces (__all__).
from ecomflow.local.config import (
    _INFO_FILE,
    _START_TIMEOUT,
    _STOP_TIMEOUT,
    KINESIS,
    LOOPBACK,
    POSTGRES,
    S3,
    SERVICES,
    StackConfig,
    StackError,
    StackInfo,
    _info_for,
    _locked,
    _log_path,
    _pg_data_dir,
    _ports,
    _write_info,
    free_port,
    load_info,
    warehouse_dsn,
)
from ecomflow.local.processes import (
    _ensure_ports_free,
    _signal_group,
    _tcp_answers,
    _tls_answers,
    _wait_gone,
)
from ecomflow.local.provision import (
    _ensure_bucket,
    _ensure_database,
    _ensure_stream,
    apply_warehouse_ddl,
    forget_lost_lake_tables,
)
from ecomflow.local.services import (
    _is_our_process,
    _postmaster_pid,
    _probe_kinesis,
    _probe_postgres,
    _probe_s3,
    _start_kinesis,
    _start_postgres,
    _start_s3,
    _stop_postgres,
    _wait_ready,
    check_prerequisites,
    require,
)


def _running(service: str, home: Path, previous: StackInfo | None) -> tuple[int, tuple[int, ...]]:
    """(pid, ports) of this home's `service` if it is still running, else (0, ())."""
    if service == POSTGRES:
        # Trust postmaster.pid over stack.json: it also covers an `up` that died half-way.
        recorded = _postmaster_pid(_pg_data_dir(home))
        if recorded and _is_our_process(POSTGRES, recorded[0], home):
            return recorded[0], (recorded[1],)
        return 0, ()
    pid = previous.pids.get(service, 0) if previous else 0
    if previous and pid and _is_our_process(service, pid, home):
        return pid, _ports(previous, service)
    return 0, ()


def up(config: StackConfig) -> StackInfo:
    """Start (or reuse) kinesis-mock, moto S3 and PostgreSQL; ensure stream, bucket, db, DDL.

    Idempotent: services recorded in stack.json that are still alive are reused.
    """
    require("node", "postgres", "kinesis-mock")
    home = Path(config.home).expanduser().resolve()
    with _locked(home):
        (home / "logs").mkdir(parents=True, exist_ok=True)
        previous = load_info(home)
        wanted = _info_for(config, home, {})
        pids: dict[str, int] = {}
        to_start: list[str] = []
        for service in SERVICES:
            pid, ports = _running(service, home, previous)
            if not pid:
                to_start.append(service)
            elif ports != _ports(wanted, service):
                raise StackError(
                    f"{service} from {home} already runs on port(s) {ports}: run `down` first "
                    "to change its ports"
                )
            else:
                pids[service] = pid

        settings = {
            KINESIS: ("kinesis_port", "kinesis_plain_port"),
            S3: ("s3_port",),
            POSTGRES: ("postgres_port",),
        }
        _ensure_ports_free(
            {name: getattr(config, name) for service in to_start for name in settings[service]}
        )

        info = _info_for(config, home, pids)
        try:
            return _start_and_prepare(config, home, info, to_start)
        except BaseException:
            # Leave no half-started stack behind: stop what this call started, keep the logs.
            latest = load_info(home) or info
            started = {s: p for s, p in latest.pids.items() if s in to_start}
            ours = {s: p for s, p in started.items() if _is_our_process(s, p, home)}
            leftover = _stop_services(home, ours)
            kept = {s: p for s, p in latest.pids.items() if s not in started}
            _write_info(replace(latest, pids={**kept, **leftover}))
            raise


def _start_and_prepare(
    config: StackConfig, home: Path, info: StackInfo, to_start: list[str]
) -> StackInfo:
    pids = dict(info.pids)
    # Start the two quick spawns first so they boot while pg_ctl blocks.
    for service, start in ((KINESIS, _start_kinesis), (S3, _start_s3)):
        if service in to_start:
            pids[service] = start(config, home)
            # Record right away so a crash of this process still leaves `down` a pid to stop.
            _write_info(replace(info, pids=dict(pids)))
    if POSTGRES in to_start:
        pids[POSTGRES] = _start_postgres(config, home)
    info = replace(info, pids=dict(pids))
    _write_info(info)

    probes = {
        KINESIS: (_probe_kinesis(info), info.kinesis_endpoint),
        S3: (_probe_s3(info), info.s3_endpoint),
        POSTGRES: (_probe_postgres(info), f"{LOOPBACK}:{config.postgres_port}"),
    }
    for service in SERVICES:
        probe, endpoint = probes[service]
        log = _log_path(home, service)
        _wait_ready(service, probe, pids[service], _START_TIMEOUT[service], log, endpoint)

    arn, shards = _ensure_stream(info, config.shards)
    _ensure_bucket(info)
    _ensure_database(info)
    if S3 in to_start:
        forget_lost_lake_tables(info)
    info = replace(info, stream_arn=arn, shards=shards)
    _write_info(info)
    apply_warehouse_ddl(info)
    return info


def add_stream(info: StackInfo, name: str) -> None:
    """Another stream on the stack's kinesis-mock, with the stack's shard count; ACTIVE on
    return (a run of its own, such as the demo's)."""
    _ensure_stream(replace(info, stream_name=name), info.shards)


def stop_warehouse(info: StackInfo) -> None:
    """Stop the stack's PostgreSQL (fast shutdown), keeping its data: a warehouse outage."""
    pid, _ = _running(POSTGRES, info.home, info)
    if pid:
        _stop_postgres(info.home, pid)


def start_warehouse(info: StackInfo) -> None:
    """Start the stack's PostgreSQL again on its port, after `stop_warehouse`."""
    if _running(POSTGRES, info.home, info)[0]:
        return
    config = StackConfig(home=info.home, postgres_port=info.postgres_port)
    pid = _start_postgres(config, info.home)
    _write_info(replace(info, pids={**info.pids, POSTGRES: pid}))
    _wait_ready(POSTGRES, _probe_postgres(info), pid, _START_TIMEOUT[POSTGRES],
                _log_path(info.home, POSTGRES), f"{LOOPBACK}:{info.postgres_port}")


def _stop_services(home: Path, pids: dict[str, int]) -> dict[str, int]:
    """Stop the given services (already verified as ours); return those still alive."""
    for service, pid in pids.items():
        if service != POSTGRES:
            _signal_group(pid, signal.SIGTERM)
    if POSTGRES in pids:
        _stop_postgres(home, pids[POSTGRES])
    others = [pid for service, pid in pids.items() if service != POSTGRES]
    for pid in _wait_gone(others, _STOP_TIMEOUT):
        _signal_group(pid, signal.SIGKILL)
    leftover = set(_wait_gone(list(pids.values()), _STOP_TIMEOUT))
    return {service: pid for service, pid in pids.items() if pid in leftover}


def down(home: Path) -> list[str]:
    """Stop exactly the processes `up` recorded in <home>/stack.json.

    PostgreSQL's data and the logs stay on disk; streams and objects lived in memory.
    """
    home = Path(home).expanduser().resolve()
    if not (home / _INFO_FILE).is_file():
        return []
    with _locked(home):
        info = load_info(home)
        if info is None or not info.pids:
            return []
        ours = {
            service: pid
            for service, pid in info.pids.items()
            if _is_our_process(service, pid, home)  # skip dead or reused pids
        }
        leftover = _stop_services(home, ours)
        _write_info(replace(info, pids=leftover))
        if leftover:
            names = ", ".join(f"{service} (pid {pid})" for service, pid in leftover.items())
            raise StackError(f"could not stop {names}: kill it by hand")
        return [service for service in SERVICES if service in ours]


def _listening(info: StackInfo, service: str) -> bool:
    ports = _ports(info, service)
    if service == KINESIS:
        try:
            _tls_answers(ports[0], timeout=1.0)
        except (OSError, ssl.SSLError):
            return False
        ports = ports[1:]
    return all(_tcp_answers(port, timeout=1.0) for port in ports)


def running(home: Path) -> StackInfo | None:
    """The stack's endpoints when every one of its services runs, else None."""
    report = status(home)
    if report.get("info") is not None and all(s.get("running")
                                              for s in report["services"].values()):
        return report["info"]
    return None


def status(home: Path) -> dict[str, Any]:
    """Per-service state: {"home", "services": {name: {...}}, "info": StackInfo | None}.

    Each service maps to {running, pid, endpoint, listening, log}: `running` means the
    recorded pid is alive and still that service; `listening` that its
    port accepts TCP connections.
    """
    home = Path(home).expanduser().resolve()
    info = load_info(home)
    services: dict[str, dict[str, Any]] = {}
    for service in SERVICES:
        pid = info.pids.get(service) if info else None
        running = bool(pid) and _is_our_process(service, pid or 0, home)
        endpoint: str | None = None
        listening = False
        if info is not None:
            listening = running and _listening(info, service)
            endpoint = {
                KINESIS: info.kinesis_endpoint,
                S3: info.s3_endpoint,
                POSTGRES: f"postgresql://{info.user}@{info.postgres_host}:{info.postgres_port}"
                f"/{info.database}",
            }[service]
        services[service] = {
            "running": running,
            "pid": pid,
            "endpoint": endpoint,
            "listening": listening,
            "log": str(_log_path(home, service)),
        }
    return {"home": str(home), "services": services, "info": info}


@contextlib.contextmanager
def running_stack(config: StackConfig) -> Iterator[StackInfo]:
    """`up`, yield the StackInfo, and always `down` afterwards (also when `up` fails half-way)."""
    try:
        yield up(config)
    finally:
        down(config.home)


@contextlib.contextmanager
def temporary_home(prefix: str = "ecomflow-stack-") -> Iterator[Path]:
    """A fresh state folder under the system temp dir, removed afterwards.

    As root, PostgreSQL runs as the `postgres` OS user, which cannot enter pytest's tmp_path
    (its parents are mode 0700): tests should put their stack home here instead.
    """
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


__all__ = [
    "KINESIS", "POSTGRES", "S3", "SERVICES", "StackConfig", "StackError", "StackInfo",
    "add_stream",
    "apply_warehouse_ddl", "check_prerequisites", "down", "free_port", "load_info", "require",
    "running_stack", "start_warehouse", "status", "stop_warehouse", "temporary_home", "up",
    "warehouse_dsn",
]
