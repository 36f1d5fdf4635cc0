"""What the clean stream must produce for a clean_case input, recomputed from the rules alone.

Plain Python, no Flink: the watermark is simulated record by record (bounded out-of-orderness,
30 s behind the newest timestamp of the records the contract accepted, met by the records after
it: a dead letter's timestamp moves nothing), deduplication comes first and keeps the first
arrival of each event_id (a resend that arrives behind the watermark is a duplicate, not late),
rates are looked up as of each event's time and catalog versions as of each event's time among
those that arrived before it (the job looks them up on arrival), and devices come from the
hand-written table in clean_case. Validity is taken from the labels the input was built with
(each bad record was made bad on purpose).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flink_jobs.contract import derive_event_id
from tests.jobs.clean_case import USER_AGENTS, Line

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CENT = Decimal("0.01")


def _time(value: Any) -> datetime | None:
    """A zoned ISO 8601 timestamp, as the job's event_time_of reads it; None otherwise."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else None


def event_time_of(record: Any, now: datetime, max_future: timedelta) -> datetime | None:
    if not isinstance(record, dict):
        return None
    # A catalog record's timestamp is optional: without one (or with null) its updated_at.
    moment = _time(record["timestamp"]) if isinstance(record.get("timestamp"), str) else _time(
        record.get("updated_at"))
    return None if moment is None or moment > now + max_future else moment


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def _money(value: Any) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value)).quantize(CENT, ROUND_HALF_UP)


def parse_rates(csv: str) -> dict[str, list[tuple[datetime, Decimal]]]:
    rates: dict[str, list[tuple[datetime, Decimal]]] = defaultdict(list)
    for row in csv.splitlines():
        if row.strip() and not row.startswith("#"):
            currency, rate, valid_from = row.split(",")
            since = datetime.strptime(valid_from, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
            rates[currency].append((since, Decimal(rate)))
    return {c: sorted(versions) for c, versions in rates.items()}


def _as_of(versions: list[tuple[datetime, Any]], moment: datetime) -> Any:
    found = None
    for since, value in versions:
        if since <= moment:
            found = value
    return found


@dataclass
class Expected:
    events: list[dict[str, Any]] = field(default_factory=list)  # the lake's events/
    dead_letters: list[tuple[str, str, str]] = field(default_factory=list)  # payload, reason, field
    late: list[tuple[str, str, datetime]] = field(default_factory=list)  # id, payload, watermark
    health: dict[datetime, Counter] = field(default_factory=lambda: defaultdict(Counter))
    dead_letter_counts: Counter = field(default_factory=Counter)  # (minute, reason)
    event_counts: Counter = field(default_factory=Counter)  # (minute, event_type)
    outcomes: list[str] = field(default_factory=list)  # per input line, for the label check


@dataclass(frozen=True)
class Switches:
    """The CleanStream enrichment switches (all on by default)."""

    user_agent: bool = True
    country: bool = True
    fx: bool = True
    catalog: bool = True


def expected(lines: list[Line], *, rates_csv: str, delay: timedelta = timedelta(seconds=30),
             max_future: timedelta = timedelta(seconds=300),
             switches: Switches = Switches()) -> Expected:
    now = datetime.now(UTC)
    rates = parse_rates(rates_csv)
    out = Expected()
    newest: datetime | None = None
    seen: set[str] = set()
    unique: list[tuple[int, dict[str, Any], datetime, str]] = []
    out.outcomes = [""] * len(lines)
    for index, line in enumerate(lines):
        try:
            record = json.loads(line.text)
        except ValueError:
            record = None
        dead = line.label == "dead_letter"
        moment = None if dead else event_time_of(record, now, max_future)
        watermark = None if newest is None else newest - delay  # met by this record
        if moment is not None:  # only records the contract accepts move event time
            newest = moment if newest is None else max(newest, moment)
        accounting = max(moment or EPOCH, watermark or moment or EPOCH)
        minute = _minute(accounting)
        out.health[minute]["records_in"] += 1
        if dead:
            out.outcomes[index] = "dead_letter"
            out.dead_letters.append((line.text, line.reason or "", line.field or ""))
            out.health[minute]["dead_letter"] += 1
            out.dead_letter_counts[(minute, line.reason)] += 1
            continue
        assert moment is not None, f"a valid record needs a readable time: {line.text}"
        # Duplicates before lateness: an id seen before is a duplicate whenever it arrives.
        event_id = record.get("event_id") or derive_event_id(record)
        if event_id in seen:
            out.outcomes[index] = "duplicate"
            out.health[minute]["duplicates"] += 1
            continue
        seen.add(event_id)
        if watermark is not None and moment < watermark:
            out.outcomes[index] = "late"
            out.late.append((event_id, line.text, watermark))
            out.health[minute]["late"] += 1
            continue
        unique.append((index, record, moment, line.text))

    # The catalog as the job sees it: each event meets the versions that arrived before it.
    catalog: dict[str, list[tuple[datetime, dict[str, Any]]]] = defaultdict(list)
    arrived: dict[int, list[tuple[datetime, dict[str, Any]]]] = {}
    for index, record, moment, _ in unique:
        if "event_type" not in record or record.get("event_type") == "product":
            catalog[record["product_id"]].append((moment, record))
            catalog[record["product_id"]].sort(key=lambda v: v[0])
        arrived[index] = list(catalog.get(record.get("product_id"), []))

    for index, record, moment, text in unique:
        minute = _minute(moment)
        event_type = {"transaction": "purchase"}.get(record.get("event_type"),
                                                      record.get("event_type", "product"))
        price, total = _money(record.get("price")), _money(record.get("total_amount"))
        code = (record.get("currency") or "USD").upper()
        rate = Decimal(1) if code == "USD" else _as_of(rates.get(code, []), moment)
        if not switches.fx:  # nothing converted, nothing rejected for want of a rate
            rate = None
        if switches.fx and (price is not None or total is not None) and rate is None:
            out.outcomes[index] = "missing_fx_rate"
            out.dead_letters.append((text, "missing_fx_rate", "currency"))
            out.health[minute]["dead_letter"] += 1
            out.dead_letter_counts[(minute, "missing_fx_rate")] += 1
            continue
        out.outcomes[index] = "catalog" if event_type == "product" else "valid"
        out.health[minute]["valid"] += 1
        out.event_counts[(minute, event_type)] += 1
        agent = record.get("user_agent")
        device_class, browser, os = (USER_AGENTS[agent] if agent and switches.user_agent
                                     else (None, None, None))
        if record.get("device_type"):
            device_class = record["device_type"].lower()
        address = record.get("shipping_address") or {}
        country = (address.get("country") or record.get("country")) if switches.country else None
        version = _as_of(arrived[index], moment) if switches.catalog else None
        out.events.append({
            "event_id": record.get("event_id") or derive_event_id(record),
            "event_type": event_type,
            "event_time": moment.replace(tzinfo=None),
            "user_id": record.get("user_id") or record.get("customer_id"),
            "session_id": record.get("session_id"),
            "page_url": record.get("page_url"),
            "product_id": record.get("product_id"),
            "quantity": record.get("quantity"),
            "items": record.get("items") or [],
            "device_class": device_class,
            "browser": browser,
            "os": os,
            "country": country.upper() if country else None,
            "fx_rate_to_usd": None if rate is None else rate.quantize(Decimal("1e-8")),
            "price_usd": None if price is None or rate is None
            else (price * rate).quantize(CENT, ROUND_HALF_UP),
            "total_amount_usd": None if total is None or rate is None
            else (total * rate).quantize(CENT, ROUND_HALF_UP),
            "catalog_category": version and version.get("category"),
            "catalog_brand": version and version.get("brand"),
            "catalog_price": version and _money(version.get("price")),
            "payload": text,
        })
    out.events.sort(key=lambda e: e["payload"])
    out.dead_letters.sort()
    out.late.sort()
    return out


def health_rows(expected_: Expected) -> list[tuple[Any, ...]]:
    """pipeline_health rows: (window_start, records_in, valid, dead_letter, duplicates, late)."""
    return sorted(
        (minute.replace(tzinfo=None), c["records_in"], c["valid"], c["dead_letter"],
         c["duplicates"], c["late"])
        for minute, c in expected_.health.items())


# ----------------------------------------------------------------------- funnels and sessions


def _rate(purchases: int, page_views: int) -> Decimal | None:
    if not page_views:
        return None
    return (Decimal(purchases * 100) / Decimal(page_views)).quantize(CENT, ROUND_HALF_UP)


def funnel_rows(expected_: Expected, *, hourly: bool = False) -> list[tuple[Any, ...]]:
    """(window_start, page_views, add_to_cart, purchases, conversion_rate) per minute, or per
    hour (the whole hour: what funnel_hourly holds once the hour has closed)."""
    counts: dict[datetime, Counter] = defaultdict(Counter)
    for event in expected_.events:
        if event["event_type"] == "product":
            continue  # catalog records are reference data: they open no funnel window
        start = event["event_time"].replace(second=0, microsecond=0)
        if hourly:
            start = start.replace(minute=0)
        counts[start][event["event_type"]] += 1
    return sorted(
        (start, c["page_view"], c["add_to_cart"], c["purchase"],
         _rate(c["purchase"], c["page_view"]))
        for start, c in counts.items())


def session_rows(expected_: Expected, *, gap: timedelta = timedelta(minutes=30),
                 max_hours: int = 24) -> list[dict[str, Any]]:
    """One dict per session, sorted by (user_id, session_start)."""
    by_user: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in expected_.events:
        if event["user_id"] is not None:
            by_user[event["user_id"]].append(event)
    sessions = []
    for user, events in by_user.items():
        events.sort(key=lambda e: e["event_time"])
        current: list[dict[str, Any]] = []
        for event in events:
            bucket = int(event["event_time"].timestamp() // 3600 // max_hours)
            if current and (event["event_time"] - current[-1]["event_time"] > gap
                            or bucket != current[-1]["_bucket"]):
                sessions.append(_session(user, current))
                current = []
            current.append({**event, "_bucket": bucket})
        sessions.append(_session(user, current))
    return sorted(sessions, key=lambda s: (s["user_id"], s["session_start"]))


def _first(events: list[dict[str, Any]], key: str, *, last: bool = False) -> Any:
    values = [e[key] for e in events if e[key] is not None]
    return (values[-1] if last else values[0]) if values else None


def _session(user: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    start, end = events[0]["event_time"], events[-1]["event_time"]
    kinds = Counter(e["event_type"] for e in events)
    purchases = [e for e in events if e["event_type"] == "purchase"]
    stamp = start.strftime("%Y-%m-%d %H:%M:%S.") + f"{start.microsecond // 1000:03d}"
    return {
        "session_id": hashlib.md5(f"{user}|{stamp}".encode()).hexdigest(),  # noqa: S324
        "user_id": user,
        "session_start": start,
        "session_end": end,
        "duration_seconds": int((end - start).total_seconds()),
        "client_session_id": _first(events, "session_id"),
        "events": len(events),
        "page_views": kinds["page_view"],
        "product_views": kinds["product_view"],
        "add_to_cart": kinds["add_to_cart"],
        "remove_from_cart": kinds["remove_from_cart"],
        "purchases": kinds["purchase"],
        "pages_viewed": sum(1 for e in events
                            if e["event_type"] == "page_view" and e["page_url"] is not None),
        "entry_page": _first(events, "page_url"),
        "exit_page": _first(events, "page_url", last=True),
        "device_class": _first(events, "device_class"),
        "country": _first(events, "country"),
        "revenue_usd": sum((e["total_amount_usd"] for e in purchases), Decimal("0.00")),
        "converted": bool(purchases),
    }


def abandoned_carts(expected_: Expected, *, timeout: timedelta = timedelta(minutes=30)
                    ) -> list[tuple[Any, ...]]:
    """(user_id, cart_value_usd, items, first_added_at, last_change_at, abandoned_at) for every
    cart that no purchase emptied: at the end of a bounded input every timer fires."""
    carts: dict[str, dict[str, Any]] = {}
    for event in sorted(expected_.events, key=lambda e: e["event_time"]):
        user, kind = event["user_id"], event["event_type"]
        if user is None or kind not in ("add_to_cart", "remove_from_cart", "purchase"):
            continue
        if kind == "purchase":
            carts.pop(user, None)
            continue
        product = event["product_id"] or ""
        cart = carts.setdefault(user, {"lines": {}, "units": {}, "first": None, "last": None})
        if kind == "add_to_cart":
            units = event["quantity"] or 1
            value = (event["price_usd"] or Decimal(0)) * units
            cart["lines"][product] = cart["lines"].get(product, Decimal(0)) + value
            cart["units"][product] = cart["units"].get(product, 0) + units
            cart["first"] = cart["first"] or event["event_time"]
        elif product in cart["lines"]:
            del cart["lines"][product], cart["units"][product]
        else:
            if not cart["lines"]:
                del carts[user]
            continue
        if not cart["lines"]:
            del carts[user]
            continue
        cart["last"] = event["event_time"]
    return sorted(
        (user, sum(c["lines"].values(), Decimal(0)).quantize(CENT), sum(c["units"].values()),
         c["first"], c["last"], c["last"] + timeout)
        for user, c in carts.items())


def _item_price(item: dict[str, Any]) -> Decimal:
    """An item's price: the design's `unit_price`, or `price` (the contract wants one)."""
    return Decimal(str(item.get("unit_price", item.get("price")))).quantize(CENT)


def top_products(expected_: Expected, *, top_n: int = 10) -> list[tuple[Any, ...]]:
    """(window_start, ranking, rank, product_id, views, units, revenue_usd), per minute."""
    metrics: dict[tuple[datetime, str], list[Any]] = defaultdict(
        lambda: [0, 0, Decimal("0.00")])
    for event in expected_.events:
        minute = event["event_time"].replace(second=0, microsecond=0)
        if event["event_type"] == "product_view" and event["product_id"]:
            metrics[(minute, event["product_id"])][0] += 1
    for _, product, units, revenue, moment in _lines(expected_):
        entry = metrics[(moment.replace(second=0, microsecond=0), product)]
        entry[1] += units
        entry[2] += revenue
    rows = []
    for minute in sorted({m for m, _ in metrics}):
        products = [(p, *v) for (m, p), v in metrics.items() if m == minute]
        for ranking, key, keep in (("revenue", lambda r: (-r[3], r[0]), lambda r: r[3] > 0),
                                   ("views", lambda r: (-r[1], r[0]), lambda r: r[1] > 0)):
            ranked = sorted(filter(keep, products), key=key)[:top_n]
            rows += [(minute, ranking, rank, p, views, units, revenue)
                     for rank, (p, views, units, revenue) in enumerate(ranked, start=1)]
    return sorted(rows)


# ----------------------------------------------------------------------- the design's analyses


def _lines(expected_: Expected) -> list[tuple[str, str, int, Decimal, datetime]]:
    """(customer, product, quantity, revenue_usd, time) per purchase item."""
    lines = []
    for event in expected_.events:
        if event["event_type"] == "purchase":
            rate = event["fx_rate_to_usd"] or Decimal(1)
            for item in event["items"]:
                units = item.get("quantity") or 1
                revenue = (_item_price(item) * units * rate).quantize(CENT, ROUND_HALF_UP)
                lines.append((event["user_id"], item["product_id"], units, revenue,
                              event["event_time"]))
    return lines


def top_products_analysis(expected_: Expected, lines_text: list[Line],
                          since: datetime) -> list[tuple[Any, ...]]:
    """The design's top 10 products: (product_name, total_quantity, revenue)."""
    names: dict[str, tuple[datetime, str]] = {}
    for line in lines_text:
        if line.label == "catalog":
            record = json.loads(line.text)
            moment = _time(record["updated_at"])
            if record["product_id"] not in names or names[record["product_id"]][0] < moment:
                names[record["product_id"]] = (moment, record["name"])
    totals: dict[str, list[Any]] = defaultdict(lambda: [0, Decimal("0.00")])
    since = since.replace(tzinfo=None)  # the lake's and the oracle's times are naive UTC
    for _, product, units, revenue, moment in _lines(expected_):
        if product in names and moment >= since:
            totals[names[product][1]][0] += units
            totals[names[product][1]][1] += revenue
    ranked = sorted(totals.items(), key=lambda kv: (-kv[1][1], kv[0]))[:10]
    return [(name, units, revenue) for name, (units, revenue) in ranked]


def _ntile(ordered: list[str], buckets: int = 5) -> dict[str, int]:
    """PostgreSQL's NTILE: the first (n % buckets) groups hold one row more."""
    size, extra = divmod(len(ordered), buckets)
    scores, index = {}, 0
    for bucket in range(1, buckets + 1):
        for _ in range(size + (1 if bucket <= extra else 0)):
            scores[ordered[index]] = bucket
            index += 1
    return scores


def rfm_segments(expected_: Expected) -> list[tuple[str, str]]:
    """The design's RFM segments: (customer_id, customer_segment), by customer_id."""
    metrics: dict[str, list[Any]] = {}
    for event in sorted(expected_.events, key=lambda e: e["event_time"]):
        if event["event_type"] == "purchase" and event["total_amount_usd"] is not None:
            entry = metrics.setdefault(event["user_id"], [None, 0, Decimal("0.00")])
            entry[0] = event["event_time"]
            entry[1] += 1
            entry[2] += event["total_amount_usd"]
    customers = sorted(metrics)
    recency = _ntile(sorted(customers, key=lambda c: (-metrics[c][0].timestamp(), c)))
    frequency = _ntile(sorted(customers, key=lambda c: (metrics[c][1], c)))
    segments = []
    for customer in customers:
        r, f = recency[customer], frequency[customer]
        if r >= 4 and f >= 4:
            segment = "Champions"
        elif r >= 3 and f >= 3:
            segment = "Loyal Customers"
        elif r >= 3 and f <= 2:
            segment = "Potential Loyalists"
        elif r <= 2 and f >= 3:
            segment = "At Risk"
        else:
            segment = "Others"
        segments.append((customer, segment))
    return segments


def ordered_funnel_rows(expected_: Expected, funnels: list[dict[str, Any]], *,
                        gap: timedelta = timedelta(minutes=30)) -> list[tuple[Any, ...]]:
    """(hour of session close, funnel, step_index, step, device_class, country, sessions)."""
    counts: Counter = Counter()
    for session in _sessions_events(expected_, gap):
        closed = session[-1]["event_time"] + gap
        device = _first(session, "device_class")
        country = _first(session, "country")
        for funnel in funnels:
            steps, strict = funnel["steps"], funnel.get("order") == "strict"
            window = timedelta(minutes=funnel["conversion_window_minutes"])
            reached, entered, stopped = 0, None, False
            for event in session:
                kind = event["event_type"]
                if stopped or kind not in steps:
                    continue
                if reached == 0:
                    if kind == steps[0]:
                        reached, entered = 1, event["event_time"]
                    continue
                if reached == len(steps) or event["event_time"] - entered > window:
                    continue
                if kind == steps[reached]:
                    reached += 1
                elif strict and kind != steps[reached - 1]:
                    stopped = True
            for index in range(reached):
                counts[(closed.replace(minute=0, second=0, microsecond=0), funnel["name"],
                        index + 1, steps[index], device, country)] += 1
    return sorted((*key, n) for key, n in counts.items())


def _sessions_events(expected_: Expected, gap: timedelta) -> list[list[dict[str, Any]]]:
    by_user: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in expected_.events:
        if event["user_id"] is not None:
            by_user[event["user_id"]].append(event)
    sessions = []
    for events in by_user.values():
        events.sort(key=lambda e: e["event_time"])
        current: list[dict[str, Any]] = []
        for event in events:
            if current and event["event_time"] - current[-1]["event_time"] > gap:
                sessions.append(current)
                current = []
            current.append(event)
        sessions.append(current)
    return sessions
