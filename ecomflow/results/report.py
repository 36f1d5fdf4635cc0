"""`ecomflow report`: what the warehouse holds, as pictures for a person (and tables).

Three PNG files from the warehouse views the job fills:
- funnel.png: the design's hourly conversion funnel (page views, add-to-carts, purchases) with
  its conversion rate;
- anomalies.png: events per minute with every anomaly flag on the same time axis;
- top_products.png: the design's top 10 products by revenue (sql/analyses/top_products.sql).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, never a window

import matplotlib.pyplot as plt  # noqa: E402
import psycopg2  # noqa: E402

from ecomflow import paths  # noqa: E402


@dataclass(frozen=True)
class Table:
    title: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]


def _query(dsn: str, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        return [tuple(row) for row in cur.fetchall()]


def funnel(dsn: str, out: Path) -> Table:
    rows = _query(dsn, "SELECT window_start, page_views, add_to_cart, purchases, "
                       "conversion_rate FROM funnel_hourly ORDER BY window_start")
    figure, axes = plt.subplots(figsize=(9, 4.5))
    labels = [start.strftime("%m-%d %H:00") for start, *_ in rows]
    positions = range(len(rows))
    for offset, (index, name) in zip((-0.27, 0, 0.27), ((1, "page views"), (2, "add to cart"),
                                                         (3, "purchases")), strict=True):
        axes.bar([p + offset for p in positions], [row[index] for row in rows], width=0.27,
                 label=name)
    axes.set_xticks(list(positions), labels, rotation=30, ha="right")
    axes.set_ylabel("events")
    axes.set_title("Conversion funnel per hour (conversion rate = purchases / page views)")
    rates = axes.twinx()
    rates.plot(list(positions), [float(row[4] or 0) for row in rows], color="black",
               marker="o", label="conversion rate %")
    rates.set_ylabel("conversion rate %")
    axes.legend(loc="upper left")
    figure.tight_layout()
    figure.savefig(out / "funnel.png", dpi=100)
    plt.close(figure)
    return Table("funnel per hour", ("hour", "page views", "add to cart", "purchases",
                                     "conversion %"), rows)


def anomalies(dsn: str, out: Path) -> Table:
    volume = _query(dsn, "SELECT window_start, SUM(event_count) FROM event_counts_minute "
                         "GROUP BY window_start ORDER BY window_start")
    flags = _query(dsn, "SELECT window_start, kind, kpi, segment, direction, explanation "
                        "FROM anomalies ORDER BY window_start, kind, kpi")
    figure, axes = plt.subplots(figsize=(10, 4.5))
    axes.plot([start for start, _ in volume], [int(n) for _, n in volume], linewidth=1,
              label="events per minute")
    for start, kind, kpi, _, direction, _ in flags:
        axes.axvline(start, color="red" if direction == "spike" else "orange", alpha=0.6,
                     linewidth=1.5)
        axes.annotate(f"{kind}: {kpi}", (start, axes.get_ylim()[1]), rotation=90,
                      fontsize=7, va="top", ha="right")
    axes.set_title(f"Anomaly timeline: {len(flags)} flags (red: spike, orange: drop)")
    axes.set_ylabel("events")
    axes.legend(loc="upper left")
    figure.autofmt_xdate()
    figure.tight_layout()
    figure.savefig(out / "anomalies.png", dpi=100)
    plt.close(figure)
    return Table("anomalies", ("minute", "kind", "kpi", "segment", "direction",
                               "explanation"), flags)


def top_products(dsn: str, out: Path, since: date) -> Table:
    sql = (paths.SQL_DIR / "analyses" / "top_products.sql").read_text()
    rows = _query(dsn, sql, {"since": since.isoformat()})
    figure, axes = plt.subplots(figsize=(8, 4.5))
    names = [str(name) for name, *_ in rows][::-1]
    axes.barh(names, [float(revenue) for *_, revenue in rows][::-1])
    axes.set_xlabel("revenue (USD)")
    axes.set_title(f"Top {len(rows)} products by revenue since {since.isoformat()}")
    figure.tight_layout()
    figure.savefig(out / "top_products.png", dpi=100)
    plt.close(figure)
    return Table("top products", ("product", "units", "revenue USD"), rows)


def render(dsn: str, out: Path, *, since: date = date(2025, 1, 1)) -> list[Table]:
    """Write the three PNG files into `out`; return the tables behind them."""
    out.mkdir(parents=True, exist_ok=True)
    return [funnel(dsn, out), anomalies(dsn, out), top_products(dsn, out, since)]
