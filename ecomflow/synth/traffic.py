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
  them) and malformed records (extra lines with a fresh ``event_id``: ``spec.MALFORMED_KINDS``).

The manifest counts only what was emitted, so it is exact ground truth for the file (its fields,
JSON form and summary are ``ecomflow.synth.manifest``). With every rate 0 and no anomaly the
lines are ``dumps(e) for e in generate_events(n, ...)``, byte for byte.

Line numbers in the manifest are 1-based and count every line (catalog records included).
"""

from __future__ import annotations

import gzip
import hashlib
import heapq
import math
import queue
import random
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from decimal import Decimal
from itertools import islice, takewhile
from pathlib import Path
from typing import Any

from ecomflow.synth.catalog import PRODUCTS, SHOP_ORIGIN
from ecomflow.synth.encoding import (
    dumps,
    format_ts,
    uuid4_str,
)
from ecomflow.synth.faults import (
    _TEMPLATE_NEEDS,
    _malformed,
    _mark_late,
    dead_letter_reason,
)
from ecomflow.synth.generate import (
    SessionFilter,
    _bounded_disorder,
    _make_users,
    _timeline,
    disorder_ms,
    generate_products,
)
from ecomflow.synth.manifest import (
    Manifest,
    manifest_path,
)
from ecomflow.synth.spec import (
    BOT_USER_AGENT,
    DEFAULT_N,
    DUPLICATE_DELAY_MS,
    BotUser,
    TrafficDrop,
    TrafficSpec,
)

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


__all__ = [
    "generate_traffic",
    "iter_traffic",
    "write_traffic",
]
