"""A bounded input that exercises every path of the clean stream, with its intended labels.

Timeline: 2025-07-16 from 09:59 to about 10:10 UTC; every timestamp ends in .500 s and records
are at least a second apart, away from minute boundaries. The watermark a record met is the
newest event time of the accepted records before it minus 30 s, computed record by record by
the job's head, so each record's fate is decided by the rules, not by timing. Besides every
dead-letter reason, duplicates, out-of-order, late and FX cases, it holds rejected records
stamped three hours ahead, interleaved with the traffic (they must move no watermark), and
resends arriving minutes after their originals (duplicates, not late). The labels say what each
record was built to be; the oracle (clean_oracle.py) recomputes every outcome from the rules
alone, and the tests check that the two agree before comparing the job's output with the
oracle's."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

BASE = datetime(2025, 7, 16, 10, 0, 0, 500000, tzinfo=UTC)
MAX_PAYLOAD_BYTES = 4096  # the tests lower the limit so a "huge" record stays small on disk

FX_RATES_CSV = """\
# currency,rate_to_usd,valid_from
EUR,1.10000000,2025-07-16 09:00:00
GBP,1.30000000,2025-07-16 09:00:00
EUR,1.20000000,2025-07-16 10:05:00
"""

# User agents with what a person reading them says they are: (device_class, browser, os).
USER_AGENTS = {
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.6478.122 Mobile Safari/537.36": ("mobile", "Chrome Mobile", "Android"),
    "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1": ("tablet", "Mobile Safari", "iOS"),
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36": ("desktop", "Chrome", "Windows"),
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Safari/605.1.15": ("desktop", "Safari", "Mac OS X"),
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)":
        ("bot", "Googlebot", None),
}
UA_LIST = list(USER_AGENTS)


@dataclass(frozen=True)
class Line:
    text: str
    label: str  # valid | duplicate | late | dead_letter | missing_fx_rate | catalog
    reason: str | None = None
    field: str | None = None


def ts(seconds: float) -> str:
    moment = BASE + timedelta(seconds=seconds)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _dump(record: object) -> str:
    return json.dumps(record, separators=(",", ":"))


def _catalog(product_id: str, seconds: float, **fields: object) -> str:
    # Catalog records carry no event_type and no timestamp: updated_at is their time.
    return _dump({"product_id": product_id, "updated_at": ts(seconds), **fields})


def _event(n: int, seconds: float) -> dict:
    """The n-th regular event: types, users, products, currencies and agents in rotation."""
    kind = n % 5
    user = f"user_{n % 7:02d}"
    base = {"event_id": f"evt-{n:04d}", "timestamp": ts(seconds), "session_id": f"s{n % 7}"}
    product = ("p1", "p2", "p3")[n % 3]
    if kind == 0:
        return {**base, "event_type": "page_view", "user_id": user,
                "page_url": f"/product/{product}", "user_agent": UA_LIST[n % len(UA_LIST)],
                **({"country": "es"} if n % 2 else {})}
    if kind == 1:
        return {**base, "event_type": "product_view", "user_id": user, "product_id": product,
                "price": 19.99, "user_agent": UA_LIST[(n + 1) % len(UA_LIST)],
                **({"device_type": "Tablet"} if n % 4 == 1 else {})}
    if kind == 2:
        currency = ("EUR", "GBP", None)[n % 3]
        return {**base, "event_type": "add_to_cart", "user_id": user, "product_id": product,
                "quantity": 1 + n % 3, "price": 25.5,
                **({"currency": currency} if currency else {})}
    if kind == 3:
        currency = ("USD", "EUR", "GBP")[n % 3]
        quantity = 1 + n % 2
        return {**base, "event_type": "transaction", "customer_id": user,
                "transaction_id": f"t{n}", "currency": currency,
                "total_amount": round(12.25 * quantity, 2),
                "items": [{"product_id": product, "quantity": quantity,
                           ("unit_price" if n % 2 else "price"): 12.25}],
                "payment_method": "card",
                "shipping_address": {"country": ("de", "us", "gb")[n % 3], "city": "X"}}
    return {**base, "event_type": "remove_from_cart", "user_id": user, "product_id": product,
            "quantity": 1}


def _bad_records(seconds: float) -> list[Line]:
    """One record per dead-letter reason the contract knows, stamped near `seconds`."""
    now = ts(seconds)
    dead = "dead_letter"
    page = {"event_type": "page_view", "timestamp": now, "user_id": "u9", "page_url": "/"}
    return [
        # Truncated before its timestamp (the job reads event time leniently, up to an error).
        Line('{"event_type": "page_view", "user', dead, "not_json", "$"),
        Line("[1, 2, 3]", dead, "not_an_object", "$"),
        Line(_dump({**page, "event_type": "teleport"}), dead, "unknown_event_type",
             "event_type"),
        Line(_dump({k: v for k, v in page.items() if k != "user_id"}), dead, "missing_field",
             "user_id"),
        Line(_dump({"timestamp": now, "user_id": "u9"}), dead, "missing_field", "event_type"),
        Line(_dump({"event_type": "add_to_cart", "timestamp": now, "user_id": "u9",
                    "product_id": "p1", "quantity": "2"}), dead, "wrong_type", "quantity"),
        Line(_dump({"event_type": "product_view", "timestamp": now, "user_id": "u9",
                    "product_id": "p1", "price": -5}), dead, "out_of_range", "price"),
        Line(_dump({"event_type": "add_to_cart", "timestamp": now, "user_id": "u9",
                    "product_id": "p1", "quantity": 0}), dead, "out_of_range", "quantity"),
        Line(_dump({"event_type": "purchase", "timestamp": now, "customer_id": "u9",
                    "currency": "USD", "total_amount": 50.0,
                    "items": [{"product_id": "p1", "quantity": 1, "price": 20.0}]}),
             dead, "total_mismatch", "total_amount"),
        Line(_dump({**page, "timestamp": now.replace("Z", "")}), dead, "bad_timestamp",
             "timestamp"),
        Line(_dump({**page, "timestamp": "yesterday"}), dead, "bad_timestamp", "timestamp"),
        Line(_dump({**page, "timestamp": "2099-07-16T10:00:00Z"}), dead, "future_timestamp",
             "timestamp"),
        Line(_dump({**page, "referrer": "x" * MAX_PAYLOAD_BYTES}), dead, "payload_too_large",
             "$"),
    ]


def _rejected_ahead(seconds: float) -> list[Line]:
    """Records the contract rejects, stamped three hours ahead of the traffic around them: a
    dead letter's timestamp must move no watermark (else every valid event after it is late).
    Each is wrong in one way only: its reason and field are what the dead letter names."""
    ahead = ts(seconds + 3 * 3600)
    dead = "dead_letter"
    return [
        Line(_dump({"event_type": "page_flip", "timestamp": ahead, "user_id": "u8",
                    "page_url": "/"}), dead, "unknown_event_type", "event_type"),
        Line(_dump({"event_type": "add_to_cart", "timestamp": ahead, "user_id": "u8",
                    "product_id": "p1", "quantity": -1}), dead, "out_of_range", "quantity"),
        Line(_dump({"event_type": "page_view", "timestamp": ahead, "user_id": "u8"}), dead,
             "missing_field", "page_url"),
        Line(_dump({"event_type": "product_view", "timestamp": ahead, "user_id": "u8",
                    "product_id": "p1", "price": "free"}), dead, "wrong_type", "price"),
    ]


def build() -> list[Line]:
    lines: list[Line] = [
        # The catalog first (its time, 09:59, starts the watermark); p3 has no entry.
        Line(_catalog("p1", -60, name="Phone", category="electronics", brand="Acme",
                      price=100.0, currency="USD"), "catalog"),
        Line(_catalog("p2", -59, name="Lamp", category="home", brand="Casa", price=20.0,
                      currency="EUR"), "catalog"),
    ]
    sent: list[str] = []
    for n in range(200):
        seconds = 3 * n
        record = _event(n, seconds)
        line = _dump(record)
        lines.append(Line(line, "valid"))
        sent.append(line)
        if n % 23 == 5:  # an exact resend a record later: a duplicate
            lines.append(Line(line, "duplicate"))
        if n % 31 == 7 and n > 20:  # out of order but inside the 30 s delay: on time
            lines.append(Line(_dump({**_event(n + 1000, seconds - 20)}), "valid"))
        if n % 37 == 11 and n > 20:  # 45 s behind the newest record: late
            lines.append(Line(_dump({**_event(n + 2000, seconds - 45)}), "late"))
        if n == 40:
            lines.extend(_bad_records(seconds))
        if n == 60:  # an amount in a currency without any rate
            lines.append(Line(_dump({**_event(n + 3000, seconds), "event_type": "add_to_cart",
                                     "currency": "CHF", "product_id": "p2", "quantity": 1,
                                     "price": 10.0, "user_id": "user_01"}),
                              "missing_fx_rate", "missing_fx_rate", "currency"))
        if n == 100:  # catalog update: p1's price and category change at 10:05:00.5
            update = _catalog("p1", 300, name="Phone", category="electronics-sale",
                              brand="Acme", price=90.0, currency="USD")
            lines.append(Line(update, "catalog"))
            lines.append(Line(update, "duplicate"))  # resent without event_id: same derived id
        if n == 150:
            lines.extend(_bad_records(seconds))
        if 70 <= n < 75:  # rejected records hours ahead, interleaved: every valid one on time
            lines.extend(_rejected_ahead(seconds))
        if n == 130:
            # Resends of events sent two minutes ago, long behind the watermark: duplicates of
            # what was counted, not late events (deduplication comes before lateness).
            lines.extend(Line(old, "duplicate") for old in sent[90:95])
    return lines
