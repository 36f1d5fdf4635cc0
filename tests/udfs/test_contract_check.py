"""udfs.contract_check: the contract as the job applies it, one verdict per raw payload.

`verdict` is plain Python; the pyflink wrapper is only inspected, never run (no Flink here).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from flink_jobs.contract import REASONS
from udfs import contract_check
from udfs.contract_check import DETAIL_LIMIT, verdict

MAX_BYTES = 1_000_000
MAX_FUTURE = 300  # seconds
# Far in the past, so the tests never depend on today's date for the future-timestamp rule.
TS = "2025-07-16T10:30:00Z"
UUID8 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")

PAGE_VIEW: dict[str, Any] = {
    "event_type": "page_view",
    "timestamp": TS,
    "user_id": "user_1",
    "session_id": "sess_1",
    "page_url": "https://shop.example/home",
}
ADD_TO_CART: dict[str, Any] = {
    "event_type": "add_to_cart",
    "timestamp": TS,
    "user_id": "user_1",
    "product_id": "prod_1",
    "quantity": 2,
    "price": 9.99,
}
PURCHASE: dict[str, Any] = {
    "event_type": "purchase",
    "timestamp": TS,
    "transaction_id": "txn_1",
    "customer_id": "cust_1",
    "items": [{"product_id": "prod_1", "quantity": 2, "unit_price": 29.99}],
    "total_amount": 59.98,
    "currency": "USD",
}


def _payload(record: Any) -> str:
    return json.dumps(record)


def _without(record: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != key}


def test_valid_records_pass_with_an_event_id() -> None:
    for record in (PAGE_VIEW, ADD_TO_CART, PURCHASE):
        reason, field, detail, event_id = verdict(_payload(record), MAX_BYTES, MAX_FUTURE)
        assert (reason, field, detail) == (None, None, None), record
        assert event_id is not None and UUID8.match(event_id), event_id


def test_own_event_id_is_kept() -> None:
    record = {**PAGE_VIEW, "event_id": "evt-0001"}
    assert verdict(_payload(record), MAX_BYTES, MAX_FUTURE) == (None, None, None, "evt-0001")


def test_own_event_id_is_kept_on_a_dead_letter() -> None:
    record = {**_without(PAGE_VIEW, "user_id"), "event_id": "evt-0002"}
    assert verdict(_payload(record), MAX_BYTES, MAX_FUTURE)[3] == "evt-0002"


def test_derived_event_id_is_stable_and_content_based() -> None:
    first = verdict(_payload(PAGE_VIEW), MAX_BYTES, MAX_FUTURE)[3]
    # same content, other key order and spacing: the same id
    reordered = json.dumps(dict(reversed(list(PAGE_VIEW.items()))), indent=2)
    assert verdict(reordered, MAX_BYTES, MAX_FUTURE)[3] == first
    assert verdict(_payload(PAGE_VIEW), MAX_BYTES, MAX_FUTURE)[3] == first
    # other content: another id
    other = {**PAGE_VIEW, "page_url": "https://shop.example/cart"}
    assert verdict(_payload(other), MAX_BYTES, MAX_FUTURE)[3] != first
    # a null event_id counts as absent (the id is derived without it); an empty one is invalid
    assert verdict(_payload({**PAGE_VIEW, "event_id": None}), MAX_BYTES, MAX_FUTURE)[3] == first
    assert verdict(_payload({**PAGE_VIEW, "event_id": ""}), MAX_BYTES, MAX_FUTURE)[:2] == (
        "out_of_range", "event_id")


def test_invalid_record_without_own_id_has_no_event_id() -> None:
    assert verdict(_payload(_without(PAGE_VIEW, "user_id")), MAX_BYTES, MAX_FUTURE)[3] is None


# (reason, field, payload): at least one case per reason of the taxonomy.
CASES: list[tuple[str, str, str | bytes]] = [
    ("not_json", "$", '{"event_type": "page_view",'),
    ("not_json", "$", ""),
    ("not_json", "$", '{"event_type": "add_to_cart", "price": NaN}'),
    ("not_json", "$", '{"event_type": "add_to_cart", "price": Infinity}'),
    # a UTF-16 surrogate encoded as UTF-8 is not UTF-8
    ("not_json", "$", b'{"event_type": "page_view", "page_url": "\xed\xa0\x80"}'),
    ("not_json", "$", b"\xff\xfe not utf-8"),
    ("not_an_object", "$", "[1, 2]"),
    ("not_an_object", "$", '"page_view"'),
    ("unknown_event_type", "event_type", _payload({**PAGE_VIEW, "event_type": "page_flip"})),
    ("missing_field", "user_id", _payload(_without(PAGE_VIEW, "user_id"))),
    ("missing_field", "event_type", _payload({"timestamp": TS})),
    ("wrong_type", "quantity", _payload({**ADD_TO_CART, "quantity": "2"})),
    ("out_of_range", "quantity", _payload({**ADD_TO_CART, "quantity": 0})),
    ("out_of_range", "price", _payload({**ADD_TO_CART, "price": -1.0})),
    ("total_mismatch", "total_amount", _payload({**PURCHASE, "total_amount": 60.0})),
    ("bad_timestamp", "timestamp", _payload({**PAGE_VIEW, "timestamp": "2025-07-16T10:30:00"})),
    ("bad_timestamp", "timestamp", _payload({**PAGE_VIEW, "timestamp": "2025-02-30T10:30:00Z"})),
    ("future_timestamp", "timestamp", _payload({**PAGE_VIEW, "timestamp": "2999-01-01T00:00:00Z"})),
]


@pytest.mark.parametrize(("reason", "field", "payload"), CASES,
                         ids=[f"{r}-{i}" for i, (r, _, _) in enumerate(CASES)])
def test_each_reason(reason: str, field: str, payload: str | bytes) -> None:
    got_reason, got_field, detail, _ = verdict(payload, MAX_BYTES, MAX_FUTURE)
    assert (got_reason, got_field) == (reason, field)
    assert detail and len(detail) <= DETAIL_LIMIT


def test_every_reason_of_the_taxonomy_is_covered() -> None:
    covered = {reason for reason, _, _ in CASES} | {"payload_too_large"}
    assert covered == set(REASONS)


def test_none_payload_is_not_json() -> None:
    assert verdict(None, MAX_BYTES, MAX_FUTURE) == ("not_json", "$", "empty record", None)


def test_payload_too_large_with_a_small_limit() -> None:
    payload = _payload(PAGE_VIEW)
    size = len(payload.encode("utf-8"))
    assert verdict(payload, size, MAX_FUTURE)[0] is None  # exactly at the limit passes
    reason, field, detail, event_id = verdict(payload, size - 1, MAX_FUTURE)
    assert (reason, field, event_id) == ("payload_too_large", "$", None)
    assert str(size - 1) in detail
    # the limit is in UTF-8 bytes, not characters: 22 characters, 35 bytes
    wide = '{"x": "' + "\u00e9" * 13 + '"}'
    assert len(wide) == 22 and len(wide.encode("utf-8")) == 35
    assert verdict(wide, 30, MAX_FUTURE)[0] == "payload_too_large"


def test_future_limit_is_the_argument() -> None:
    from datetime import UTC, datetime, timedelta

    soon = (datetime.now(UTC) + timedelta(minutes=10)).isoformat(timespec="seconds")
    payload = _payload({**PAGE_VIEW, "timestamp": soon})
    assert verdict(payload, MAX_BYTES, 300)[0] == "future_timestamp"
    assert verdict(payload, MAX_BYTES, 3600)[0] is None


def test_detail_of_a_long_value_stays_within_the_limit() -> None:
    long_value = "x" * 5000
    payload = _payload({**PAGE_VIEW, "event_type": long_value})
    detail = verdict(payload, MAX_BYTES, MAX_FUTURE)[2]
    assert detail is not None and len(detail) <= DETAIL_LIMIT


def test_detail_is_cut_at_detail_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    from flink_jobs.contract import Issue

    def long_issue(payload: object, **_: object) -> tuple[None, list[Issue]]:
        return None, [Issue("not_json", "$", "y" * (DETAIL_LIMIT + 50))]

    monkeypatch.setattr(contract_check, "validate_payload", long_issue)
    detail = verdict("{}", MAX_BYTES, MAX_FUTURE)[2]
    assert detail == "y" * DETAIL_LIMIT


# A lone UTF-16 surrogate, escaped in JSON (`"\ud800"`, plain ASCII, so it survives Flink's
# STRING decoding) or literal in the string, is not Unicode: the payload is a dead letter, and
# the job never fails on it.
SURROGATES = [
    _payload(PAGE_VIEW).replace("https://shop.example/home", "\\ud800"),  # escaped, no event_id
    _payload(PAGE_VIEW).replace("https://shop.example/home", "\ud800"),  # literal, no event_id
]


@pytest.mark.parametrize("payload", SURROGATES, ids=["escaped", "literal"])
def test_lone_surrogate_is_a_dead_letter_not_a_crash(payload: str) -> None:
    assert verdict(payload, MAX_BYTES, MAX_FUTURE)[0] == "not_json"


def test_lone_surrogates_with_a_small_limit_do_not_crash() -> None:
    assert verdict("\ud800" * 10, 20, MAX_FUTURE)[0] in ("not_json", "payload_too_large")
