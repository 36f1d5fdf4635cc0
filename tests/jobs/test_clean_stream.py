"""The clean stream, run for real: validation, dead letter, late events, deduplication,
enrichment and accounting, compared row by row with clean_oracle.

A bounded run over a file, then an end-to-end run through kinesis-mock, on the same input
(clean_case.build()): every dead-letter reason, duplicates (also of a catalog record without
event_id), out-of-order and late events, four currencies (one without a rate) and a catalog
update in the middle.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from ecomflow import paths
from ecomflow.ingest.replay import replay
from ecomflow.kinesis.client import kinesis_client
from ecomflow.local.stack import StackInfo
from ecomflow.privacy.hashing import hash_id
from ecomflow.run.local_run import local_hash_key
from flink_jobs.graph import WAREHOUSE_VIEWS
from flink_jobs.property_keys import DEFAULT_FUNNELS
from tests.jobs import clean_case, clean_oracle
from tests.jobs.lake_reader import JobLake, LakeReader, fresh_lake
from tests.kinesis_reader import create_active_stream
from tests.support.jobs import COMPARED, as_stored, query, run_cli

pytestmark = [pytest.mark.flink, pytest.mark.stack]

# The lake tables `forget` erases from (the dead letter keeps records as received).
ERASED_TABLES = ("events", "late_events", "sessions")
SESSION_COLUMNS = ("session_id", "user_id", "session_start", "session_end", "duration_seconds",
                   "client_session_id", "events", "page_views", "product_views", "add_to_cart",
                   "remove_from_cart", "purchases", "pages_viewed", "entry_page", "exit_page",
                   "device_class", "country", "revenue_usd", "converted")

@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[clean_case.Line]]:
    folder = tmp_path_factory.mktemp("clean")
    lines = clean_case.build()
    events = folder / "events.jsonl"
    events.write_text("".join(line.text + "\n" for line in lines), encoding="utf-8")
    rates = folder / "fx_rates.csv"
    rates.write_text(clean_case.FX_RATES_CSV, encoding="utf-8")
    return events, rates, lines


@pytest.fixture
def case_env(case: tuple[Path, Path, list[clean_case.Line]],
             monkeypatch: pytest.MonkeyPatch) -> None:
    _, rates, _ = case
    monkeypatch.setenv("ECOMFLOW__CleanStream__fx.rates.url", rates.as_uri())
    monkeypatch.setenv("ECOMFLOW__CleanStream__max.payload.bytes",
                       str(clean_case.MAX_PAYLOAD_BYTES))


def assert_clean_stream(lines: list[clean_case.Line], lake: LakeReader, dsn: str,
                        home: Path) -> None:
    """`home`: the state folder whose key the job hashed with."""
    lines = as_stored(lines, home)
    want = clean_oracle.expected(lines, rates_csv=clean_case.FX_RATES_CSV)
    # The input is what it was built to be, by the oracle's own reading of the rules.
    assert want.outcomes == [line.label for line in lines]

    events = lake("events")
    got = sorted(({k: row[k] for k in COMPARED} for row in events), key=lambda r: r["payload"])
    wanted_events = [{k: event[k] for k in COMPARED} for event in want.events]
    assert len(got) == len(want.events), "every clean event exactly once in the lake"
    for actual, wanted in zip(got, wanted_events, strict=True):
        assert actual == wanted

    dead = lake("dead_letter")
    assert sorted((r["payload"], r["reason"], r["field"]) for r in dead) == want.dead_letters
    assert all(r["detail"] for r in dead)

    late = lake("late_events")
    assert sorted((r["event_id"], r["payload"], r["arrival_watermark"]) for r in late) == [
        (event_id, payload, watermark.replace(tzinfo=None))
        for event_id, payload, watermark in want.late]

    health = query(dsn, "SELECT window_start, records_in, valid, dead_letter, duplicates, late "
                        "FROM pipeline_health ORDER BY window_start")
    assert health == clean_oracle.health_rows(want)
    # The accounting identity, in every row and in total.
    assert all(row[1] == sum(row[2:]) for row in health)
    assert sum(row[1] for row in health) == len(lines)

    assert query(dsn, "SELECT window_start, reason, dead_letter_count "
                      "FROM dead_letter_counts_minute ORDER BY window_start, reason") == sorted(
        (minute.replace(tzinfo=None), reason, n)
        for (minute, reason), n in want.dead_letter_counts.items())
    assert query(dsn, "SELECT window_start, event_type, event_count "
                      "FROM event_counts_minute ORDER BY window_start, event_type") == sorted(
        (minute.replace(tzinfo=None), event_type, n)
        for (minute, event_type), n in want.event_counts.items())
    assert_analytics(want, lines, lake, dsn)


def analysis(dsn: str, name: str, **params: str) -> list[tuple[Any, ...]]:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute((paths.SQL_DIR / "analyses" / f"{name}.sql").read_text(), params)
        return [tuple(row) for row in cur.fetchall()]


def assert_analytics(want: clean_oracle.Expected, lines: list[clean_case.Line], lake: LakeReader,
                     dsn: str) -> None:
    """Funnels and sessions, computed by the job from the clean stream."""
    funnel = "SELECT window_start, page_views, add_to_cart, purchases, conversion_rate FROM "
    assert query(dsn, funnel + "funnel_minute ORDER BY 1") == clean_oracle.funnel_rows(want)
    assert query(dsn, funnel + "funnel_hourly ORDER BY 1") == clean_oracle.funnel_rows(
        want, hourly=True)
    # Every hour has closed in these runs: the hourly row is the whole hour.
    assert all(row[1] - row[0] == timedelta(hours=1)
               for row in query(dsn, "SELECT window_start, updated_to FROM funnel_hourly"))

    sessions = clean_oracle.session_rows(want)
    assert len(sessions) == 7  # seven users, one visit each in the case's ten minutes
    got = [dict(zip(SESSION_COLUMNS, row, strict=True)) for row in query(
        dsn, f"SELECT {', '.join(SESSION_COLUMNS)} FROM sessions ORDER BY user_id, session_start")]
    assert got == sessions
    lake = sorted(({k: row[k] for k in SESSION_COLUMNS}
                   for row in lake("sessions")),
                  key=lambda s: (s["user_id"], s["session_start"]))
    assert lake == sessions

    carts = clean_oracle.abandoned_carts(want)
    assert carts, "the case leaves carts without a purchase"
    assert query(dsn, "SELECT user_id, cart_value_usd, items, first_added_at, last_change_at, "
                      "abandoned_at FROM cart_abandoned ORDER BY user_id") == carts

    top = clean_oracle.top_products(want)
    assert {row[1] for row in top} == {"revenue", "views"}
    assert query(dsn, "SELECT window_start, ranking, product_rank, product_id, product_views, "
                      "units_sold, revenue_usd FROM top_products_minute ORDER BY 1, 2, 3") == top

    funnels = json.loads(DEFAULT_FUNNELS.read_text())["funnels"]
    steps = clean_oracle.ordered_funnel_rows(want, funnels)
    assert {row[1] for row in steps} == {"purchase_path", "direct_buy"}
    assert query(dsn, "SELECT window_start, funnel, step_index, step, device_class, country, "
                      "sessions FROM funnel_steps_hourly ORDER BY 1, 2, 3, 4, 5, 6") == steps

    # The design's three analyses, as written in sql/analyses/, on what the job loaded.
    assert analysis(dsn, "top_products", since="2025-07-01") == (
        clean_oracle.top_products_analysis(want, lines, datetime(2025, 7, 1, tzinfo=UTC)))
    hourly = analysis(dsn, "hourly_funnel", day="2025-07-16")
    assert [(int(hour), *rest) for hour, *rest in hourly] == [
        (start.hour, *rest) for start, *rest in clean_oracle.funnel_rows(want, hourly=True)]
    assert analysis(dsn, "rfm_segments") == clean_oracle.rfm_segments(want)


def test_bounded_run_then_the_same_input_through_kinesis(
        stack: StackInfo, warehouse: str, case_env: None,
        case: tuple[Path, Path, list[clean_case.Line]], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A bounded run over the file, then the same input end to end through kinesis-mock into
    the same warehouse: each run's output equals the oracle, and the second run's loads are
    idempotent (it re-delivers every window, session and cart; the warehouse's views replace
    rows instead of adding them)."""
    events, _, lines = case
    # The bounded run writes its lake in a local folder, the stream run in the stack's S3.
    folder_lake = fresh_lake(stack, "clean_stream_file", (tmp_path / "lake").as_uri())
    run_cli(stack, "run", "--input", str(events), *folder_lake.args)
    assert_clean_stream(lines, folder_lake.rows, warehouse, stack.home)
    before = {view: query(warehouse, f"SELECT * FROM {view} ORDER BY 1, 2, 3")
              for view in WAREHOUSE_VIEWS}

    client = kinesis_client(stack.kinesis_endpoint, stack.region, stack.access_key,
                            stack.secret_key)
    stream = "clean-stream-test"
    create_active_stream(client, stream, shards=1)  # one shard: the records keep their order
    summary = replay(events, stream_name=stream, client=client)
    assert summary.records == len(lines) and not summary.failed_records

    s3_lake = fresh_lake(stack, "clean_stream")
    monkeypatch.setenv("ECOMFLOW__KinesisSource__stream.name", stream)
    out = run_cli(stack, "run", *s3_lake.args, "--idle-timeout", "10", "--from",
                  "TRIM_HORIZON", "--parallelism", "1")
    assert "stopped after idle timeout" in out
    assert_clean_stream(lines, s3_lake.rows, warehouse, stack.home)
    for view in WAREHOUSE_VIEWS:
        assert query(warehouse, f"SELECT * FROM {view} ORDER BY 1, 2, 3") == before[view], view
    assert query(warehouse, "SELECT COUNT(*) FROM sessions_log")[0][0] == 2 * len(
        before["sessions"])
    # The live counters agree with the warehouse's accounting.
    want = clean_oracle.health_rows(clean_oracle.expected(lines, rates_csv=clean_case.FX_RATES_CSV))
    totals = [sum(row[i] for row in want) for i in range(1, 6)]
    assert ("accounting (Flink counters): records_in={} valid={} dead_letter={} duplicates={} "
            "late={}".format(*totals)) in out
    # The head parsed, checked and pseudonymised each record exactly once.
    assert f"checked={len(lines)}" in out

    assert_forget_deletes_rows_from_the_lake(stack, s3_lake)


def assert_forget_deletes_rows_from_the_lake(stack: StackInfo, test_lake: JobLake) -> None:
    """`ecomflow forget` on the stream run's tables: the user's rows go by row-level deletes
    and every other row stays (that a second run deletes nothing is LakeErasureTest's, in
    Maven)."""
    lake = test_lake.rows
    user_hash = hash_id(local_hash_key(stack.home), "user_01")

    def users(row: dict[str, Any]) -> bool:
        return user_hash in (row.get("user_id"), row.get("customer_id")) or (
            user_hash in (row.get("payload") or ""))

    before = {table: lake(table) for table in ERASED_TABLES}
    out = run_cli(stack, "forget", "user_01", *test_lake.args)
    removed = {table: sum(map(users, rows)) for table, rows in before.items()}
    assert removed["events"] and removed["sessions"], "the case gives user_01 events, a session"
    assert (f"lake: {sum(removed.values())} rows deleted from the Iceberg tables ("
            + ", ".join(f"{t} {n}" for t, n in removed.items()) + ")") in out, out
    for table, rows in before.items():
        key = sorted(rows[0]) if rows else []
        kept = sorted(([row[k] for k in key] for row in rows if not users(row)), key=repr)
        assert sorted(([row[k] for k in key] for row in lake(table)), key=repr) == kept, table


SWITCHES_OFF = {"ECOMFLOW__CleanStream__enrich.user-agent": "false",
                "ECOMFLOW__CleanStream__enrich.country": "false",
                "ECOMFLOW__CleanStream__enrich.fx": "false",
                "ECOMFLOW__CleanStream__enrich.catalog": "false",
                "ECOMFLOW__Privacy__pseudonymise": "false"}


def test_every_switch_off(stack: StackInfo, warehouse: str, case_env: None,
                          case: tuple[Path, Path, list[clean_case.Line]], tmp_path: Path,
                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Each documented switch off, in one run: the job starts, and each step leaves no trace
    (no device, country, USD amounts, catalog, FX dead letters; payloads as sent)."""
    events, _, lines = case
    for name, value in SWITCHES_OFF.items():
        monkeypatch.setenv(name, value)
    lake = fresh_lake(stack, "switches_off", (tmp_path / "lake").as_uri())
    run_cli(stack, "run", "--input", str(events), *lake.args)
    # The CHF event has no rate to miss: it is valid.
    labels = [replace(line, label="valid") if line.label == "missing_fx_rate" else line
              for line in lines]
    want = clean_oracle.expected(labels, rates_csv=clean_case.FX_RATES_CSV,
                                 switches=clean_oracle.Switches(False, False, False, False))
    assert want.outcomes == [line.label for line in labels]
    got = sorted(({k: row[k] for k in COMPARED} for row in lake.rows("events")),
                 key=lambda r: r["payload"])
    assert got == [{k: event[k] for k in COMPARED} for event in want.events]
    assert all(row["device_class"] is None or row["device_class"] == "tablet" for row in got)
    assert {row["country"] for row in got} == {None}
    dead = lake.rows("dead_letter")
    assert sorted((r["payload"], r["reason"], r["field"]) for r in dead) == want.dead_letters
    health = query(warehouse, "SELECT window_start, records_in, valid, dead_letter, duplicates, "
                              "late FROM pipeline_health ORDER BY window_start")
    assert health == clean_oracle.health_rows(want)
