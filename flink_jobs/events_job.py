"""The events job: stream -> clean, enriched events -> Parquet lake + per-minute warehouse tables.

One job graph reads the stream once (the planner shares the source scan between the inserts of
one statement set). `build()` only declares; running is the caller's business: MSF submits and
returns (`main.py`), local runs wait or stop on idle (`ecomflow run`).

Every statement is a file under sql/. The one thing SQL cannot express is a `Barrier`: a round
trip of a view through the DataStream API (Java only, no Python operator) that
- re-declares event time: Flink SQL 1.20 cannot put a new watermark on a view, and the
  accounting needs one (see stg_stream__classified);
- makes every reader share one computation: the planner prunes columns per reader, so a view
  read by several sinks (deduplication, temporal joins) would otherwise run, and keep state,
  once per reader. The planner cannot see through the round trip, so it computes the view once;
- deduplicates (`dedup_key`): keep-first by event_id with its own state TTL, the dedup horizon
  (dev.ecomflow.stream.FirstByKey), which SQL's ROW_NUMBER() cannot have without expiring
  every other keyed state of the job along with it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pyflink.datastream import DataStream
from pyflink.java_gateway import get_gateway
from pyflink.table import DataTypes, Schema, StatementSet, StreamTableEnvironment
from pyflink.util.java_utils import load_java_class

from flink_jobs.settings import JobSettings
from flink_jobs.sql_files import load_sql, render_options


@dataclass(frozen=True)
class Barrier:
    """Expose view `source` as `target`, computed once, with rowtime `rowtime` whose watermark
    is `watermark` (a SQL expression over the row; SOURCE_WATERMARK() keeps the upstream one).
    """

    source: str
    target: str
    rowtime: str | None  # None: the target has no event time (a sink-only result)
    watermark: str = "SOURCE_WATERMARK()"
    dedup_key: str | None = None  # keep the first row per value of this column
    forget_users: bool = False  # mark erased users' rows (ForgetUsers) after deduplicating
    cart_timeout: bool = False  # run CartAbandonment on (user_id, event_type, ...) rows
    ordered_funnels: bool = False  # run OrderedFunnels; rowtime = the records' timestamps

    @property
    def name(self) -> str:
        return f"barrier:{self.source}->{self.target}"

    def apply(self, t_env: StreamTableEnvironment, settings: JobSettings) -> None:
        table = t_env.from_path(self.source)
        stream = t_env.to_data_stream(table)
        if self.dedup_key is not None:
            stream = _first_by_key(stream, table.get_schema().get_field_names().index(
                self.dedup_key), settings.clean.dedup_horizon_minutes * 60_000)
        if self.forget_users:
            stream = _forget_users(stream, table.get_schema().get_field_names(), settings)
        if self.cart_timeout:
            carts = load_java_class("dev.ecomflow.stream.CartAbandonment").newInstance()
            stream = DataStream(carts.apply(stream._j_data_stream,
                                            settings.sessions.cart_abandon_minutes * 60_000))
        if self.ordered_funnels:
            funnels = load_java_class("dev.ecomflow.stream.OrderedFunnels").newInstance()
            stream = DataStream(funnels.apply(stream._j_data_stream,
                                              funnel_specs(settings.sessions.funnels_file),
                                              settings.sessions.gap_minutes * 60_000))
        builder = Schema.new_builder()
        if self.ordered_funnels:
            # The operator's output has no time column: its records carry the close time.
            builder = builder.column_by_metadata("rowtime", DataTypes.TIMESTAMP_LTZ(3))
        if self.rowtime is not None:
            builder = builder.watermark(self.rowtime, self.watermark)
        t_env.create_temporary_view(self.target, t_env.from_data_stream(stream, builder.build()))


def funnel_specs(path: str) -> str:
    """The funnels file as OrderedFunnels reads it: "name|order|window|step,step;..."."""
    funnels = json.loads(Path(path).read_text(encoding="utf-8"))["funnels"]
    specs = []
    for funnel in funnels:
        order = funnel.get("order", "sequential")
        if order not in ("sequential", "strict") or not funnel.get("steps"):
            raise ValueError(f"{path}: funnel {funnel.get('name')!r} needs steps and an order "
                             "of sequential or strict")
        specs.append(f"{funnel['name']}|{order}|{int(funnel['conversion_window_minutes'])}|"
                     + ",".join(funnel["steps"]))
    return ";".join(specs)


def _first_by_key(stream: DataStream, key_index: int, horizon_ms: int) -> DataStream:
    """dev.ecomflow.stream.FirstByKey from the uber-jar (loaded like the SQL's Java functions)."""
    first_by_key = load_java_class("dev.ecomflow.stream.FirstByKey").newInstance()
    return DataStream(first_by_key.apply(stream._j_data_stream, key_index, horizon_ms))


def _forget_users(stream: DataStream, fields: list[str], settings: JobSettings) -> DataStream:
    """dev.ecomflow.stream.ForgetUsers, keyed by the (hashed) user id; "later" is by arrival."""
    forget = load_java_class("dev.ecomflow.stream.ForgetUsers").newInstance()
    return DataStream(forget.mark(stream._j_data_stream, fields.index("user_id"),
                                  fields.index("event_type"), fields.index("received_at"), -1,
                                  settings.privacy.forget_drop_millis))


def register_pseudonymise(t_env: StreamTableEnvironment, settings: JobSettings) -> None:
    """`pseudonymise(payload, spec)`, an instance of dev.ecomflow.udf.Pseudonymise that holds the
    key: registered from code so that the key is in no SQL text, plan or operator name."""
    if not settings.privacy.pseudonymise:
        return
    gateway = get_gateway()
    parameter_types = gateway.new_array(gateway.jvm.java.lang.Class, 1)
    parameter_types[0] = gateway.jvm.java.lang.String._java_lang_class
    arguments = gateway.new_array(gateway.jvm.java.lang.Object, 1)
    arguments[0] = settings.privacy.hash_key
    function = load_java_class("dev.ecomflow.udf.Pseudonymise").getConstructor(
        parameter_types).newInstance(arguments)
    t_env._j_tenv.createTemporarySystemFunction("pseudonymise", function)


# Accounting time: the event time for on-time records, else the watermark the record met. Its
# watermark is that met watermark, which never decreases, so no record is late downstream.
RETIME = Barrier("stg_stream__classified", "int_stream__records", rowtime="accounting_time",
                 watermark="arrival_watermark")
# Accepted events, deduplicated by event_id within the horizon, keeping the first to arrive.
# Then erasure: after an erasure request (ecomflow forget) the user's later events are marked
# event_type 'forgotten' (dev.ecomflow.stream.ForgetUsers), counted, and go no further.
UNIQUE = Barrier("int_events__accepted", "int_events__unique", rowtime="event_time",
                 dedup_key="event_id", forget_users=True)
ENRICHED = Barrier("int_events__catalog", "int_events__enriched", rowtime="event_time")
# Carts without a purchase within the timeout (dev.ecomflow.stream.CartAbandonment): SQL in
# Flink 1.20 cannot emit a timed-out match.
CARTS = Barrier("int_events__cart_activity", "int_carts__abandoned", rowtime=None,
                cart_timeout=True)
# Ordered funnels per server-side session (dev.ecomflow.stream.OrderedFunnels), from the
# funnels file (Sessions funnels.file).
FUNNELS = Barrier("int_events__funnel_activity", "int_funnels__session_steps",
                  rowtime="rowtime", ordered_funnels=True)

# Declared in this order: functions, sources, views that read them, then sinks.
DDL: tuple[str | Barrier, ...] = (
    "fn_event_time_of",
    "fn_parse_event",
    "fn_check_event",
    "fn_parse_user_agent",
    "fn_tally",
    "fn_switched_on",
    "fn_utf8_text",
    "fn_utf8_problem",
    "src_stream__raw_events",
    "src_reference__fx_rates",
    "stg_stream__records",
    "stg_stream__classified",
    RETIME,
    "int_stream__dead_letters",
    "int_stream__late_events",
    "int_events__accepted",
    UNIQUE,
    "int_events__device",
    "int_events__country",
    "int_events__fx",
    "ref_catalog__products",
    "int_events__catalog",
    ENRICHED,
    "int_events__clean",
    "int_events__fx_dead_letters",
    "int_stream__outcomes",
    "int_events__sessionable",
    "int_events__cart_activity",
    CARTS,
    "int_events__funnel_activity",
    FUNNELS,
    "int_events__purchase_items",
    "int_events__product_activity",
    "int_events__categorised",
    "agg_event_counts_1m",
    "agg_funnel_1m",
    "agg_funnel_1h",
    "agg_sessions",
    "agg_product_metrics_1m",
    "agg_top_products_1m",
    "agg_trending_products",
    "agg_ordered_funnels_1h",
    "agg_kpis_1m",
    "agg_kpi_anomalies",
    "agg_event_anomalies",
    "agg_rfm_updates",
    "agg_pipeline_health_1m",
    "agg_dead_letter_counts_1m",
    "snk_lake__events",
    "snk_lake__dead_letter",
    "snk_lake__late_events",
    "snk_warehouse__event_counts_minute",
    "snk_warehouse__pipeline_health",
    "snk_warehouse__dead_letter_counts_minute",
    "snk_warehouse__funnel_minute",
    "snk_warehouse__funnel_hourly",
    "snk_lake__sessions",
    "snk_warehouse__sessions",
    "snk_warehouse__cart_abandoned",
    "snk_warehouse__top_products_minute",
    "snk_warehouse__anomalies",
    "snk_warehouse__rfm",
    "snk_warehouse__transactions",
    "snk_warehouse__products",
    "snk_warehouse__trending_products",
    "snk_warehouse__funnel_steps_hourly",
)
INSERTS = (
    "ins_lake__events",
    "ins_lake__dead_letter",
    "ins_lake__late_events",
    "ins_warehouse__event_counts_minute",
    "ins_warehouse__pipeline_health",
    "ins_warehouse__dead_letter_counts_minute",
    "ins_warehouse__funnel_minute",
    "ins_warehouse__funnel_hourly",
    "ins_lake__sessions",
    "ins_warehouse__sessions",
    "ins_warehouse__cart_abandoned",
    "ins_warehouse__top_products_minute",
    "ins_warehouse__anomalies",
    "ins_warehouse__rfm",
    "ins_warehouse__transactions",
    "ins_warehouse__products",
    "ins_warehouse__trending_products",
    "ins_warehouse__funnel_steps_hourly",
)
# Switchable steps kept as two files: `<name>` when on, `<name>__off` (same columns) when off.
SWITCHED_FILES = {
    "src_reference__fx_rates": lambda s: s.clean.enrich_fx,
    "int_events__fx": lambda s: s.clean.enrich_fx,
    "ref_catalog__products": lambda s: s.clean.enrich_catalog,
    "int_events__catalog": lambda s: s.clean.enrich_catalog,
}
SKIPPED_WHEN_OFF = frozenset({"src_reference__fx_rates", "ref_catalog__products"})
# Benchmarks only: the pass-through every figure is compared with (sql/90_benchmarks).
BENCH_DDL = ("snk_bench__passthrough",)
BENCH_PASSTHROUGH = ("ins_bench__passthrough",)

# Sinks whose connector options are bound per environment: placeholder -> (kind, target).
SINK_TARGETS = {
    "LAKE_EVENTS_OPTIONS": ("lake", "events"),
    "LAKE_DEAD_LETTER_OPTIONS": ("lake", "dead_letter"),
    "LAKE_LATE_EVENTS_OPTIONS": ("lake", "late_events"),
    "WAREHOUSE_EVENT_COUNTS_OPTIONS": ("warehouse", "event_counts_minute_log"),
    "WAREHOUSE_PIPELINE_HEALTH_OPTIONS": ("warehouse", "pipeline_health_log"),
    "WAREHOUSE_DEAD_LETTER_COUNTS_OPTIONS": ("warehouse", "dead_letter_counts_minute_log"),
    "WAREHOUSE_FUNNEL_MINUTE_OPTIONS": ("warehouse", "funnel_minute_log"),
    "WAREHOUSE_FUNNEL_HOURLY_OPTIONS": ("warehouse", "funnel_hourly_log"),
    "LAKE_SESSIONS_OPTIONS": ("lake", "sessions"),
    "WAREHOUSE_SESSIONS_OPTIONS": ("warehouse", "sessions_log"),
    "WAREHOUSE_CART_ABANDONED_OPTIONS": ("warehouse", "cart_abandoned_log"),
    "WAREHOUSE_TOP_PRODUCTS_OPTIONS": ("warehouse", "top_products_minute_log"),
    "WAREHOUSE_ANOMALIES_OPTIONS": ("warehouse", "anomalies_log"),
    "WAREHOUSE_RFM_OPTIONS": ("warehouse", "rfm_log"),
    "WAREHOUSE_TRANSACTIONS_OPTIONS": ("warehouse", "transactions_log"),
    "WAREHOUSE_PRODUCTS_OPTIONS": ("warehouse", "products_log"),
    "WAREHOUSE_TRENDING_OPTIONS": ("warehouse", "trending_products_log"),
    "WAREHOUSE_FUNNEL_STEPS_OPTIONS": ("warehouse", "funnel_steps_hourly_log"),
}
BLACKHOLE = {"connector": "blackhole"}


def _sql_bool(value: bool) -> str:
    return "TRUE" if value else "FALSE"


def job_parameters(settings: JobSettings) -> dict[str, str]:
    """Switches read at run time by `switched_on(name)` (see SwitchedOn.java): flipping one
    changes values, not the plan, so a savepoint restores across the change."""
    return {"ecomflow.switch.enrich.country": str(settings.clean.enrich_country).lower()}


def sql_parameters(settings: JobSettings, *, blackhole_sinks: bool = False) -> dict[str, str]:
    """Everything that differs between environments: connector options and switches.

    `blackhole_sinks` discards every sink's output (benchmarks measuring the job alone).
    """
    clean = settings.clean
    params = {
        "SOURCE_OPTIONS": render_options(settings.source.connector_options()),
        "WATERMARK_DELAY_SECONDS": str(settings.watermark_delay_seconds),
        "MAX_PAYLOAD_BYTES": str(clean.max_payload_bytes),
        "MAX_FUTURE_SECONDS": str(clean.max_future_seconds),
        "ENRICH_USER_AGENT": _sql_bool(clean.enrich_user_agent),
        "PSEUDONYMISE": _sql_bool(settings.privacy.pseudonymise),
        "PRIVACY_SPEC": settings.privacy.rules.spec().replace("'", "''"),  # a SQL literal
        "SESSION_GAP_MINUTES": str(settings.sessions.gap_minutes),
        "SESSION_MAX_LENGTH_HOURS": str(settings.sessions.max_length_hours),
        "TOP_N": str(settings.sessions.top_n),
        **settings.anomalies.sql_parameters(),
        "FX_RATES_OPTIONS": render_options(
            clean.fx_rates.connector_options() if clean.fx_rates else BLACKHOLE),
    }
    for placeholder, (kind, target) in SINK_TARGETS.items():
        sink = settings.lake if kind == "lake" else settings.warehouse
        params[placeholder] = render_options(
            BLACKHOLE if blackhole_sinks else sink.connector_options(target))
    return params


def statement_files(settings: JobSettings, inserts: tuple[str, ...] = INSERTS,
                    extra_ddl: tuple[str, ...] = ()) -> list[str | Barrier]:
    """The file (or Barrier) behind every statement, in execution order."""
    names: list[str | Barrier] = []
    for name in (*DDL, *extra_ddl, *inserts):
        if isinstance(name, Barrier):
            names.append(name)
            continue
        switch = SWITCHED_FILES.get(name)
        if switch is not None and not switch(settings):
            if name in SKIPPED_WHEN_OFF:
                continue
            name = f"{name}__off"
        names.append(name)
    return names


def rendered_statements(settings: JobSettings, *, inserts: tuple[str, ...] = INSERTS,
                        blackhole_sinks: bool = False, extra_ddl: tuple[str, ...] = ()
                        ) -> list[tuple[str, str]]:
    """(name, SQL) for every statement, in execution order; usable without a Flink cluster.

    Barriers have no SQL: their entries are (barrier.name, "").
    """
    params = sql_parameters(settings, blackhole_sinks=blackhole_sinks)
    return [(item.name, "") if isinstance(item, Barrier) else (item, load_sql(item, **params))
            for item in statement_files(settings, inserts, extra_ddl)]


def build(t_env: StreamTableEnvironment, settings: JobSettings, *,
          inserts: tuple[str, ...] = INSERTS, blackhole_sinks: bool = False,
          extra_ddl: tuple[str, ...] = ()) -> StatementSet:
    """Declare the job; `inserts` picks which sinks are filled (all of them by default)."""
    statement_set = t_env.create_statement_set()
    register_pseudonymise(t_env, settings)
    barriers = {barrier.name: barrier for barrier in DDL if isinstance(barrier, Barrier)}
    for name, sql in rendered_statements(settings, inserts=inserts,
                                         blackhole_sinks=blackhole_sinks, extra_ddl=extra_ddl):
        if name in barriers:
            barriers[name].apply(t_env, settings)
        elif name in inserts:
            statement_set.add_insert_sql(sql)
        else:
            t_env.execute_sql(sql)
    return statement_set
