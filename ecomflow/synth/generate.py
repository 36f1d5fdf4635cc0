"""Deterministic synthetic e-commerce traffic in the design's event formats.

The stream models shopping sessions: a user lands on the shop, views pages, looks at
products, sometimes adds them to the cart (and sometimes removes them again) and sometimes
checks out. Funnel ratios are roughly page_view : product_view : add_to_cart : purchase =
100 : 60 : 15 : 5. Everything is driven by ``random.Random`` seeded from the arguments, so
the same arguments always give the same events (and ``write_jsonl`` the same bytes).

Regenerate the bundled sample with::

    ecomflow generate --out ecomflow/data/sample_events.jsonl.gz -n 5000 --seed 7

Faults (duplicates, late and malformed records), anomalies and a ground-truth manifest are
``ecomflow.synth.traffic`` (the ``ecomflow generate`` command), built on the simulation
here; with all of them off it writes exactly these events. How events are written (compact
JSON, timestamps, ids, JSONL files) is ``ecomflow.synth.encoding``; import them from there.
"""

from __future__ import annotations

import heapq
import math
import random
from bisect import bisect
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from itertools import accumulate
from typing import Any

from ecomflow.synth.catalog import (
    _DEVICE_WEIGHTS,
    _EXTERNAL_REFERRERS,
    _LOCATIONS,
    _PAYMENT_METHODS,
    _SEARCH_TERMS,
    _USER_AGENTS,
    CATEGORIES,
    FX_FROM_USD,
    PRODUCTS,
    PRODUCTS_BY_CATEGORY,
    SHOP_ORIGIN,
)
from ecomflow.synth.encoding import (
    _epoch_ms,
    format_ts,
    uuid4_str,
)

DEFAULT_START = datetime(2025, 7, 16, 10, 0, 0, tzinfo=UTC)

USER_EVENT_TYPES = ("page_view", "product_view", "add_to_cart", "remove_from_cart")
PRODUCT_EVENT_TYPES = ("product_view", "add_to_cart", "remove_from_cart")

# Session model. Pages per session are 1 + geometric (mean 1 / (1 - P_NEXT_PAGE)).
P_NEXT_PAGE = 0.75
P_PRODUCT_VIEW = 0.60  # a page is a product page that fires product_view
P_ADD_TO_CART = 0.25  # per product_view -> 15 per 100 page views
P_REMOVE = 0.25  # per add_to_cart
P_PURCHASE = 0.70  # per session ending with a non-empty cart -> ~5 per 100 page views
_MEAN_PAGES = 1 / (1 - P_NEXT_PAGE)
_P_NET_ADD = P_PRODUCT_VIEW * P_ADD_TO_CART * (1 - P_REMOVE)
# P(no net add in any page) = E[(1 - p)^N] for N ~ Geometric(1 - P_NEXT_PAGE) on {1, 2, ...}.
_P_EMPTY_CART = (1 - P_NEXT_PAGE) * (1 - _P_NET_ADD) / (1 - P_NEXT_PAGE * (1 - _P_NET_ADD))
# Expected events per session; session arrival rate = events_per_second / this, so the
# long-run event rate matches events_per_second (the first ~minute ramps up).
MEAN_EVENTS_PER_SESSION = (
    _MEAN_PAGES * (1 + P_PRODUCT_VIEW * (1 + P_ADD_TO_CART * (1 + P_REMOVE)))
    + (1 - _P_EMPTY_CART) * P_PURCHASE
)


def generate_products(seed: int = 7, *, now: datetime = DEFAULT_START) -> list[dict[str, Any]]:
    """The fixed product catalog as the design's product records (stock and dates from seed).

    Product ids, names, categories and prices are the same for every seed, so they always
    match the ``product_id``/``price`` fields in generated events. In the order the products
    last changed (``updated_at``): the job reads catalog records as a stream in event time,
    where one older than a record before it could arrive behind the watermark (late).
    """
    rng = random.Random(f"{seed}:catalog")
    now_ms = _epoch_ms(now)
    records = []
    for p in PRODUCTS:
        created = now_ms - rng.randint(30, 720) * 86_400_000 - rng.randint(0, 86_399_999)
        updated = rng.randint(created, now_ms - 60_000)
        records.append(
            {
                "product_id": p["product_id"],
                "name": p["name"],
                "category": p["category"],
                "brand": p["brand"],
                "price": p["price"],
                "currency": "USD",
                "stock_quantity": rng.randint(0, 500),
                "attributes": dict(p["attributes"]),
                "created_at": format_ts(created),
                "updated_at": format_ts(updated),
            }
        )
    return sorted(records, key=lambda record: record["updated_at"])


def _weighted(rng: random.Random, pairs: Iterable[tuple[Any, int]]) -> Any:
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights)[0]


class _Weighted:
    """``_weighted`` with the cumulative weights computed once.

    ``pick`` draws exactly what ``rng.choices(values, weights=weights)[0]`` draws (one
    ``rng.random()``, the same bisect), so swapping one for the other never changes output.
    """

    __slots__ = ("values", "cum", "total", "hi")

    def __init__(self, values: Sequence[Any], weights: Iterable[float]) -> None:
        self.values = tuple(values)
        self.cum = list(accumulate(weights))
        self.total = self.cum[-1] + 0.0
        self.hi = len(self.values) - 1

    @classmethod
    def of(cls, pairs: Iterable[tuple[Any, float]]) -> _Weighted:
        values, weights = zip(*pairs, strict=True)
        return cls(values, weights)

    def pick(self, rng: random.Random) -> Any:
        return self.values[bisect(self.cum, rng.random() * self.total, 0, self.hi)]


_REFERRER_CHOICE = _Weighted.of(_EXTERNAL_REFERRERS)
_QUANTITY_CHOICE = _Weighted.of(((1, 75), (2, 18), (3, 5), (4, 2)))
_PAGE_CHOICE_INDEX = _Weighted.of(((0, 40), (1, 40), (2, 20)))  # home, category, search


def _postal_code(rng: random.Random, country: str, prefix: str) -> str:
    if country == "GB":  # outward code + inward code, e.g. "SW1 4AN"
        return f"{prefix} {rng.randint(1, 9)}{rng.choice('ABDEFGHJ')}{rng.choice('LNPQRSTU')}"
    return f"{prefix}{rng.randint(0, 99):02d}"  # 5-digit codes: 28001, 10115, 75008, ...


def _make_users(rng: random.Random, count: int) -> list[dict[str, Any]]:
    users = []
    for i in range(1, count + 1):
        device = _weighted(rng, _DEVICE_WEIGHTS)
        country, currency, _, cities = _weighted(rng, ((loc, loc[2]) for loc in _LOCATIONS))
        city, postal_prefix = rng.choice(cities)
        users.append(
            {
                "user_id": f"user_{i:05d}",
                "customer_id": f"cust_{i:05d}",
                "device_type": device,
                "user_agent": rng.choice(_USER_AGENTS[device]),
                "country": country,
                "currency": currency,
                "city": city,
                "postal_code": _postal_code(rng, country, postal_prefix),
                "payment_method": _weighted(rng, _PAYMENT_METHODS),
                # A few heavy shoppers, a long tail of occasional ones.
                "activity": rng.paretovariate(1.5),
            }
        )
    return users


class _SessionFactory:
    """Builds whole sessions (lists of (ms, event)) from one shared content rng."""

    def __init__(self, rng: random.Random, users: list[dict[str, Any]]) -> None:
        self.rng = rng
        self.users = users
        self.user_choice = _Weighted(users, (u["activity"] for u in users))
        self.busy_until: dict[str, int] = {}

    def _event_id(self) -> str:
        return uuid4_str(self.rng.getrandbits(128))

    def _pick_user(self, start_ms: int) -> dict[str, Any]:
        # Prefer a user who is not mid-session; give up after a few draws (traffic is dense).
        pick = self.user_choice.pick
        for _ in range(8):
            user = pick(self.rng)
            if self.busy_until.get(user["user_id"], -1) < start_ms:
                return user
        return user

    def session(self, start_ms: int) -> list[tuple[int, dict[str, Any]]]:
        rng = self.rng
        user = self._pick_user(start_ms)
        session_id = f"sess_{rng.getrandbits(48):012x}"
        out: list[tuple[int, dict[str, Any]]] = []
        t = start_ms
        referrer = _REFERRER_CHOICE.pick(rng)
        cart: list[tuple[dict[str, Any], int]] = []  # (product, quantity), in add order
        favourite = rng.choice(CATEGORIES)  # sessions tend to stay in one category

        def user_event(event_type: str, page_url: str, ref: str, **extra: Any) -> None:
            event = {
                "event_id": self._event_id(),
                "event_type": event_type,
                "timestamp": format_ts(t),
                "user_id": user["user_id"],
                "session_id": session_id,
                "page_url": page_url,
                "referrer": ref,
                "user_agent": user["user_agent"],
                "device_type": user["device_type"],
            }
            event.update(extra)
            out.append((t, event))

        def product_fields(p: dict[str, Any]) -> dict[str, Any]:
            return {
                "product_id": p["product_id"],
                "product_name": p["name"],
                "category": p["category"],
                "price": p["price"],
            }

        page = 0
        prev_url = ""
        while True:
            if page > 0:
                t += 1_000 + round(rng.expovariate(1 / 7_000))  # dwell before next click
                referrer = SHOP_ORIGIN + prev_url
            if rng.random() < P_PRODUCT_VIEW:
                category = favourite if rng.random() < 0.7 else rng.choice(CATEGORIES)
                product = rng.choice(PRODUCTS_BY_CATEGORY[category])
                url = product["url"]
                user_event("page_view", url, referrer)
                t += 200 + round(rng.expovariate(1 / 1_500))
                user_event("product_view", url, referrer, **product_fields(product))
                if rng.random() < P_ADD_TO_CART:
                    t += 1_000 + round(rng.expovariate(1 / 9_000))
                    quantity = _QUANTITY_CHOICE.pick(rng)
                    user_event(
                        "add_to_cart", url, referrer, **product_fields(product), quantity=quantity
                    )
                    cart.append((product, quantity))
                    if rng.random() < P_REMOVE:
                        t += 2_000 + round(rng.expovariate(1 / 12_000))
                        removed, removed_qty = cart.pop(rng.randrange(len(cart)))
                        user_event(
                            "remove_from_cart",
                            "/cart",
                            SHOP_ORIGIN + url,
                            **product_fields(removed),
                            quantity=removed_qty,
                        )
                        url = "/cart"
            else:
                term = rng.choice(_SEARCH_TERMS)  # drawn before the page, as it always was
                url = (
                    "/",
                    f"/category/{favourite}",
                    f"/search?q={term}",
                )[_PAGE_CHOICE_INDEX.pick(rng)]
                user_event("page_view", url, referrer)
            prev_url = url
            page += 1
            if rng.random() >= P_NEXT_PAGE:
                break

        if cart and rng.random() < P_PURCHASE:
            t += 15_000 + round(rng.expovariate(1 / 25_000))  # checkout takes a while
            out.append((t, self._purchase(user, session_id, t, cart)))
        self.busy_until[user["user_id"]] = t
        return out

    def _purchase(
        self,
        user: dict[str, Any],
        session_id: str,
        t: int,
        cart: list[tuple[dict[str, Any], int]],
    ) -> dict[str, Any]:
        rate = FX_FROM_USD[user["currency"]]
        # Merge repeated adds of one product into one line, keeping first-add order.
        quantities: dict[str, int] = {}
        by_id: dict[str, dict[str, Any]] = {}
        for product, quantity in cart:
            quantities[product["product_id"]] = quantities.get(product["product_id"], 0) + quantity
            by_id[product["product_id"]] = product
        items = [
            {
                "product_id": pid,
                "quantity": qty,
                "unit_price": round(by_id[pid]["price"] * rate, 2),
                "category": by_id[pid]["category"],
            }
            for pid, qty in quantities.items()
        ]
        return {
            "event_id": self._event_id(),
            "event_type": "purchase",
            "timestamp": format_ts(t),
            "transaction_id": f"txn_{self.rng.getrandbits(40):010x}",
            "customer_id": user["customer_id"],
            "user_id": user["user_id"],
            "session_id": session_id,
            "items": items,
            "total_amount": round(sum(i["quantity"] * i["unit_price"] for i in items), 2),
            "currency": user["currency"],
            "payment_method": user["payment_method"],
            "shipping_address": {
                "country": user["country"],
                "city": user["city"],
                "postal_code": user["postal_code"],
            },
        }


# session_filter(session start ms, its (ms, event)s) -> the events that actually happen.
SessionFilter = Callable[[int, list[tuple[int, dict[str, Any]]]], list[tuple[int, dict[str, Any]]]]


def _timeline(
    rng: random.Random,
    users: list[dict[str, Any]],
    start_ms: int,
    events_per_second: float,
    session_filter: SessionFilter | None = None,
) -> Iterator[tuple[int, dict[str, Any]]]:
    """All sessions' events merged into timestamp order (ties by creation order), endlessly.

    ``session_filter`` can leave events out. Sessions are generated as without it, so every
    event it keeps is exactly what it would have been without the filter.
    """
    factory = _SessionFactory(rng, users)
    session_rate_per_ms = events_per_second / MEAN_EVENTS_PER_SESSION / 1000
    heap: list[tuple[int, int, dict[str, Any]]] = []
    seq = 0
    next_start = start_ms
    while True:
        # Every later session starts at or after next_start, so anything earlier is final.
        while heap and heap[0][0] <= next_start:
            ms, _, event = heapq.heappop(heap)
            yield ms, event
        session = factory.session(next_start)
        if session_filter is not None:
            session = session_filter(next_start, session)
        for ms, event in session:
            heapq.heappush(heap, (ms, seq, event))
            seq += 1
        next_start += max(1, round(rng.expovariate(session_rate_per_ms)))


def _bounded_disorder(
    ordered: Iterable[tuple[int, dict[str, Any]]], rng: random.Random, max_disorder_ms: int
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Re-order a timestamp-sorted stream by key = ts + jitter, jitter in [0, max_disorder_ms).

    If b is emitted before a then ts_b + j_b <= ts_a + j_a, so ts_b - ts_a <= j_a - j_b
    <= max_disorder_ms - 1: strictly less than the bound.
    """
    # rng.randint(0, max_jitter), inlined (this is per event): randint draws getrandbits(k)
    # until the value is below the range's width.
    width = max(0, max_disorder_ms - 1) + 1
    bits = width.bit_length()
    getrandbits = rng.getrandbits
    heap: list[tuple[int, int, int, dict[str, Any]]] = []
    push, pop = heapq.heappush, heapq.heappop
    for seq, (ms, event) in enumerate(ordered):
        # Keys are >= their ts and inputs are sorted, so keys <= this ts can no longer move.
        while heap and heap[0][0] <= ms:
            _, _, t, e = pop(heap)
            yield t, e
        jitter = getrandbits(bits)
        while jitter >= width:
            jitter = getrandbits(bits)
        push(heap, (ms + jitter, seq, ms, event))
    while heap:
        _, _, t, e = pop(heap)
        yield t, e


def generate_events(
    n: int,
    *,
    seed: int = 7,
    start: datetime = DEFAULT_START,
    users: int = 200,
    max_disorder_seconds: float = 2.0,
    events_per_second: float = 20.0,
    include_catalog: bool = False,
) -> Iterator[dict[str, Any]]:
    """Yield ``n`` user/purchase events (plus the catalog first if ``include_catalog``).

    Events are the first ``n`` of a session simulation starting at ``start`` (session
    arrivals are Poisson so the long-run rate is ``events_per_second``), emitted roughly in
    timestamp order with bounded disorder: no event is emitted after another event whose
    timestamp is ``max_disorder_seconds`` or more later, i.e. for every event,
    ``max(timestamps emitted before it) - its timestamp < max_disorder_seconds`` (0 gives a
    sorted stream). The Flink job's watermark delay (5 s) is larger than the default 2 s, so
    no event from the sample is late.

    ``include_catalog`` prepends the ``generate_products(seed)`` records (design shape, no
    ``event_type``); they do not count towards ``n``.
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    if users < 1:
        raise ValueError("users must be >= 1")
    if events_per_second <= 0:
        raise ValueError("events_per_second must be > 0")
    if max_disorder_seconds < 0:
        raise ValueError("max_disorder_seconds must be >= 0")
    if include_catalog:
        yield from generate_products(seed, now=start)
    # Separate streams: the disorder jitter never shifts event content between runs.
    content_rng = random.Random(seed)
    jitter_rng = random.Random(f"{seed}:disorder")
    user_table = _make_users(content_rng, users)
    timeline = _timeline(content_rng, user_table, _epoch_ms(start), events_per_second)
    first_n = (item for _, item in zip(range(n), timeline, strict=False))
    # Timestamps are whole ms: jitter < ceil(bound in ms) keeps lags strictly under the bound.
    for _, event in _bounded_disorder(first_n, jitter_rng, disorder_ms(max_disorder_seconds)):
        yield event


def disorder_ms(max_disorder_seconds: float) -> int:
    return math.ceil(max_disorder_seconds * 1000)


__all__ = [
    "DEFAULT_START",
    "generate_events",
    "generate_products",
]
