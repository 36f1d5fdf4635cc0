"""What a run left behind in the warehouse: rows per table, the accounting, highlights.
(The lake's tables are described through their catalog: ecomflow/lake/tables.py.)"""

from __future__ import annotations

import psycopg2

# The warehouse views analysts query: the job's own list of outputs.
from flink_jobs.graph import WAREHOUSE_LOGS, WAREHOUSE_VIEWS

ACCOUNTING = ("records_in", "valid", "dead_letter", "duplicates", "late", "forgotten", "control")


def empty_warehouse(dsn: str) -> None:
    """Empty every log table the job writes (the views read them; migrations stay)."""
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(f"TRUNCATE {', '.join(WAREHOUSE_LOGS)}")


def warehouse_counts(dsn: str) -> dict[str, int]:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        counts = {}
        for table in WAREHOUSE_VIEWS:
            cur.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608 (fixed names above)
            counts[table] = int(cur.fetchone()[0])
        return counts


def accounting_totals(dsn: str) -> dict[str, int]:
    """pipeline_health summed over every minute: records_in = valid + dead_letter + ..."""
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(f"SELECT {', '.join(f'COALESCE(SUM({c}), 0)' for c in ACCOUNTING)} "
                    "FROM pipeline_health")  # noqa: S608 (fixed names above)
        return dict(zip(ACCOUNTING, (int(v) for v in cur.fetchone()), strict=True))


def highlights(dsn: str) -> list[str]:
    """A few lines on what the analytics found: funnel, sessions, carts, top products, flags."""
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        lines = []
        cur.execute("SELECT window_start, page_views, add_to_cart, purchases, conversion_rate "
                    "FROM funnel_hourly ORDER BY window_start")
        for start, views, carts, purchases, rate in cur.fetchall():
            lines.append(f"funnel {start:%Y-%m-%d %H}:00  page views {views}, add to cart "
                         f"{carts}, purchases {purchases}, conversion {rate}%")
        cur.execute("SELECT COUNT(*), COUNT(CASE WHEN converted THEN 1 END), "
                    "ROUND(AVG(duration_seconds)), COALESCE(SUM(revenue_usd), 0) FROM sessions")
        count, converted, duration, revenue = cur.fetchone()
        lines.append(f"sessions {count} ({converted} converted), mean length {duration} s, "
                     f"revenue {revenue} USD")
        cur.execute("SELECT COUNT(*), COALESCE(SUM(cart_value_usd), 0) FROM cart_abandoned")
        carts, value = cur.fetchone()
        lines.append(f"abandoned carts {carts}, worth {value} USD")
        cur.execute("SELECT product_id, SUM(revenue_usd) FROM top_products_minute "
                    "WHERE ranking = 'revenue' GROUP BY product_id ORDER BY 2 DESC LIMIT 3")
        top = ", ".join(f"{product} {revenue} USD" for product, revenue in cur.fetchall())
        lines.append(f"top products by revenue: {top or 'none'}")
        cur.execute("SELECT kind, COUNT(*) FROM anomalies GROUP BY kind ORDER BY kind")
        flags = ", ".join(f"{kind} {n}" for kind, n in cur.fetchall())
        lines.append(f"anomaly flags: {flags or 'none'}")
        return lines
