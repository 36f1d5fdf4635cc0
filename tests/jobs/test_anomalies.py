"""Anomaly flags, run for real, in one run over two days: steady traffic on the first never
raises a flag; every anomaly injected into the second is flagged, and nothing else is."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import psycopg2
import pytest

from ecomflow.local.stack import StackInfo, warehouse_dsn
from tests.jobs import anomaly_case
from tests.jobs.lake_reader import fresh_lake
from tests.jobs.privacy_view import hashed
from tests.support.jobs import run_cli

pytestmark = [pytest.mark.flink, pytest.mark.stack]


def _run(stack: StackInfo, tmp_path: Path) -> tuple[list[tuple], list[tuple]]:
    """(anomaly flags, trending products) of a bounded run over both days."""
    dsn = warehouse_dsn(stack)
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("TRUNCATE anomalies_log, trending_products_log")
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(anomaly_case.steady_day_then_injected_day()) + "\n")
    lake = fresh_lake(stack, "anomalies", (tmp_path / "lake").as_uri())
    run_cli(stack, "run", "--input", str(events), *lake.args)
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT window_start, kind, kpi, segment, direction, observed, expected, "
                    "explanation FROM anomalies ORDER BY 1, 2, 3, 4")
        flags = cur.fetchall()
        cur.execute("SELECT window_start, product_id FROM trending_products ORDER BY 1, 2")
        return flags, cur.fetchall()


def _minute(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None, second=0, microsecond=0)


def test_steady_traffic_raises_no_flag_and_every_injected_anomaly_is_flagged(
        stack: StackInfo, tmp_path: Path) -> None:
    all_flags, all_trending = _run(stack, tmp_path)
    second_day = _minute(anomaly_case.START).replace(hour=0, minute=0)
    # The steady day: no flag at all, nothing trends.
    assert [row for row in all_flags if row[0] < second_day] == []
    assert [row for row in all_trending if row[0] < second_day] == []

    flags = [row for row in all_flags if row[0] >= second_day]
    trending = [row for row in all_trending if row[0] >= second_day]
    found = {(start.replace(second=0, microsecond=0), kind, kpi, segment, direction)
             for start, kind, kpi, segment, direction, *_ in flags}
    spike, bot = _minute(anomaly_case.SPIKE), _minute(anomaly_case.BOT)
    order = _minute(anomaly_case.BIG_ORDER)
    assert (spike, "kpi", "events", "all", "spike") in found
    assert (spike, "kpi", "conversion_rate", "all", "drop") in found
    # Flags name users by the pseudonymised id the job stores (README "Privacy").
    stored = hashed(stack.home)
    assert (bot, "bot_velocity", "events_per_minute", f"user:{stored(anomaly_case.BOT_USER)}",
            "spike") in found
    assert (order, "order_total", "total_amount_usd",
            f"customer:{stored(anomaly_case.BIG_ORDER_CUSTOMER)}", "spike") in found
    # Nothing is flagged outside the three injected minutes.
    assert {minute for minute, *_ in found} <= {spike, bot, order}
    assert all(explanation for *_, explanation in flags)
    # The bot's 90 views of p2 make p2 trend in that minute, and nothing else trends.
    assert trending == [(bot, "p2")]
