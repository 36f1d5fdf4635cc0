"""ecomflow.local.stack against the real servers: kinesis-mock, moto's S3 server, PostgreSQL.

One stack is started for the module (about 3 s) and shared by the tests in file order; the last
one stops it. The fixture's teardown calls down() again, so nothing is left running.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import boto3
import psycopg2
import pytest
from botocore.config import Config

from ecomflow import paths
from ecomflow.local import config as stack_config
from ecomflow.local import services
from ecomflow.local import stack as ls
from ecomflow.local.stack import StackConfig, StackError, StackInfo
from tests.support import sockets

# 127.0.0.1, IPv4-mapped 127.0.0.1 (a Java socket on 127.0.0.1), ::1
LOOPBACK = {"127.0.0.1", "::ffff:7f00:1", "::1"}


def _client(info: StackInfo, service: str) -> Any:
    endpoint = info.kinesis_endpoint if service == "kinesis" else info.s3_endpoint
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=info.region,
        aws_access_key_id=info.access_key,
        aws_secret_access_key=info.secret_key,
        config=Config(s3={"addressing_style": "path"}, proxies={}),
    )


def _listeners(port: int) -> list[str]:
    """Local addresses of every LISTEN socket on `port` (IPv4 and IPv6)."""
    return [address for address, listened, _ in sockets.listen_sockets() if listened == port]


def _non_loopback_addresses() -> list[str]:
    try:
        out = subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=5).stdout
    except OSError:
        out = ""
    return [a for a in out.split() if "." in a and not a.startswith("127.")]


def _pid_gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")


@pytest.fixture(scope="module")
def home() -> Iterator[Path]:
    with ls.temporary_home() as path:
        yield path


@pytest.fixture(scope="module")
def config(home: Path) -> StackConfig:
    return StackConfig.on_free_ports(home / "state")


@pytest.fixture(scope="module")
def stack(config: StackConfig) -> Iterator[StackInfo]:
    try:
        yield ls.up(config)
    finally:
        ls.down(config.home)


# --- prerequisites and refusals (nothing gets started) ---------------------------------------


def test_missing_node_is_one_actionable_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("java", "mvn"):  # everything but node
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    monkeypatch.setenv("PATH", str(bin_dir))
    with pytest.raises(StackError) as caught:
        ls.check_prerequisites()
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("node not found") and "apt-get install" in message


def test_missing_postgres_stops_up_before_starting_anything(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(services, "_find_postgres_bin_dir", lambda: None)
    with pytest.raises(StackError) as caught:
        ls.up(StackConfig(home=tmp_path / "state"))
    assert str(caught.value) == (
        "PostgreSQL server binaries not found: apt-get install -y postgresql"
    )
    assert not (tmp_path / "state").exists()
    with pytest.raises(StackError, match="PostgreSQL"):
        ls.check_prerequisites()


def test_missing_kinesis_mock_names_the_npm_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(paths, "KINESIS_MOCK_DIR", tmp_path / "kinesis-mock")
    with pytest.raises(StackError) as caught:
        ls.check_prerequisites()
    assert str(caught.value) == (
        "kinesis-mock not installed: run `npm ci --prefix tools/kinesis-mock`"
    )


def test_nothing_recorded_means_nothing_running(tmp_path: Path) -> None:
    assert ls.load_info(tmp_path) is None
    assert ls.down(tmp_path) == []
    report = ls.status(tmp_path)
    assert report["info"] is None
    assert all(not s["running"] and s["pid"] is None for s in report["services"].values())


def test_down_ignores_a_reused_pid(tmp_path: Path) -> None:
    """A recorded pid that now belongs to another program (here: this test) is left alone."""
    info = stack_config._info_for(StackConfig(home=tmp_path), tmp_path, {"kinesis": os.getpid()})
    stack_config._write_info(info)
    assert ls.status(tmp_path)["services"]["kinesis"]["running"] is False
    assert ls.down(tmp_path) == []
    assert ls.load_info(tmp_path).pids == {}  # type: ignore[union-attr]


@pytest.mark.stack
def test_taken_port_is_refused_with_the_setting_to_change(home: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        config = StackConfig.on_free_ports(home / "taken", s3_port=port)
        with pytest.raises(StackError) as caught:
            ls.up(config)
    message = str(caught.value)
    assert f"port {port}" in message and "s3_port" in message and "\n" not in message
    assert ls.load_info(config.home) is None  # refused before starting anything


NODE_LISTEN_FORMS = r"""
const net = require('net');
const http = require('http');
const fs = require('fs');
const noop = () => {};
const forms = {
  'port': (s, done) => s.listen(0, done),
  'port-host': (s, done) => s.listen(0, '0.0.0.0', done),
  'port-host-backlog': (s, done) => s.listen(0, '0.0.0.0', 5, done),
  'port-backlog': (s, done) => { s.listen(0, 7); s.once('listening', done); },
  'port-string': (s, done) => { s.listen('0'); s.once('listening', done); },
  'port-undefined-host': (s, done) => s.listen(0, undefined, done),
  'options': (s, done) => s.listen({ port: 0, host: '::' }, done),
  'options-no-host': (s, done) => s.listen({ port: 0 }, done),
  'callback-only': (s, done) => s.listen(done),
  'no-args': (s, done) => { s.listen(); s.once('listening', done); },
  'http-server': (s, done) => s.listen(0, '0.0.0.0', done),
};
const result = {};
const names = Object.keys(forms);
let pending = names.length + 1;
const finish = () => {
  if (--pending === 0) { console.log(JSON.stringify(result)); process.exit(0); }
};
for (const name of names) {
  const server = name === 'http-server' ? http.createServer(noop) : net.createServer(noop);
  forms[name](server, () => { result[name] = server.address().address; finish(); });
}
// A Unix socket path is not a TCP port and must pass through untouched.
const sock = process.argv[1];
const unix = net.createServer(noop);
unix.listen(sock, () => { result.unix = fs.existsSync(sock); finish(); });
"""


def test_preload_pins_every_listen_form_to_loopback(tmp_path: Path) -> None:
    preload = tmp_path / "preload.js"
    preload.write_text(services.LOOPBACK_PRELOAD_JS)
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    out = subprocess.run(
        [node, "-r", str(preload), "-e", NODE_LISTEN_FORMS, str(tmp_path / "s.sock")],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    addresses = json.loads(out)
    assert addresses.pop("unix") is True
    assert len(addresses) == 11
    assert set(addresses.values()) == {"127.0.0.1"}, addresses


@pytest.mark.stack
def test_failed_up_stops_what_it_started(
    monkeypatch: pytest.MonkeyPatch, home: Path, tmp_path: Path
) -> None:
    (tmp_path / "01_broken.sql").write_text("CREATE TABLE broken (;")
    monkeypatch.setattr(paths, "WAREHOUSE_DDL_DIR", tmp_path)
    config = StackConfig.on_free_ports(home / "failing")
    try:
        with pytest.raises(StackError, match="01_broken.sql"):
            ls.up(config)
        info = ls.load_info(config.home)
        assert info is not None and info.pids == {}
        ports = [config.kinesis_port, config.kinesis_plain_port, config.s3_port]
        for port in [*ports, config.postgres_port]:
            assert _listeners(port) == [], f"something still listens on {port}"
    finally:
        ls.down(config.home)


# --- the running stack, in order --------------------------------------------------------------


@pytest.mark.stack
def test_up_reports_where_everything_listens(config: StackConfig, stack: StackInfo) -> None:
    assert stack.home == config.home.resolve()
    assert stack.kinesis_endpoint == f"http://127.0.0.1:{config.kinesis_plain_port}"
    assert stack.kinesis_tls_endpoint == f"https://127.0.0.1:{config.kinesis_port}"
    assert stack.stream_arn == "arn:aws:kinesis:us-east-1:000000000000:stream/ecomflow-events"
    assert stack.s3_endpoint == f"http://127.0.0.1:{config.s3_port}"
    assert stack.lake_url == "s3://ecomflow-lake"
    port = config.postgres_port
    assert stack.warehouse_url == f"jdbc:postgresql://127.0.0.1:{port}/ecomflow"
    assert stack.psql_command == f"psql -h 127.0.0.1 -p {port} -U postgres ecomflow"
    assert set(stack.pids) == {"kinesis", "s3", "postgres"}
    assert ls.load_info(config.home) == stack
    for service in ("kinesis", "s3", "postgres"):
        assert (config.home / "logs" / f"{service}.log").is_file()
    assert (config.home / "postgres" / "data" / "PG_VERSION").is_file()


@pytest.mark.stack
def test_stream_is_active_with_two_shards_and_round_trips(stack: StackInfo) -> None:
    kinesis = _client(stack, "kinesis")
    try:
        summary = kinesis.describe_stream_summary(StreamName=stack.stream_name)
        summary = summary["StreamDescriptionSummary"]
        assert summary["StreamStatus"] == "ACTIVE"
        assert summary["OpenShardCount"] == 2 == stack.shards
        payload = f"hello {uuid.uuid4()}".encode()
        put = kinesis.put_record(StreamName=stack.stream_name, Data=payload, PartitionKey="k")
        iterator = kinesis.get_shard_iterator(
            StreamName=stack.stream_name,
            ShardId=put["ShardId"],
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            StartingSequenceNumber=put["SequenceNumber"],
        )["ShardIterator"]
        records = kinesis.get_records(ShardIterator=iterator, Limit=10)["Records"]
        assert records and records[0]["Data"] == payload
    finally:
        kinesis.close()


@pytest.mark.stack
def test_bucket_exists_and_objects_round_trip(stack: StackInfo) -> None:
    s3 = _client(stack, "s3")
    try:
        assert stack.bucket in {b["Name"] for b in s3.list_buckets()["Buckets"]}
        s3.put_object(Bucket=stack.bucket, Key="probe/a.txt", Body=b"lake")
        assert s3.get_object(Bucket=stack.bucket, Key="probe/a.txt")["Body"].read() == b"lake"
    finally:
        s3.close()


@pytest.mark.stack
def test_warehouse_database_is_reachable(stack: StackInfo) -> None:
    with psycopg2.connect(ls.warehouse_dsn(stack)) as conn, conn.cursor() as cur:
        cur.execute("SELECT current_database(), current_user, 1")
        assert cur.fetchone() == ("ecomflow", "postgres", 1)
    conn.close()


@pytest.mark.stack
def test_warehouse_ddl_runs_in_name_order_and_reports_failures(
    stack: StackInfo, tmp_path: Path
) -> None:
    (tmp_path / "20_view.sql").write_text(
        "CREATE OR REPLACE VIEW t_probe_v AS SELECT id FROM t_probe;"
    )
    (tmp_path / "10_table.sql").write_text(
        "CREATE TABLE IF NOT EXISTS t_probe (id int);\n-- 100% idempotent\n"
    )
    (tmp_path / "notes.txt").write_text("not sql")
    for _ in range(2):  # idempotent files can be applied on every up
        assert ls.apply_warehouse_ddl(stack, ddl_dir=tmp_path) == ["10_table.sql", "20_view.sql"]
    assert ls.apply_warehouse_ddl(stack, ddl_dir=tmp_path / "missing") == []
    (tmp_path / "30_bad.sql").write_text("CREATE TABLE broken (;")
    with pytest.raises(StackError, match="30_bad.sql"):
        ls.apply_warehouse_ddl(stack, ddl_dir=tmp_path)


@pytest.mark.stack
def test_up_again_reuses_the_running_services(config: StackConfig, stack: StackInfo) -> None:
    again = ls.up(config)
    assert again == stack
    with pytest.raises(StackError, match="down"):
        ls.up(replace(config, s3_port=ls.free_port()))


@pytest.mark.stack
def test_status_shows_everything_running(config: StackConfig, stack: StackInfo) -> None:
    report = ls.status(config.home)
    assert report["info"] == stack
    for service, state in report["services"].items():
        assert state["running"] and state["listening"], service
        assert state["pid"] == stack.pids[service]
    assert report["services"]["kinesis"]["endpoint"] == stack.kinesis_endpoint
    assert report["services"]["s3"]["endpoint"] == stack.s3_endpoint


@pytest.mark.stack
def test_ports_listen_on_loopback_only(config: StackConfig, stack: StackInfo) -> None:
    ports = [config.kinesis_port, config.kinesis_plain_port, config.s3_port, config.postgres_port]
    for port in ports:
        listeners = _listeners(port)
        assert listeners, f"nothing listens on {port}"
        assert set(listeners) <= LOOPBACK, f"port {port} listens on {listeners}"
    for address in _non_loopback_addresses():
        for port in ports:
            with pytest.raises(OSError):
                socket.create_connection((address, port), timeout=2).close()


@pytest.mark.stack
def test_down_stops_everything_and_is_repeatable(config: StackConfig, stack: StackInfo) -> None:
    assert ls.down(config.home) == ["kinesis", "s3", "postgres"]
    for service, pid in stack.pids.items():
        assert _pid_gone(pid), service
    assert ls.load_info(config.home).pids == {}  # type: ignore[union-attr]
    report = ls.status(config.home)
    assert not any(state["running"] for state in report["services"].values())
    assert ls.down(config.home) == []
    assert (config.home / "postgres" / "data" / "PG_VERSION").is_file()  # data stays
