"""ecomflow.ingest.ingester: the design's EcommerceDataIngester on the producer SDK.

In-process with moto for the API's rules (fast); against the real kinesis-mock (``stack``
marker) for the design's usage example run as written, with the endpoint taken from the
environment, plus the anonymous key and a failure on a missing stream.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from ecomflow.ingest.delivery import DeliveryError
from ecomflow.ingest.ingester import EcommerceDataIngester
from ecomflow.kinesis.client import kinesis_client
from ecomflow.kinesis.records import FailedRecord
from ecomflow.local.stack import StackInfo
from flink_jobs.contract import EventValidationError, validate
from tests.kinesis_reader import create_active_stream, read_stream

DESIGN_STREAM = "ecommerce-data-platform-prod-ecommerce-events"
DESIGN_REGION = "us-east-1"  # the design's default region
DESIGN_DOC = Path("/work/shared/reference/original-design.md")

# The design's usage example ("API de Ingesta"), copied literally: everything after the class
# definition (the import is replaced by
# `from ecomflow.ingest.ingester import EcommerceDataIngester`).
DESIGN_EXAMPLE = """\
# Ejemplo de uso
ingester = EcommerceDataIngester('ecommerce-data-platform-prod-ecommerce-events')

# Enviar transacci√≥n
transaction = {
    'customer_id': 'cust_12345',
    'amount': 129.99,
    'currency': 'USD',
    'items': [
        {'product_id': 'prod_567', 'quantity': 1, 'price': 129.99}
    ]
}
sequence_number = ingester.send_transaction(transaction)
print(f"Transacci√≥n enviada: {sequence_number}")
"""

_AWS_ENV = (
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_KINESIS",
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_DEFAULT_REGION",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
)


def _transaction() -> dict[str, Any]:
    return {
        "customer_id": "cust_12345",
        "amount": 129.99,
        "currency": "USD",
        "items": [{"product_id": "prod_567", "quantity": 1, "price": 129.99}],
    }


def _page_view(user_id: str | None = "user_1") -> dict[str, Any]:
    event: dict[str, Any] = {"event_type": "page_view", "page_url": "/home", "session_id": "s1"}
    if user_id is not None:
        event["user_id"] = user_id
    return event


def _assert_zoned_utc(timestamp: str) -> None:
    moment = datetime.fromisoformat(timestamp)
    assert moment.utcoffset() is not None and moment.utcoffset().total_seconds() == 0
    assert abs((datetime.now(UTC) - moment).total_seconds()) < 120


def test_design_example_matches_the_design_document() -> None:
    if not DESIGN_DOC.exists():
        pytest.skip("the design document is not on this machine")
    assert DESIGN_EXAMPLE in DESIGN_DOC.read_text(encoding="utf-8")


# --- moto: the API's rules --------------------------------------------------------------------


@pytest.fixture
def moto_stream(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name in _AWS_ENV:
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        client = boto3.client("kinesis", region_name=DESIGN_REGION)
        client.create_stream(StreamName=DESIGN_STREAM, ShardCount=2)
        yield client


@pytest.mark.parametrize("missing", ["customer_id", "amount", "currency"])
def test_required_fields_raise_the_designs_error(moto_stream: Any, missing: str) -> None:
    data = _transaction()
    del data[missing]
    with EcommerceDataIngester(DESIGN_STREAM) as ingester:
        with pytest.raises(ValueError) as raised:
            ingester.send_transaction(data)
        with pytest.raises(ValueError):
            ingester.send_transaction_async(data)
    assert type(raised.value) is ValueError  # the design's plain ValueError, same text
    assert str(raised.value) == f"Campo requerido faltante: {missing}"
    assert read_stream(moto_stream, DESIGN_STREAM) == []


def test_first_missing_field_in_the_designs_order(moto_stream: Any) -> None:
    with EcommerceDataIngester(DESIGN_STREAM) as ingester:
        with pytest.raises(ValueError, match=r"^Campo requerido faltante: customer_id$"):
            ingester.send_transaction({"currency": "USD"})


def test_moto_transaction_round_trip_without_mutation(moto_stream: Any) -> None:
    data = _transaction()
    before = copy.deepcopy(data)
    with EcommerceDataIngester(DESIGN_STREAM) as ingester:
        sequence = ingester.send_transaction(data)
    assert data == before  # the design wrote timestamp and event_type into it
    (record,) = read_stream(moto_stream, DESIGN_STREAM)
    assert record["SequenceNumber"] == sequence
    assert record["PartitionKey"] == "cust_12345"
    sent = json.loads(record["Data"])
    assert sent["event_type"] == "transaction"
    _assert_zoned_utc(sent["timestamp"])
    assert {k: sent[k] for k in before} == before
    assert validate(sent, now=datetime.now(UTC)) == []


def test_moto_user_event_keys_and_anonymous(moto_stream: Any) -> None:
    anonymous = _page_view(user_id=None)
    before = copy.deepcopy(anonymous)
    with EcommerceDataIngester(DESIGN_STREAM) as ingester:
        first = ingester.send_user_event(_page_view("user_7"))
        second = ingester.send_user_event(anonymous)
        third = ingester.send_user_event({**_page_view(), "user_id": None})
    assert anonymous == before
    by_seq = {r["SequenceNumber"]: r for r in read_stream(moto_stream, DESIGN_STREAM)}
    assert [by_seq[s]["PartitionKey"] for s in (first, second, third)] == [
        "user_7",
        "anonymous",
        "anonymous",
    ]
    for record in by_seq.values():
        event = json.loads(record["Data"])
        _assert_zoned_utc(event["timestamp"])
        assert validate(event, now=datetime.now(UTC)) == []


def test_moto_callers_event_id_is_kept(moto_stream: Any) -> None:
    with EcommerceDataIngester(DESIGN_STREAM) as ingester:
        assert ingester.send_user_event_async({**_page_view(), "event_id": "e-1"}) == "e-1"
        ingester.send_user_event({**_page_view(), "event_id": "e-2"})
    got = [json.loads(r["Data"])["event_id"] for r in read_stream(moto_stream, DESIGN_STREAM)]
    assert sorted(got) == ["e-1", "e-2"]


def test_moto_invalid_event_is_rejected_before_sending(moto_stream: Any) -> None:
    with EcommerceDataIngester(DESIGN_STREAM) as ingester:
        with pytest.raises(EventValidationError, match="event_type"):
            ingester.send_user_event({"user_id": "u1"})  # no event_type
        with pytest.raises(EventValidationError, match="currency"):
            ingester.send_transaction({**_transaction(), "currency": "usd"})
    assert read_stream(moto_stream, DESIGN_STREAM) == []


def test_moto_missing_stream_raises(moto_stream: Any) -> None:
    ingester = EcommerceDataIngester("no-such-stream")
    with pytest.raises(DeliveryError) as raised:
        ingester.send_transaction(_transaction())
    (failure,) = raised.value.result.failed
    assert failure.error_code == "ResourceNotFoundException"
    assert failure.event["customer_id"] == "cust_12345"
    assert ingester.close().failed == ()  # a raised failure is not reported twice


def test_moto_async_batches_and_reports(moto_stream: Any) -> None:
    events = [_page_view(f"user_{i % 5}") for i in range(300)]
    with EcommerceDataIngester(DESIGN_STREAM) as ingester:
        ids = [ingester.send_user_event_async(e) for e in events]
        ids.append(ingester.send_transaction_async(_transaction()))
        sequence = ingester.send_transaction(_transaction())  # behind the buffered ones
        result = ingester.flush()
    assert result.accepted == 301 and result.failed == ()
    got = [json.loads(r["Data"]) for r in read_stream(moto_stream, DESIGN_STREAM)]
    assert isinstance(sequence, str) and sequence
    assert len(got) == 302 and len({e["event_id"] for e in got}) == 302  # one id per call
    assert set(ids) < {e["event_id"] for e in got}


def test_moto_async_failures_raise_on_close_or_reach_callback(moto_stream: Any) -> None:
    ingester = EcommerceDataIngester("no-such-stream")
    ingester.send_user_event_async(_page_view())
    with pytest.raises(DeliveryError) as raised:
        ingester.close()
    assert [f.error_code for f in raised.value.result.failed] == ["ResourceNotFoundException"]

    heard: list[FailedRecord] = []
    with EcommerceDataIngester("no-such-stream", on_failure=heard.append) as ingester:
        event_id = ingester.send_user_event_async(_page_view())
    assert [f.event["event_id"] for f in heard] == [event_id]


# --- the real kinesis-mock --------------------------------------------------------------------


def _stack_client(stack: StackInfo) -> Any:
    return kinesis_client(stack.kinesis_endpoint, DESIGN_REGION, stack.access_key, stack.secret_key)


@pytest.fixture
def stack_env(stack: StackInfo, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The environment a user sets to point the design's code at the local stack; yields a
    client for checking what landed."""
    for name in _AWS_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL_KINESIS", stack.kinesis_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", stack.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", stack.secret_key)
    client = _stack_client(stack)
    try:
        yield client
    finally:
        client.close()


@pytest.mark.stack
def test_design_example_runs_as_written(stack_env: Any, capsys: pytest.CaptureFixture) -> None:
    create_active_stream(stack_env, DESIGN_STREAM)
    namespace: dict[str, Any] = {"EcommerceDataIngester": EcommerceDataIngester}
    try:
        exec(compile(DESIGN_EXAMPLE, "design_example.py", "exec"), namespace)
    finally:
        if "ingester" in namespace:
            namespace["ingester"].close()
    sequence = namespace["sequence_number"]
    assert capsys.readouterr().out == f"Transacci√≥n enviada: {sequence}\n"
    assert namespace["transaction"] == _transaction()  # not mutated

    landed = [
        r
        for r in read_stream(stack_env, DESIGN_STREAM)
        if json.loads(r["Data"]).get("customer_id") == "cust_12345"
    ]
    assert [r["SequenceNumber"] for r in landed] == [sequence]  # once, with that number
    (record,) = landed
    assert record["PartitionKey"] == "cust_12345"
    event = json.loads(record["Data"])
    assert validate(event, now=datetime.now(UTC)) == []
    assert {k: event[k] for k in _transaction()} == _transaction()  # the design's fields
    assert event["event_type"] == "transaction"
    _assert_zoned_utc(event["timestamp"])
    assert event["event_id"]


@pytest.mark.stack
def test_stack_anonymous_user_event_and_missing_stream(stack_env: Any) -> None:
    name = f"ingester-{uuid.uuid4().hex[:8]}"
    create_active_stream(stack_env, name, shards=1)
    with EcommerceDataIngester(name) as ingester:
        sequence = ingester.send_user_event(_page_view(user_id=None))
    (record,) = read_stream(stack_env, name)
    assert (record["SequenceNumber"], record["PartitionKey"]) == (sequence, "anonymous")
    assert validate(json.loads(record["Data"]), now=datetime.now(UTC)) == []

    ingester = EcommerceDataIngester(f"missing-{uuid.uuid4().hex[:8]}")
    try:
        with pytest.raises(DeliveryError) as raised:
            ingester.send_transaction(_transaction())
        assert [f.error_code for f in raised.value.result.failed] == ["ResourceNotFoundException"]
    finally:
        ingester.close()
