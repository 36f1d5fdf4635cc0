"""Synthetic traffic with injected faults, and a manifest of exactly what was injected.

``generate_traffic(TrafficSpec(...))`` runs the session simulation of ``ecomflow.synth.generate``
(funnel, catalog, currencies, purchases whose ``total_amount`` matches their items) and then
injects, each with its own seeded rng so one knob never shifts another's output:

* anomalies in the events themselves: a revenue spike (bulk orders: every purchase in the
  window has its item quantities multiplied by ``factor``, rounded up, totals recomputed), a
  traffic drop (each session active in the window goes dark there with probability
  ``1 - factor``), a bot user (page_view/product_view pairs at a fixed rate in a window);
* stream faults: exact duplicates (byte-identical resends of an earlier line, 1-5 s of stream
  time later), late events (held back until the stream is more than ``late_by_seconds`` past
  them) and malformed records (extra lines with a fresh ``event_id``: ``MALFORMED_KINDS``).

The manifest counts only what was emitted, so it is exact ground truth for the file. With every
rate 0 and no anomaly the lines are ``dumps(e) for e in generate_events(n, ...)``, byte for byte.

Line numbers in the manifest are 1-based and count every line (catalog records included).
"""

from __future__ import annotations

import gzip
import hashlib
import heapq
import json
import math
import queue
import random
import threading
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from itertools import islice, takewhile
from pathlib import Path
from typing import Any

from ecomflow.synth.generate import (
    DEFAULT_START,
    PRODUCTS,
    SHOP_ORIGIN,
    SessionFilter,
    _bounded_disorder,
    _epoch_ms,
    _make_users,
    _timeline,
    disorder_ms,
    dumps,
    format_ts,
    generate_products,
    uuid4_str,
)

EVENT_TYPES = ("add_to_cart", "page_view", "product_view", "purchase", "remove_from_cart")
MALFORMED_KINDS = (
    "bad_json",
    "missing_field",
    "wrong_type",
    "negative_amount",
    "total_mismatch",
    "zone_less_timestamp",
    "unknown_event_type",
)
MANIFEST_FORMAT = "ecomflow.synth.traffic-manifest/1"
DEFAULT_N = 5000  # events when a spec sets neither n nor duration (the sample's size)
DUPLICATE_DELAY_MS = (1_000, 5_000)  # a resend follows its original by 1-5 s of stream time
UNKNOWN_EVENT_TYPES = ("wishlist_add", "checkout_started", "page_veiw", "PageView", "search")
BOT_USER_AGENT = "Mozilla/5.0 (compatible; ShopScraper/2.1; +https://scraper.example/bot)"


# -- the spec ---------------------------------------------------------------------------------


def _check_window(name: str, start: float, end: float) -> None:
    if not 0 <= start < end:
        raise ValueError(f"{name}: need 0 <= start_seconds < end_seconds, got {start}, {end}")


@dataclass(frozen=True)
class RevenueSpike:
    """Bulk orders in [start, end) seconds after the spec's start: quantities x factor."""

    start_seconds: float
    end_seconds: float
    factor: float = 5.0

    def __post_init__(self) -> None:
        _check_window("revenue_spike", self.start_seconds, self.end_seconds)
        if not self.factor > 1:
            raise ValueError("revenue_spike.factor must be > 1")


@dataclass(frozen=True)
class TrafficDrop:
    """In [start, end) only a share ``factor`` of the sessions is seen (0.1: 90 % fewer)."""

    start_seconds: float
    end_seconds: float
    factor: float = 0.1

    def __post_init__(self) -> None:
        _check_window("traffic_drop", self.start_seconds, self.end_seconds)
        if not 0 <= self.factor < 1:
            raise ValueError("traffic_drop.factor must be in [0, 1)")


@dataclass(frozen=True)
class BotUser:
    """One user emitting page_view/product_view pairs at a fixed rate in [start, end)."""

    start_seconds: float
    end_seconds: float
    events_per_second: float = 10.0
    user_id: str = "user_bot_001"

    def __post_init__(self) -> None:
        _check_window("bot_user", self.start_seconds, self.end_seconds)
        if not self.events_per_second > 0:
            raise ValueError("bot_user.events_per_second must be > 0")
        if not self.user_id or self.user_id[5:].isdigit():
            raise ValueError("bot_user.user_id must not look like a generated user (user_00042)")


_ANOMALY_TYPES = {"revenue_spike": RevenueSpike, "traffic_drop": TrafficDrop, "bot_user": BotUser}


@dataclass(frozen=True)
class TrafficSpec:
    """Everything that determines a traffic file. All fault rates are 0 and anomalies off.

    The run is either the first ``n`` events or every event in ``duration`` seconds of event
    time from ``start``; neither means ``n = 5000``. Rates are per valid event: about
    ``rate * events`` duplicates, late events and malformed records are injected.
    """

    seed: int = 7
    users: int = 200
    duration: float | None = None
    n: int | None = None
    events_per_second: float = 20.0
    start: datetime = DEFAULT_START
    max_disorder_seconds: float = 2.0
    duplicate_rate: float = 0.0
    late_rate: float = 0.0
    late_by_seconds: float = 120.0
    malformed_rate: float = 0.0
    malformed_kinds: tuple[str, ...] = MALFORMED_KINDS
    include_catalog: bool = False
    revenue_spike: RevenueSpike | None = None
    traffic_drop: TrafficDrop | None = None
    bot_user: BotUser | None = None

    def __post_init__(self) -> None:
        if self.n is not None and self.duration is not None:
            raise ValueError("set n or duration, not both")
        if self.n is not None and self.n < 0:
            raise ValueError("n must be >= 0")
        if self.duration is not None and not self.duration > 0:
            raise ValueError("duration must be > 0 seconds")
        if self.users < 1:
            raise ValueError("users must be >= 1")
        if not self.events_per_second > 0:
            raise ValueError("events_per_second must be > 0")
        if self.max_disorder_seconds < 0:
            raise ValueError("max_disorder_seconds must be >= 0")
        if self.start.tzinfo is None:
            raise ValueError("start must be timezone-aware (UTC)")
        for name in ("duplicate_rate", "late_rate", "malformed_rate"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in [0, 1]")
        if self.late_rate > 0 and not self.late_by_seconds > self.max_disorder_seconds:
            # Otherwise an on-time event could lag as much as a late one.
            raise ValueError("late_by_seconds must be > max_disorder_seconds")
        if not self.malformed_kinds or set(self.malformed_kinds) - set(MALFORMED_KINDS):
            raise ValueError(f"malformed_kinds must be a non-empty subset of {MALFORMED_KINDS}")
        if not isinstance(self.malformed_kinds, tuple):
            object.__setattr__(self, "malformed_kinds", tuple(self.malformed_kinds))

    @property
    def start_ms(self) -> int:
        return _epoch_ms(self.start)

    @property
    def end_ms(self) -> int | None:
        """Exclusive end of event time for duration runs."""
        return None if self.duration is None else self.start_ms + round(self.duration * 1000)

    @property
    def span_seconds(self) -> float:
        """The run's length in event time (estimated from the rate for n runs)."""
        if self.duration is not None:
            return self.duration
        return (DEFAULT_N if self.n is None else self.n) / self.events_per_second

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["start"] = format_ts(self.start_ms)
        out["malformed_kinds"] = list(self.malformed_kinds)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrafficSpec:
        """Inverse of ``to_dict`` (the manifest's ``spec``): regenerate a file from its manifest."""
        kwargs = dict(data)
        kwargs["start"] = datetime.fromisoformat(kwargs["start"].replace("Z", "+00:00"))
        kwargs["malformed_kinds"] = tuple(kwargs["malformed_kinds"])
        for name, typ in _ANOMALY_TYPES.items():
            if kwargs.get(name) is not None:
                kwargs[name] = typ(**kwargs[name])
        unknown = set(kwargs) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown spec fields: {sorted(unknown)}")
        return cls(**kwargs)


# -- the manifest -----------------------------------------------------------------------------


@dataclass
class Manifest:
    """Ground truth for one traffic file; filled in while its lines are produced.

    ``to_dict()`` is the JSON written next to the file (it raises until every line has been
    produced). Valid events are the simulation's unique events: on time, out of order or late.
    """

    spec: TrafficSpec
    complete: bool = False
    total_lines: int = 0
    catalog_lines: int = 0
    event_counts: Counter[str] = field(default_factory=Counter)
    first_ms: int | None = None
    last_ms: int | None = None
    purchase_revenue: dict[str, Decimal] = field(default_factory=dict)
    out_of_order: int = 0
    max_lag_ms: int = 0
    duplicates: list[dict[str, Any]] = field(default_factory=list)
    late: list[dict[str, Any]] = field(default_factory=list)
    malformed: list[dict[str, Any]] = field(default_factory=list)
    anomalies: list[dict[str, Any]] = field(default_factory=list)
    file: dict[str, Any] | None = None

    @property
    def valid_events(self) -> int:
        return sum(self.event_counts.values())

    def to_dict(self) -> dict[str, Any]:
        if not self.complete:
            raise RuntimeError("manifest is incomplete: consume every line first")
        by_kind = Counter(r["kind"] for r in self.malformed)
        out: dict[str, Any] = {"format": MANIFEST_FORMAT}
        if self.file is not None:
            out["file"] = self.file
        out |= {
            "spec": self.spec.to_dict(),
            "lines": {
                "total": self.total_lines,
                "catalog": self.catalog_lines,
                "events": self.valid_events,
                "duplicates": len(self.duplicates),
                "malformed": len(self.malformed),
            },
            "events": {
                "count": self.valid_events,
                "by_type": {t: self.event_counts[t] for t in sorted({*EVENT_TYPES,
                                                                     *self.event_counts})},
                "first_timestamp": None if self.first_ms is None else format_ts(self.first_ms),
                "last_timestamp": None if self.last_ms is None else format_ts(self.last_ms),
                "purchase_revenue": {c: str(v) for c, v in sorted(self.purchase_revenue.items())},
            },
            "out_of_order": {
                "max_disorder_seconds": self.spec.max_disorder_seconds,
                "events": self.out_of_order,
                "max_lag_ms": self.max_lag_ms,
            },
            "duplicates": {"count": len(self.duplicates), "records": self.duplicates},
            "late": {
                "late_by_seconds": self.spec.late_by_seconds,
                "count": len(self.late),
                "records": self.late,
            },
            "malformed": {
                "count": len(self.malformed),
                "by_kind": {k: by_kind[k] for k in MALFORMED_KINDS},
                "dead_letters": sum(1 for r in self.malformed if r["dead_letter_reason"]),
                "records": self.malformed,
            },
            "anomalies": self.anomalies,
        }
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"


def dead_letter_reason(line: str) -> str | None:
    """The job's envelope rule: a JSON object with a string event_type and a zoned timestamp.

    None when the job lands the record as an event (even if it is malformed in other ways),
    else the dead-letter reason it gets.
    """
    try:
        record = json.loads(line)
    except ValueError:
        return "missing_event_type"
    if not isinstance(record, dict) or not isinstance(record.get("event_type"), str):
        return "missing_event_type"
    ts = record.get("timestamp")
    try:
        zoned = isinstance(ts, str) and datetime.fromisoformat(ts).tzinfo is not None
    except ValueError:
        zoned = False
    return None if zoned else "bad_timestamp"


# -- valid events: simulation + anomalies -----------------------------------------------------


def _window_ms(spec: TrafficSpec, anomaly: Any) -> tuple[int, int]:
    return (spec.start_ms + round(anomaly.start_seconds * 1000),
            spec.start_ms + round(anomaly.end_seconds * 1000))


def _window_dict(window: tuple[int, int]) -> dict[str, str]:
    return {"start": format_ts(window[0]), "end": format_ts(window[1])}


def _bot_events(spec: TrafficSpec, bot: BotUser) -> Iterator[tuple[int, dict[str, Any]]]:
    rng = random.Random(f"{spec.seed}:bot")
    session_id = f"sess_{rng.getrandbits(48):012x}"
    start, end = _window_ms(spec, bot)
    interval = 1000 / bot.events_per_second
    k = 0
    referrer = ""
    while (ms := start + math.floor(k * interval)) < end:
        product = PRODUCTS[(k // 2) % len(PRODUCTS)]  # crawls the catalog in order
        event = {
            "event_id": uuid4_str(rng.getrandbits(128)),
            "event_type": "page_view" if k % 2 == 0 else "product_view",
            "timestamp": format_ts(ms),
            "user_id": bot.user_id,
            "session_id": session_id,
            "page_url": product["url"],
            "referrer": referrer,
            "user_agent": BOT_USER_AGENT,
            "device_type": "desktop",
        }
        if k % 2:
            referrer = SHOP_ORIGIN + product["url"]
            event |= {
                "product_id": product["product_id"],
                "product_name": product["name"],
                "category": product["category"],
                "price": product["price"],
            }
        yield ms, event
        k += 1


def _merge(
    first: Iterable[tuple[int, dict[str, Any]]], second: Iterable[tuple[int, dict[str, Any]]]
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Merge two time-ordered streams; on equal timestamps ``first`` goes first."""
    rest = iter(second)
    pending = next(rest, None)
    for item in first:
        while pending is not None and pending[0] < item[0]:
            yield pending
            pending = next(rest, None)
        yield item
    if pending is not None:
        yield pending
        yield from rest


def _spiked(event: dict[str, Any], factor: Decimal) -> dict[str, Any]:
    items = [
        dict(item, quantity=math.ceil(item["quantity"] * factor)) for item in event["items"]
    ]
    total = round(sum(i["quantity"] * i["unit_price"] for i in items), 2)  # as _purchase does
    return dict(event, items=items, total_amount=total)


def _traffic_drop_filter(
    spec: TrafficSpec, drop: TrafficDrop, manifest: Manifest
) -> SessionFilter:
    """A session filter: sessions active in the window go dark there with p = 1 - factor.

    A dark session loses exactly its events inside the window (visitors cannot reach the
    shop, or the tracking is down), so the drop starts and ends sharply and the window keeps
    about ``factor`` of its traffic.
    """
    rng = random.Random(f"{spec.seed}:traffic_drop")
    d0, d1 = _window_ms(spec, drop)
    end_ms = spec.end_ms
    info = {"type": "traffic_drop", "window": _window_dict((d0, d1)), "factor": drop.factor,
            "sessions_dropped": 0, "events_dropped": 0}
    manifest.anomalies.append(info)

    def session_filter(
        _start: int, session: list[tuple[int, dict[str, Any]]]
    ) -> list[tuple[int, dict[str, Any]]]:
        if session[-1][0] < d0 or session[0][0] >= d1 or rng.random() < drop.factor:
            return session  # sessions are in time order: the first and last events bound it
        kept = [item for item in session if not d0 <= item[0] < d1]
        info["sessions_dropped"] += 1
        info["events_dropped"] += sum(
            1 for ms, _ in session if d0 <= ms < d1 and (end_ms is None or ms < end_ms))
        return kept

    return session_filter


def _valid_events(spec: TrafficSpec, manifest: Manifest) -> Iterator[tuple[int, dict[str, Any]]]:
    """(ms, event) in emission order: exactly generate_events' stream when nothing is enabled."""
    content_rng = random.Random(spec.seed)
    jitter_rng = random.Random(f"{spec.seed}:disorder")
    users = _make_users(content_rng, spec.users)
    end_ms = spec.end_ms

    drop_filter = None
    if spec.traffic_drop is not None:
        drop_filter = _traffic_drop_filter(spec, spec.traffic_drop, manifest)
    stream: Iterator[tuple[int, dict[str, Any]]] = _timeline(
        content_rng, users, spec.start_ms, spec.events_per_second, drop_filter)
    if spec.bot_user is not None:
        stream = _merge(stream, _bot_events(spec, spec.bot_user))
    if end_ms is None:
        stream = islice(stream, DEFAULT_N if spec.n is None else spec.n)
    else:
        stream = takewhile(lambda item: item[0] < end_ms, stream)
    if spec.revenue_spike is not None or spec.bot_user is not None:
        stream = _watch_anomalies(spec, stream, manifest)
    return _bounded_disorder(stream, jitter_rng, disorder_ms(spec.max_disorder_seconds))


def _watch_anomalies(
    spec: TrafficSpec, stream: Iterable[tuple[int, dict[str, Any]]], manifest: Manifest
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Apply the revenue spike and record both it and the bot (every event here is emitted)."""
    spike = spec.revenue_spike
    bot = spec.bot_user
    s0 = s1 = 0
    spike_info: dict[str, Any] = {}
    revenue: Counter[str] = Counter()
    baseline: Counter[str] = Counter()
    factor = Decimal(0)
    if spike is not None:
        s0, s1 = _window_ms(spec, spike)
        factor = Decimal(str(spike.factor))
        spike_info = {"type": "revenue_spike", "window": _window_dict((s0, s1)),
                      "factor": spike.factor, "purchases": 0, "revenue": {},
                      "baseline_revenue": {}, "event_ids": []}
        manifest.anomalies.append(spike_info)
    bot_counts: Counter[str] = Counter()
    bot_info: dict[str, Any] = {}
    if bot is not None:
        b0, b1 = _window_ms(spec, bot)
        bot_info = {"type": "bot_user", "window": _window_dict((b0, b1)), "user_id": bot.user_id,
                    "session_id": None, "events_per_second": bot.events_per_second,
                    "user_agent": BOT_USER_AGENT, "events": 0, "by_type": {}}
        manifest.anomalies.append(bot_info)
    for ms, event in stream:
        if spike is not None and s0 <= ms < s1 and event["event_type"] == "purchase":
            currency = event["currency"]
            baseline[currency] += Decimal(str(event["total_amount"]))
            event = _spiked(event, factor)
            revenue[currency] += Decimal(str(event["total_amount"]))
            spike_info["purchases"] += 1
            spike_info["event_ids"].append(event["event_id"])
        elif bot is not None and event["user_id"] == bot.user_id:
            bot_counts[event["event_type"]] += 1
            bot_info["session_id"] = event["session_id"]
        yield ms, event
    if spike is not None:
        spike_info["revenue"] = {c: str(v) for c, v in sorted(revenue.items())}
        spike_info["baseline_revenue"] = {c: str(v) for c, v in sorted(baseline.items())}
    if bot is not None:
        bot_info["events"] = sum(bot_counts.values())
        bot_info["by_type"] = dict(sorted(bot_counts.items()))


# -- stream faults ----------------------------------------------------------------------------


def _mark_late(
    items: Iterable[tuple[int, dict[str, Any]]], spec: TrafficSpec
) -> Iterator[tuple[int, dict[str, Any], int | None]]:
    """Attach a release target to the events that will be late, None to the others.

    A chosen event gets target = ts + late_by + extra (extra in [1, late_by / 2] ms) and is held
    until the stream has emitted a timestamp >= target. It is only marked if a later event
    that is not itself chosen reaches the target (lookahead), so every marked event really is
    released late, also at the end of the stream; the others stay on time.
    """
    if spec.late_rate <= 0:
        for ms, event in items:
            yield ms, event, None
        return
    rng = random.Random(f"{spec.seed}:late")
    rate = spec.late_rate
    late_by_ms = round(spec.late_by_seconds * 1000)
    max_extra = max(1, late_by_ms // 2)
    source = iter(items)
    buffer: deque[tuple[int, dict[str, Any], int | None]] = deque()
    max_on_time = -(2**63)  # newest timestamp of an event that is not chosen, read so far

    def read() -> bool:
        nonlocal max_on_time
        item = next(source, None)
        if item is None:
            return False
        ms, event = item
        if rng.random() < rate:
            buffer.append((ms, event, ms + late_by_ms + rng.randint(1, max_extra)))
        else:
            buffer.append((ms, event, None))
            max_on_time = max(max_on_time, ms)
        return True

    while buffer or read():
        ms, event, target = buffer[0]
        if target is not None:
            while max_on_time < target and read():
                pass
            if max_on_time < target:
                target = None  # the stream ends too soon for it to be late: stays on time
        buffer.popleft()
        yield ms, event, target


_TEMPLATE_NEEDS = {"negative_amount": "priced", "total_mismatch": "purchase"}


def _malformed(
    kind: str, template: dict[str, Any], timestamp: str, rng: random.Random
) -> tuple[str, dict[str, Any]]:
    """(line, detail) for one malformed record derived from a valid event (fresh event_id)."""
    record = dict(template, event_id=uuid4_str(rng.getrandbits(128)), timestamp=timestamp)
    purchase = template["event_type"] == "purchase"
    if kind == "bad_json":
        variant = rng.choice(("truncated", "single_quoted"))
        text = dumps(record)
        # A proper prefix of a JSON object never parses; Python's repr quotes keys with '.
        line = text[: rng.randint(1, len(text) - 1)] if variant == "truncated" else str(record)
        return line, {"variant": variant}
    if kind == "missing_field":
        candidates = ["event_id", "event_type", "timestamp", "user_id", "session_id"]
        if purchase:
            candidates += ["transaction_id", "customer_id", "items", "total_amount", "currency"]
        elif "product_id" in record:
            candidates += ["product_id", "price"]
        name = rng.choice(candidates)
        del record[name]
        return dumps(record), {"field": name}
    if kind == "wrong_type":
        options: list[tuple[str, Any]] = [
            ("timestamp", _epoch_ms(datetime.fromisoformat(timestamp))),  # epoch ms number
            ("user_id", int("".join(filter(str.isdigit, record["user_id"])) or "0")),
        ]
        if purchase:
            options.append(("total_amount", f"{record['total_amount']:.2f}"))
        if "price" in record:
            options.append(("price", f"{record['price']:.2f}"))
        if "quantity" in record:
            options.append(("quantity", str(record["quantity"])))
        name, value = rng.choice(options)
        record[name] = value
        return dumps(record), {"field": name, "type": type(value).__name__}
    if kind == "negative_amount":
        if purchase:
            record["items"] = [dict(i, unit_price=-i["unit_price"]) for i in record["items"]]
            record["total_amount"] = -record["total_amount"]
            return dumps(record), {"field": "total_amount"}
        record["price"] = -record["price"]
        return dumps(record), {"field": "price"}
    if kind == "total_mismatch":
        items_total = record["total_amount"]
        wrong = round(items_total * rng.choice((rng.uniform(0.5, 0.95), rng.uniform(1.05, 2))), 2)
        if abs(wrong - items_total) < 0.01:
            wrong = round(items_total + 1, 2)
        record["total_amount"] = wrong
        return dumps(record), {"total_amount": wrong, "items_total": items_total}
    if kind == "zone_less_timestamp":
        record["timestamp"] = timestamp.removesuffix("Z")
        return dumps(record), {"timestamp": record["timestamp"]}
    if kind == "unknown_event_type":
        record["event_type"] = rng.choice(UNKNOWN_EVENT_TYPES)
        return dumps(record), {"event_type": record["event_type"]}
    raise ValueError(f"unknown malformed kind {kind!r}")


def _lines(spec: TrafficSpec, manifest: Manifest) -> Iterator[str]:
    line_no = 0
    if spec.include_catalog:
        for product in generate_products(spec.seed, now=spec.start):
            line_no += 1
            yield dumps(product)
        manifest.catalog_lines = line_no

    counts = manifest.event_counts
    revenue = manifest.purchase_revenue
    late_records = manifest.late
    dup_records = manifest.duplicates
    bad_records = manifest.malformed
    dup_rate, bad_rate = spec.duplicate_rate, spec.malformed_rate
    dup_rng = random.Random(f"{spec.seed}:duplicates")
    bad_rng = random.Random(f"{spec.seed}:malformed")
    kinds = spec.malformed_kinds
    held_late: list[tuple[int, int, int, dict[str, Any]]] = []  # (target, seq, ms, event)
    held_dups: list[tuple[int, int, str, int, str]] = []  # (target, seq, line, original, id)
    pending_bad: list[str] = []  # kinds drawn, waiting for a suitable template
    templates: dict[str, dict[str, Any]] = {}  # "priced" / "purchase" -> newest such event
    seq = 0
    max_seen = -(2**63)
    min_ms = 2**63
    out_of_order = max_lag = 0

    def add_revenue(event: dict[str, Any]) -> None:
        currency = event["currency"]
        revenue[currency] = revenue.get(currency, Decimal(0)) + Decimal(str(event["total_amount"]))

    for ms, event, target in _mark_late(_valid_events(spec, manifest), spec):
        if target is not None:
            heapq.heappush(held_late, (target, seq, ms, event))
            seq += 1
        else:
            line = dumps(event)
            line_no += 1
            yield line
            event_type = event["event_type"]
            counts[event_type] += 1
            if event_type == "purchase":
                add_revenue(event)
            if ms < min_ms:
                min_ms = ms
            if ms < max_seen:
                out_of_order += 1
                max_lag = max(max_lag, max_seen - ms)
            else:
                max_seen = ms
            if dup_rate and dup_rng.random() < dup_rate:
                delay = dup_rng.randint(*DUPLICATE_DELAY_MS)
                heapq.heappush(held_dups, (max_seen + delay, seq, line, line_no,
                                           event["event_id"]))
                seq += 1
            if bad_rate:
                if event["event_type"] == "purchase":
                    templates["purchase"] = templates["priced"] = event
                elif "price" in event:
                    templates["priced"] = event
                if bad_rng.random() < bad_rate:
                    pending_bad.append(bad_rng.choice(kinds))
                if pending_bad:
                    waiting: list[str] = []
                    for kind in pending_bad:
                        need = _TEMPLATE_NEEDS.get(kind)
                        template = event if need is None else templates.get(need)
                        if template is None:
                            waiting.append(kind)  # e.g. no purchase yet: inject after one
                            continue
                        bad_line, detail = _malformed(kind, template, event["timestamp"],
                                                      bad_rng)
                        line_no += 1
                        yield bad_line
                        bad_records.append({"line": line_no, "kind": kind, "detail": detail,
                                            "dead_letter_reason": dead_letter_reason(bad_line)})
                    pending_bad = waiting
        while held_late and held_late[0][0] <= max_seen:
            _, _, late_ms, late_event = heapq.heappop(held_late)
            line_no += 1
            yield dumps(late_event)
            counts[late_event["event_type"]] += 1
            if late_event["event_type"] == "purchase":
                add_revenue(late_event)
            min_ms = min(min_ms, late_ms)
            late_records.append({"line": line_no, "event_id": late_event["event_id"],
                                 "event_type": late_event["event_type"],
                                 "timestamp": late_event["timestamp"],
                                 "lateness_ms": max_seen - late_ms})
        while held_dups and held_dups[0][0] <= max_seen:
            line_no += 1
            yield _emit_dup(heapq.heappop(held_dups), line_no, dup_records)
    if held_late:
        raise AssertionError("late events left unreleased")  # _mark_late guarantees none
    while held_dups:  # the stream ended before they were due: resend them now
        line_no += 1
        yield _emit_dup(heapq.heappop(held_dups), line_no, dup_records)

    if counts:
        manifest.first_ms, manifest.last_ms = min_ms, max_seen
    manifest.out_of_order, manifest.max_lag_ms = out_of_order, max_lag
    manifest.total_lines = line_no
    manifest.complete = True


def _emit_dup(held: tuple[int, int, str, int, str], line_no: int,
              records: list[dict[str, Any]]) -> str:
    _, _, line, original, event_id = held
    records.append({"line": line_no, "original_line": original, "event_id": event_id})
    return line


# -- API --------------------------------------------------------------------------------------


def iter_traffic(spec: TrafficSpec) -> tuple[Iterator[str], Manifest]:
    """Lines lazily; the manifest is complete (``manifest.complete``) once they are exhausted."""
    manifest = Manifest(spec)
    return _lines(spec, manifest), manifest


def generate_traffic(spec: TrafficSpec) -> tuple[list[str], Manifest]:
    """Every line (JSONL, no newlines) and the complete manifest. ``iter_traffic`` streams."""
    lines, manifest = iter_traffic(spec)
    return list(lines), manifest


def manifest_path(out_path: str | Path) -> Path:
    out_path = Path(out_path)
    return out_path.with_name(out_path.name + ".manifest.json")


_BATCH_LINES = 4096
_GZIP_LEVEL = 6  # 9 costs twice the time for ~3 % smaller files


def _write_lines(lines: Iterable[str], path: Path) -> str:
    """Write lines + newlines (gzip with mtime 0 if .gz); return the content's sha256.

    zlib releases the GIL, so a .gz file is compressed on a second thread while the lines
    are generated.
    """
    digest = hashlib.sha256()
    with open(path, "wb") as raw:
        if not path.name.endswith(".gz"):
            it = iter(lines)
            while batch := list(islice(it, _BATCH_LINES)):
                data = ("\n".join(batch) + "\n").encode()
                digest.update(data)
                raw.write(data)
            return digest.hexdigest()
        chunks: queue.Queue[bytes | None] = queue.Queue(maxsize=8)
        failure: list[BaseException] = []

        def compress() -> None:
            try:
                with gzip.GzipFile(filename="", mode="wb", fileobj=raw,
                                   compresslevel=_GZIP_LEVEL, mtime=0) as sink:
                    while (chunk := chunks.get()) is not None:
                        sink.write(chunk)
            except BaseException as exc:  # re-raised on the caller's thread
                failure.append(exc)
                while chunks.get() is not None:  # drain so the producer never blocks
                    pass

        worker = threading.Thread(target=compress, name="traffic-gzip", daemon=True)
        worker.start()
        try:
            it = iter(lines)
            while batch := list(islice(it, _BATCH_LINES)):
                data = ("\n".join(batch) + "\n").encode()
                digest.update(data)
                chunks.put(data)
        finally:
            chunks.put(None)
            worker.join()
        if failure:
            raise failure[0]
    return digest.hexdigest()


def write_traffic(spec: TrafficSpec, out_path: str | Path) -> Manifest:
    """Write the lines to ``out_path`` (.gz: gzip) and the manifest to ``<out>.manifest.json``.

    Both files' bytes depend only on the spec and the file name.
    """
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    lines, manifest = iter_traffic(spec)
    sha256 = _write_lines(lines, out_path)
    manifest.file = {"name": out_path.name, "sha256_uncompressed": sha256}
    manifest_path(out_path).write_text(manifest.to_json(), encoding="utf-8")
    return manifest


# -- CLI --------------------------------------------------------------------------------------

_ANOMALY_DEFAULT_WINDOWS = {  # fractions of the run's span
    "traffic_drop": (0.25, 0.35),
    "revenue_spike": (0.50, 0.60),
    "bot_user": (0.70, 0.80),
}
_ANOMALY_KEYS = {
    "revenue_spike": {"start": "start_seconds", "end": "end_seconds", "factor": "factor"},
    "traffic_drop": {"start": "start_seconds", "end": "end_seconds", "factor": "factor"},
    "bot_user": {"start": "start_seconds", "end": "end_seconds", "rate": "events_per_second",
                 "user": "user_id"},
}


def parse_anomaly(text: str, span_seconds: float) -> tuple[str, Any]:
    """``NAME[:key=value,...]`` -> (spec field, anomaly). Windows default to a slice of the span.

    Names: revenue-spike (keys start, end, factor), traffic-drop (start, end, factor),
    bot-user (start, end, rate, user). start/end are seconds after the run's start.
    """
    name, _, params = text.partition(":")
    name = name.strip().replace("-", "_")
    if name not in _ANOMALY_TYPES:
        raise ValueError(f"unknown anomaly {text!r}: use revenue-spike, traffic-drop or bot-user")
    lo, hi = _ANOMALY_DEFAULT_WINDOWS[name]
    kwargs: dict[str, Any] = {"start_seconds": float(math.floor(span_seconds * lo)),
                              "end_seconds": float(max(math.floor(span_seconds * hi),
                                                       math.floor(span_seconds * lo) + 1))}
    for pair in filter(None, (p.strip() for p in params.split(","))):
        key, sep, value = pair.partition("=")
        if not sep or key.strip() not in _ANOMALY_KEYS[name]:
            raise ValueError(f"{text!r}: expected key=value with key in "
                             f"{sorted(_ANOMALY_KEYS[name])}")
        target = _ANOMALY_KEYS[name][key.strip()]
        kwargs[target] = value.strip() if target == "user_id" else float(value)
    return name, _ANOMALY_TYPES[name](**kwargs)


def _parse_start(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("--start needs a timezone, e.g. 2025-07-16T10:00:00Z")
    return parsed


def _summary(manifest: Manifest, out_path: Path) -> list[str]:
    data = manifest.to_dict()
    lines = data["lines"]
    extra = [f"{lines[k]:,} {k}" for k in ("duplicates", "malformed", "catalog") if lines[k]]
    rows = [f"wrote {lines['total']:,} lines to {out_path}: {lines['events']:,} events"
            + "".join(f", {e}" for e in extra)]
    rows.append("events: " + ", ".join(f"{t}={n:,}" for t, n in data["events"]["by_type"].items()))
    ooo = data["out_of_order"]
    rows.append(f"out of order: {ooo['events']:,} (max lag {ooo['max_lag_ms'] / 1000:.3f} s); "
                f"late: {data['late']['count']:,} (> {data['late']['late_by_seconds']:g} s)")
    if data["malformed"]["count"]:
        rows.append("malformed: " + ", ".join(
            f"{k}={n:,}" for k, n in data["malformed"]["by_kind"].items() if n))
    for anomaly in data["anomalies"]:
        window = f"{anomaly['window']['start']} .. {anomaly['window']['end']}"
        if anomaly["type"] == "revenue_spike":
            what = f"x{anomaly['factor']:g} on {anomaly['purchases']} purchases"
        elif anomaly["type"] == "traffic_drop":
            what = (f"x{anomaly['factor']:g}: {anomaly['sessions_dropped']} sessions, "
                    f"{anomaly['events_dropped']} events dropped")
        else:
            what = (f"{anomaly['user_id']} at {anomaly['events_per_second']:g}/s: "
                    f"{anomaly['events']} events")
        rows.append(f"anomaly {anomaly['type']} {window}: {what}")
    rows.append(f"manifest: {manifest_path(out_path)}")
    return rows


__all__ = [
    "MALFORMED_KINDS",
    "BotUser",
    "Manifest",
    "RevenueSpike",
    "TrafficDrop",
    "TrafficSpec",
    "dead_letter_reason",
    "generate_traffic",
    "iter_traffic",
    "manifest_path",
    "parse_anomaly",
    "write_traffic",
]
