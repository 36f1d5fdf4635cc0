"""The warehouse model collapses re-delivered windows: a replay never double counts."""

from __future__ import annotations

import psycopg2
import pytest

from ecomflow.local.stack import StackInfo, apply_warehouse_ddl, warehouse_dsn

pytestmark = pytest.mark.stack


def test_redelivered_window_counts_once(stack: StackInfo) -> None:
    assert "V001__event_counts_minute.sql" in apply_warehouse_ddl(stack)  # idempotent
    with psycopg2.connect(warehouse_dsn(stack)) as conn, conn.cursor() as cur:
        cur.execute("TRUNCATE event_counts_minute_log")
        rows = [
            # first delivery, then the same windows again after a failure and replay
            ("2025-07-16 10:00", "2025-07-16 10:01", "page_view", 7, "2025-07-16 10:01:05"),
            ("2025-07-16 10:00", "2025-07-16 10:01", "purchase", 1, "2025-07-16 10:01:05"),
            ("2025-07-16 10:00", "2025-07-16 10:01", "page_view", 7, "2025-07-16 10:03:00"),
            ("2025-07-16 10:01", "2025-07-16 10:02", "page_view", 3, "2025-07-16 10:03:00"),
            ("2025-07-16 10:01", "2025-07-16 10:02", "page_view", 4, "2025-07-16 10:04:00"),
        ]
        cur.executemany("INSERT INTO event_counts_minute_log VALUES (%s, %s, %s, %s, %s)", rows)
        cur.execute("SELECT to_char(window_start, 'HH24:MI'), event_type, event_count "
                    "FROM event_counts_minute ORDER BY 1, 2")
        assert cur.fetchall() == [
            ("10:00", "page_view", 7),
            ("10:00", "purchase", 1),
            ("10:01", "page_view", 4),  # the newest delivery wins
        ]
        cur.execute("SELECT SUM(event_count) FROM event_counts_minute")
        assert cur.fetchone()[0] == 12
        cur.execute("TRUNCATE event_counts_minute_log")
