"""Expected job output computed in plain Python from the input file, independently of Flink.

For real traffic (the bundled sample) with known bad records mixed in: every other record is a
valid event, which lands in the lake once, partitioned by the UTC hour of its timestamp, and is
counted per UTC minute and event type. The clean stream's finer rules (late events, duplicates,
enrichment) have their own oracle, clean_oracle.py.
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

LAKE_COLUMNS = ("event_id", "event_type", "event_time", "user_id", "customer_id",
                "session_id", "product_id", "quantity", "total_amount", "currency",
                "shipping_country", "payload")


def read_lines(path: Path) -> list[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [line.rstrip("\n") for line in handle if line.strip()]


def _event_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or "T" not in value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.astimezone(UTC).replace(tzinfo=None)


def _amount(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return Decimal(str(value)).quantize(Decimal("0.01"))


def parse(line: str) -> dict[str, Any]:
    """The lake row of a valid event."""
    record = json.loads(line)
    event_time = _event_time(record.get("timestamp"))
    assert event_time is not None, line
    # Flink stores TIMESTAMP(3): millisecond precision.
    event_time = event_time.replace(microsecond=event_time.microsecond // 1000 * 1000)
    address = record.get("shipping_address") or {}
    return {
        "event_id": record.get("event_id"),
        "event_type": {"transaction": "purchase"}.get(record["event_type"], record["event_type"]),
        "event_time": event_time,
        "user_id": record.get("user_id") or record.get("customer_id"),
        "customer_id": record.get("customer_id"),
        "session_id": record.get("session_id"),
        "product_id": record.get("product_id"),
        "quantity": record.get("quantity"),
        "total_amount": _amount(record.get("total_amount")),
        "currency": record.get("currency"),
        "shipping_country": address.get("country"),
        "payload": line,
    }


def expected(path: Path, bad_lines: dict[str, str],
             private: Callable[[str], str] = lambda line: line,
             ) -> tuple[list[dict[str, Any]], list[tuple[str, str]],
                        list[tuple[datetime, datetime, str, int]]]:
    """(lake rows sorted by payload, dead letters sorted, per-minute counts sorted).

    `bad_lines` maps each record known to be bad to its dead-letter reason; every other record
    is a valid, unique, on-time event (the bundled sample is). `private` is what the job's
    pseudonymisation makes of a valid record (tests/jobs/privacy_view.py).
    """
    events, dead = [], []
    for line in read_lines(path):
        if line in bad_lines:
            dead.append((line, bad_lines[line]))
        else:
            events.append(parse(private(line)))
    counts = Counter(
        (e["event_time"].replace(second=0, microsecond=0), e["event_type"]) for e in events)
    per_minute = sorted(
        (start, start + timedelta(minutes=1), event_type, n)
        for (start, event_type), n in counts.items())
    return sorted(events, key=lambda e: e["payload"]), sorted(dead), per_minute
