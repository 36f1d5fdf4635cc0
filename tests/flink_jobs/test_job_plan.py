"""The optimised plan of the events job: properties that the SQL is written to obtain."""

from __future__ import annotations

import re

import pytest

from ecomflow import runner
from ecomflow.local_run import build_local_settings

pytestmark = pytest.mark.flink


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory) -> str:
    home = tmp_path_factory.mktemp("plan")
    events = home / "events.jsonl"
    events.write_text("{}\n")
    settings = build_local_settings(
        home=home, stack=None, environ={}, input_file=events, lake=str(home / "lake"),
        warehouse_url="jdbc:postgresql://127.0.0.1:1/never-connected")
    runner.prepare_jvm(runner.require_jars(), home / "logs")
    from flink_jobs.environment import create_table_environment
    from flink_jobs.events_job import build

    explained = build(create_table_environment(settings), settings).explain()
    return explained.split("== Optimized Execution Plan ==", 1)[1]


def test_the_stream_is_read_once(plan: str) -> None:
    assert len(re.findall(r"TableSourceScan\(table=\[\[[^\]]*src_stream__raw_events", plan)) == 1


def test_each_payload_is_parsed_once(plan: str) -> None:
    assert plan.count("parse_event(payload)") == 1
    assert plan.count("event_time_of(payload)") == 1


def test_every_sink_is_filled(plan: str) -> None:
    for sink in ("snk_lake__events", "snk_lake__dead_letter",
                 "snk_warehouse__event_counts_minute"):
        assert f"Sink(table=[default_catalog.default_database.{sink}]" in plan
