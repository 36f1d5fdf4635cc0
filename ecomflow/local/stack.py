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
import fcntl
import json
import os
import pwd
import shlex
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from ecomflow import paths
from ecomflow.errors import EcomflowError

KINESIS = "kinesis"
S3 = "s3"
POSTGRES = "postgres"
SERVICES = (KINESIS, S3, POSTGRES)

LOOPBACK = "127.0.0.1"
ACCOUNT_ID = "000000000000"  # kinesis-mock's default account for any non-numeric access key
PG_USER = "postgres"
_PG_OS_USER = "postgres"
_INFO_FILE = "stack.json"
_PRELOAD_FILE = "loopback-preload.js"
_KINESIS_MAIN = Path("node_modules") / "kinesis-local" / "main.js"

_START_TIMEOUT = {KINESIS: 90.0, S3: 60.0, POSTGRES: 120.0}
_STOP_TIMEOUT = 15.0
_STREAM_TIMEOUT = 60.0

# kinesis-mock hard-codes 0.0.0.0. Node resolves every server (http, https, tls) through
# net.Server.prototype.listen, so patching that one method pins all of them to loopback.
# It also ends idle keep-alive connections on SIGTERM: otherwise the server's graceful shutdown
# waits up to 30 s for clients (boto3 pools, Flink) to hang up.
LOOPBACK_PRELOAD_JS = """\
'use strict';
// Written by ecomflow.local.stack: every TCP listen in this process goes to 127.0.0.1.
const net = require('net');
const LOOPBACK = '127.0.0.1';
const originalListen = net.Server.prototype.listen;
const openSockets = new Set();

function isPort(value) {
  return typeof value === 'number' || (typeof value === 'string' && /^[0-9]+$/.test(value));
}

function loopbackArgs(args) {
  const first = args[0];
  if (first === undefined || first === null) {
    // listen(): a random port.
    args[0] = 0;
    args.splice(1, 0, LOOPBACK);
  } else if (typeof first === 'function') {
    // listen(callback): a random port.
    args.unshift(0, LOOPBACK);
  } else if (isPort(first)) {
    // listen(port[, host][, backlog][, callback])
    const second = args[1];
    const hostSlot = second === undefined || second === null ? args.length > 1 : false;
    if (typeof second === 'string' || hostSlot) {
      args[1] = LOOPBACK;
    } else {
      args.splice(1, 0, LOOPBACK);
    }
  } else if (typeof first === 'object' && first.path === undefined && first.fd === undefined
             && first.handle === undefined && first._handle === undefined) {
    // listen(options[, callback]) with a TCP port.
    args[0] = Object.assign({}, first, { host: LOOPBACK, ipv6Only: false });
  }
  // Unix socket paths, handles and fds are not TCP ports: they pass through unchanged.
  return args;
}

net.Server.prototype.listen = function loopbackListen(...args) {
  this.on('connection', (socket) => {
    openSockets.add(socket);
    socket.on('close', () => openSockets.delete(socket));
  });
  return originalListen.apply(this, loopbackArgs(args));
};

// Signal end-of-input on every open connection so the server's shutdown need not wait for
// clients; repeated because a client may reconnect meanwhile. unref(): never keeps us alive.
function hangUp() {
  for (const socket of openSockets) {
    socket.push(null);
    socket.end();
  }
}
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    hangUp();
    setInterval(hangUp, 100).unref();
  });
}
"""

# Popen objects of services started by this process: polling them reaps exited children,
# which would otherwise linger as zombies that still have a /proc entry.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


class StackError(EcomflowError):
    """A one-line, actionable problem with the local stack."""


@dataclass(frozen=True)
class StackConfig:
    home: Path = field(default_factory=paths.state_home)
    kinesis_port: int = 4567  # kinesis-mock TLS port (HTTPS)
    kinesis_plain_port: int = 4568  # kinesis-mock plain HTTP port
    s3_port: int = 4569  # moto server
    postgres_port: int = 5433
    stream_name: str = "ecomflow-events"
    shards: int = 2
    bucket: str = "ecomflow-lake"
    database: str = "ecomflow"
    region: str = "us-east-1"

    @classmethod
    def on_free_ports(cls, home: Path, **overrides: Any) -> StackConfig:
        """A config whose four ports are currently free (for tests and parallel stacks)."""
        ports = free_ports(4)
        values: dict[str, Any] = {
            "kinesis_port": ports[0],
            "kinesis_plain_port": ports[1],
            "s3_port": ports[2],
            "postgres_port": ports[3],
        }
        values.update(overrides)
        return cls(home=Path(home), **values)


@dataclass(frozen=True)
class StackInfo:
    """Where the running stack listens; serialised to <home>/stack.json."""

    home: Path
    kinesis_endpoint: str  # plain HTTP: what boto3 and Flink use
    kinesis_tls_endpoint: str
    stream_name: str
    stream_arn: str
    shards: int
    s3_endpoint: str
    bucket: str
    lake_url: str
    postgres_host: str
    postgres_port: int
    database: str
    user: str
    warehouse_url: str
    psql_command: str
    region: str
    access_key: str = "test"
    secret_key: str = "test"
    pids: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["home"] = str(self.home)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StackInfo:
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        known["home"] = Path(known["home"])
        known["pids"] = {str(k): int(v) for k, v in (known.get("pids") or {}).items()}
        return cls(**known)


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """`count` distinct free ports: the sockets stay open until all are picked."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((LOOPBACK, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _first_line(text: object, limit: int = 200) -> str:
    lines = str(text).strip().splitlines()
    line = lines[0].strip() if lines else ""
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _log_path(home: Path, service: str) -> Path:
    return home / "logs" / f"{service}.log"


def _pg_data_dir(home: Path) -> Path:
    return home / "postgres" / "data"


def _kinesis_main() -> Path:
    return paths.KINESIS_MOCK_DIR / _KINESIS_MAIN


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


def _proc_stat_state(pid: int) -> str | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[-1].split()[0]


def _pid_alive(pid: int) -> bool:
    child = _CHILDREN.get(pid)
    if child is not None:
        if child.poll() is None:
            return True
        del _CHILDREN[pid]
        return False
    state = _proc_stat_state(pid)
    if state is None:
        return False
    if state in ("Z", "X"):
        # A zombie child of ours that no Popen tracks: reap it; either way it is gone.
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)
        return False
    return True


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _cwd(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return None


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


def _port_in_use(port: int) -> bool:
    # SO_REUSEADDR like the servers themselves, so sockets in TIME_WAIT do not count as taken.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return True
    return False


def _tcp_answers(port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((LOOPBACK, port), timeout=timeout):
            return True
    except OSError:
        return False


def _tls_answers(port: int, timeout: float = 2.0) -> None:
    """Complete a TLS handshake: kinesis-mock wedges its shutdown on a bare connect+close."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # kinesis-mock's certificate is self-signed
    with socket.create_connection((LOOPBACK, port), timeout=timeout) as raw:
        with context.wrap_socket(raw):
            pass


def _ensure_ports_free(ports: dict[str, int]) -> None:
    for setting, port in ports.items():
        if _port_in_use(port):
            raise StackError(
                f"port {port} on 127.0.0.1 is already in use by another process: stop it "
                f"(see `ss -ltnp 'sport = :{port}'`) or choose another port "
                f"(StackConfig.{setting})"
            )


def _write_info(info: StackInfo) -> None:
    target = info.home / _INFO_FILE
    tmp = target.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(info.to_dict(), indent=2, sort_keys=True) + "\n")
    os.replace(tmp, target)


def load_info(home: Path) -> StackInfo | None:
    """The StackInfo recorded in <home>/stack.json, or None if there is none."""
    path = Path(home).expanduser().resolve() / _INFO_FILE
    try:
        return StackInfo.from_dict(json.loads(path.read_text()))
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError) as exc:
        raise StackError(
            f"{path} is unreadable ({_first_line(exc)}): stop any leftover services by hand "
            "and delete it"
        ) from None


@contextlib.contextmanager
def _locked(home: Path) -> Iterator[None]:
    """Serialise up/down on one home so two callers never start the same services twice."""
    home.mkdir(parents=True, exist_ok=True)
    with open(home / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _info_for(config: StackConfig, home: Path, pids: dict[str, int], **extra: Any) -> StackInfo:
    values: dict[str, Any] = {
        "home": home,
        "kinesis_endpoint": f"http://{LOOPBACK}:{config.kinesis_plain_port}",
        "kinesis_tls_endpoint": f"https://{LOOPBACK}:{config.kinesis_port}",
        "stream_name": config.stream_name,
        "stream_arn": f"arn:aws:kinesis:{config.region}:{ACCOUNT_ID}:stream/{config.stream_name}",
        "shards": config.shards,
        "s3_endpoint": f"http://{LOOPBACK}:{config.s3_port}",
        "bucket": config.bucket,
        "lake_url": f"s3://{config.bucket}",
        "postgres_host": LOOPBACK,
        "postgres_port": config.postgres_port,
        "database": config.database,
        "user": PG_USER,
        "warehouse_url": f"jdbc:postgresql://{LOOPBACK}:{config.postgres_port}/{config.database}",
        "psql_command": f"psql -h {LOOPBACK} -p {config.postgres_port} -U {PG_USER} "
        f"{config.database}",
        "region": config.region,
        "pids": dict(pids),
    }
    values.update(extra)
    return StackInfo(**values)


@contextlib.contextmanager
def _aws_client(info: StackInfo, service: str, quick: bool = False) -> Iterator[Any]:
    """A boto3 client that is closed afterwards: an idle keep-alive connection would make
    kinesis-mock's graceful shutdown wait for it."""
    import boto3
    from botocore.config import Config

    config = Config(
        region_name=info.region,
        connect_timeout=2 if quick else 5,
        read_timeout=5 if quick else 30,
        retries={"max_attempts": 1 if quick else 3, "mode": "standard"},
        proxies={},  # loopback endpoints must never go through an HTTP(S)_PROXY
        s3={"addressing_style": "path"},
    )
    endpoint = info.kinesis_endpoint if service == "kinesis" else info.s3_endpoint
    client = boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=info.region,
        aws_access_key_id=info.access_key,
        aws_secret_access_key=info.secret_key,
        config=config,
    )
    try:
        yield client
    finally:
        client.close()


def warehouse_dsn(info: StackInfo) -> str:
    """psycopg2 DSN for the warehouse database (trust auth: no password)."""
    return (
        f"host={info.postgres_host} port={info.postgres_port} dbname={info.database} "
        f"user={info.user} connect_timeout=5"
    )


def _pg_connect(info: StackInfo, database: str | None = None) -> Any:
    import psycopg2

    dsn = warehouse_dsn(info if database is None else replace(info, database=database))
    return psycopg2.connect(dsn)


# ---------------------------------------------------------------------------------------------
# Waiting for services
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# Starting services
# ---------------------------------------------------------------------------------------------


def _spawn(cmd: list[str], log: Path, cwd: Path, env: dict[str, str] | None = None) -> int:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            start_new_session=True,  # survives the caller and its terminal's Ctrl-C
        )
    _CHILDREN[proc.pid] = proc
    return proc.pid


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


def _run_logged(cmd: list[str], log: Path, cwd: Path, *, start_new_session: bool = False
                ) -> subprocess.CompletedProcess[bytes]:
    """Run a setup command to completion, its output appended to the service's log."""
    with open(log, "ab") as out:
        return subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=out,
                              stderr=subprocess.STDOUT, cwd=cwd, check=False,
                              start_new_session=start_new_session)


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


# ---------------------------------------------------------------------------------------------
# Resources inside the services
# ---------------------------------------------------------------------------------------------


def _ensure_stream(info: StackInfo, shards: int) -> tuple[str, int]:
    """Create the stream if missing, wait until ACTIVE; return (arn, open shard count)."""
    with _aws_client(info, "kinesis") as client:
        try:
            client.create_stream(StreamName=info.stream_name, ShardCount=shards)
        except client.exceptions.ResourceInUseException:
            pass  # an earlier `up` made it
        deadline = time.monotonic() + _STREAM_TIMEOUT
        while True:
            summary = client.describe_stream_summary(StreamName=info.stream_name)
            summary = summary["StreamDescriptionSummary"]
            if summary["StreamStatus"] == "ACTIVE":
                return summary["StreamARN"], int(summary["OpenShardCount"])
            if time.monotonic() >= deadline:
                raise StackError(
                    f"stream {info.stream_name} is still {summary['StreamStatus']} after "
                    f"{_STREAM_TIMEOUT:.0f}s: see {_log_path(info.home, KINESIS)}"
                )
            time.sleep(0.2)


def _ensure_bucket(info: StackInfo) -> None:
    with _aws_client(info, "s3") as client:
        existing = {bucket["Name"] for bucket in client.list_buckets().get("Buckets", [])}
        if info.bucket in existing:
            return
        kwargs: dict[str, Any] = {"Bucket": info.bucket}
        if info.region != "us-east-1":  # us-east-1 rejects an explicit LocationConstraint
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": info.region}
        client.create_bucket(**kwargs)


def _ensure_database(info: StackInfo) -> None:
    from psycopg2 import sql

    conn = _pg_connect(info, database="postgres")
    try:
        conn.autocommit = True  # CREATE DATABASE cannot run inside a transaction
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (info.database,))
            if cur.fetchone() is None:
                cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(info.database)))
    finally:
        conn.close()


def apply_warehouse_ddl(info: StackInfo, ddl_dir: Path | None = None) -> list[str]:
    """Run every sql/warehouse/*.sql in name order, one transaction per file; return the names.

    The files are idempotent (IF NOT EXISTS / OR REPLACE), so this runs on every `up`.
    """
    import psycopg2

    directory = paths.WAREHOUSE_DDL_DIR if ddl_dir is None else Path(ddl_dir)
    files = sorted(directory.glob("*.sql")) if directory.is_dir() else []
    if not files:
        return []
    conn = _pg_connect(info)
    try:
        for path in files:
            try:
                with conn.cursor() as cur:
                    cur.execute(path.read_text())
                conn.commit()
            except psycopg2.Error as exc:
                conn.rollback()
                raise StackError(f"warehouse DDL {path.name} failed: {_first_line(exc)}") from None
    finally:
        conn.close()
    return [path.name for path in files]


# ---------------------------------------------------------------------------------------------
# up / down / status
# ---------------------------------------------------------------------------------------------


def _ports(info: StackInfo, service: str) -> tuple[int, ...]:
    if service == KINESIS:
        return (
            int(info.kinesis_tls_endpoint.rsplit(":", 1)[1]),
            int(info.kinesis_endpoint.rsplit(":", 1)[1]),
        )
    if service == S3:
        return (int(info.s3_endpoint.rsplit(":", 1)[1]),)
    return (info.postgres_port,)


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
    info = replace(info, stream_arn=arn, shards=shards)
    _write_info(info)
    apply_warehouse_ddl(info)
    return info


def _signal_group(pid: int, sig: int) -> None:
    """Signal the service's whole session (we started it as its own group leader)."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _wait_gone(pids: list[int], timeout: float) -> list[int]:
    """Wait until the pids exit; return those still alive after `timeout`."""
    deadline = time.monotonic() + timeout
    alive = [pid for pid in pids if _pid_alive(pid)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = [pid for pid in alive if _pid_alive(pid)]
    return alive


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
