"""The faults traffic carries on purpose: malformed records (each with the dead-letter reason the
job must give it) and late events."""


from __future__ import annotations

import json
import random
from collections import deque
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from ecomflow.synth.encoding import (
    _epoch_ms,
    dumps,
    uuid4_str,
)
from ecomflow.synth.spec import (
    TrafficSpec,
)

UNKNOWN_EVENT_TYPES = ("wishlist_add", "checkout_started", "page_veiw", "PageView", "search")


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
