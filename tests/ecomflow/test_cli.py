"""CLI behaviour that needs no Flink run: one-line errors and settings assembly."""

from __future__ import annotations

import importlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from ecomflow import paths
from ecomflow.cli import main
from ecomflow.run import runner
from ecomflow.run.local_run import build_local_settings, lake_url
from flink_jobs.settings import FileSource, KinesisSource


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ECOMFLOW_HOME", str(tmp_path))
    return tmp_path


def test_run_without_stack_says_how_to_start_it(home: Path) -> None:
    result = CliRunner().invoke(main, ["run"])
    assert result.exit_code == 1
    assert "ecomflow local up" in result.output
    assert "Traceback" not in result.output


def test_bounded_run_without_stack_needs_lake_and_warehouse(home: Path, tmp_path: Path) -> None:
    events = tmp_path / "e.jsonl"
    events.write_text("{}\n")
    result = CliRunner().invoke(main, ["run", "--input", str(events)])
    assert result.exit_code == 1
    assert "--lake, --warehouse-url and the lake's catalog" in result.output


def test_missing_jar_is_one_line(home: Path, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(paths, "UBER_JAR", tmp_path / "absent.jar")
    events = tmp_path / "e.jsonl"
    events.write_text("{}\n")
    result = CliRunner().invoke(main, ["run", "--input", str(events), "--lake", str(tmp_path),
                                       "--warehouse-url", "jdbc:postgresql://127.0.0.1/x"])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "mvn -q -B package" in lines[0]
    with pytest.raises(runner.RunError):
        runner.require_jars()


def test_lake_flag_accepts_paths_and_urls(tmp_path: Path) -> None:
    assert lake_url("s3://bucket/prefix/") == "s3://bucket/prefix"
    assert lake_url(str(tmp_path)) == tmp_path.as_uri()


def test_local_settings_layers(tmp_path: Path) -> None:
    events = tmp_path / "e.jsonl"
    events.write_text("{}\n")
    settings = build_local_settings(
        home=tmp_path, stack=None, environ={"ECOMFLOW__Job__watermark.delay.seconds": "9"},
        input_file=events, lake=str(tmp_path / "lake"),
        warehouse_url="jdbc:postgresql://127.0.0.1:1/x?user=me", parallelism=3)
    assert isinstance(settings.source, FileSource)
    assert settings.source.path == str(events.resolve())
    assert settings.lake.url == (tmp_path / "lake").as_uri()
    assert settings.lake.filesystem_config() == {}
    assert settings.watermark_delay_seconds == 9  # environment over the properties file
    assert settings.parallelism == 3
    assert settings.checkpoint_dir == str(tmp_path / "checkpoints")
    stream = build_local_settings(home=tmp_path, stack=None, environ={},
                                  init_position="LATEST", rest_port=8099)
    assert isinstance(stream.source, KinesisSource)
    assert stream.source.init_position == "LATEST" and stream.rest_port == 8099


def test_idle_timeout_waits_for_a_first_record() -> None:
    assert not runner.idle_for_long_enough(0, quiet_seconds=30, idle_timeout=10)
    assert runner.idle_for_long_enough(0, quiet_seconds=60, idle_timeout=10)
    assert runner.idle_for_long_enough(5, quiet_seconds=10, idle_timeout=10)
    assert not runner.idle_for_long_enough(5, quiet_seconds=9.9, idle_timeout=10)
    assert not runner.idle_for_long_enough(0, quiet_seconds=90, idle_timeout=120)


class _FlinkRest(BaseHTTPRequestHandler):
    """Flink's REST answers for one job: the stream's source has read 5 records, the rates
    file's 7; CountOutcomes counts them as the test says (`server.records_in`)."""

    VERTICES = {"v1": "Source: src_stream__raw_events[1] -> RecordHead(contract)",
                "v2": "Source: src_reference__fx_rates[3] -> Calc[4]",
                "v3": "FxRates(rate as of event time) -> CountOutcomes(accounting)"}

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        path, _, query = self.path.partition("?")
        if path == "/jobs/j":
            body: object = {"vertices": [{"id": k, "name": v} for k, v in self.VERTICES.items()]}
        else:
            vertex = path.split("/")[4]
            values = {"v1": {"0.Source__src_stream__raw_events[1].numRecordsOut": 5},
                      "v2": {"0.Source__src_reference__fx_rates[3].numRecordsOut": 7},
                      "v3": {f"0.CountOutcomes(accounting).kinesisanalytics.ecomflow.{term}": 0
                             for term in runner.ACCOUNTING_TERMS}}[vertex]
            if vertex == "v3" and query:
                self.server.reads += 1  # type: ignore[attr-defined]
                values[next(iter(values))] = self.server.records_in(  # type: ignore[attr-defined]
                    self.server.reads)  # type: ignore[attr-defined]
            body = ([{"id": k, "value": str(v)} for k, v in values.items()] if query
                    else [{"id": k} for k in values])
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def flink_rest() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FlinkRest)
    server.reads = 0  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_counters_are_read_once_every_record_read_is_classified(
        flink_rest: ThreadingHTTPServer) -> None:
    """Records waiting in the job (for the rates file) are not counted yet: the run waits for
    records_in to reach what the stream's source read (the rates file's rows do not count)."""
    flink_rest.records_in = lambda reads: 0 if reads < 3 else 5  # type: ignore[attr-defined]
    port = flink_rest.server_address[1]
    counted = runner.wait_until_classified(port, "j", poll_seconds=0.01)
    assert counted is not None and counted["records_in"] == 5
    assert flink_rest.reads == 3  # type: ignore[attr-defined]


def test_counters_still_behind_at_the_timeout_are_reported_as_they_stand(
        flink_rest: ThreadingHTTPServer) -> None:
    flink_rest.records_in = lambda reads: 4  # type: ignore[attr-defined]
    port = flink_rest.server_address[1]
    counted = runner.wait_until_classified(port, "j", timeout=0.2, poll_seconds=0.01)
    assert counted == dict.fromkeys(runner.ACCOUNTING_TERMS, 0) | {"records_in": 4}
    assert runner.wait_until_classified(runner.free_port(), "j", timeout=0) is None


@pytest.mark.parametrize("interrupted", [False, True])
def test_package_runs_say_whether_they_stopped_on_idle(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, interrupted: bool) -> None:
    """An idle stop waits for the counters; Ctrl-C reads them as they stand. Both drain, and
    only the first reports stopped_on_idle (Ctrl-C used to say it too)."""
    from contextlib import nullcontext
    from types import SimpleNamespace

    from ecomflow.run import package_run

    calls: list[str] = []
    prepared = SimpleNamespace(folder=tmp_path, configuration={}, app=None, options={},
                               groups=None, python=None,
                               settings=SimpleNamespace(bounded=False))
    cluster = SimpleNamespace(rest_port=1)

    def idle(*args: object) -> None:
        calls.append("idle")
        if interrupted:
            raise KeyboardInterrupt

    monkeypatch.setattr(package_run, "prepare", lambda *a, **k: prepared)
    monkeypatch.setattr(package_run, "package_cluster", lambda *a: nullcontext(cluster))
    monkeypatch.setattr(package_run, "submit", lambda *a: "job")
    monkeypatch.setattr(package_run, "wait_for", lambda *a, **k: "RUNNING")
    monkeypatch.setattr(package_run, "wait_until_idle", idle)
    monkeypatch.setattr(package_run, "drain", lambda *a: calls.append("drain"))
    monkeypatch.setattr(runner, "wait_until_classified",
                        lambda *a: calls.append("classified") or {"records_in": 2})
    monkeypatch.setattr(runner, "accounting",
                        lambda *a: calls.append("as they stand") or {"records_in": 1})
    result = package_run.run_package(tmp_path / "app.zip", {}, home=tmp_path, idle_timeout=1)
    assert result.stopped_on_idle is not interrupted
    assert result.accounting == {"records_in": 1 if interrupted else 2}
    assert calls == ["idle", "as they stand" if interrupted else "classified", "drain"]


def test_missing_java_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    hint = r"^java not found on PATH: apt-get install -y openjdk-17-jdk-headless$"
    with pytest.raises(runner.RunError, match=hint) as caught:
        runner.require_jars()
    assert "\n" not in str(caught.value)


def test_every_tooling_error_shares_one_base_and_the_cli_prints_it_as_one_line() -> None:
    """One exception base (ecomflow/errors.py) for every public error class (a private one,
    like the collector's `_BadBody`, never leaves its module); an error no command handled is
    one red line and exit status 1, not a traceback."""
    import ecomflow
    from ecomflow.errors import EcomflowError

    bases = []
    for path in Path(ecomflow.__file__).parent.rglob("*.py"):
        if path.name == "__main__.py":  # runs the command
            continue
        module = ".".join(path.relative_to(Path(ecomflow.__file__).parent.parent)
                          .with_suffix("").parts).removesuffix(".__init__")
        imported = importlib.import_module(module)
        bases += [obj for obj in vars(imported).values()
                  if isinstance(obj, type) and issubclass(obj, Exception)
                  and obj.__module__ == module and not obj.__name__.startswith("_")]
    assert len(bases) >= 12
    assert all(issubclass(error, EcomflowError) for error in bases), [
        e.__name__ for e in bases if not issubclass(e, EcomflowError)]

    cli_main = main

    @cli_main.command("boom-for-test")
    def boom() -> None:
        raise EcomflowError("the warehouse is not reachable")

    try:
        result = CliRunner().invoke(cli_main, ["boom-for-test"])
    finally:
        cli_main.commands.pop("boom-for-test")
    assert result.exit_code == 1
    assert result.output == "error: the warehouse is not reachable\n"
