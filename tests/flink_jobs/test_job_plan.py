"""The events job's plan: properties that the SQL and the Java steps are written to obtain.

Two views of one job: the optimised SQL plan of every insert (`explain()`), and the execution
graph with the clean stream's Java operators (`JSON_EXECUTION_PLAN`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ecomflow.aws import state_map
from ecomflow.run import runner
from ecomflow.run.local_run import build_local_settings
from flink_jobs.graph import SINKS
from flink_jobs.settings import JobSettings
from flink_jobs.sql_files import SQL_DIR

# Plans only: no job runs, so these share the other worker while the Flink tests run.
pytestmark = pytest.mark.planner

EXECUTION_PLAN = "== Optimized Execution Plan =="
PHYSICAL_PLAN = "== Physical Execution Plan =="
JAVA_STEPS = ("RecordHead", "AcceptedEventTime", "CatalogVersions", "FirstArrival",
              "ForgetUsers", "FxRates", "DeviceOf", "CountOutcomes")


def _settings(home: Path, environ: dict[str, str]) -> JobSettings:
    events = home / "events.jsonl"
    events.write_text("{}\n")
    # The lake's catalog in memory: a plan needs no server.
    return build_local_settings(
        home=home, stack=None, environ={"ECOMFLOW__Lake__catalog": "memory", **environ},
        input_file=events, lake=str(home / "lake"),
        warehouse_url="jdbc:postgresql://127.0.0.1:1/never-connected")


def _explain(home: Path, environ: dict[str, str]) -> dict[str, object]:
    settings = _settings(home, environ)
    runner.prepare_jvm(runner.require_jars(), home / "logs")
    from pyflink.table import ExplainDetail

    from flink_jobs.environment import create_table_environment
    from flink_jobs.events_job import build

    t_env = create_table_environment(settings)
    text = build(t_env, settings).explain(ExplainDetail.JSON_EXECUTION_PLAN)
    sql_plan, graph = text.split(EXECUTION_PLAN, 1)[-1].split(PHYSICAL_PLAN, 1)
    nodes = json.loads(graph)["nodes"]
    return {"sql": sql_plan, "graph": graph, "operators": [node["type"] for node in nodes],
            "key": settings.privacy.hash_key or "",
            "star_inserts": _star_inserts(t_env)}


def _star_inserts(t_env: object) -> dict[str, tuple[list[str], list[str]]]:
    """For each insert written `SELECT * FROM <mart>` or `SELECT *, <extra> FROM <mart>`: the
    mart's column names (and "<extra>" for the extra one) and the sink's, in order (Flink maps
    an insert's columns by position, not by name)."""
    found = {}
    for sink in SINKS:
        sql = (SQL_DIR / "60_inserts" / f"{sink.insert_file}.sql").read_text()
        if "SELECT *" not in sql:
            continue
        mart = re.search(r"FROM (\w+)", sql).group(1)
        extra = ["<extra>"] if "SELECT *," in sql else []
        found[sink.insert_file] = (
            list(t_env.from_path(mart).get_schema().get_field_names()) + extra,
            list(t_env.from_path(sink.sink_file).get_schema().get_field_names()))
    return found


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    return _explain(tmp_path_factory.mktemp("plan"), {})


@pytest.fixture(scope="module")
def plan_without_enrichment(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    switches = ("user-agent", "country", "fx", "catalog")
    return _explain(tmp_path_factory.mktemp("plan-off"),
                    {f"ECOMFLOW__CleanStream__enrich.{s}": "false" for s in switches})


def test_inserts_written_as_the_mart_star_match_their_sink_by_name(
        plan: dict[str, object]) -> None:
    star = plan["star_inserts"]
    assert set(star) >= {"ins_lake__sessions", "ins_warehouse__sessions",
                         "ins_warehouse__funnel_minute", "ins_warehouse__funnel_hourly"}
    for insert, (mart, sink) in star.items():
        # Same names, same order; an extra column (`SELECT *, x`) is the sink's last.
        assert len(sink) == len(mart), insert
        assert [m for m, _ in zip(mart, sink, strict=True) if m != "<extra>"] == [
            s for m, s in zip(mart, sink, strict=True) if m != "<extra>"], insert


def _java_steps(operators: list[str]) -> list[str]:
    return [op.split("(")[0] for op in operators if op.split("(")[0] in JAVA_STEPS]


def test_the_stream_is_read_once_and_each_record_is_checked_once(
        plan: dict[str, object]) -> None:
    operators = plan["operators"]
    assert sum(op.startswith("Source: src_stream__raw_events") for op in operators) == 1
    # One head, in which each record is parsed, checked and pseudonymised in one pass; the
    # stream test counts it running exactly once per record (Flink counter `checked`).
    assert _java_steps(operators) == list(JAVA_STEPS)
    # The SQL reads the head's output (and the two barriers'), each scanned once and shared.
    scans = re.findall(r"TableSourceScan\(table=\[\[\*(anonymous_datastream_source\$\d+)",
                       plan["sql"])
    assert len(scans) == 3 and len(set(scans)) == 3


def test_no_function_runs_per_field_and_no_python_per_record(plan: dict[str, object]) -> None:
    """Flink evaluates a scalar function once per expression that references it: the SQL calls
    no parsing or checking function any more (the head does that once), only the run-time
    switch; and nothing in the graph is a Python operator."""
    called = set(re.findall(r"\b([a-z_]+)\(", plan["sql"]))
    ours = {"parse_event", "check_event", "pseudonymise", "utf8_text", "utf8_problem",
            "event_time_of", "parse_user_agent", "tally"}
    assert not called & ours
    assert "switched_on(" in plan["sql"]
    assert not any("Python" in op for op in plan["operators"])


def test_the_hash_key_is_in_no_plan(plan: dict[str, object]) -> None:
    """The key goes into the head's operator, never into SQL: the plans, the graph and the
    operator names cannot leak it through logs, the Flink UI or an EXPLAIN."""
    key = plan["key"]
    assert len(key) == 64
    assert key not in plan["sql"] and key not in plan["graph"]


def test_every_sink_is_filled(plan: dict[str, object]) -> None:
    for sink in ("snk_lake__events", "snk_lake__dead_letter", "snk_lake__late_events",
                 "snk_lake__sessions", "snk_warehouse__event_counts_minute",
                 "snk_warehouse__pipeline_health", "snk_warehouse__dead_letter_counts_minute",
                 "snk_warehouse__funnel_minute", "snk_warehouse__funnel_hourly",
                 "snk_warehouse__sessions", "snk_warehouse__cart_abandoned",
                 "snk_warehouse__top_products_minute", "snk_warehouse__anomalies",
                 "snk_warehouse__rfm", "snk_warehouse__transactions",
                 "snk_warehouse__products", "snk_warehouse__trending_products",
                 "snk_warehouse__funnel_steps_hourly"):
        assert f"Sink(table=[default_catalog.default_database.{sink}]" in plan["sql"]


def test_stateful_steps_run_once(plan: dict[str, object]) -> None:
    # Deduplication, the catalog and the rates are the head's keyed steps: none in SQL, where
    # the planner would run them once per reader.
    assert "Deduplicate(" not in plan["sql"]
    assert "TemporalJoin(" not in plan["sql"]
    assert "src_reference__fx_rates" not in plan["sql"]


def test_switched_off_enrichment_leaves_no_trace(
        plan_without_enrichment: dict[str, object]) -> None:
    operators = plan_without_enrichment["operators"]
    assert _java_steps(operators) == ["RecordHead", "AcceptedEventTime", "FirstArrival",
                                      "ForgetUsers", "CountOutcomes"]
    assert not any("src_reference__fx_rates" in op for op in operators)


def test_analytics_are_window_aggregates(plan: dict[str, object]) -> None:
    # Append-only results (the lake and the warehouse logs take no updates).
    assert "GroupAggregate(" not in plan["sql"]
    assert "window=[SESSION(" in plan["sql"] and "window=[CUMULATE(" in plan["sql"]


# -- whether a changed plan restores the state of the one before (ecomflow deploy) -------------

def test_state_maps_predict_which_upgrades_restore(tmp_path: Path) -> None:
    """The deploy's prediction on real plans. Switching the country enrichment on keeps every
    operator's id and types: it restores, as test_reliability's upgrade test shows Flink doing
    (same change, real savepoint, ignore-unclaimed-state=false). Switching the user-agent step
    off removes a Java operator with its uid and shifts the planner's ids behind it."""
    def computed(environ: dict[str, str]) -> state_map.StateMap:
        return state_map.compute(_settings(tmp_path, environ), home=tmp_path)

    base = computed({})
    names = {op.name for op in base.values()}
    assert {f"ecomflow-{uid}" for uid in ("record-head", "deduplicate-first-by-key",
                                          "forget-users", "device-of")} <= names
    assert state_map.compare(
        computed({"ECOMFLOW__CleanStream__enrich.country": "false"}), base).restores
    verdict = state_map.compare(
        base, computed({"ECOMFLOW__CleanStream__enrich.user-agent": "false"}))
    assert not verdict.restores and "ecomflow-device-of" in verdict.gone
    assert "ecomflow-device-of" in verdict.explain()


def test_the_state_map_of_an_aws_environment() -> None:
    """What deploy computes: the plan of the groups the CDK app gives the application."""
    dev = state_map.for_environment("dev")
    assert any(op.name.startswith("Source: src_stream__raw_events") for op in dev.values())
    assert "ecomflow-forget-users" in {op.name for op in dev.values()}
    assert state_map.loads(state_map.dumps(dev)) == dev
