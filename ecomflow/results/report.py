"""`ecomflow report`: what the warehouse holds, as pictures for a person (and tables).

Three PNG files from the warehouse views the job fills, the first two for one day (UTC; by
default the newest day with data), so that hours of different days never share a line:
- funnel.png: the design's hourly conversion funnel (page views, add-to-carts, purchases) with
  its conversion rate;
- anomalies.png: events per minute with every anomaly flag on the same time axis;
- top_products.png: the design's top 10 products by revenue (sql/analyses/top_products.sql).
A chart with nothing to draw says so, and why, instead of showing empty axes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
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


def newest_day(dsn: str) -> date | None:
    """The newest UTC day the job delivered a minute for."""
    [(newest,)] = _query(dsn, "SELECT MAX(window_start) FROM event_counts_minute")
    return newest.date() if newest else None


def _day(day: date) -> dict[str, datetime]:
    start = datetime(day.year, day.month, day.day)
    return {"start": start, "end": start + timedelta(days=1)}


def _nothing(out: Path, name: str, title: str, reason: str) -> None:
    """A picture that says why there is no chart."""
    figure, axes = plt.subplots(figsize=(9, 3))
    axes.set_axis_off()
    axes.set_title(title)
    axes.text(0.5, 0.5, reason, ha="center", va="center", wrap=True, fontsize=11)
    figure.savefig(out / name, dpi=100)
    plt.close(figure)


def funnel(dsn: str, out: Path, day: date) -> Table:
    rows = _query(dsn, "SELECT window_start, page_views, add_to_cart, purchases, "
                       "conversion_rate FROM funnel_hourly WHERE window_start >= %(start)s "
                       "AND window_start < %(end)s ORDER BY window_start", _day(day))
    table = Table(f"funnel per hour, {day.isoformat()}", ("hour", "page views", "add to cart",
                                                          "purchases", "conversion %"), rows)
    if not rows:
        _nothing(out, "funnel.png", f"Conversion funnel per hour, {day.isoformat()} (UTC)",
                 f"No hourly funnel on {day.isoformat()}: the job delivered no hour that day.")
        return table
    figure, axes = plt.subplots(figsize=(9, 4.5))
    labels = [start.strftime("%H:00") for start, *_ in rows]
    positions = range(len(rows))
    for offset, (index, name) in zip((-0.27, 0, 0.27), ((1, "page views"), (2, "add to cart"),
                                                         (3, "purchases")), strict=True):
        axes.bar([p + offset for p in positions], [row[index] for row in rows], width=0.27,
                 label=name)
    axes.set_xticks(list(positions), labels, rotation=30, ha="right")
    axes.set_ylabel("events")
    axes.set_title(f"Conversion funnel per hour, {day.isoformat()} (UTC; conversion rate = "
                   "purchases / page views)")
    rates = axes.twinx()
    rates.plot(list(positions), [float(row[4] or 0) for row in rows], color="black",
               marker="o", label="conversion rate %")
    rates.set_ylabel("conversion rate %")
    axes.legend(loc="upper left")
    figure.tight_layout()
    figure.savefig(out / "funnel.png", dpi=100)
    plt.close(figure)
    return table


def anomalies(dsn: str, out: Path, day: date) -> Table:
    volume = _query(dsn, "SELECT window_start, SUM(event_count) FROM event_counts_minute "
                         "WHERE window_start >= %(start)s AND window_start < %(end)s "
                         "GROUP BY window_start ORDER BY window_start", _day(day))
    flags = _query(dsn, "SELECT window_start, kind, kpi, segment, direction, explanation "
                        "FROM anomalies WHERE window_start >= %(start)s "
                        "AND window_start < %(end)s ORDER BY window_start, kind, kpi", _day(day))
    table = Table(f"anomalies, {day.isoformat()}", ("minute", "kind", "kpi", "segment",
                                                    "direction", "explanation"), flags)
    if not volume:
        _nothing(out, "anomalies.png", f"Anomaly timeline, {day.isoformat()} (UTC)",
                 f"No events counted on {day.isoformat()}: nothing to watch for anomalies.")
        return table
    figure, axes = plt.subplots(figsize=(10, 4.5))
    axes.plot([start for start, _ in volume], [int(n) for _, n in volume], linewidth=1,
              label="events per minute")
    for start, kind, kpi, _, direction, _ in flags:
        axes.axvline(start, color="red" if direction == "spike" else "orange", alpha=0.6,
                     linewidth=1.5)
        axes.annotate(f"{kind}: {kpi}", (start, axes.get_ylim()[1]), rotation=90,
                      fontsize=7, va="top", ha="right")
    axes.set_title(f"Anomaly timeline, {day.isoformat()} (UTC): {len(flags)} flags "
                   "(red: spike, orange: drop)" if flags else
                   f"Anomaly timeline, {day.isoformat()} (UTC): no flag, every KPI within its band")
    axes.set_ylabel("events")
    axes.legend(loc="upper left")
    figure.autofmt_xdate()
    figure.tight_layout()
    figure.savefig(out / "anomalies.png", dpi=100)
    plt.close(figure)
    return table


def top_products(dsn: str, out: Path, since: date) -> Table:
    sql = (paths.SQL_DIR / "analyses" / "top_products.sql").read_text()
    rows = _query(dsn, sql, {"since": since.isoformat()})
    table = Table("top products", ("product", "units", "revenue USD"), rows)
    if not rows:
        # The design's analysis joins the product catalog: purchases of products it does not
        # know are not ranked.
        _nothing(out, "top_products.png", f"Top products by revenue since {since.isoformat()}",
                 f"No product revenue since {since.isoformat()}: the ranking needs purchases of "
                 "products in the catalog (product records on the stream; `ecomflow generate "
                 "--catalog`, or the demo's story, has them).")
        return table
    figure, axes = plt.subplots(figsize=(8, 4.5))
    names = [str(name) for name, *_ in rows][::-1]
    axes.barh(names, [float(revenue) for *_, revenue in rows][::-1])
    axes.set_xlabel("revenue (USD)")
    axes.set_title(f"Top {len(rows)} products by revenue since {since.isoformat()}")
    figure.tight_layout()
    figure.savefig(out / "top_products.png", dpi=100)
    plt.close(figure)
    return table


def render(dsn: str, out: Path, *, since: date = date(2025, 1, 1),
           day: date | None = None) -> list[Table]:
    """Write the three PNG files into `out` (the funnel and the timeline for `day`, by default
    the newest day with data); return the tables behind them."""
    out.mkdir(parents=True, exist_ok=True)
    day = day or newest_day(dsn) or date.today()
    return [funnel(dsn, out, day), anomalies(dsn, out, day), top_products(dsn, out, since)]
