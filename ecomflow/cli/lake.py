"""`ecomflow lake`: the local stack's Iceberg lake, read through its catalog
(ecomflow/lake/tables.py)."""

from __future__ import annotations

import os

import click

from ecomflow import paths
from ecomflow.cli.errors import fail
from ecomflow.lake.tables import LakeCatalog
from ecomflow.local import stack as local_stack
from flink_jobs.settings import LakeSink

# Rows a query prints at most (the rest is counted, not shown).
MAX_ROWS = 200


def _lake_settings() -> LakeSink:
    """The lake settings a run on the local stack uses (environment overrides included)."""
    from ecomflow.run.local_run import build_local_settings

    info = local_stack.running(paths.state_home())
    if info is None:
        fail("the local stack is not running: start it with `ecomflow local up`")
    return build_local_settings(home=paths.state_home(), stack=info, environ=os.environ).lake


def _catalog() -> LakeCatalog:
    return LakeCatalog.of(_lake_settings())


@click.group("lake")
def lake_group() -> None:
    """The lake's Iceberg tables (runs with --lake-format iceberg)."""


@lake_group.command("tables")
def tables_command() -> None:
    """Each lake table: its partitioning, snapshots, data files and rows."""
    catalog = _catalog()
    names = catalog.tables()
    if not names:
        fail(f"no lake tables in {catalog.database}: run the job with --lake-format iceberg")
    for name in names:
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
def maintain_command(older_than_hours: float, retain_last: int) -> None:
    """Compact small files, expire old snapshots and remove orphan files, table by table
    (idempotent: a second run finds nothing to do)."""
    from ecomflow.lake.maintenance import maintain

    lake = _lake_settings()
    catalog = LakeCatalog.of(lake)
    names = catalog.tables()
    if not names:
        fail(f"no lake tables in {catalog.database}: run the job with --lake-format iceberg")
    for done in maintain(lake.iceberg_catalog_options(), catalog.database, names,
                         home=paths.state_home(), older_than_hours=older_than_hours,
                         retain_last=retain_last):
        click.echo(done.line())
