"""The `ecomflow` command: local stack, runs, replay, demo and packaging.

Errors the user can act on are printed as one line (exit code 1), never as a traceback.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ecomflow import paths
from ecomflow.cli.errors import fail
from ecomflow.errors import EcomflowError
from ecomflow.local import stack as local_stack
from ecomflow.local.stack import StackConfig, StackError
from flink_jobs.property_keys import KINESIS_INIT_POSITION

if TYPE_CHECKING:
    from ecomflow.ingest.replay import ReplaySummary


class _Commands(click.Group):
    """The one error path: a tooling error no command handled itself (EcomflowError) is
    one red line and exit status 1, like every `fail()`; anything else keeps its traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except EcomflowError as exc:
            fail(str(exc))


@click.group(cls=_Commands)
@click.version_option(package_name="ecomflow")
def main() -> None:
    """Real-time e-commerce analytics on Apache Flink, on a laptop as on AWS."""


# -- local stack ------------------------------------------------------------------------------

@main.group()
def local() -> None:
    """Start, inspect and stop the local stack (kinesis-mock, moto S3, PostgreSQL)."""


@local.command("up")
@click.option("--kinesis-port", type=int, default=4567, show_default=True, help="TLS port.")
@click.option("--kinesis-plain-port", type=int, default=4568, show_default=True)
@click.option("--s3-port", type=int, default=4569, show_default=True)
@click.option("--postgres-port", type=int, default=5433, show_default=True)
@click.option("--shards", type=int, default=2, show_default=True)
@click.option("--stream", "stream_name", default="ecomflow-events", show_default=True)
@click.option("--bucket", default="ecomflow-lake", show_default=True)
def local_up(kinesis_port: int, kinesis_plain_port: int, s3_port: int, postgres_port: int,
             shards: int, stream_name: str, bucket: str) -> None:
    """Start the stack (idempotent): stream, lake bucket and warehouse tables included."""
    config = StackConfig(
        home=paths.state_home(), kinesis_port=kinesis_port,
        kinesis_plain_port=kinesis_plain_port, s3_port=s3_port, postgres_port=postgres_port,
        shards=shards, stream_name=stream_name, bucket=bucket)
    try:
        info = local_stack.up(config)
    except StackError as exc:
        fail(str(exc))
    _print_endpoints(info)


@local.command("down")
def local_down() -> None:
    """Stop exactly the processes `up` started (data stays on disk)."""
    stopped = local_stack.down(paths.state_home())
    click.echo(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


@local.command("status")
def local_status() -> None:
    """Print every service, its endpoint and the warehouse connection URL."""
    report = local_stack.status(paths.state_home())
    for name, service in report["services"].items():
        state = "running" if service.get("running") else "stopped"
        click.echo(f"{name:<9} {state:<8} pid={service.get('pid') or '-':<8} "
                   f"{service.get('endpoint') or ''}")
    if report.get("info") is not None:
        _print_endpoints(report["info"])


def _print_endpoints(info: local_stack.StackInfo) -> None:
    click.echo(f"kinesis    {info.kinesis_endpoint}  stream {info.stream_name} "
               f"({info.shards} shards)  {info.stream_arn}")
    click.echo(f"s3         {info.s3_endpoint}  lake {info.lake_url}")
    click.echo(f"warehouse  {info.warehouse_url}?user={info.user}")
    click.echo(f"catalog    {info.catalog_url}?user={info.user}  (the Iceberg lake's tables)")
    click.echo(f"psql       {info.psql_command}")
    click.echo(f"state      {info.home}")


def _running_stack() -> local_stack.StackInfo | None:
    return local_stack.running(paths.state_home())


# -- run --------------------------------------------------------------------------------------

@main.command()
@click.option("--input", "input_file", type=click.Path(exists=True, dir_okay=False,
              path_type=Path), help="Bounded run over a JSONL(.gz) file instead of the stream.")
@click.option("--lake", help="Where the lake's new Iceberg tables go: s3://bucket[/prefix] or "
              "a local folder (default: the local stack's bucket).")
@click.option("--lake-database", help="The catalog database of the lake's tables (default "
              "ecomflow_lake): one per lake location.")
@click.option("--warehouse-url", help="JDBC URL, e.g. jdbc:postgresql://host:5433/db?user=me")
@click.option("--idle-timeout", type=float,
              help="Stop after this many seconds with no new record (at least 60 s while "
                   "no record has arrived yet).")
@click.option("--parallelism", type=int)
@click.option("--watermark-delay", type=int, help="Seconds of out-of-orderness tolerated.")
@click.option("--from", "init_position", type=click.Choice(KINESIS_INIT_POSITION.choices),
              help="Where a stream run starts reading.")
@click.option("--resume", is_flag=True,
              help="Continue from the newest retained checkpoint or --keep-state savepoint "
                   "(after a crash, or an upgrade); starts afresh if there is none.")
@click.option("--keep-state", is_flag=True,
              help="End a stream run with a savepoint that keeps open windows, so that "
                   "--resume can continue it (default: drain, emitting every window).")
@click.option("--package", "package_zip", type=click.Path(exists=True, dir_okay=False,
              path_type=Path),
              help="Run this MSF zip (`ecomflow package`) as MSF runs it: on a local cluster "
                   "with its own JobManager and TaskManager processes, instead of the source "
                   "tree on the mini-cluster.")
def run(input_file: Path | None, lake: str | None, lake_database: str | None,
        warehouse_url: str | None,
        idle_timeout: float | None, parallelism: int | None, watermark_delay: int | None,
        init_position: str | None, resume: bool, keep_state: bool,
        package_zip: Path | None) -> None:
    """Run the events job on Flink's local mini-cluster (or the MSF zip on a local cluster)."""
    if input_file is not None and (resume or keep_state):
        fail("--resume and --keep-state are for stream runs (a file run is bounded)")
    if package_zip is not None and (resume or keep_state):
        fail("--resume and --keep-state are for source-tree runs, not --package")
    result = _run(input_file=input_file, lake=lake, lake_database=lake_database,
                  warehouse_url=warehouse_url,
                  idle_timeout=idle_timeout, parallelism=parallelism,
                  watermark_delay=watermark_delay, init_position=init_position,
                  resume=resume, keep_state=keep_state, package_zip=package_zip)
    click.echo(f"job {result.job_id} {result.final_state.lower()} in {result.seconds:.1f} s"
               + (" (stopped after idle timeout)" if result.stopped_on_idle else ""))
    if result.accounting:
        click.echo("accounting (Flink counters): " + " ".join(
            f"{term}={count}" for term, count in result.accounting.items()))


def _run(*, input_file: Path | None = None, lake: str | None = None,
         lake_database: str | None = None, warehouse_url: str | None = None,
         idle_timeout: float | None = None,
         parallelism: int | None = None, watermark_delay: int | None = None,
         init_position: str | None = None, resume: bool = False,
         keep_state: bool = False, package_zip: Path | None = None):  # noqa: ANN202
    from ecomflow.run import restore_points, runner
    from ecomflow.run.local_run import build_local_settings, local_property_groups
    from flink_jobs.settings import SettingsError

    home = paths.state_home()
    stack = _running_stack()
    if input_file is None and stack is None:
        fail("the local stack is not running: start it with `ecomflow local up` "
              "(or pass --input FILE for a bounded run)")
    if input_file is not None and stack is None and (lake is None or warehouse_url is None):
        fail("without a running local stack, --input needs --lake, --warehouse-url and the "
             "lake's catalog (ECOMFLOW__Lake__catalog=jdbc, ECOMFLOW__Lake__catalog.uri)")
    if package_zip is not None:
        from ecomflow.run import package_run
        groups = local_property_groups(
            home=home, stack=stack, environ=os.environ, input_file=input_file, lake=lake,
            lake_database=lake_database, warehouse_url=warehouse_url, parallelism=parallelism,
            watermark_delay_seconds=watermark_delay, init_position=init_position)
        click.echo(f"running {package_zip} on a local cluster; logs in "
                   f"{home / 'package-runs'}", err=True)
        try:
            return package_run.run_package(package_zip, groups, home=home,
                                           idle_timeout=idle_timeout)
        except (runner.RunError, SettingsError, package_run.PackageRunError) as exc:
            fail(str(exc))
    try:
        jars = runner.require_jars()
        settings = build_local_settings(
            home=home, stack=stack, environ=os.environ, input_file=input_file, lake=lake,
            lake_database=lake_database, warehouse_url=warehouse_url, parallelism=parallelism,
            watermark_delay_seconds=watermark_delay, init_position=init_position,
            rest_port=None if input_file else runner.free_port())
        if resume:
            point = restore_points.latest(_folder(settings.checkpoint_dir),
                                          _folder(settings.savepoint_dir))
            if point is None:
                click.echo("nothing to resume from: starting afresh", err=True)
            else:
                click.echo(f"resuming from {point.kind} {point.path}", err=True)
                settings = dataclasses.replace(settings, restore_path=point.path.as_uri())
    except (runner.RunError, SettingsError, restore_points.NothingToResume) as exc:
        fail(str(exc))
    runner.prepare_jvm(jars, home / "logs" / "flink")
    click.echo(f"running the events job ({'file ' + str(input_file) if input_file else 'stream'}"
               f" -> {settings.lake.url} + {settings.warehouse.jdbc_url}); "
               f"Flink logs in {home / 'logs' / 'flink'}", err=True)
    if settings.rest_port is not None:
        click.echo(f"Flink REST API on http://127.0.0.1:{settings.rest_port}", err=True)
    return runner.run_job(settings, idle_timeout=idle_timeout, keep_state=keep_state,
                          savepoint_dir=_folder(settings.savepoint_dir))


def _folder(value: str | None) -> Path | None:
    return Path(value) if value else None


# -- replay -----------------------------------------------------------------------------------

@main.command()
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--stream", "stream_name", help="Defaults to the local stack's stream.")
@click.option("--endpoint", help="Kinesis endpoint; defaults to the local stack's.")
@click.option("--region", default=None)
@click.option("--rate", type=float, help="Records per second (default: as fast as allowed).")
@click.option("--speedup", type=float,
              help="Pace by the events' timestamps, this many times faster than real time.")
def replay(source: Path, stream_name: str | None, endpoint: str | None, region: str | None,
           rate: float | None, speedup: float | None) -> None:
    """Put a JSONL(.gz) file's (or a folder's) records on the stream, retrying until accepted."""
    summary = _replay(source, stream_name=stream_name, endpoint=endpoint, region=region,
                      rate=rate, speedup=speedup)
    if summary.failed_records:
        sys.exit(1)


def _replay(source: Path, *, stream_name: str | None = None, endpoint: str | None = None,
            region: str | None = None, rate: float | None = None,
            speedup: float | None = None):  # noqa: ANN202
    from ecomflow.ingest.replay import ReplayError, ReplayInterrupted, format_summary
    from ecomflow.ingest.replay import replay as replay_file
    from ecomflow.kinesis.client import kinesis_client

    stack = _running_stack()
    if stack is None and stream_name is None:
        fail("no local stack running: start it with `ecomflow local up` or pass --stream")
    if stack is not None and endpoint is None:
        # The local stack's stream, endpoint and dummy keys, unless told otherwise.
        client = kinesis_client(stack.kinesis_endpoint, region or stack.region,
                                stack.access_key, stack.secret_key)
        stream_name = stream_name or stack.stream_name
    else:
        client = kinesis_client(endpoint, region or "us-east-1")
    assert stream_name is not None
    try:
        summary = replay_file(source, stream_name=stream_name, client=client, rate=rate,
                              speedup=speedup, progress=sys.stderr.isatty())
    except ReplayInterrupted as exc:
        click.echo(format_summary(exc.summary))
        sys.exit(130)
    except (ReplayError, ValueError) as exc:
        fail(str(exc))
    click.echo(format_summary(summary))
    for failed in summary.failed_records[:10]:
        line_no, code, message = failed
        click.echo(f"  line {line_no}: {code} {message}", err=True)
    return summary


# -- demo -------------------------------------------------------------------------------------

@main.command()
@click.option("--idle-timeout", type=float, default=15.0, show_default=True)
@click.option("--speedup", type=click.FloatRange(min=0, min_open=True), default=60.0,
              show_default=True,
              help="Replay the story this many times faster than its event time.")
@click.option("--dashboard/--no-dashboard", default=True, show_default=True,
              help="Serve the dashboard during the run and after it, until Ctrl-C.")
@click.option("--port", type=click.IntRange(0, 65535), default=8050, show_default=True,
              help="The dashboard's port.")
def demo(idle_timeout: float, speedup: float, dashboard: bool, port: int) -> None:
    """Stack up, replay the demo's story (fifty minutes of a shop with its catalog, a bot and
    a revenue spike) while the job runs, watch it on the dashboard, print a summary."""
    from ecomflow.dashboard.server import running_dashboard
    from ecomflow.results import summary
    from ecomflow.synth.story import ensure_story

    try:
        info = local_stack.up(StackConfig(home=paths.state_home()))
    except StackError as exc:
        fail(str(exc))
    click.echo(f"local stack up (state in {info.home})", err=True)
    story = ensure_story(paths.state_home())
    dsn = local_stack.warehouse_dsn(info)
    # A stream and a lake of this run's own, and an empty warehouse: the figures are the
    # story's alone, every event once.
    run_id = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    stream, lake_database = f"demo-{run_id}", f"demo_{run_id}"
    summary.empty_warehouse(dsn)
    click.echo("emptied the local warehouse's tables for the demo", err=True)
    local_stack.add_stream(info, stream)
    os.environ["ECOMFLOW__KinesisSource__stream.name"] = stream

    with contextlib.ExitStack() as serving:
        if dashboard:
            try:
                server = serving.enter_context(running_dashboard(dsn, port=port))
            except OSError as exc:
                fail(f"cannot serve the dashboard on 127.0.0.1:{port}: {exc.strerror} "
                     "(choose another --port)")
            click.echo(f"dashboard: {server.url}  (open it to watch the run)")
        with ThreadPoolExecutor(1, thread_name_prefix="demo-replay") as feeder:
            feeding = feeder.submit(_replay_story, info, story, stream, speedup)
            result = _run(idle_timeout=idle_timeout, init_position="TRIM_HORIZON",
                          lake=f"{info.lake_url}/{lake_database}", lake_database=lake_database)
            replayed = feeding.result()  # a replay that failed says so here
        click.echo(f"replayed {replayed.records} records of the story "
                   f"({len(replayed.failed_records)} never accepted)")
        click.echo(f"job {result.job_id} ran {result.seconds:.0f} s and stopped after "
                   f"{idle_timeout:.0f} s without new records")
        _print_summary(info, dsn, lake_database)
        if dashboard:
            click.echo(f"\ndashboard: {server.url}  (still serving; Ctrl-C stops it, the stack "
                       "keeps running)")
            with contextlib.suppress(KeyboardInterrupt):
                while True:
                    time.sleep(3600)
    click.echo("stop the stack with: ecomflow local down")


def _replay_story(info: local_stack.StackInfo, story: Path, stream: str,
                  speedup: float) -> ReplaySummary:
    """Put the story on `stream`, `speedup` times faster than its event time (beside the
    job, on a thread of its own); the replay's summary."""
    from ecomflow.ingest.replay import replay as replay_file
    from ecomflow.kinesis.client import kinesis_client

    client = kinesis_client(info.kinesis_endpoint, info.region, info.access_key,
                            info.secret_key)
    return replay_file(story, stream_name=stream, client=client, speedup=speedup,
                       progress=False)


def _print_summary(info: local_stack.StackInfo, dsn: str, lake_database: str) -> None:
    from ecomflow.lake.tables import LakeCatalog, LakeTablesError
    from ecomflow.results import summary
    from ecomflow.run.local_run import build_local_settings

    click.echo("\nwarehouse rows:")
    for table, rows in summary.warehouse_counts(dsn).items():
        click.echo(f"  {table:<26} {rows}")
    click.echo("accounting (pipeline_health, all minutes): " + " ".join(
        f"{term}={count}" for term, count in summary.accounting_totals(dsn).items()))
    click.echo("analytics:")
    for line in summary.highlights(dsn):
        click.echo(f"  {line}")
    click.echo("lake tables (through their catalog):")
    catalog = LakeCatalog.of(build_local_settings(
        home=paths.state_home(), stack=info, environ=os.environ,
        lake_database=lake_database).lake)
    try:
        for dataset in catalog.tables():
            click.echo(f"  {catalog.describe(dataset).line()}")
    except LakeTablesError as exc:
        fail(str(exc))
    click.echo(f'  query them: ecomflow lake --database {lake_database} query '
               '"SELECT event_type, COUNT(*) FROM events GROUP BY 1"')
    click.echo(f"\nlook further: {info.psql_command} -c "
               "'SELECT * FROM event_counts_minute ORDER BY window_start, event_type'")


# -- report -----------------------------------------------------------------------------------

@main.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              default=Path("report"), show_default=True)
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), default="2025-01-01",
              show_default=True, help="First day counted by the top products.")
@click.option("--day", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="The day (UTC) the funnel and the anomaly timeline show (default: the newest "
                   "day with data).")
def report(out: Path, since: datetime, day: datetime | None) -> None:
    """PNG charts (funnel, anomaly timeline, top products) and tables from the warehouse."""
    from rich.console import Console
    from rich.table import Table as RichTable

    from ecomflow.results import report as reporting
    info = _running_stack()
    if info is None:
        fail("no local stack is running: start it with `ecomflow local up` (or run the demo)")
    console = Console()
    for table in reporting.render(local_stack.warehouse_dsn(info), out, since=since.date(),
                                  day=day.date() if day else None):
        shown = RichTable(title=table.title)
        for column in table.columns:
            shown.add_column(column)
        for row in table.rows[:30]:
            shown.add_row(*(str(value) for value in row))
        console.print(shown)
    click.echo(f"charts: {out / 'funnel.png'}, {out / 'anomalies.png'}, "
               f"{out / 'top_products.png'}")


# -- forget -----------------------------------------------------------------------------------

@main.command()
@click.argument("user_id", required=False)
@click.option("--expires-days", type=click.IntRange(min=0),
              help="Drop the user's later events on the stream for this many days (at most "
                   "Privacy.forget.drop.days, the default; 0: not at all).")
@click.option("--dry-run", is_flag=True, help="Show what would be removed; change nothing.")
@click.option("--resume", "resume_", is_flag=True,
              help="Finish unfinished requests (lake deletes not committed, events not sent).")
@click.option("--lake", "lake_url", help="Where the lake's Iceberg tables were created "
              "(default: the local stack's bucket), as given to `ecomflow run --lake`.")
@click.option("--lake-database", help="The catalog database of the lake's tables (default "
              "ecomflow_lake), as given to `ecomflow run --lake-database`.")
@click.option("--stream", "stream_name", help="Stream for the control event (default: the "
              "local stack's).")
def forget(user_id: str | None, expires_days: int | None, dry_run: bool, resume_: bool,
           lake_url: str | None, lake_database: str | None, stream_name: str | None) -> None:
    """Erase USER_ID (a user or customer id, as sent) from the warehouse, the lake and the
    stream's later output; print what was removed. Running it twice is harmless."""
    from ecomflow.kinesis.client import kinesis_client
    from ecomflow.lake.erasure import IcebergLake
    from ecomflow.privacy import forget as erasure
    from ecomflow.run.local_run import build_local_settings, local_privacy
    from flink_jobs.settings import SettingsError

    if resume_ == bool(user_id):
        fail("give a USER_ID, or --resume without one")
    info = _running_stack()
    if info is None:
        fail("the local stack is not running: start it with `ecomflow local up`")
    home = paths.state_home()
    dsn = local_stack.warehouse_dsn(info)
    stream = erasure.Stream(kinesis_client(info.kinesis_endpoint, info.region, info.access_key,
                                           info.secret_key), stream_name or info.stream_name)
    try:
        # The lake's catalog and database as the job's settings name them.
        tables = build_local_settings(home=home, stack=info, environ=os.environ,
                                      lake=lake_url, lake_database=lake_database).lake
        lake = IcebergLake(tables.iceberg_catalog_options(), tables.catalog_database, home)
        if resume_:
            reports = erasure.resume(dsn=dsn, lake=lake, stream=stream)
            if not reports:
                click.echo("no unfinished erasure request")
        else:
            privacy = local_privacy(home, os.environ)
            if not privacy.pseudonymise or privacy.hash_key is None:
                fail("Privacy.pseudonymise is off: the job stores raw ids, which this command "
                      "does not erase")
            reports = [erasure.forget(user_id or "", key=privacy.hash_key, dsn=dsn, lake=lake,
                                      stream=stream, drop_days=privacy.forget_drop_days,
                                      expires_days=expires_days, dry_run=dry_run)]
    except (erasure.ForgetError, SettingsError, ValueError) as exc:
        fail(str(exc))
    for report in reports:
        for line in report.lines():
            click.echo(line)


# -- traffic, collection, AWS ------------------------------------------------------------------

def _register_tool_commands() -> None:
    # Each in its own module of this package (the only one that imports click).
    from ecomflow.cli.app import app_group
    from ecomflow.cli.collect import collect_command
    from ecomflow.cli.dashboard import dashboard_command
    from ecomflow.cli.deploy import deploy_command
    from ecomflow.cli.generate import generate_command
    from ecomflow.cli.lake import lake_group

    main.add_command(generate_command)
    main.add_command(collect_command)
    main.add_command(dashboard_command)
    main.add_command(deploy_command)
    main.add_command(app_group)
    main.add_command(lake_group)


_register_tool_commands()


# -- bench ------------------------------------------------------------------------------------

@main.command()
@click.option("--quick", is_flag=True, help="Small sizes: a smoke run of every stage.")
@click.option("--events", type=int, help="Events for the throughput runs (default 1,000,000).")
@click.option("--blackhole-sinks", is_flag=True, help="Discard output instead of writing it.")
@click.option("--skip-latency", is_flag=True)
def bench(quick: bool, events: int | None, blackhole_sinks: bool, skip_latency: bool) -> None:
    """Measure throughput, scaling, latency and cost; results in benchmarks/results/."""
    from benchmarks.bench import BenchPlan, run

    overrides: dict[str, object] = {"blackhole_sinks": blackhole_sinks,
                                    "skip_latency": skip_latency}
    if events:
        overrides["events"] = events
    plan = BenchPlan.quick(**overrides) if quick else BenchPlan(**overrides)  # type: ignore[arg-type]
    run(plan, report=click.echo)


# -- package ----------------------------------------------------------------------------------

@main.command()
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              default=paths.REPO_ROOT / "dist" / "ecomflow-msf.zip", show_default=True)
def package(out: Path) -> None:
    """Build the zip MSF deploys: job code, SQL and the connector uber-jar."""
    from ecomflow.aws.package import PackageError, build_zip

    try:
        built = build_zip(out)
    except PackageError as exc:
        fail(str(exc))
    click.echo(f"{built} ({built.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
