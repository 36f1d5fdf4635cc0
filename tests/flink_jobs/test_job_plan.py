"""The optimised plan of the events job: properties that the SQL is written to obtain."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ecomflow import runner
from ecomflow.local_run import build_local_settings

pytestmark = pytest.mark.flink

EXECUTION_PLAN = "== Optimized Execution Plan =="


def _explain(home: Path, environ: dict[str, str]) -> tuple[str, str]:
    """(plan of the classified stream up to retime(), plan of every insert after it)."""
    events = home / "events.jsonl"
    events.write_text("{}\n")
    settings = build_local_settings(
        home=home, stack=None, environ=environ, input_file=events, lake=str(home / "lake"),
        warehouse_url="jdbc:postgresql://127.0.0.1:1/never-connected")
    runner.prepare_jvm(runner.require_jars(), home / "logs")
    from flink_jobs.environment import create_table_environment
    from flink_jobs.events_job import build

    t_env = create_table_environment(settings)
    inserts = build(t_env, settings).explain().split(EXECUTION_PLAN, 1)[1]
    classified = t_env.from_path("stg_stream__classified").explain().split(EXECUTION_PLAN, 1)[1]
    return classified, inserts


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    return _explain(tmp_path_factory.mktemp("plan"), {})


@pytest.fixture(scope="module")
def plans_without_enrichment(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    switches = ("user-agent", "country", "fx", "catalog")
    return _explain(tmp_path_factory.mktemp("plan-off"),
                    {f"ECOMFLOW__CleanStream__enrich.{s}": "false" for s in switches})


def test_the_stream_is_read_once(plans: tuple[str, str]) -> None:
    classified, inserts = plans
    assert len(re.findall(r"TableSourceScan\(table=\[\[[^\]]*src_stream__raw_events",
                          classified)) == 1
    # Every insert reads the one re-timed stream (the planner reuses its scan).
    assert len(re.findall(r"TableSourceScan\(table=\[\[\*anonymous_datastream_source",
                          inserts)) == 1
    assert "src_stream__raw_events" not in inserts


def test_each_payload_is_parsed_and_checked_once(plans: tuple[str, str]) -> None:
    classified, _ = plans
    assert classified.count("parse_event(payload)") == 1
    assert classified.count("event_time_of(payload)") == 1
    assert classified.count("check_event(payload") == 1


def test_every_sink_is_filled(plans: tuple[str, str]) -> None:
    _, inserts = plans
    for sink in ("snk_lake__events", "snk_lake__dead_letter", "snk_lake__late_events",
                 "snk_warehouse__event_counts_minute", "snk_warehouse__pipeline_health",
                 "snk_warehouse__dead_letter_counts_minute"):
        assert f"Sink(table=[default_catalog.default_database.{sink}]" in inserts


def test_enrichment_steps_are_in_the_plan(plans: tuple[str, str]) -> None:
    _, inserts = plans
    assert "parse_user_agent(" in inserts
    assert inserts.count("TemporalJoin(") == 2  # FX rates and the product catalog
    assert "src_reference__fx_rates" in inserts
    assert "Deduplicate(keep=[FirstRow], key=[event_id], order=[PROCTIME])" in inserts


def test_switched_off_enrichment_leaves_no_trace(
        plans_without_enrichment: tuple[str, str]) -> None:
    _, inserts = plans_without_enrichment
    assert "parse_user_agent(" not in inserts
    assert "TemporalJoin(" not in inserts
    assert "src_reference__fx_rates" not in inserts
