"""`ecomflow lake`: the local stack's Iceberg lake, read through its catalog
(ecomflow/results/lake_tables.py)."""

from __future__ import annotations

import click

from ecomflow import paths
from ecomflow.cli.errors import fail
from ecomflow.local import stack as local_stack
from ecomflow.results.lake_tables import LakeCatalog

# Rows a query prints at most (the rest is counted, not shown).
MAX_ROWS = 200


def _catalog() -> LakeCatalog:
    report = local_stack.status(paths.state_home())
    info = report.get("info")
    if info is None or not all(s.get("running") for s in report["services"].values()):
        fail("the local stack is not running: start it with `ecomflow local up`")
    return LakeCatalog(info.catalog_url, user=info.user, database=info.catalog_database)


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
        table = catalog.table(name)
        files = catalog.data_files(name)
        rows = catalog.scan(name).num_rows
        spec = ", ".join(f"{field.transform}({table.schema().find_column_name(field.source_id)})"
                         for field in table.spec().fields)
        click.echo(f"{catalog.database}.{name}: partitioned by {spec or 'nothing'}, "
                   f"{len(table.metadata.snapshots)} snapshots, {len(files)} data files, "
                   f"{rows} rows")


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
