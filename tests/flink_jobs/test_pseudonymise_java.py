"""The job's Java pseudonymisation (dev.ecomflow.privacy.Pseudonymiser, run by the clean
stream's head) against the Python reference (ecomflow.privacy.hashing): the same payloads must
give the same JSON (compared parsed: the two JSON writers escape some characters
differently), NULL for the same ones. Through the Java probe: no Flink needed."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from ecomflow.privacy.hashing import hash_id, pseudonymise
from flink_jobs.privacy_rules import PrivacyRules
from tests.privacy_cases import KEY, PAYLOADS
from tests.support.java_probe import JavaProbe


@pytest.fixture(scope="module")
def probe() -> Iterator[JavaProbe]:
    with JavaProbe("pseudonymise") as running:
        yield running


def java(probe: JavaProbe, payloads: list[str], key: str, spec: str) -> list[str | None]:
    return [answer["payload"] for answer in probe.ask_many(
        {"payload": payload, "key": key, "spec": spec} for payload in payloads)]


def parsed(text: str | None) -> object:
    return None if text is None else json.loads(text)


@pytest.mark.parametrize("rules", [
    PrivacyRules(),
    PrivacyRules(hash_fields=("user_id", "session_id"), region_fields=("postal_code", "city"),
                 region_chars=3, url_fields=("page_url",), strip_params=("step", "A")),
    PrivacyRules(hash_fields=(), region_fields=(), url_fields=(), strip_params=()),
], ids=["defaults", "custom", "nothing"])
def test_java_matches_the_python_reference(probe: JavaProbe, rules: PrivacyRules) -> None:
    expected = [pseudonymise(p, rules, KEY) for p in PAYLOADS]
    got = java(probe, PAYLOADS, KEY, rules.spec())
    mismatches = [(p, e, g) for p, e, g in zip(PAYLOADS, expected, got, strict=True)
                  if parsed(e) != parsed(g)]
    assert mismatches == []
    # Not vacuous: the design's page view's user id was replaced (or kept, with no rules).
    assert (hash_id(KEY, "user_12345") in got[0]) == ("user_id" in rules.hash_fields)


def test_another_key_gives_other_hashes(probe: JavaProbe) -> None:
    payload = '{"user_id":"u1"}'
    spec = PrivacyRules().spec()
    first, second = java(probe, [payload], KEY, spec), java(probe, [payload], "other", spec)
    assert parsed(first[0]) == parsed(pseudonymise(payload, PrivacyRules(), KEY))
    assert parsed(second[0]) == parsed(pseudonymise(payload, PrivacyRules(), "other"))
    assert first != second


FIELDS = ("event_type", "customer_id", "user_id", "total_amount", "shipping_country",
          "currency", "items_json", "quantity", "price", "page_url")


def test_fields_are_read_from_what_is_written(probe: JavaProbe) -> None:
    """The fields the job reads come from the private payload, in the same pass: text as
    written (numbers and booleans as their text), amounts as numbers, integral quantities."""
    purchase = {
        "event_type": "purchase", "timestamp": "2025-07-16T10:30:00Z", "customer_id": "c1",
        "items": [{"product_id": "p", "quantity": 2, "unit_price": 29.99}],
        "total_amount": 59.98, "currency": "USD",
        "shipping_address": {"country": "ES", "city": "Madrid", "postal_code": "28001"},
        "extra": {"deep": [1, {}]}}
    payloads = [
        json.dumps(purchase),
        '{"event_type": "add_to_cart", "user_id": 42, "quantity": 1.5, "price": "9.99"}',
        '{"event_type": null, "page_url": {"not": "scalar"}, "quantity": 2.0}',
        '{"event_type": "page_view", "page_url": "/a?email=x%40y.z&q=1", "user_id": true}',
    ]
    spec = PrivacyRules().spec()
    answers = list(probe.ask_many({"payload": p, "key": KEY, "spec": spec} for p in payloads))
    columns = {f: [a["fields"][f] for a in answers] for f in FIELDS}
    assert columns["event_type"] == ["purchase", "add_to_cart", None, "page_view"]
    assert columns["customer_id"] == [hash_id(KEY, "c1"), None, None, None]
    # a number under a hashed field is hashed as its text; a boolean is kept (read as text)
    assert columns["user_id"] == [None, hash_id(KEY, "42"), None, "true"]
    assert columns["total_amount"][0] == pytest.approx(59.98)
    assert columns["shipping_country"] == ["ES", None, None, None]
    assert columns["currency"] == ["USD", None, None, None]
    assert json.loads(columns["items_json"][0]) == purchase["items"]
    assert columns["quantity"] == [None, None, 2, None]  # 1.5 is not an INT, 2.0 is
    assert columns["price"] == [None, None, None, None]  # a string is not an amount
    assert columns["page_url"] == [None, None, None, "/a?q=1"]  # secrets stripped
    # the items are copied as written, and pseudonymised like the rest
    assert answers[0]["payload"].count(columns["items_json"][0]) == 1


def test_catalog_and_country_fields(probe: JavaProbe) -> None:
    payload = json.dumps({"product_id": "p1", "name": "Phone", "brand": "Acme",
                          "country": "es", "product_name": "Phone X"})
    answer = probe.ask({"payload": payload, "key": KEY, "spec": PrivacyRules().spec()})
    assert {f: answer["fields"][f] for f in ("name", "brand", "country", "product_name")} == {
        "name": "Phone", "brand": "Acme", "country": "es", "product_name": "Phone X"}
