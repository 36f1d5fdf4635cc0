"""`ecomflow report`: charts and tables from the warehouse views (the local stack's PostgreSQL)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import psycopg2
import pytest

from ecomflow.local.stack import StackInfo, warehouse_dsn
from ecomflow.results import report, summary

pytestmark = pytest.mark.stack

PNG = b"\x89PNG\r\n\x1a\n"
HOUR = datetime(2025, 7, 16, 10, 0)


def _fill(dsn: str) -> None:
    now = datetime(2026, 1, 1)
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("TRUNCATE funnel_hourly_log, event_counts_minute_log, anomalies_log, "
                    "transactions_log, products_log")
        cur.execute("INSERT INTO funnel_hourly_log VALUES (%s, %s, 100, 20, 5, 5.00, %s)",
                    (HOUR, HOUR + timedelta(hours=1), now))
        for minute in range(10):
            cur.execute("INSERT INTO event_counts_minute_log VALUES (%s, %s, 'page_view', %s, %s)",
                        (HOUR + timedelta(minutes=minute), HOUR + timedelta(minutes=minute + 1),
                         40 + (200 if minute == 7 else 0), now))
        cur.execute("INSERT INTO anomalies_log VALUES (%s, 'kpi', 'events', 'all', 240, 40, "
                    "30, 50, 40, 'spike', 'events (all) spiked to 240', %s)",
                    (HOUR + timedelta(minutes=7), now))
        cur.execute("INSERT INTO products_log VALUES ('p1', 'Phone', 'electronics', 'Acme', "
                    "100, 'USD', %s, %s), ('p2', 'Lamp', 'home', 'Casa', 20, 'EUR', %s, %s)",
                    (HOUR, now, HOUR, now))
        cur.execute("INSERT INTO transactions_log VALUES ('t1', 'e1', 'c1', 'p1', 2, 200, %s, "
                    "%s), ('t2', 'e2', 'c2', 'p2', 1, 23.3, %s, %s)", (HOUR, now, HOUR, now))


def test_report_draws_three_charts_and_returns_their_tables(stack: StackInfo,
                                                            tmp_path: Path) -> None:
    dsn = warehouse_dsn(stack)
    _fill(dsn)
    tables = report.render(dsn, tmp_path, since=date(2025, 7, 1))
    for name in ("funnel.png", "anomalies.png", "top_products.png"):
        data = (tmp_path / name).read_bytes()
        assert data.startswith(PNG) and len(data) > 10_000, name
    funnel, flags, top = tables
    assert [row[1:4] for row in funnel.rows] == [(100, 20, 5)]
    assert [(row[1], row[2], row[4]) for row in flags.rows] == [("kpi", "events", "spike")]
    assert [(name, int(units)) for name, units, _ in top.rows] == [("Phone", 2), ("Lamp", 1)]


def test_demo_highlights_name_funnel_sessions_carts_products_and_flags(
        stack: StackInfo) -> None:
    dsn = warehouse_dsn(stack)
    _fill(dsn)
    lines = summary.highlights(dsn)
    assert lines[0] == ("funnel 2025-07-16 10:00  page views 100, add to cart 20, purchases 5, "
                        "conversion 5.00%")
    assert lines[-1] == "anomaly flags: kpi 1"
    assert [line.split(" ")[0] for line in lines[1:4]] == ["sessions", "abandoned", "top"]


def test_report_draws_one_day_and_says_why_instead_of_an_empty_chart(
        stack: StackInfo, tmp_path: Path) -> None:
    dsn = warehouse_dsn(stack)
    _fill(dsn)
    next_day = HOUR + timedelta(days=1)
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO funnel_hourly_log VALUES (%s, %s, 70, 7, 1, 1.43, %s)",
                    (next_day, next_day + timedelta(hours=1), datetime(2026, 1, 1)))
    # Hours of two days: the chart shows the day asked for, never both on one line.
    funnel, _, _ = report.render(dsn, tmp_path / "a", since=date(2025, 7, 1),
                                 day=date(2025, 7, 17))
    assert [row[1:4] for row in funnel.rows] == [(70, 7, 1)]
    funnel, flags, _ = report.render(dsn, tmp_path / "b", since=date(2025, 7, 1))
    assert [row[1:4] for row in funnel.rows] == [(100, 20, 5)]  # the newest day with minutes
    assert len(flags.rows) == 1
    # Nothing to draw: a picture that says why, and empty tables.
    funnel, flags, top = report.render(dsn, tmp_path / "c", since=date(2030, 1, 1),
                                       day=date(2025, 7, 20))
    assert funnel.rows == [] and flags.rows == [] and top.rows == []
    for name in ("funnel.png", "anomalies.png", "top_products.png"):
        assert (tmp_path / "c" / name).read_bytes().startswith(PNG), name
