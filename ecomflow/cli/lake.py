"""`ecomflow lake`: the local stack's Iceberg lake, read through its catalog
(ecomflow/lake/tables.py)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import click

from ecomflow import paths
from ecomflow.cli.errors import fail
from ecomflow.lake.tables import LakeCatalog
from ecomflow.local import stack as local_stack
from flink_jobs.settings import LakeSink

# Rows a query prints at most (the rest is counted, not shown).
MAX_ROWS = 200
# Raw records are kept for diagnosis only: the design's 30 days (on AWS, the environment's
# LakeLifecycle.dead_letter_expiry_days, applied by a schedule: infra/).
DEAD_LETTER_DAYS = 30


def _lake_settings() -> LakeSink:
    """The lake settings a run on the local stack uses (environment overrides and the
    group's --database included)."""
    from ecomflow.run.local_run import build_local_settings

    info = local_stack.running(paths.state_home())
    if info is None:
        fail("the local stack is not running: start it with `ecomflow local up`")
    database = click.get_current_context().find_root().meta.get(DATABASE)
    return build_local_settings(home=paths.state_home(), stack=info, environ=os.environ,
                                lake_database=database).lake


def _catalog() -> LakeCatalog:
    return LakeCatalog.of(_lake_settings())


def _tables(catalog: LakeCatalog) -> list[str]:
    names = catalog.tables()
    if not names:
        fail(f"no lake tables in {catalog.database}: run the job first (`ecomflow run`), or "
             "name the lake's database with `ecomflow lake --database NAME`")
    return names


DATABASE = "ecomflow.lake.database"


@click.group("lake")
@click.option("--database", help="The catalog database of the lake's tables (default: the "
              "one `ecomflow run` writes, ecomflow_lake).")
def lake_group(database: str | None) -> None:
    """The lake's Iceberg tables in the local stack's catalog."""
    click.get_current_context().find_root().meta[DATABASE] = database


@lake_group.command("tables")
def tables_command() -> None:
    """Each lake table: its partitioning, snapshots, data files and rows."""
    catalog = _catalog()
    for name in _tables(catalog):
        click.echo(catalog.describe(name).line())


@lake_group.command("query")
@click.argument("sql")
def query_command(sql: str) -> None:
    """Run SQL (DuckDB's dialect) over the lake's tables, named events, dead_letter,
    late_events and sessions; print the result as a table."""
    from rich.console import Console
    from rich.table import Table as RichTable

    result = _catalog().query(sql)
    shown = RichTable()
    for column in result.column_names:
        shown.add_column(column)
    for row in result.slice(0, MAX_ROWS).to_pylist():
        shown.add_row(*("" if value is None else str(value) for value in row.values()))
    Console().print(shown)
    if result.num_rows > MAX_ROWS:
        click.echo(f"({result.num_rows} rows, first {MAX_ROWS} shown)")


@lake_group.command("maintain")
@click.option("--older-than-hours", type=click.FloatRange(min=0), default=24.0,
              show_default=True,
              help="Snapshots and unreferenced files older than this go (0: all but the kept).")
@click.option("--retain-last", type=click.IntRange(min=1), default=1, show_default=True,
              help="Snapshots always kept, however old.")
@click.option("--dead-letter-days", type=click.IntRange(min=0), default=DEAD_LETTER_DAYS,
              show_default=True,
              help="Dead letters (raw records) received longer ago than this are deleted first, "
                   "by whole hours (0: keep them all).")
def maintain_command(older_than_hours: float, retain_last: int, dead_letter_days: int) -> None:
    """Delete expired dead letters, then compact small files, expire old snapshots and remove
    orphan files, table by table (idempotent: a second run finds nothing to do)."""
    from ecomflow.lake.maintenance import MaintenanceError, expire_rows, maintain

    lake = _lake_settings()
    catalog = LakeCatalog.of(lake)
    names = _tables(catalog)
    try:
        if dead_letter_days and "dead_letter" in names:
            before = datetime.now(UTC) - timedelta(days=dead_letter_days)
            click.echo(expire_rows(lake.iceberg_catalog_options(), catalog.database,
                                   "dead_letter", "received_at", before,
                                   home=paths.state_home()).line())
        done_tables = maintain(lake.iceberg_catalog_options(), catalog.database, names,
                               home=paths.state_home(), older_than_hours=older_than_hours,
                               retain_last=retain_last)
    except MaintenanceError as exc:
        fail(str(exc))
    for done in done_tables:
        click.echo(done.line())
