"""The demo's summary of the warehouse, on the local stack's PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import psycopg2
import pytest

from ecomflow.local.stack import StackInfo, warehouse_dsn
from ecomflow.results import summary

pytestmark = pytest.mark.stack


def test_accounting_totals_count_each_window_once(stack: StackInfo) -> None:
    dsn = warehouse_dsn(stack)
    start = datetime(2025, 7, 16, 10, 0)
    rows = [
        # window 10:00 delivered twice (a replay after a failure): the newest counts
        (start, 10, 7, 1, 1, 1, start + timedelta(minutes=2)),
        (start, 11, 8, 1, 1, 1, start + timedelta(minutes=5)),
        (start + timedelta(minutes=1), 5, 5, 0, 0, 0, start + timedelta(minutes=3)),
    ]
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("TRUNCATE pipeline_health_log")
        cur.executemany(
            "INSERT INTO pipeline_health_log VALUES (%s, %s + interval '1 minute', %s, %s, %s, "
            "%s, %s, %s)", [(r[0], r[0], *r[1:]) for r in rows])
    assert summary.accounting_totals(dsn) == {
        "records_in": 16, "valid": 13, "dead_letter": 1, "duplicates": 1, "late": 1,
        "forgotten": 0, "control": 0}
    assert summary.warehouse_counts(dsn)["pipeline_health"] == 2
