"""The events job: stream -> parsed events -> Parquet lake + per-minute counts in the warehouse.

One job graph reads the stream once (the planner shares the source scan between the inserts of
one statement set). `build()` only declares; running is the caller's business: MSF submits and
returns (`main.py`), local runs wait or stop on idle (`ecomflow run`).
"""

from __future__ import annotations

from pyflink.table import StatementSet, StreamTableEnvironment

from flink_jobs.settings import JobSettings
from flink_jobs.sql_files import load_sql, render_options

# Declared in this order: functions, sources, views that read them, then sinks.
DDL = (
    "fn_parse_event_time",
    "src_stream__raw_events",
    "stg_stream__events",
    "stg_stream__unparsed_events",
    "agg_event_counts_1m",
    "snk_lake__events",
    "snk_lake__dead_letter",
    "snk_warehouse__event_counts_minute",
)
INSERTS = (
    "ins_lake__events",
    "ins_lake__dead_letter",
    "ins_warehouse__event_counts_minute",
)


def sql_parameters(settings: JobSettings) -> dict[str, str]:
    """Everything that differs between environments: connector options, never analytics."""
    return {
        "SOURCE_OPTIONS": render_options(settings.source.connector_options()),
        "WATERMARK_DELAY_SECONDS": str(settings.watermark_delay_seconds),
        "LAKE_URL": settings.lake.url,
        "LAKE_OPTIONS": render_options(settings.lake.connector_options()),
        "WAREHOUSE_OPTIONS": render_options(settings.warehouse.connector_options()),
    }


def rendered_statements(settings: JobSettings) -> list[tuple[str, str]]:
    """(name, SQL) for every statement, in execution order; usable without a Flink cluster."""
    params = sql_parameters(settings)
    return [(name, load_sql(name, **params)) for name in (*DDL, *INSERTS)]


def build(t_env: StreamTableEnvironment, settings: JobSettings) -> StatementSet:
    statement_set = t_env.create_statement_set()
    for name, sql in rendered_statements(settings):
        if name in INSERTS:
            statement_set.add_insert_sql(sql)
        else:
            t_env.execute_sql(sql)
    return statement_set
