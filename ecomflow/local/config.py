"""What the local stack is: its services and settings (StackConfig), where it listens
(StackInfo, kept in <home>/stack.json) and how to reach it."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
from collections.abc import Iterator
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
    # The lake's Iceberg catalog (JDBC catalog tables), a database of its own beside the
    # warehouse's.
    catalog_database: str = "ecomflow_lake"

    @property
    def catalog_url(self) -> str:
        """JDBC URL of the lake's Iceberg catalog database."""
        return (f"jdbc:postgresql://{self.postgres_host}:{self.postgres_port}"
                f"/{self.catalog_database}")

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


def _ports(info: StackInfo, service: str) -> tuple[int, ...]:
    if service == KINESIS:
        return (
            int(info.kinesis_tls_endpoint.rsplit(":", 1)[1]),
            int(info.kinesis_endpoint.rsplit(":", 1)[1]),
        )
    if service == S3:
        return (int(info.s3_endpoint.rsplit(":", 1)[1]),)
    return (info.postgres_port,)
