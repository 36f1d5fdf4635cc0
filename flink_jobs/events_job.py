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
    "fn_event_time_of",
    "fn_parse_event",
    "src_stream__raw_events",
    "stg_stream__records",
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


# Sinks whose connector options are bound per environment: placeholder -> (kind, target).
SINK_TARGETS = {
    "LAKE_EVENTS_OPTIONS": ("lake", "events"),
    "LAKE_DEAD_LETTER_OPTIONS": ("lake", "dead_letter"),
    "WAREHOUSE_EVENT_COUNTS_OPTIONS": ("warehouse", "event_counts_minute_log"),
}
BLACKHOLE = {"connector": "blackhole"}


def sql_parameters(settings: JobSettings, *, blackhole_sinks: bool = False) -> dict[str, str]:
    """Everything that differs between environments: connector options, never analytics.

    `blackhole_sinks` discards every sink's output (benchmarks measuring the job alone).
    """
    params = {
        "SOURCE_OPTIONS": render_options(settings.source.connector_options()),
        "WATERMARK_DELAY_SECONDS": str(settings.watermark_delay_seconds),
    }
    for placeholder, (kind, target) in SINK_TARGETS.items():
        sink = settings.lake if kind == "lake" else settings.warehouse
        params[placeholder] = render_options(
            BLACKHOLE if blackhole_sinks else sink.connector_options(target))
    return params


def rendered_statements(settings: JobSettings, *, inserts: tuple[str, ...] = INSERTS,
                        blackhole_sinks: bool = False) -> list[tuple[str, str]]:
    """(name, SQL) for every statement, in execution order; usable without a Flink cluster."""
    params = sql_parameters(settings, blackhole_sinks=blackhole_sinks)
    return [(name, load_sql(name, **params)) for name in (*DDL, *inserts)]


def build(t_env: StreamTableEnvironment, settings: JobSettings, *,
          inserts: tuple[str, ...] = INSERTS, blackhole_sinks: bool = False) -> StatementSet:
    """Declare the job; `inserts` picks which sinks are filled (all of them by default)."""
    statement_set = t_env.create_statement_set()
    for name, sql in rendered_statements(settings, inserts=inserts,
                                         blackhole_sinks=blackhole_sinks):
        if name in inserts:
            statement_set.add_insert_sql(sql)
        else:
            t_env.execute_sql(sql)
    return statement_set
