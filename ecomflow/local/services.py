"""The three services of the local stack: prerequisites, starting kinesis-mock (pinned to
loopback by loopback-preload.js), the moto S3 server and PostgreSQL, and their readiness
probes."""

from __future__ import annotations

import contextlib
import os
import pwd
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from ecomflow.local.config import (
    _PG_OS_USER,
    _PRELOAD_FILE,
    _START_TIMEOUT,
    _STOP_TIMEOUT,
    KINESIS,
    LOOPBACK,
    PG_USER,
    POSTGRES,
    S3,
    StackConfig,
    StackError,
    StackInfo,
    _aws_client,
    _first_line,
    _kinesis_main,
    _log_path,
    _pg_connect,
    _pg_data_dir,
    _ports,
)
from ecomflow.local.processes import (
    _cmdline,
    _cwd,
    _pid_alive,
    _run_logged,
    _spawn,
    _tls_answers,
    _wait_gone,
)

# kinesis-mock hard-codes 0.0.0.0. Node resolves every server (http, https, tls) through
# net.Server.prototype.listen, so patching that one method pins all of them to loopback.
# It also ends idle keep-alive connections on SIGTERM: otherwise the server's graceful shutdown
# waits up to 30 s for clients (boto3 pools, Flink) to hang up.
LOOPBACK_PRELOAD_JS = Path(__file__).with_name("loopback-preload.js").read_text(encoding="utf-8")


def _find_postgres_bin_dir() -> Path | None:
    """The newest PostgreSQL server bin dir (Debian layout first, then pg_config, then PATH)."""

    def usable(directory: Path) -> bool:
        return all((directory / name).is_file() for name in ("initdb", "pg_ctl", "postgres"))

    def version_key(directory: Path) -> tuple[int, ...]:
        try:
            return tuple(int(part) for part in directory.parent.name.split("."))
        except ValueError:
            return (-1,)

    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version_key, reverse=True)
    for directory in candidates:
        if usable(directory):
            return directory
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            out = ""
        if out and usable(Path(out)):
            return Path(out)
    initdb = shutil.which("initdb")
    if initdb and usable(Path(initdb).parent):
        return Path(initdb).parent
    return None


_INSTALL_HINTS = {
    "java": "java not found on PATH: apt-get install -y openjdk-17-jdk-headless",
    "node": "node not found on PATH: apt-get install -y nodejs (Node.js 18 or newer)",
    "mvn": "mvn not found on PATH: apt-get install -y maven",
    "postgres": "PostgreSQL server binaries not found: apt-get install -y postgresql",
    "kinesis-mock": "kinesis-mock not installed: run `npm ci --prefix tools/kinesis-mock`",
}


def _missing(requirement: str) -> bool:
    if requirement in ("java", "node", "mvn"):
        return shutil.which(requirement) is None
    if requirement == "postgres":
        return _find_postgres_bin_dir() is None
    if requirement == "kinesis-mock":
        return not _kinesis_main().is_file()
    raise ValueError(requirement)


def require(*requirements: str) -> None:
    """Raise StackError with the install hint of the first missing tool."""
    for requirement in requirements:
        if _missing(requirement):
            raise StackError(_INSTALL_HINTS[requirement])
    if "postgres" in requirements and os.geteuid() == 0:
        # initdb/postgres refuse to run as root; we drop to the OS user the package creates.
        try:
            pwd.getpwnam(_PG_OS_USER)
        except KeyError:
            raise StackError(
                "OS user 'postgres' not found (PostgreSQL cannot run as root): "
                "apt-get install -y postgresql, or useradd --system postgres"
            ) from None


def check_prerequisites() -> None:
    """Raise StackError naming the first missing tool (runs need java and mvn too)."""
    require("java", "node", "mvn", "postgres", "kinesis-mock")


def _is_our_process(service: str, pid: int, home: Path) -> bool:
    """Does `pid` still look like the `service` that `up` started for `home`? (pids get reused)"""
    if not _pid_alive(pid):
        return False
    args = _cmdline(pid)
    if not args:
        return False
    if service == KINESIS:
        return str(home / _PRELOAD_FILE) in args and any(
            arg.endswith("kinesis-local/main.js") for arg in args
        )
    if service == S3:
        return "moto.server" in args and _cwd(pid) == str(home / "s3")
    if service == POSTGRES:
        return Path(args[0]).name in ("postgres", "postmaster") and str(_pg_data_dir(home)) in args
    return False


def _wait_ready(
    service: str,
    probe: Callable[[], None],
    pid: int,
    timeout: float,
    log: Path,
    endpoint: str,
) -> None:
    """Call `probe` until it stops raising; fail fast if the process dies meanwhile."""
    deadline = time.monotonic() + timeout
    last_error = "no answer"
    while True:
        try:
            probe()
            return
        except Exception as exc:  # any failure just means "not ready yet"
            last_error = _first_line(exc) or type(exc).__name__
        if not _pid_alive(pid):
            raise StackError(f"{service} exited during startup: see {log}")
        if time.monotonic() >= deadline:
            raise StackError(
                f"{service} did not answer on {endpoint} within {timeout:.0f}s "
                f"({last_error}): see {log}"
            )
        time.sleep(0.2)


def _probe_kinesis(info: StackInfo) -> Callable[[], None]:
    tls_port = _ports(info, KINESIS)[0]

    def probe() -> None:
        _tls_answers(tls_port)
        with _aws_client(info, "kinesis", quick=True) as client:
            client.list_streams(Limit=1)

    return probe


def _probe_s3(info: StackInfo) -> Callable[[], None]:
    def probe() -> None:
        with _aws_client(info, "s3", quick=True) as client:
            client.list_buckets()

    return probe


def _probe_postgres(info: StackInfo) -> Callable[[], None]:
    def probe() -> None:
        conn = _pg_connect(info, database="postgres")
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT 1")
                cur.fetchone()
        finally:
            conn.close()

    return probe


def _start_kinesis(config: StackConfig, home: Path) -> int:
    preload = home / _PRELOAD_FILE
    if not preload.is_file() or preload.read_text() != LOOPBACK_PRELOAD_JS:
        preload.write_text(LOOPBACK_PRELOAD_JS)
    workdir = home / "kinesis"
    workdir.mkdir(parents=True, exist_ok=True)
    main_js = _kinesis_main()
    env = dict(os.environ)
    env.update(
        {
            "KINESIS_MOCK_CERT_PATH": str(main_js.parent / "server.json"),
            "KINESIS_MOCK_TLS_PORT": str(config.kinesis_port),
            "KINESIS_MOCK_PLAIN_PORT": str(config.kinesis_plain_port),
            "AWS_REGION": config.region,
            # Streams live in memory, like moto's S3 objects: persisting one without the
            # other would replay events into an empty lake, and the periodic full-state
            # JSON dump costs CPU under benchmark load.
            "SHOULD_PERSIST_DATA": "false",
            # A half-open connection (a bare TCP probe of the TLS port) wedges the graceful
            # shutdown for 30 s; with nothing to save, give up after 2 s.
            "CATS_EFFECT_SHUTDOWN_HOOK_TIMEOUT": "2s",
            # kinesis-mock caps the account at 50 shards, like a new AWS account; a test
            # session (and a long-lived local stack) creates many small streams.
            "SHARD_LIMIT": "10000",
        }
    )
    node = shutil.which("node") or "node"
    cmd = [node, "-r", str(preload), str(main_js)]
    return _spawn(cmd, _log_path(home, KINESIS), cwd=workdir, env=env)


def _start_s3(config: StackConfig, home: Path) -> int:
    workdir = home / "s3"
    workdir.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "moto.server", "-H", LOOPBACK, "-p", str(config.s3_port)]
    return _spawn(cmd, _log_path(home, S3), cwd=workdir)


def _as_pg_user(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    runuser = shutil.which("runuser") or "/usr/sbin/runuser"
    return [runuser, "-u", _PG_OS_USER, "--", *cmd]


def _check_pg_can_reach(directory: Path) -> None:
    """As root, the cluster belongs to `postgres`, which must be able to enter every parent."""
    user = pwd.getpwnam(_PG_OS_USER)
    groups = set(os.getgrouplist(user.pw_name, user.pw_gid))
    for parent in reversed(directory.parents):
        st = parent.stat()
        if st.st_uid == user.pw_uid:
            ok = bool(st.st_mode & stat.S_IXUSR)
        elif st.st_gid in groups:
            ok = bool(st.st_mode & stat.S_IXGRP)
        else:
            ok = bool(st.st_mode & stat.S_IXOTH)
        if not ok:
            raise StackError(
                f"PostgreSQL runs as OS user postgres, which cannot enter {parent}: "
                f"`chmod o+x {parent}` or put the state folder (ECOMFLOW_HOME) elsewhere"
            )


def _postmaster_pid(data: Path) -> tuple[int, int] | None:
    """(pid, port) from postmaster.pid, if the file is there."""
    try:
        lines = (data / "postmaster.pid").read_text().splitlines()
        return int(lines[0]), int(lines[3])
    except (OSError, ValueError, IndexError):
        return None


def _prepare_pg_dirs(home: Path, data: Path, log: Path) -> None:
    pg_dir = data.parent
    pg_dir.mkdir(parents=True, exist_ok=True)
    data.mkdir(exist_ok=True)
    data.chmod(0o700)  # postgres refuses a group/world-readable data directory
    log.parent.mkdir(parents=True, exist_ok=True)
    log.touch(exist_ok=True)
    if os.geteuid() == 0:
        user = pwd.getpwnam(_PG_OS_USER)
        # Traverse-only bits so postgres can reach its data dir and log; nothing becomes listable.
        for directory in (home, log.parent):
            directory.chmod(directory.stat().st_mode | stat.S_IXOTH)
        _check_pg_can_reach(data)
        for path in (pg_dir, data, log):
            os.chown(path, user.pw_uid, user.pw_gid)


def _start_postgres(config: StackConfig, home: Path) -> int:
    bindir = _find_postgres_bin_dir()
    if bindir is None:
        raise StackError(_INSTALL_HINTS["postgres"])
    data = _pg_data_dir(home)
    log = _log_path(home, POSTGRES)
    socket_path = data / f".s.PGSQL.{config.postgres_port}"
    if len(str(socket_path).encode()) > 107:
        raise StackError(
            f"state folder path is too long for PostgreSQL's Unix socket ({socket_path}): "
            "use a shorter ECOMFLOW_HOME"
        )
    _prepare_pg_dirs(home, data, log)
    cwd = data.parent  # the postgres user must be able to enter the working directory
    if not (data / "PG_VERSION").is_file():
        if any(data.iterdir()):
            raise StackError(f"{data} is not empty but holds no PostgreSQL cluster: move it away")
        initdb = [
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            PG_USER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
        ]
        result = _run_logged(_as_pg_user(initdb), log, cwd)
        if result.returncode != 0:
            raise StackError(f"initdb failed (exit {result.returncode}): see {log}")
    server_options = (
        f"-p {config.postgres_port} -c listen_addresses={LOOPBACK} -k {shlex.quote(str(data))}"
    )
    pg_ctl = [
        str(bindir / "pg_ctl"),
        "-D",
        str(data),
        "-o",
        server_options,
        "-l",
        str(log),
        "-w",
        "-t",
        str(int(_START_TIMEOUT[POSTGRES])),
        "start",
    ]
    # Own session: the postmaster pg_ctl leaves behind must not die with our terminal.
    result = _run_logged(_as_pg_user(pg_ctl), log, cwd, start_new_session=True)
    if result.returncode != 0:
        raise StackError(f"PostgreSQL failed to start (pg_ctl exit {result.returncode}): see {log}")
    # pg_ctl daemonizes the postmaster; its pid is only in postmaster.pid.
    recorded = _postmaster_pid(data)
    if recorded is None:
        raise StackError(f"PostgreSQL started but {data}/postmaster.pid is missing: see {log}")
    return recorded[0]


def _stop_postgres(home: Path, pid: int) -> None:
    data = _pg_data_dir(home)
    bindir = _find_postgres_bin_dir()
    stopped = False
    if bindir is not None:
        cmd = [str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "-t", "60", "stop"]
        with open(_log_path(home, POSTGRES), "ab") as out:
            result = subprocess.run(
                _as_pg_user(cmd),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=data.parent,
                check=False,
            )
        stopped = result.returncode == 0
    if not stopped:
        # SIGINT is the postmaster's "fast shutdown"; SIGQUIT its "immediate" one. Never
        # SIGKILL a postmaster: it would leave shared memory and children behind.
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGINT)
        if _wait_gone([pid], _STOP_TIMEOUT):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGQUIT)
