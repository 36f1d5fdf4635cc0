"""`ecomflow dashboard`'s server on the local stack's warehouse: every panel's figures are the
views' own, the range counts back from the newest minute, and failures are answers, not
crashes. (The page itself, in Chromium during a job run: tests/jobs/test_bad_input.py.)"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from typing import Any

import psycopg2
import pytest

from ecomflow.dashboard.server import running_dashboard
from ecomflow.local.stack import StackInfo, warehouse_dsn
from ecomflow.results.summary import empty_warehouse

pytestmark = pytest.mark.stack

T0 = datetime(2025, 7, 16, 10, 0)
NOW = datetime(2026, 1, 1)


def _get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (loopback)
            body = response.read()
            kind = response.headers.get("Content-Type", "")
            return response.status, json.loads(body) if "json" in kind else body
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _fill(dsn: str) -> None:
    """Two minutes of traffic two hours apart (10:00 and 12:00), one of everything else."""
    empty_warehouse(dsn)
    late = T0 + timedelta(hours=2)
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        for start, counts in ((T0, (50, 40, 6, 3, 1)), (late, (20, 17, 2, 1, 0))):
            cur.execute("INSERT INTO pipeline_health_log VALUES (%s, %s, %s, %s, %s, %s, %s, %s, "
                        "0, 0)", (start, start + timedelta(minutes=1), *counts, NOW))
            cur.execute("INSERT INTO funnel_minute_log VALUES (%s, %s, 30, 6, 2, 6.67, %s)",
                        (start, start + timedelta(minutes=1), NOW))
        # A re-delivery of the 12:00 minute: the view keeps the newest, nothing counts twice.
        cur.execute("INSERT INTO pipeline_health_log VALUES (%s, %s, 20, 17, 2, 1, 0, %s, 0, 0)",
                    (late, late + timedelta(minutes=1), NOW + timedelta(seconds=5)))
        cur.execute("INSERT INTO dead_letter_counts_minute_log VALUES (%s, %s, 'wrong_type', 2, "
                    "%s), (%s, %s, 'missing_field', 6, %s)",
                    (late, late + timedelta(minutes=1), NOW, T0, T0 + timedelta(minutes=1), NOW))
        cur.execute("INSERT INTO funnel_hourly_log VALUES (%s, %s, 300, 60, 20, 6.67, %s)",
                    (late.replace(minute=0), late + timedelta(minutes=1), NOW))
        cur.execute("INSERT INTO sessions_log (session_id, user_id, session_start, session_end, "
                    "duration_seconds, events, page_views, product_views, add_to_cart, "
                    "remove_from_cart, purchases, pages_viewed, revenue_usd, converted, "
                    "loaded_at) VALUES ('s1', 'u1', %s, %s, 60, 5, 2, 1, 1, 0, 1, 2, 42.5, TRUE, "
                    "%s), ('s2', 'u2', %s, %s, 30, 2, 2, 0, 0, 0, 0, 2, 0, FALSE, %s)",
                    (late - timedelta(minutes=5), late, NOW,
                     late - timedelta(minutes=4), late, NOW))
        cur.execute("INSERT INTO cart_abandoned_log VALUES ('u3', 99.90, 2, %s, %s, %s, %s)",
                    (late - timedelta(minutes=40), late - timedelta(minutes=35),
                     late - timedelta(minutes=5), NOW))
        cur.execute("INSERT INTO anomalies_log VALUES (%s, 'bot_velocity', 'events_per_minute', "
                    "'user:abc', 600, 60, 0, 60, 10, 'spike', 'user:abc sent 600 events', %s)",
                    (late, NOW))
        cur.execute("INSERT INTO top_products_minute_log VALUES (%s, %s, 'revenue', 1, 'p1', 9, "
                    "2, 200, %s), (%s, %s, 'revenue', 1, 'p1', 3, 1, 100, %s)",
                    (late, late + timedelta(minutes=1), NOW, T0, T0 + timedelta(minutes=1), NOW))
        cur.execute("INSERT INTO trending_products_log VALUES (%s, 'p2', 90, 3.5, 25.7, %s)",
                    (late, NOW))


def test_each_panel_shows_the_views_figures_for_the_range(stack: StackInfo) -> None:
    dsn = warehouse_dsn(stack)
    _fill(dsn)
    with running_dashboard(dsn) as board:
        assert board.url.startswith("http://127.0.0.1:")
        status, hour = _get(board.url + "api/panels?range=1h")
        status_all, everything = _get(board.url + "api/panels?range=all")
    assert status == status_all == 200
    # The range ends at the newest minute delivered, not at the clock.
    assert (hour["since"], hour["until"]) == ("2025-07-16T11:01:00", "2025-07-16T12:01:00")
    assert hour["health"]["totals"] == {"records_in": 20, "valid": 17, "dead_letter": 2,
                                        "duplicates": 1, "late": 0, "forgotten": 0,
                                        "control": 0}
    assert everything["health"]["totals"]["records_in"] == 70
    assert hour["health"]["balanced"] and everything["health"]["balanced"]
    assert hour["dead_letters"] == [{"reason": "wrong_type", "dead_letters": 2}]
    assert [r["reason"] for r in everything["dead_letters"]] == ["missing_field", "wrong_type"]
    assert [r["window_start"] for r in hour["funnel_minute"]] == ["2025-07-16T12:00:00"]
    assert [r["page_views"] for r in hour["funnel_hourly"]] == [300]
    assert hour["sessions"] == {"minutes": [{"minute": "2025-07-16T12:00:00", "sessions": 2,
                                             "converted": 1}],
                                "sessions": 2, "converted": 1, "conversion_rate": 50.0}
    assert hour["carts"]["count"] == 1 and hour["carts"]["value_usd"] == 99.9
    assert [(a["kind"], a["explanation"]) for a in hour["anomalies"]] == [
        ("bot_velocity", "user:abc sent 600 events")]
    assert hour["top_products"] == [{"product_id": "p1", "revenue_usd": 200.0, "units_sold": 2}]
    assert everything["top_products"][0]["revenue_usd"] == 300.0
    assert [(t["product_id"], t["growth"]) for t in hour["trending"]] == [("p2", 25.7)]
    assert hour["seconds_since_last_load"] > 0


def test_the_page_and_its_chart_library_are_served_and_bad_requests_are_answered(
        stack: StackInfo) -> None:
    dsn = warehouse_dsn(stack)
    with running_dashboard(dsn) as board:
        status, page = _get(board.url)
        assert status == 200 and b'<script src="/plotly.js">' in page
        status, library = _get(board.url + "plotly.js")
        assert status == 200 and len(library) > 1_000_000  # Plotly itself: no CDN needed
        status, answer = _get(board.url + "api/panels?range=3d")
        assert status == 400 and answer["ranges"][0] == "15m"
    # A warehouse that does not answer: a 503 the page shows, not a crash.
    with running_dashboard("host=127.0.0.1 port=1 dbname=x user=x connect_timeout=2") as board:
        status, answer = _get(board.url + "api/panels")
    assert status == 503 and answer["error"].startswith("the warehouse did not answer")
