"""ecomflow.synth.generate: determinism, disorder bound, envelope shapes, committed sample drift."""

from __future__ import annotations

import gzip
import json
import random
import uuid
from collections import Counter
from datetime import UTC, datetime
from itertools import takewhile
from pathlib import Path

import pytest
from click.testing import CliRunner

from ecomflow.cli.generate import generate_command
from ecomflow.paths import SAMPLE_EVENTS
from ecomflow.synth.catalog import CATEGORIES, PRODUCTS
from ecomflow.synth.encoding import dumps, format_ts, uuid4_str, write_jsonl
from ecomflow.synth.generate import (
    _make_users,
    _timeline,
    _Weighted,
    generate_events,
    generate_products,
)

USER_FIELDS = {
    "event_id": str,
    "event_type": str,
    "timestamp": str,
    "user_id": str,
    "session_id": str,
    "page_url": str,
    "referrer": str,
    "user_agent": str,
    "device_type": str,
}
PRODUCT_FIELDS = {"product_id": str, "product_name": str, "category": str, "price": float}
PURCHASE_FIELDS = {
    "event_id": str,
    "event_type": str,
    "timestamp": str,
    "transaction_id": str,
    "customer_id": str,
    "user_id": str,
    "session_id": str,
    "items": list,
    "total_amount": float,
    "currency": str,
    "payment_method": str,
    "shipping_address": dict,
}


def _ts(value: str) -> datetime:
    assert value.endswith("Z") and len(value) == len("2025-07-16T10:30:00.123Z"), value
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def _assert_fields(event: dict, spec: dict[str, type]) -> None:
    for name, typ in spec.items():
        assert name in event, (name, event)
        assert type(event[name]) is typ, (name, event[name])


@pytest.fixture(scope="module")
def events() -> list[dict]:
    return list(generate_events(3000))


def test_same_args_same_bytes_different_seed_differs(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.jsonl.gz", tmp_path / "b.jsonl.gz", tmp_path / "c.jsonl.gz"
    write_jsonl(generate_events(800, seed=3), a)
    write_jsonl(generate_events(800, seed=3), b)
    write_jsonl(generate_events(800, seed=4), c)
    assert a.read_bytes() == b.read_bytes()
    assert gzip.decompress(a.read_bytes()) != gzip.decompress(c.read_bytes())


def test_plain_jsonl_is_one_compact_object_per_line(tmp_path: Path) -> None:
    out = tmp_path / "e.jsonl"
    assert write_jsonl(generate_events(50), out) == 50
    lines = out.read_bytes().split(b"\n")
    assert lines[-1] == b"" and len(lines) == 51
    for line in lines[:-1]:
        obj = json.loads(line)
        assert json.dumps(obj, separators=(",", ":")).encode() == line


@pytest.mark.parametrize("bound", [2.0, 0.5, 0.0])
def test_disorder_is_bounded(bound: float) -> None:
    evs = list(generate_events(2000, seed=11, max_disorder_seconds=bound))
    newest = None
    worst = 0.0
    for ev in evs:
        ts = _ts(ev["timestamp"])
        if newest is not None:
            worst = max(worst, (newest - ts).total_seconds())
        newest = ts if newest is None else max(newest, ts)
    if bound == 0.0:
        assert worst == 0.0  # sorted
    else:
        assert 0.0 < worst < bound  # some disorder exists, and it stays under the bound


def test_disorder_does_not_change_the_events() -> None:
    ordered = list(generate_events(1000, max_disorder_seconds=0))
    shuffled = list(generate_events(1000, max_disorder_seconds=2.0))
    assert ordered != shuffled
    assert sorted(ordered, key=lambda e: e["event_id"]) == sorted(
        shuffled, key=lambda e: e["event_id"]
    )


def test_purchase_totals_match_items(events: list[dict]) -> None:
    purchases = [e for e in events if e["event_type"] == "purchase"]
    assert purchases
    for p in purchases:
        expected = round(sum(i["quantity"] * i["unit_price"] for i in p["items"]), 2)
        assert p["total_amount"] == expected
        assert p["items"]


def test_envelopes(events: list[dict]) -> None:
    product_ids = {p["product_id"] for p in PRODUCTS}
    event_ids = set()
    for ev in events:
        event_ids.add(ev["event_id"])
        _ts(ev["timestamp"])
        assert ev["session_id"].startswith("sess_")
        assert ev["user_id"].startswith("user_")
        if ev["event_type"] == "purchase":
            _assert_fields(ev, PURCHASE_FIELDS)
            assert set(ev) == set(PURCHASE_FIELDS)
            assert ev["customer_id"] == "cust_" + ev["user_id"].removeprefix("user_")
            assert ev["currency"] in {"USD", "EUR", "GBP"}
            assert set(ev["shipping_address"]) == {"country", "city", "postal_code"}
            for item in ev["items"]:
                assert set(item) == {"product_id", "quantity", "unit_price", "category"}
                assert item["product_id"] in product_ids
                assert type(item["quantity"]) is int and item["quantity"] >= 1
                assert type(item["unit_price"]) is float
                assert item["category"] in CATEGORIES
            continue
        _assert_fields(ev, USER_FIELDS)
        assert ev["device_type"] in {"mobile", "desktop", "tablet"}
        assert ev["event_type"] in {"page_view", "product_view", "add_to_cart", "remove_from_cart"}
        if ev["event_type"] == "page_view":
            assert set(ev) == set(USER_FIELDS)
            continue
        _assert_fields(ev, PRODUCT_FIELDS)
        assert ev["product_id"] in product_ids
        assert round(ev["price"], 2) == ev["price"]
        if ev["event_type"] == "product_view":
            assert set(ev) == set(USER_FIELDS) | set(PRODUCT_FIELDS)
        else:
            assert type(ev["quantity"]) is int and ev["quantity"] >= 1
            assert set(ev) == set(USER_FIELDS) | set(PRODUCT_FIELDS) | {"quantity"}
    assert len(event_ids) == len(events)


def test_funnel_and_time_span(events: list[dict]) -> None:
    counts = Counter(e["event_type"] for e in events)
    pv = counts["page_view"]
    assert 0.5 < counts["product_view"] / pv < 0.7
    assert 0.10 < counts["add_to_cart"] / pv < 0.20
    assert 0.02 < counts["purchase"] / pv < 0.08
    assert counts["remove_from_cart"] > 0
    stamps = [_ts(e["timestamp"]) for e in events]
    assert min(stamps) == datetime(2025, 7, 16, 10, 0, tzinfo=UTC)
    assert len({s.replace(second=0, microsecond=0) for s in stamps}) >= 3


def test_catalog() -> None:
    products = generate_products(7)
    assert products == generate_products(7)
    assert 30 <= len(products) <= 50
    assert {p["category"] for p in products} == set(CATEGORIES)
    for p in products:
        assert set(p) == {
            "product_id",
            "name",
            "category",
            "brand",
            "price",
            "currency",
            "stock_quantity",
            "attributes",
            "created_at",
            "updated_at",
        }
        assert _ts(p["created_at"]) <= _ts(p["updated_at"]) < datetime(2025, 7, 16, 10, tzinfo=UTC)
    with_catalog = list(generate_events(10, include_catalog=True))
    assert with_catalog[: len(products)] == products
    assert with_catalog[len(products) :] == list(generate_events(10))
    assert all("event_type" in e for e in generate_events(200))


def test_committed_sample_matches_fresh_generation(tmp_path: Path) -> None:
    # Compare decompressed bytes: compressed bytes could differ across zlib builds.
    fresh = tmp_path / "sample.jsonl"
    result = CliRunner().invoke(generate_command,
                                ["--out", str(fresh), "-n", "5000", "--seed", "7"])
    assert result.exit_code == 0, result.output
    assert gzip.decompress(SAMPLE_EVENTS.read_bytes()) == fresh.read_bytes(), (
        "sample drifted: ecomflow generate --out ecomflow/data/sample_events.jsonl.gz "
        "-n 5000 --seed 7"
    )


# -- the hot path's shortcuts must be exactly what they replace (the sample depends on it) ------


def test_uuid4_str_is_uuid_uuid4_formatting() -> None:
    rng = random.Random(1)
    for bits in [0, (1 << 128) - 1, *(rng.getrandbits(128) for _ in range(20_000))]:
        assert uuid4_str(bits) == str(uuid.UUID(int=bits, version=4))


def test_format_ts_matches_datetime_formatting() -> None:
    rng = random.Random(2)
    stamps = [0, 999, 1000, -1, -1001, 1752660000123]
    stamps += [rng.randrange(-10**12, 10**13) for _ in range(20_000)]
    for ms in stamps:
        dt = datetime.fromtimestamp(ms // 1000, tz=UTC)
        assert format_ts(ms) == dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def test_dumps_is_compact_json_dumps(events: list[dict]) -> None:
    for record in [*events, *generate_products(7), {"x": [1.5, None, True, "\u00e9\n"], "y": {}}]:
        assert dumps(record) == json.dumps(record, separators=(",", ":"))
    with pytest.raises(TypeError):
        dumps({"when": datetime(2025, 1, 1)})


def test_weighted_pick_draws_like_random_choices() -> None:
    pairs = [("a", 0.5), ("b", 3), ("c", 1.25), ("d", 7)]
    picker = _Weighted.of(pairs)
    fast, slow = random.Random(3), random.Random(3)
    for _ in range(5000):
        assert picker.pick(fast) == slow.choices("abcd", weights=[w for _, w in pairs])[0]
    assert fast.random() == slow.random()


def test_session_filter_only_removes_events() -> None:
    def run(session_filter=None) -> list:
        rng = random.Random(5)
        users = _make_users(rng, 50)
        return list(takewhile(lambda item: item[0] < 120_000,
                              _timeline(rng, users, 0, 20.0, session_filter)))

    every = run()
    halved = run(lambda start, session: session if (start // 1000) % 2 else [])
    kept = {e["event_id"] for _, e in halved}
    assert 0.3 * len(every) < len(halved) < 0.7 * len(every)
    assert [item for item in every if item[1]["event_id"] in kept] == halved

