"""Two and a half hours of steady shop traffic, optionally with injected anomalies; the job
test replays a steady day, then a day with the injections (steady_day_then_injected_day).

Steady: every minute 40 events with a small deterministic wobble (so baselines vary, but far
less than the detector's 4 standard deviations): page views, product views and carts from 20
users, and two purchases of 25 or 30 USD. Injected (inject=True), each in its own minute after
the warm-up:
- 10:10 a traffic spike: 200 extra page views from the 20 users (10 each, no bot);
- 10:15 a bot: one user sends 90 product views;
- 10:20 an order of 500 USD from a customer whose earlier orders were 25-30 USD.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

START = datetime(2025, 7, 16, 8, 0, 0, 500000, tzinfo=UTC)
MINUTES = 150
SPIKE = datetime(2025, 7, 16, 10, 10, tzinfo=UTC)
BOT = datetime(2025, 7, 16, 10, 15, tzinfo=UTC)
BIG_ORDER = datetime(2025, 7, 16, 10, 20, tzinfo=UTC)
BIG_ORDER_CUSTOMER = "user_03"
BOT_USER = "bot_01"


def _ts(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _purchase(n: int, moment: datetime, customer: str, price: float, quantity: int) -> dict:
    return {"event_id": f"a-{n}", "event_type": "purchase", "timestamp": _ts(moment),
            "customer_id": customer, "currency": "USD", "transaction_id": f"t-{n}",
            "total_amount": round(price * quantity, 2),
            "items": [{"product_id": "p1", "quantity": quantity, "price": price}]}


def steady_day_then_injected_day() -> list[str]:
    """The steady traffic a day early (ids prefixed "s"), then the injected case: one input
    whose first day must raise no flag at all and whose second day flags the injections."""
    steady = _records(inject=False)
    for record in steady:
        moment = datetime.fromisoformat(record["timestamp"].replace("Z", "+00:00"))
        record["timestamp"] = _ts(moment - timedelta(days=1))
        record["event_id"] = "s" + record["event_id"]
        if "transaction_id" in record:
            record["transaction_id"] = "s" + record["transaction_id"]
    records = steady + _records(inject=True)
    records.sort(key=lambda r: r["timestamp"])
    return [json.dumps(r, separators=(",", ":")) for r in records]


def _records(*, inject: bool) -> list[dict]:
    records: list[dict] = []
    n = 0
    for minute in range(MINUTES):
        base = START + timedelta(minutes=minute)
        wobble = (minute * 7) % 5 - 2  # -2..2
        plan = (["page_view"] * (16 + wobble) + ["product_view"] * (12 - wobble // 2)
                + ["add_to_cart"] * 6 + ["purchase"] * 2)
        step = 58.0 / len(plan)
        for i, kind in enumerate(plan):
            n += 1
            moment = base + timedelta(seconds=i * step)
            user = f"user_{(n * 3 + minute) % 20:02d}"
            category = ("electronics", "home")[i % 2]
            common = {"event_id": f"a-{n}", "timestamp": _ts(moment)}
            if kind == "purchase":
                customer = f"user_{(minute * 2 + i) % 20:02d}"
                records.append(_purchase(n, moment, customer, (25.0, 30.0)[minute % 2], 1))
            elif kind == "page_view":
                records.append({**common, "event_type": kind, "user_id": user,
                                "page_url": f"/c/{category}"})
            else:
                records.append({**common, "event_type": kind, "user_id": user,
                                "product_id": f"p{i % 4}", "category": category,
                                "price": 25.0, **({"quantity": 1} if kind == "add_to_cart"
                                                  else {})})
    if inject:
        for k in range(200):
            n += 1
            records.append({"event_id": f"a-{n}", "event_type": "page_view",
                            "timestamp": _ts(SPIKE + timedelta(seconds=5 + k * 0.25)),
                            "user_id": f"user_{k % 20:02d}", "page_url": "/sale"})
        for k in range(90):
            n += 1
            records.append({"event_id": f"a-{n}", "event_type": "product_view",
                            "timestamp": _ts(BOT + timedelta(seconds=1 + k * 0.5)),
                            "user_id": BOT_USER, "product_id": "p2", "category": "home",
                            "price": 25.0})
        n += 1
        records.append(_purchase(n, BIG_ORDER + timedelta(seconds=30), BIG_ORDER_CUSTOMER,
                                 25.0, 20))
    return records
