"""flink_jobs.contract: the design's examples, one valid record per type, every dead-letter
reason, event ids, aliases, the generator's traffic, and the schema files themselves."""

from __future__ import annotations

import ast
import copy
import json
import pickle
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ecomflow.synth.generate import generate_events, generate_products
from flink_jobs import contract
from flink_jobs.contract import (
    CONTRACT_VERSION,
    EVENT_TYPES,
    REASONS,
    EventValidationError,
    Issue,
    canonical_type,
    check,
    derive_event_id,
    schema,
    user_key,
    validate,
    validate_payload,
    with_event_id,
)
from tests.support.design_examples import (
    DESIGN_INGESTER_TRANSACTION,
    DESIGN_PAGE_VIEW,
    DESIGN_PRODUCT,
    DESIGN_PURCHASE,
)

CONTRACT_DIR = Path(contract.__file__).parent
SCHEMA_FILES = sorted((CONTRACT_DIR / CONTRACT_VERSION).glob("*.schema.json"))
NOW = datetime(2025, 7, 17, tzinfo=UTC)  # after every example and all generated traffic

def ingester_sends(transaction: dict) -> dict:
    """What EcommerceDataIngester.send_transaction puts on the stream: it adds event_type
    "transaction" and a timestamp. The design's ingester uses the zone-less
    datetime.utcnow().isoformat(), which the contract rejects (bad_timestamp); our own ingester
    sends the same instant with its zone, as here."""
    return {
        **transaction,
        "timestamp": "2025-07-16T10:30:00.123456+00:00",
        "event_type": "transaction",
    }


@pytest.mark.parametrize(
    "text",
    [DESIGN_PURCHASE, DESIGN_PAGE_VIEW, DESIGN_PRODUCT],
    ids=["purchase", "page_view", "product"],
)
def test_design_examples_validate_unchanged(text: str) -> None:
    record = json.loads(text)
    assert validate(record, now=NOW) == []
    record_before = copy.deepcopy(record)
    check(record, now=NOW)
    assert record == record_before  # validation never touches the record


def test_design_examples_have_the_expected_types() -> None:
    assert canonical_type(json.loads(DESIGN_PURCHASE)) == "purchase"
    assert canonical_type(json.loads(DESIGN_PAGE_VIEW)) == "page_view"
    assert canonical_type(json.loads(DESIGN_PRODUCT)) == "product"  # no event_type at all


def test_design_ingester_transaction_validates_as_a_purchase() -> None:
    sent = ingester_sends(DESIGN_INGESTER_TRANSACTION)
    assert canonical_type(sent) == "purchase"
    assert validate(sent, now=NOW) == []
    assert user_key(sent) == "cust_12345"


def test_design_ingester_zone_less_timestamp_is_rejected() -> None:
    sent = {
        **ingester_sends(DESIGN_INGESTER_TRANSACTION),
        "timestamp": "2025-07-16T10:30:00.123456",
    }
    assert [(i.reason, i.field) for i in validate(sent, now=NOW)] == [
        ("bad_timestamp", "timestamp")
    ]


def test_design_pipeline_test_event_is_rejected() -> None:
    # "Tests de Pipeline" sends this bare purchase: no zone, no currency, no items. It is not
    # one of the contract's examples: it breaks three rules (zone, currency, items).
    event = {
        "event_type": "purchase",
        "timestamp": "2025-07-16T10:30:00.123456",
        "customer_id": "test_customer_123",
        "amount": 99.99,
    }
    assert {(i.reason, i.field) for i in validate(event, now=NOW)} == {
        ("bad_timestamp", "timestamp"),
        ("missing_field", "currency"),
        ("missing_field", "items"),
    }


def test_js_sdk_payloads() -> None:
    # sendEvent spreads the data and adds session_id and user_id; getUserId() is null for an
    # anonymous visitor and getSessionId() falls back to "anonymous".
    page_view = {
        "event_type": "page_view",
        "page_url": "https://shop.example/",
        "referrer": "",
        "user_agent": "Mozilla/5.0",
        "timestamp": "2025-07-16T10:30:00.000Z",
        "session_id": "anonymous",
        "user_id": None,
    }
    assert validate(page_view, now=NOW) == []
    assert user_key(page_view) is None
    # trackProductView sets no timestamp: the collector must stamp one before validating.
    product_view = {
        "event_type": "product_view",
        "product_id": "prod_111",
        "product_name": "Smartphone Pro Max",
        "category": "electronics",
        "price": 899.99,
        "session_id": "sess_1",
        "user_id": "user_1",
    }
    assert [(i.reason, i.field) for i in validate(product_view, now=NOW)] == [
        ("missing_field", "timestamp")
    ]
    assert validate({**product_view, "timestamp": "2025-07-16T10:30:00.000Z"}, now=NOW) == []


# --- one valid record per type ---------------------------------------------------------------

VALID: dict[str, dict[str, Any]] = {
    "page_view": {
        "event_type": "page_view",
        "timestamp": "2025-07-16T12:30:00+02:00",
        "user_id": "user_1",
        "page_url": "/",
    },
    "product_view": {
        "event_type": "product_view",
        "timestamp": "2025-07-16T10:30:00.5Z",
        "user_id": "user_1",
        "product_id": "prod_101",
    },
    "add_to_cart": {
        "event_type": "add_to_cart",
        "timestamp": "2025-07-16T10:30:00Z",
        "user_id": "user_1",
        "product_id": "prod_101",
        "quantity": 2,
        "price": 899.99,
        "currency": "USD",
    },
    "remove_from_cart": {
        "event_type": "remove_from_cart",
        "timestamp": "2025-07-16T10:30:00Z",
        "user_id": None,
        "product_id": "prod_101",
        "quantity": 1,
    },
    "purchase": {
        "event_type": "purchase",
        "timestamp": "2025-07-16T10:30:00Z",
        "customer_id": "cust_1",
        "currency": "EUR",
        "total_amount": 30.3,
        "items": [{"product_id": "prod_101", "quantity": 3, "unit_price": 10.1}],
    },
    "product": {
        "event_type": "product",
        "product_id": "prod_101",
        "name": "Yoga Mat",
        "price": 29.99,
        "currency": "USD",
        "updated_at": "2025-07-16T10:30:00Z",
    },
}


def test_every_type_has_a_valid_example() -> None:
    assert set(VALID) == set(EVENT_TYPES)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_valid_minimal_record(event_type: str) -> None:
    record = VALID[event_type]
    assert canonical_type(record) == event_type
    assert validate(record, now=NOW) == []
    # producers add fields: unknown ones are allowed
    assert validate({**record, "app_version": "1.2.3", "experiment": {"id": 7}}, now=NOW) == []


@pytest.mark.parametrize("event_type", [t for t in EVENT_TYPES if t != "product"])
def test_optional_fields_may_be_null(event_type: str) -> None:
    record = {**VALID[event_type], "event_id": None, "session_id": None}
    assert validate(record, now=NOW) == []


# --- every reason code, produced by a crafted record, naming its field ----------------------

PV = VALID["page_view"]
ATC = VALID["add_to_cart"]
BUY = VALID["purchase"]
CATALOG = {k: v for k, v in VALID["product"].items() if k != "event_type"}

BAD_RECORDS: list[tuple[str, str, Any]] = [
    ("unknown_event_type", "event_type", {**PV, "event_type": "pageview"}),
    ("unknown_event_type", "event_type", {**PV, "event_type": None}),
    ("missing_field", "event_type", {k: v for k, v in PV.items() if k != "event_type"}),
    ("missing_field", "timestamp", {k: v for k, v in PV.items() if k != "timestamp"}),
    ("missing_field", "user_id", {k: v for k, v in PV.items() if k != "user_id"}),
    ("missing_field", "page_url", {k: v for k, v in PV.items() if k != "page_url"}),
    ("missing_field", "quantity", {k: v for k, v in ATC.items() if k != "quantity"}),
    ("missing_field", "customer_id", {k: v for k, v in BUY.items() if k != "customer_id"}),
    ("missing_field", "total_amount", {k: v for k, v in BUY.items() if k != "total_amount"}),
    (
        "missing_field",
        "items[0].unit_price",
        {**BUY, "items": [{"product_id": "prod_101", "quantity": 3}]},
    ),
    ("missing_field", "updated_at", {k: v for k, v in CATALOG.items() if k != "updated_at"}),
    ("wrong_type", "quantity", {**ATC, "quantity": "2"}),
    ("wrong_type", "quantity", {**ATC, "quantity": 1.5}),
    ("wrong_type", "quantity", {**ATC, "quantity": True}),
    ("wrong_type", "price", {**ATC, "price": "899.99"}),
    ("wrong_type", "user_id", {**PV, "user_id": 12345}),
    ("wrong_type", "timestamp", {**PV, "timestamp": 1752661800000}),
    ("wrong_type", "items", {**BUY, "items": {"product_id": "prod_101"}}),
    ("wrong_type", "price", {**CATALOG, "price": None}),
    ("out_of_range", "quantity", {**ATC, "quantity": 0}),
    ("out_of_range", "price", {**ATC, "price": -0.01}),
    (
        "out_of_range",
        "items[0].quantity",
        {
            **BUY,
            "items": [{"product_id": "prod_101", "quantity": -3, "unit_price": 10.1}],
            "total_amount": 0,
        },
    ),
    ("out_of_range", "items", {**BUY, "items": []}),
    ("out_of_range", "currency", {**BUY, "currency": "eur"}),
    ("out_of_range", "currency", {**BUY, "currency": "EUR\n"}),
    ("out_of_range", "page_url", {**PV, "page_url": ""}),
    ("out_of_range", "stock_quantity", {**CATALOG, "stock_quantity": -1}),
    ("total_mismatch", "total_amount", {**BUY, "total_amount": 30.32}),
    (
        "total_mismatch",
        "amount",
        {k: v for k, v in {**BUY, "amount": 3.03}.items() if k != "total_amount"},
    ),
    ("bad_timestamp", "timestamp", {**PV, "timestamp": "2025-07-16T10:30:00"}),
    ("bad_timestamp", "timestamp", {**PV, "timestamp": "2025-07-16 10:30:00Z"}),
    ("bad_timestamp", "timestamp", {**PV, "timestamp": "16/07/2025 10:30"}),
    ("bad_timestamp", "timestamp", {**PV, "timestamp": "2025-02-30T10:30:00Z"}),
    ("bad_timestamp", "updated_at", {**CATALOG, "updated_at": "2025-07-16"}),
    ("future_timestamp", "timestamp", {**PV, "timestamp": "2025-07-17T00:05:01Z"}),
    ("future_timestamp", "updated_at", {**CATALOG, "updated_at": "2030-01-01T00:00:00Z"}),
    ("not_an_object", "$", ["not", "an", "object"]),
]

BAD_PAYLOADS: list[tuple[str, str, bytes | str]] = [
    ("not_json", "$", b'{"event_type": "page_view",'),
    ("not_json", "$", b"\xff\xfe not utf-8"),
    ("not_json", "$", '{"event_type": "add_to_cart", "price": NaN}'),
    ("not_json", "$", "[" * 100_000),
    ("not_an_object", "$", b'"page_view"'),
    ("not_an_object", "$", "[1, 2]"),
    ("payload_too_large", "$", b'{"pad": "' + b"x" * 1_000_000 + b'"}'),
    ("payload_too_large", "$", '{"pad": "' + "\u00e9" * 500_000 + '"}'),  # 1 M bytes in UTF-8
]


@pytest.mark.parametrize(
    ("reason", "field", "record"),
    BAD_RECORDS,
    ids=[f"{r}-{f}-{i}" for i, (r, f, _) in enumerate(BAD_RECORDS)],
)
def test_bad_record_names_reason_and_field(reason: str, field: str, record: Any) -> None:
    issues = validate(record, now=NOW)
    assert issues, "expected the record to be rejected"
    assert (reason, field) in {(i.reason, i.field) for i in issues}, issues
    assert all(i.reason in REASONS for i in issues)
    with pytest.raises(EventValidationError) as raised:
        check(record, now=NOW)
    assert raised.value.issues == issues
    assert str(raised.value).startswith(f"invalid event: {issues[0].field}: {issues[0].reason}")


@pytest.mark.parametrize(
    ("reason", "field", "payload"),
    BAD_PAYLOADS,
    ids=[f"{r}-{i}" for i, (r, _, _) in enumerate(BAD_PAYLOADS)],
)
def test_bad_payload_names_reason(reason: str, field: str, payload: bytes | str) -> None:
    record, issues = validate_payload(payload, now=NOW)
    assert record is None
    assert [(i.reason, i.field) for i in issues] == [(reason, field)]


def test_every_reason_code_is_produced() -> None:
    produced = {r for r, _, _ in BAD_RECORDS} | {r for r, _, _ in BAD_PAYLOADS}
    assert produced == set(REASONS)


def test_validate_payload_returns_the_record() -> None:
    text = json.dumps(VALID["purchase"])
    for payload in (text, text.encode()):
        record, issues = validate_payload(payload, now=NOW)
        assert record == VALID["purchase"] and issues == []
    # a JSON object with issues is returned too, so the caller can dead-letter it with fields
    record, issues = validate_payload(json.dumps({**PV, "page_url": 5}), now=NOW)
    assert record is not None and [(i.reason, i.field) for i in issues] == [
        ("wrong_type", "page_url")
    ]
    assert validate_payload(b'{"a": 1}', max_bytes=7)[1][0].reason == "payload_too_large"
    assert validate_payload(b'{"a": 1}', max_bytes=8)[1][0].reason == "missing_field"


def test_every_issue_is_reported_not_just_the_first() -> None:
    record = {"event_type": "add_to_cart", "timestamp": "yesterday", "user_id": "", "quantity": 0}
    assert {(i.reason, i.field) for i in validate(record, now=NOW)} == {
        ("bad_timestamp", "timestamp"),
        ("out_of_range", "user_id"),
        ("missing_field", "product_id"),
        ("out_of_range", "quantity"),
    }


def test_future_tolerance_and_now() -> None:
    record = {**PV, "timestamp": "2025-07-17T00:05:00Z"}  # exactly now + 5 min: allowed
    assert validate(record, now=NOW) == []
    assert validate(record, now=NOW, max_future=timedelta(0))[0].reason == "future_timestamp"
    assert validate(record) == []  # default now: the real clock, long after 2025
    with pytest.raises(ValueError, match="timezone-aware"):
        validate(record, now=datetime(2025, 7, 17))


def test_issue_and_error_shape() -> None:
    issue = Issue("missing_field", "currency", "currency is required")
    assert str(issue) == "currency: missing_field: currency is required"
    error = EventValidationError([issue, issue])
    assert isinstance(error, ValueError)
    assert pickle.loads(pickle.dumps(error)).issues == [issue, issue]
    assert (
        str(error) == "invalid event: currency: missing_field: currency is required "
        "(and 1 more issue)"
    )


# --- timestamps ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "stamp",
    [
        "2025-07-16T10:30:00Z",
        "2025-07-16T10:30:00.1Z",
        "2025-07-16T10:30:00.123456789Z",
        "2025-07-16T12:30:00+02:00",
        "2025-07-16T05:30:00-05:00",
        "2025-07-16T10:30:00+00:00",
        "2024-02-29T23:59:59Z",
    ],
)
def test_zoned_timestamps_are_accepted(stamp: str) -> None:
    assert validate({**PV, "timestamp": stamp}, now=NOW) == []


@pytest.mark.parametrize(
    "stamp",
    [
        "2025-07-16T10:30:00",
        "2025-07-16T10:30Z",
        "2025-07-16t10:30:00z",
        "2025-07-16T10:30:00+0200",
        "2025-07-16T10:30:00 Z",
        "2025-07-16T24:00:00Z",
        "2025-13-01T10:30:00Z",
        "2025-07-16T10:30:00.Z",
        "2025-07-16T10:30:00.1234567890Z",
        "2025-07-16T10:30:00Z\n",
        "2025-07-16T10:30:00+15:00",
        "2025-02-29T10:30:00Z",
        "",
    ],
)
def test_other_timestamps_are_bad(stamp: str) -> None:
    assert [(i.reason, i.field) for i in validate({**PV, "timestamp": stamp}, now=NOW)] == [
        ("bad_timestamp", "timestamp")
    ]


# --- types, aliases, user key ----------------------------------------------------------------


def test_transaction_is_an_alias_of_purchase() -> None:
    record = {**BUY, "event_type": "transaction"}
    assert canonical_type(record) == "purchase"
    assert validate(record, now=NOW) == []
    assert schema("transaction") == schema("purchase")
    bad = {**record, "total_amount": 1.0}
    assert [(i.reason, i.field) for i in validate(bad, now=NOW)] == [
        ("total_mismatch", "total_amount")
    ]


def test_amount_and_price_aliases() -> None:
    record = {k: v for k, v in BUY.items() if k != "total_amount"}
    record["amount"] = 30.3
    record["items"] = [{"product_id": "prod_101", "quantity": 3, "price": 10.1}]
    assert validate(record, now=NOW) == []
    # both totals present: each must match
    assert validate({**record, "total_amount": 30.3}, now=NOW) == []
    assert [(i.reason, i.field) for i in validate({**record, "total_amount": 30}, now=NOW)] == [
        ("total_mismatch", "total_amount")
    ]


def test_total_tolerance_is_one_cent() -> None:
    items = [{"product_id": "p", "quantity": 3, "unit_price": 0.1}]  # 0.30000000000000004
    base = {**BUY, "items": items}
    assert validate({**base, "total_amount": 0.3}, now=NOW) == []
    assert validate({**base, "total_amount": 0.31}, now=NOW) == []
    assert validate({**base, "total_amount": 0.29}, now=NOW) == []
    assert validate({**base, "total_amount": 0.32}, now=NOW)[0].reason == "total_mismatch"


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"event_type": "transaction"}, "purchase"),
        ({"event_type": "product"}, "product"),
        ({"product_id": "p", "name": "n"}, "product"),
        ({"product_id": "p", "product_name": "n"}, None),  # a product_view without event_type
        ({"product_id": "p"}, None),
        ({"event_type": "PURCHASE"}, None),
        ({"event_type": 1}, None),
        ({}, None),
    ],
)
def test_canonical_type(record: dict, expected: str | None) -> None:
    assert canonical_type(record) == expected
    if expected is None:
        # the dispatcher schema agrees: the record's type is the problem
        reasons = {(i.reason, i.field) for i in validate(record, now=NOW)}
        assert reasons & {("unknown_event_type", "event_type"), ("missing_field", "event_type")}


def test_user_key() -> None:
    assert user_key({"user_id": "u", "customer_id": "c"}) == "u"
    assert user_key({"user_id": None, "customer_id": "c"}) == "c"
    assert user_key(json.loads(DESIGN_PURCHASE)) == "cust_67890"
    assert user_key(json.loads(DESIGN_PAGE_VIEW)) == "user_12345"
    assert user_key({"user_id": ""}) is None
    assert user_key(json.loads(DESIGN_PRODUCT)) is None


def test_schema_lookup() -> None:
    for event_type in EVENT_TYPES:
        assert f"/{CONTRACT_VERSION}/{event_type}.schema.json" in schema(event_type)["$id"]
    assert "envelope" in schema("envelope")["$id"] and "event" in schema("event")["$id"]
    copy_ = schema("page_view")
    copy_["required"].append("nonsense")
    assert "nonsense" not in schema("page_view")["required"]
    with pytest.raises(ValueError, match="unknown event type 'click'"):
        schema("click")


# --- event ids -------------------------------------------------------------------------------


def test_derived_event_id_is_stable() -> None:
    record = json.loads(DESIGN_PURCHASE)
    shuffled = json.loads(
        json.dumps({k: record[k] for k in reversed(list(record))}, sort_keys=False)
    )
    shuffled["shipping_address"] = dict(reversed(list(record["shipping_address"].items())))
    assert list(shuffled) != list(record)
    assert derive_event_id(record) == derive_event_id(shuffled)
    # reformatted JSON text parses to the same record, so gets the same id
    assert derive_event_id(json.loads(json.dumps(record, indent=4))) == derive_event_id(record)
    # event_id itself is left out
    assert derive_event_id({**record, "event_id": "anything"}) == derive_event_id(record)
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
        derive_event_id(record),
    )


def test_derived_event_id_changes_with_any_value() -> None:
    record = json.loads(DESIGN_PURCHASE)
    base = derive_event_id(record)
    changed = [
        {**record, "timestamp": "2025-07-16T10:30:01Z"},
        {**record, "total_amount": 59.99},
        {**record, "currency": "EUR"},
        {**record, "shipping_address": {**record["shipping_address"], "city": "Sevilla"}},
        {**record, "items": [{**record["items"][0], "quantity": 3}]},
        {**record, "extra": None},
    ]
    ids = {derive_event_id(r) for r in changed}
    assert base not in ids and len(ids) == len(changed)


def test_with_event_id() -> None:
    record = json.loads(DESIGN_PAGE_VIEW)
    stamped = with_event_id(record)
    assert "event_id" not in record  # the input is not modified
    assert stamped == {**record, "event_id": derive_event_id(record)}
    assert with_event_id(stamped) == stamped
    assert with_event_id({**record, "event_id": None})["event_id"] == derive_event_id(record)
    assert with_event_id({**record, "event_id": "evt_1"})["event_id"] == "evt_1"
    assert validate(stamped, now=NOW) == []


# --- the generator's traffic -----------------------------------------------------------------


def test_generated_events_all_validate() -> None:
    events = list(generate_events(2000)) + generate_products()
    failures = [(e, validate(e, now=NOW)) for e in events]
    failures = [(e, issues) for e, issues in failures if issues]
    assert failures == []
    assert {canonical_type(e) for e in events} == set(EVENT_TYPES)


# --- the schema files ------------------------------------------------------------------------


def test_schema_files_are_valid_json_schemas() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    names = {p.name.removesuffix(".schema.json") for p in SCHEMA_FILES}
    assert names == {*EVENT_TYPES, *contract.CONTROL_TYPES, "envelope", "event"}
    for path in SCHEMA_FILES:
        document = json.loads(path.read_text())
        jsonschema.Draft202012Validator.check_schema(document)
        assert document["$id"].endswith(f"/events/{CONTRACT_VERSION}/{path.name}")


def _walk(node: Any) -> Any:
    if isinstance(node, dict):
        yield node
        for key, value in node.items():
            if key not in ("properties", "$defs"):
                yield from _walk(value)
            else:
                for sub in value.values():
                    yield from _walk(sub)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def test_schema_files_use_only_keywords_the_reason_mapping_knows() -> None:
    # Keywords that can fail map to a reason in contract._issues_from; new ones need a mapping.
    failing = {
        "type",
        "required",
        "enum",
        "const",
        "pattern",
        "minimum",
        "maximum",
        "exclusiveMaximum",
        "minLength",
        "maxLength",
        "minItems",
        "anyOf",
    }
    structural = {
        "$schema",
        "$id",
        "$ref",
        "$defs",
        "title",
        "description",
        "properties",
        "items",
        "allOf",
        "if",
        "then",
        "else",
    }
    for path in SCHEMA_FILES:
        for node in _walk(json.loads(path.read_text())):
            assert set(node) <= failing | structural, (path.name, set(node) - failing - structural)
            assert not ("$ref" in node and len(node) > 1), f"{path.name}: $ref with siblings"
            for alternative in node.get("anyOf", []):
                assert set(alternative) == {"required"}, path.name  # "one of these fields"


def test_timestamp_patterns_are_the_same() -> None:
    defs = schema("envelope")["$defs"]
    assert defs["timestamp"]["pattern"] == defs["optional_timestamp"]["pattern"]


def test_jsonschema_agrees_with_the_compiled_validator() -> None:
    # The schema files are the source of truth for every consumer (ajv, jsonschema, ...).
    # Another implementation must accept and reject exactly the records ours does (the two
    # checks beyond JSON Schema aside).
    jsonschema = pytest.importorskip("jsonschema")
    referencing = pytest.importorskip("referencing")
    documents = [json.loads(p.read_text()) for p in SCHEMA_FILES]
    registry = referencing.Registry().with_resources(
        (d["$id"], referencing.Resource.from_contents(d)) for d in documents
    )
    other = jsonschema.Draft202012Validator(schema("event"), registry=registry)
    beyond = {"total_mismatch", "future_timestamp"}
    records = [json.loads(t) for t in (DESIGN_PURCHASE, DESIGN_PAGE_VIEW, DESIGN_PRODUCT)]
    records += list(VALID.values()) + [r for _, _, r in BAD_RECORDS if isinstance(r, dict)]
    records += list(generate_events(300))
    for record in records:
        ours = {i.reason for i in validate(record, now=NOW)} - beyond
        if record.get("timestamp") == "2025-02-30T10:30:00Z":  # calendar check, not a pattern
            ours.discard("bad_timestamp")
        assert other.is_valid(record) == (not ours), (record, ours)


def test_contract_ships_without_tooling_imports() -> None:
    tree = ast.parse((CONTRACT_DIR / "__init__.py").read_text())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert not imported & {"pyflink", "boto3", "ecomflow", "jsonschema"}, imported
