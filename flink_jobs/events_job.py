"""The events job: stream -> clean, enriched events -> Parquet lake + per-minute warehouse tables.

One job graph reads the stream once (the planner shares the source scan between the inserts of
one statement set). `build()` only declares; running is the caller's business: MSF submits and
returns (`main.py`), local runs wait or stop on idle (`ecomflow run`).

Every statement is a file under sql/. Two kinds of step have no SQL form; they are Java
operators from the uber-jar, wired here (no Python runs per record):
- `CLEAN_STREAM`, the per-record head of the job (dev.ecomflow.stream.CleanStream): the event
  contract, pseudonymisation and field extraction in one pass per record, event time and the
  watermark from accepted records only, duplicates decided before lateness, erasure, and the
  lookups (user agent, catalog and FX rate as of the event's time). It turns the raw source
  into `java_stream__records`, one row per record with its outcome.
- `Barrier`s: a round trip of a view through the DataStream API into a Java operator that SQL
  cannot express (timed-out carts, ordered funnels), re-declaring event time on its output.
Each Java step declares a `java_*` table; a file under sql/30_intermediate names its columns
(`int_stream__records`, `int_carts__abandoned`, `int_funnels__session_steps`), so every
relation the SQL reads has a file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from py4j.java_gateway import set_field
from pyflink.datastream import DataStream
from pyflink.java_gateway import get_gateway
from pyflink.table import DataTypes, Schema, StatementSet, StreamTableEnvironment
from pyflink.util.java_utils import load_java_class

from flink_jobs.graph import INSERTS, SINKS, JavaStepSpec, Sink, statement_order
from flink_jobs.settings import JobSettings
from flink_jobs.sql_files import load_sql, render_options


@dataclass(frozen=True)
class JavaCleanStream:
    """`target`: the raw stream table `source` (and the FX rates table `rates`, when the FX
    step is on) through dev.ecomflow.stream.CleanStream, one row per record."""

    source: str
    rates: str
    target: str

    @property
    def name(self) -> str:
        return f"java:{self.source}->{self.target}"

    @property
    def spec(self) -> JavaStepSpec:
        return JavaStepSpec((self.source, self.rates), self.target)

    def apply(self, t_env: StreamTableEnvironment, settings: JobSettings) -> None:
        clean = settings.clean
        config = load_java_class("dev.ecomflow.stream.CleanStreamConfig").newInstance()
        for name, value in {
            "watermarkDelayMillis": settings.watermark_delay_seconds * 1000,
            "maxPayloadBytes": clean.max_payload_bytes,
            "maxFutureMillis": clean.max_future_seconds * 1000,
            "dedupHorizonMillis": clean.dedup_horizon_minutes * 60_000,
            "forgetDropMillis": settings.privacy.forget_drop_millis,
            "pseudonymise": settings.privacy.pseudonymise,
            # The key goes into the operator, never into SQL, a plan or an operator name.
            "hashKey": settings.privacy.hash_key if settings.privacy.pseudonymise else None,
            "privacySpec": settings.privacy.rules.spec(),
            "enrichUserAgent": clean.enrich_user_agent,
            "enrichCatalog": clean.enrich_catalog,
            "enrichFx": clean.enrich_fx,
        }.items():
            set_field(config, name, value)
        rates = t_env.from_path(self.rates)._j_table if clean.enrich_fx else None
        table = load_java_class("dev.ecomflow.stream.CleanStream").newInstance().build(
            t_env._j_tenv, t_env.from_path(self.source)._j_table, rates, config)
        t_env._j_tenv.createTemporaryView(self.target, table)


class CartTimeout:
    """dev.ecomflow.stream.CartAbandonment on (user_id, event_type, ...) rows: carts with no
    purchase within Sessions cart.abandon.minutes."""

    records_carry_time = False

    def apply(self, stream: Any, settings: JobSettings) -> Any:
        carts = load_java_class("dev.ecomflow.stream.CartAbandonment").newInstance()
        return carts.apply(stream, settings.sessions.cart_abandon_minutes * 60_000)


class OrderedFunnelSteps:
    """dev.ecomflow.stream.OrderedFunnels: the funnels file's steps per server-side session.
    Its output has no time column: the records carry the session's close time."""

    records_carry_time = True

    def apply(self, stream: Any, settings: JobSettings) -> Any:
        funnels = load_java_class("dev.ecomflow.stream.OrderedFunnels").newInstance()
        return funnels.apply(stream, funnel_specs(settings.sessions.funnels_file),
                             settings.sessions.gap_minutes * 60_000)


@dataclass(frozen=True)
class Barrier:
    """Expose view `source` as `target`, computed by the Java operator `step`, with rowtime
    `rowtime` (SOURCE_WATERMARK(): the operator's own watermarks)."""

    source: str
    target: str
    rowtime: str | None  # None: the target has no event time (a sink-only result)
    step: CartTimeout | OrderedFunnelSteps

    @property
    def name(self) -> str:
        return f"barrier:{self.source}->{self.target}"

    @property
    def spec(self) -> JavaStepSpec:
        return JavaStepSpec((self.source,), self.target)

    def apply(self, t_env: StreamTableEnvironment, settings: JobSettings) -> None:
        stream = t_env.to_data_stream(t_env.from_path(self.source))
        stream = DataStream(self.step.apply(stream._j_data_stream, settings))
        builder = Schema.new_builder()
        if self.step.records_carry_time:
            builder = builder.column_by_metadata("rowtime", DataTypes.TIMESTAMP_LTZ(3))
        if self.rowtime is not None:
            builder = builder.watermark(self.rowtime, "SOURCE_WATERMARK()")
        t_env.create_temporary_view(self.target, t_env.from_data_stream(stream, builder.build()))


JavaStep = JavaCleanStream | Barrier


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


# Every record of the stream, one row each, with its outcome (dead_letter, late, duplicate,
# forgotten, control, on_time) and, for on-time events, what the lookups found.
CLEAN_STREAM = JavaCleanStream("src_stream__raw_events", "src_reference__fx_rates",
                               "java_stream__records")
# Carts without a purchase within the timeout (dev.ecomflow.stream.CartAbandonment): SQL in
# Flink 1.20 cannot emit a timed-out match.
CARTS = Barrier("int_events__cart_activity", "java_carts__abandoned", rowtime=None,
                step=CartTimeout())
# Ordered funnels per server-side session (dev.ecomflow.stream.OrderedFunnels), from the
# funnels file (Sessions funnels.file).
FUNNELS = Barrier("int_events__funnel_activity", "java_funnels__session_steps",
                  rowtime="rowtime", step=OrderedFunnelSteps())

JAVA_STEPS: tuple[JavaStep, ...] = (CLEAN_STREAM, CARTS, FUNNELS)
# The FX rates are read only when the FX step is on.
OPTIONAL_FILES = {"src_reference__fx_rates": lambda s: s.clean.enrich_fx}
# Benchmarks only: the pass-through every figure is compared with (sql/90_benchmarks).
BENCH_DDL = ("fn_bench_event_time_of", "src_bench__raw_events", "snk_bench__passthrough")
BENCH_PASSTHROUGH = ("ins_bench__passthrough",)
BLACKHOLE = {"connector": "blackhole"}


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
        "SESSION_GAP_MINUTES": str(settings.sessions.gap_minutes),
        "SESSION_MAX_LENGTH_HOURS": str(settings.sessions.max_length_hours),
        "TOP_N": str(settings.sessions.top_n),
        **settings.anomalies.sql_parameters(),
        "FX_RATES_OPTIONS": render_options(
            clean.fx_rates.connector_options() if clean.fx_rates else BLACKHOLE),
    }
    for sink in SINKS:
        where = settings.lake if sink.kind == "lake" else settings.warehouse
        params[sink.placeholder] = render_options(
            BLACKHOLE if blackhole_sinks else where.connector_options(sink.target))
    return params


def statement_files(settings: JobSettings, inserts: tuple[str, ...] = INSERTS,
                    extra_ddl: tuple[str, ...] = ()) -> list[str | JavaStep]:
    """The file (or Java step) behind every statement, in execution order: the declarations
    in the order their reads require (flink_jobs/graph.py), then the inserts."""
    steps = {step.target: step for step in JAVA_STEPS}
    absent = frozenset(name for name, on in OPTIONAL_FILES.items() if not on(settings))
    declared = statement_order(tuple(step.spec for step in JAVA_STEPS), absent=absent)
    return [steps[item.declares] if isinstance(item, JavaStepSpec) else item
            for item in declared] + [*extra_ddl, *inserts]


def rendered_statements(settings: JobSettings, *, inserts: tuple[str, ...] = INSERTS,
                        blackhole_sinks: bool = False, extra_ddl: tuple[str, ...] = ()
                        ) -> list[tuple[str, str]]:
    """(name, SQL) for every statement, in execution order; usable without a Flink cluster.

    Java steps have no SQL: their entries are (step.name, "").
    """
    params = sql_parameters(settings, blackhole_sinks=blackhole_sinks)
    return [(item.name, "") if isinstance(item, JavaStep)
            else (item, load_sql(item, **params))
            for item in statement_files(settings, inserts, extra_ddl)]


def build(t_env: StreamTableEnvironment, settings: JobSettings, *,
          inserts: tuple[str, ...] = INSERTS, blackhole_sinks: bool = False,
          extra_ddl: tuple[str, ...] = ()) -> StatementSet:
    """Declare the job; `inserts` picks which sinks are filled (all of them by default)."""
    statement_set = t_env.create_statement_set()
    steps = {step.name: step for step in JAVA_STEPS}
    # Discarded sinks write nowhere: no lake table to create.
    iceberg = {} if blackhole_sinks else {
        sink.sink_file: sink for sink in SINKS if sink.kind == "lake"}
    for name, sql in rendered_statements(settings, inserts=inserts,
                                         blackhole_sinks=blackhole_sinks, extra_ddl=extra_ddl):
        if name in steps:
            steps[name].apply(t_env, settings)
        elif name in inserts:
            statement_set.add_insert_sql(sql)
        else:
            t_env.execute_sql(sql)
            if name in iceberg:
                ensure_lake_table(t_env, settings, iceberg[name])
    return statement_set


def ensure_lake_table(t_env: StreamTableEnvironment, settings: JobSettings, sink: Sink) -> None:
    """Create the Iceberg table behind a lake sink when it is missing, partitioned by the hour
    of its time column (dev.ecomflow.lake.LakeTables: Flink's DDL has no transforms)."""
    options = get_gateway().jvm.java.util.HashMap()
    for key, value in settings.lake.connector_options(sink.target).items():
        options.put(key, value)
    load_java_class("dev.ecomflow.lake.LakeTables").newInstance().ensure(
        t_env._j_tenv, sink.sink_file, options, "hour", sink.lake_time)
