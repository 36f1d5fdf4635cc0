"""What each dashboard panel shows, read from the warehouse's views in one transaction.

The time range is relative to the newest minute the job has delivered, not to the clock: a
replay of last year's traffic fills the page as well as live traffic does. Every query reads
the views analysts query (the newest delivery per window), in SQL that runs unchanged on
PostgreSQL and Redshift.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg2

# Ranges the page offers, in minutes (None: everything the warehouse holds).
RANGES = {"15m": 15, "1h": 60, "6h": 360, "24h": 1440, "7d": 10080, "all": None}
HEALTH_TERMS = ("records_in", "valid", "dead_letter", "duplicates", "late", "forgotten",
                "control")
TOP_N = 10


@dataclass(frozen=True)
class Window:
    """The range shown: [since, until) in event time (UTC), `until` the newest minute's end."""

    since: datetime | None
    until: datetime | None


@contextmanager
def _cursor(dsn: str) -> Iterator[Any]:
    conn = psycopg2.connect(dsn)
    try:
        conn.set_session(readonly=True)
        with conn.cursor() as cur:
            yield cur
    finally:
        conn.close()


def _plain(value: Any) -> Any:
    """JSON-ready: timestamps as ISO text (UTC, no zone: as stored), decimals as floats."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _rows(cur: Any, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    cur.execute(sql, params)
    names = [column.name for column in cur.description]
    return [{name: _plain(value) for name, value in zip(names, row, strict=True)}
            for row in cur.fetchall()]


def window(cur: Any, range_name: str) -> Window:
    if range_name not in RANGES:
        raise ValueError(f"unknown range {range_name!r}: one of {', '.join(RANGES)}")
    cur.execute("SELECT MAX(window_end) FROM pipeline_health")
    until = cur.fetchone()[0]
    minutes = RANGES[range_name]
    if until is None or minutes is None:
        return Window(None, until)
    return Window(until - timedelta(minutes=minutes), until)


def _between(column: str, span: Window) -> tuple[str, tuple[Any, ...]]:
    if span.since is None:
        return "1 = 1", ()
    return f"{column} >= %s AND {column} < %s", (span.since, span.until)


def panels(dsn: str, range_name: str = "1h") -> dict[str, Any]:
    """Every panel's data for the range, as plain JSON-ready values."""
    with _cursor(dsn) as cur:
        span = window(cur, range_name)
        cur.execute("SELECT EXTRACT(EPOCH FROM (CURRENT_TIMESTAMP AT TIME ZONE 'UTC' "
                    "- MAX(loaded_at))) FROM pipeline_health_log")
        since_load = cur.fetchone()[0]
        return {
            "range": range_name,
            "since": _plain(span.since), "until": _plain(span.until),
            "seconds_since_last_load": None if since_load is None else round(float(since_load)),
            "health": _health(cur, span),
            "dead_letters": _dead_letters(cur, span),
            "funnel_minute": _rows(cur, *_ordered(
                "SELECT window_start, page_views, add_to_cart, purchases, conversion_rate "
                "FROM funnel_minute WHERE {where} ORDER BY window_start", "window_start", span)),
            "funnel_hourly": _rows(cur, *_ordered(
                "SELECT window_start, page_views, add_to_cart, purchases, conversion_rate "
                "FROM funnel_hourly WHERE {where} ORDER BY window_start", "window_start", span,
                hourly=True)),
            "sessions": _sessions(cur, span),
            "carts": _carts(cur, span),
            "anomalies": _rows(cur, *_ordered(
                "SELECT window_start, kind, kpi, segment, direction, observed, expected, "
                "score, explanation FROM anomalies WHERE {where} ORDER BY window_start, kind",
                "window_start", span)),
            "top_products": _top_products(cur, span),
            "trending": _rows(cur, *_ordered(
                "SELECT window_start, product_id, product_views, baseline_views, growth "
                "FROM trending_products WHERE {where} ORDER BY window_start DESC, growth DESC "
                f"LIMIT {TOP_N}", "window_start", span)),
        }


def _ordered(sql: str, column: str, span: Window, *, hourly: bool = False
             ) -> tuple[str, tuple[Any, ...]]:
    # An hour overlapping the range counts: its row is the hour so far.
    if hourly and span.since is not None:
        span = Window(span.since.replace(minute=0, second=0, microsecond=0), span.until)
    where, params = _between(column, span)
    return sql.format(where=where), params


def _health(cur: Any, span: Window) -> dict[str, Any]:
    where, params = _between("window_start", span)
    minutes = _rows(cur, f"SELECT window_start, {', '.join(HEALTH_TERMS)} FROM pipeline_health "
                         f"WHERE {where} ORDER BY window_start", params)  # noqa: S608
    totals = {term: sum(int(m[term]) for m in minutes) for term in HEALTH_TERMS}
    balanced = all(m["records_in"] == sum(m[t] for t in HEALTH_TERMS[1:]) for m in minutes)
    return {"minutes": minutes, "totals": totals, "balanced": balanced}


def _dead_letters(cur: Any, span: Window) -> list[dict[str, Any]]:
    where, params = _between("window_start", span)
    return _rows(cur, "SELECT reason, SUM(dead_letter_count) AS dead_letters "
                      f"FROM dead_letter_counts_minute WHERE {where} "  # noqa: S608
                      "GROUP BY reason ORDER BY 2 DESC, 1", params)


def _sessions(cur: Any, span: Window) -> dict[str, Any]:
    where, params = _between("session_end", span)
    minutes = _rows(cur, "SELECT DATE_TRUNC('minute', session_end) AS minute, "
                         "COUNT(*) AS sessions, "
                         "SUM(CASE WHEN converted THEN 1 ELSE 0 END) AS converted "
                         f"FROM sessions WHERE {where} "  # noqa: S608
                         "GROUP BY 1 ORDER BY 1", params)
    count = sum(int(m["sessions"]) for m in minutes)
    converted = sum(int(m["converted"]) for m in minutes)
    return {"minutes": minutes, "sessions": count, "converted": converted,
            "conversion_rate": round(100.0 * converted / count, 2) if count else None}


def _carts(cur: Any, span: Window) -> dict[str, Any]:
    where, params = _between("abandoned_at", span)
    cur.execute("SELECT COUNT(*), COALESCE(SUM(cart_value_usd), 0) FROM cart_abandoned "
                f"WHERE {where}", params)  # noqa: S608
    count, value = cur.fetchone()
    latest = _rows(cur, "SELECT abandoned_at, user_id, items, cart_value_usd FROM cart_abandoned "
                        f"WHERE {where} ORDER BY abandoned_at DESC, user_id "  # noqa: S608
                        f"LIMIT {TOP_N}", params)
    return {"count": int(count), "value_usd": float(value), "latest": latest}


def _top_products(cur: Any, span: Window) -> list[dict[str, Any]]:
    """Revenue per product over the range (the per-minute rankings' rows, summed)."""
    where, params = _between("window_start", span)
    return _rows(cur, "SELECT product_id, SUM(revenue_usd) AS revenue_usd, "
                      "SUM(units_sold) AS units_sold FROM top_products_minute "
                      f"WHERE ranking = 'revenue' AND {where} "  # noqa: S608
                      f"GROUP BY product_id ORDER BY 2 DESC, 1 LIMIT {TOP_N}", params)
