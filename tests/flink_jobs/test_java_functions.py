"""The job's Java functions, called through Flink SQL exactly as the job calls them."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from ecomflow import runner
from flink_jobs.sql_files import load_sql

pytestmark = pytest.mark.flink


@pytest.fixture(scope="module")
def t_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    runner.prepare_jvm(runner.require_jars(), tmp_path_factory.mktemp("logs"))
    from pyflink.table import EnvironmentSettings, TableEnvironment

    env = TableEnvironment.create(EnvironmentSettings.in_batch_mode())
    env.get_config().set("table.local-time-zone", "UTC")
    env.get_config().set("parallelism.default", "1")
    for name in ("fn_event_time_of", "fn_parse_event", "fn_tally"):
        env.execute_sql(load_sql(name))
    yield env


def query(t_env, expression: str, payloads: list[str]) -> list[object]:  # noqa: ANN001
    values = ", ".join("('" + p.replace("'", "''") + "')" for p in payloads)
    with t_env.execute_sql(
            f"SELECT {expression} FROM (VALUES {values}) AS v(payload)").collect() as rows:
        return [row[0] for row in rows]


def test_event_time_of(t_env) -> None:  # noqa: ANN001
    payloads = [
        '{"timestamp": "2025-07-16T10:30:00Z"}',
        '{"a": {"timestamp": "nested is ignored"}, "timestamp": "2025-07-16T12:30:00.5+02:00"}',
        '{"timestamp": "2025-07-16T10:30:00"}',       # no zone
        '{"timestamp": 1752661800}',                    # not a string
        '{"timestamp": "yesterday"}',
        '{"event_type": "page_view"}',                  # missing
        "not json", "[1, 2]", '{"timestamp": "2025-07-16T10:30:00Z"',  # truncated after field
    ]
    # rendered in UTC (the session zone): PyFlink cannot collect TIMESTAMP_LTZ values directly
    got = query(t_env, "CAST(CAST(event_time_of(payload) AS TIMESTAMP(3)) AS STRING)", payloads)
    assert got == ["2025-07-16 10:30:00.000", "2025-07-16 10:30:00.500",
                   None, None, None, None, None, None, "2025-07-16 10:30:00.000"]


FIELDS = ("event_type", "customer_id", "user_id", "total_amount", "shipping_country",
          "currency", "items_json", "quantity", "price", "page_url")


def test_parse_event_reads_the_envelope_once(t_env) -> None:  # noqa: ANN001
    purchase = {
        "event_type": "purchase", "timestamp": "2025-07-16T10:30:00Z", "customer_id": "c1",
        "items": [{"product_id": "p", "quantity": 2, "unit_price": 29.99}],
        "total_amount": 59.98, "currency": "USD",
        "shipping_address": {"country": "ES", "city": "Madrid"}, "extra": {"deep": [1, {}]}}
    payloads = [
        json.dumps(purchase),
        '{"event_type": "add_to_cart", "user_id": 42, "quantity": 1.5, "price": "9.99"}',
        '{"event_type": null, "page_url": {"not": "scalar"}}',
    ]
    # PyFlink cannot collect a NULL ROW, so fields are selected one by one
    columns = {f: query(t_env, f"parse_event(payload).{f}", payloads) for f in FIELDS}
    assert columns["event_type"] == ["purchase", "add_to_cart", None]
    assert columns["customer_id"] == ["c1", None, None]
    assert columns["user_id"] == [None, "42", None]      # scalars as text, like JSON_VALUE
    assert columns["total_amount"][0] == pytest.approx(59.98)
    assert columns["shipping_country"] == ["ES", None, None]
    assert columns["currency"] == ["USD", None, None]
    assert json.loads(columns["items_json"][0]) == purchase["items"]
    assert columns["quantity"] == [None, None, None]    # 1.5 is not an INT
    assert columns["price"] == [None, None, None]       # a string is not a DOUBLE
    assert columns["page_url"] == [None, None, None]    # an object is not a scalar


def test_parse_event_is_null_for_anything_but_an_object(t_env) -> None:  # noqa: ANN001
    payloads = ["not json", '"a string"', "[1, 2]", '{"event_type": "page_view"} trailing',
                '{"event_type": "page_view"', '{"event_type": "page_view"}']
    assert query(t_env, "parse_event(payload) IS NULL", payloads) == [
        True, True, True, True, True, False]


def test_event_time_of_falls_back_to_updated_at_for_catalog_records(t_env) -> None:  # noqa: ANN001
    payloads = [
        '{"product_id": "p1", "updated_at": "2025-07-16T09:00:00Z"}',
        '{"updated_at": "2025-07-16T09:00:00Z", "timestamp": "2025-07-16T10:00:00Z"}',
        '{"updated_at": "2025-07-16T09:00:00Z", "timestamp": "no zone"}',  # timestamp decides
    ]
    got = query(t_env, "CAST(CAST(event_time_of(payload) AS TIMESTAMP(3)) AS STRING)", payloads)
    assert got == ["2025-07-16 09:00:00.000", "2025-07-16 10:00:00.000", None]


def test_event_time_of_refuses_the_far_future(t_env) -> None:  # noqa: ANN001
    # A future timestamp would drag the watermark, and every later record, along with it.
    payloads = ['{"timestamp": "2099-01-01T00:00:00Z"}', '{"timestamp": "2025-07-16T10:30:00Z"}']
    got = query(t_env, "event_time_of(payload, 300) IS NULL", payloads)
    assert got == [True, False]


def test_parse_event_reads_catalog_and_country_fields(t_env) -> None:  # noqa: ANN001
    payloads = [json.dumps({"product_id": "p1", "name": "Phone", "brand": "Acme",
                            "country": "es", "product_name": "Phone X"})]
    got = {f: query(t_env, f"parse_event(payload).{f}", payloads)[0]
           for f in ("name", "brand", "country", "product_name")}
    assert got == {"name": "Phone", "brand": "Acme", "country": "es",
                   "product_name": "Phone X"}


def test_tally_passes_every_row(t_env) -> None:  # noqa: ANN001
    # Its counters are checked end to end against the oracle (tests/jobs/test_clean_stream.py).
    assert query(t_env, "tally('late', 1)", ["a", "b"]) == [True, True]
    assert query(t_env, "tally(CAST(NULL AS STRING), -1)", ["a"]) == [True]
