"""The optimised plan of the events job: properties that the SQL is written to obtain."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ecomflow import runner
from ecomflow.local_run import build_local_settings

pytestmark = pytest.mark.flink

EXECUTION_PLAN = "== Optimized Execution Plan =="


def _explain(home: Path, environ: dict[str, str]) -> dict[str, str]:
    """Optimised plans: of every insert, and of each view a barrier materialises."""
    events = home / "events.jsonl"
    events.write_text("{}\n")
    settings = build_local_settings(
        home=home, stack=None, environ=environ, input_file=events, lake=str(home / "lake"),
        warehouse_url="jdbc:postgresql://127.0.0.1:1/never-connected")
    runner.prepare_jvm(runner.require_jars(), home / "logs")
    from flink_jobs.environment import create_table_environment
    from flink_jobs.events_job import build

    t_env = create_table_environment(settings)
    plans = {"inserts": build(t_env, settings).explain()}
    for view in ("stg_stream__classified", "int_events__catalog"):
        plans[view] = t_env.from_path(view).explain()
    plans["key"] = settings.privacy.hash_key or ""
    return {name: plan.split(EXECUTION_PLAN, 1)[-1] for name, plan in plans.items()}


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return _explain(tmp_path_factory.mktemp("plan"), {})


@pytest.fixture(scope="module")
def plans_without_enrichment(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    switches = ("user-agent", "country", "fx", "catalog")
    return _explain(tmp_path_factory.mktemp("plan-off"),
                    {f"ECOMFLOW__CleanStream__enrich.{s}": "false" for s in switches})


def test_the_stream_is_read_once(plans: dict[str, str]) -> None:
    assert len(re.findall(r"TableSourceScan\(table=\[\[[^\]]*src_stream__raw_events",
                          plans["stg_stream__classified"])) == 1
    # The inserts read the five barriers' streams, each scanned once and shared (reused).
    scans = re.findall(r"TableSourceScan\(table=\[\[\*(anonymous_datastream_source\$\d+)",
                       plans["inserts"])
    assert len(scans) == 5 and len(set(scans)) == 5
    assert "src_stream__raw_events" not in plans["inserts"]


def test_each_payload_is_parsed_and_checked_once(plans: dict[str, str]) -> None:
    classified = plans["stg_stream__classified"]
    # parsed from the pseudonymised payload (the raw one when it is not a JSON object)
    assert classified.count("parse_event(COALESCE(private_payload, payload))") == 1
    assert classified.count("pseudonymise(payload, 'v1;") == 1
    assert classified.count("utf8_text(payload)") == 1
    assert classified.count("event_time_of(payload") == 1
    assert classified.count("PythonCorrelate(invocation=[check_event(") == 1
    # The watermark a record met is read before the Python step, which holds watermarks back.
    assert classified.index("CURRENT_WATERMARK") > classified.index("PythonCorrelate")


def test_the_hash_key_is_in_no_plan(plans: dict[str, str]) -> None:
    """`pseudonymise` is an instance holding the key: the SQL and the plans name only the
    rules, so the key cannot leak through logs, the Flink UI or an EXPLAIN."""
    key = plans["key"]
    assert len(key) == 64
    assert all(key not in plan for name, plan in plans.items() if name != "key")


def test_every_sink_is_filled(plans: dict[str, str]) -> None:
    for sink in ("snk_lake__events", "snk_lake__dead_letter", "snk_lake__late_events",
                 "snk_lake__sessions", "snk_warehouse__event_counts_minute",
                 "snk_warehouse__pipeline_health", "snk_warehouse__dead_letter_counts_minute",
                 "snk_warehouse__funnel_minute", "snk_warehouse__funnel_hourly",
                 "snk_warehouse__sessions", "snk_warehouse__cart_abandoned",
                 "snk_warehouse__top_products_minute", "snk_warehouse__anomalies",
                 "snk_warehouse__rfm", "snk_warehouse__transactions",
                 "snk_warehouse__products", "snk_warehouse__trending_products",
                 "snk_warehouse__funnel_steps_hourly"):
        assert f"Sink(table=[default_catalog.default_database.{sink}]" in plans["inserts"]


def test_stateful_steps_run_once(plans: dict[str, str]) -> None:
    # Deduplication is FirstByKey inside a barrier, with its own TTL: none in SQL.
    assert "Deduplicate(keep=[FirstRow]" not in plans["inserts"] + plans["int_events__catalog"]
    assert "TemporalJoin(" not in plans["inserts"]


def test_enrichment_steps_are_in_the_plan(plans: dict[str, str]) -> None:
    catalog = plans["int_events__catalog"]
    assert catalog.count("parse_user_agent(") == 1
    assert catalog.count("TemporalJoin(") == 2  # FX rates and the product catalog
    assert "src_reference__fx_rates" in catalog


def test_switched_off_enrichment_leaves_no_trace(
        plans_without_enrichment: dict[str, str]) -> None:
    catalog = plans_without_enrichment["int_events__catalog"]
    assert "parse_user_agent(" not in catalog
    assert "TemporalJoin(" not in catalog
    assert "src_reference__fx_rates" not in catalog


def test_analytics_are_window_aggregates(plans: dict[str, str]) -> None:
    # Append-only results (the lake and the warehouse logs take no updates).
    inserts = plans["inserts"]
    assert "GroupAggregate(" not in inserts
    assert "window=[SESSION(" in inserts and "window=[CUMULATE(" in inserts
