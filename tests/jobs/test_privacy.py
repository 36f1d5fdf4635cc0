"""Privacy, run for real: no raw identifier reaches the lake or the warehouse, and
`ecomflow forget` erases a user from both and from the stream's later output.

The input is built here: three users with ids, customer ids, IP addresses, e-mails, postal codes
and secrets in URL query strings, over ten minutes, plus a dead letter naming one of them (the
dead letter keeps records as received: README "Privacy").
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from ecomflow.ingest.replay import replay
from ecomflow.kinesis.client import kinesis_client
from ecomflow.local.stack import StackInfo, warehouse_dsn
from ecomflow.privacy.forget import REQUEST_TABLES
from tests.jobs.lake_reader import JobLake, fresh_lake
from tests.jobs.privacy_view import hashed
from tests.kinesis_reader import create_active_stream, read_stream
from tests.support.jobs import run_cli, truncate_logs

pytestmark = [pytest.mark.flink, pytest.mark.stack]

BASE = datetime(2025, 7, 16, 10, 0, tzinfo=UTC)
UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/126.0.0.0 Safari/537.36")


def _user(name: str, n: int) -> dict[str, str]:
    return {"user_id": f"usr-{name}-{n}4f", "customer_id": f"cust-{name}-{n}9k",
            "ip": f"203.0.113.{10 + n}", "email": f"{name}.{n}@mail.example",
            "postal": f"{28001 + n * 1111}", "token": f"TOKEN-{name.upper()}-{n}Z"}


ALICE, BOB, CAROL = _user("alice", 1), _user("bob", 2), _user("carol", 3)


def _ts(seconds: float) -> str:
    return (BASE + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def visit(person: dict[str, str], start: float, *, buy: bool, tag: str) -> list[str]:
    """A visit: page view, product view, add to cart and (if `buy`) a purchase."""
    common = {"user_id": person["user_id"], "session_id": f"s-{tag}", "user_agent": UA,
              "ip_address": person["ip"]}
    url = (f"/product/home/lamp?email={person['email'].replace('@', '%40')}"
           f"&token={person['token']}&utm_source=news")
    events: list[dict[str, Any]] = [
        {**common, "event_id": f"{tag}-1", "event_type": "page_view", "timestamp": _ts(start),
         "page_url": url, "referrer": f"https://ref.example/?token={person['token']}&q=lamp",
         "email": person["email"]},
        {**common, "event_id": f"{tag}-2", "event_type": "product_view",
         "timestamp": _ts(start + 20), "page_url": "/product/home/lamp", "product_id": "p-lamp",
         "product_name": "Lamp", "category": "home", "price": 30.0},
        {**common, "event_id": f"{tag}-3", "event_type": "add_to_cart",
         "timestamp": _ts(start + 40), "product_id": "p-lamp", "quantity": 2, "price": 30.0},
    ]
    if buy:
        events.append({
            "event_id": f"{tag}-4", "event_type": "purchase", "timestamp": _ts(start + 60),
            "user_id": person["user_id"], "customer_id": person["customer_id"],
            "session_id": f"s-{tag}", "transaction_id": f"t-{tag}", "ip_address": person["ip"],
            "items": [{"product_id": "p-lamp", "quantity": 2, "unit_price": 30.0}],
            "total_amount": 60.0, "currency": "USD", "payment_method": "credit_card",
            "shipping_address": {"country": "ES", "city": "Madrid",
                                 "postal_code": person["postal"]}})
    return [json.dumps(event) for event in events]


def first_batch() -> list[str]:
    lines = (visit(ALICE, 0, buy=True, tag="a1") + visit(BOB, 30, buy=True, tag="b1")
             + visit(CAROL, 90, buy=False, tag="c1"))
    # A record the contract rejects (no event_type), naming Alice: it stays as received.
    lines.append(json.dumps({"timestamp": _ts(100), "user_id": ALICE["user_id"]}))
    return sorted(lines, key=lambda line: json.loads(line)["timestamp"])


def second_batch() -> list[str]:
    """An hour later: Alice (erased meanwhile) and Bob come back."""
    return sorted(visit(ALICE, 3600, buy=True, tag="a2") + visit(BOB, 3630, buy=False, tag="b2"),
                  key=lambda line: json.loads(line)["timestamp"])


def raw_identifiers(*people: dict[str, str]) -> set[str]:
    values = set()
    for person in people:
        values |= {person["user_id"], person["customer_id"], person["ip"], person["email"],
                   person["email"].replace("@", "%40"), person["postal"], person["token"]}
    return values


def lake_rows(lake: JobLake, datasets: tuple[str, ...] = (
        "events", "late_events", "sessions")) -> dict[str, list[dict[str, Any]]]:
    return {dataset: lake.rows(dataset) for dataset in datasets}


def warehouse_tables(dsn: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table and view, as text."""
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = 'public' ORDER BY 1")
        names = [row[0] for row in cur.fetchall()]
        tables = {}
        for name in names:
            cur.execute(f'SELECT * FROM "{name}"')  # noqa: S608 (names from the catalog)
            tables[name] = [tuple(str(v) for v in row) for row in cur.fetchall()]
        return tables


def occurrences(text_rows: dict[str, list[Any]], needles: set[str]) -> dict[str, set[str]]:
    """{table or dataset: the needles found anywhere in its rows}."""
    pattern = re.compile("|".join(re.escape(n) for n in sorted(needles, key=len, reverse=True)))
    found: dict[str, set[str]] = {}
    for name, rows in text_rows.items():
        hits = {m.group(0) for row in rows for m in pattern.finditer(str(row))}
        if hits:
            found[name] = hits
    return found


@pytest.fixture
def warehouse(stack: StackInfo) -> str:
    dsn = warehouse_dsn(stack)
    truncate_logs(dsn, *REQUEST_TABLES)  # and forget's request log
    return dsn


def assert_no_raw_identifier(lake: dict[str, list[dict[str, Any]]], test_lake: JobLake,
                             stack: StackInfo, dsn: str) -> None:
    """No raw identifier reached the lake or the warehouse; what replaced them works."""
    stored = hashed(stack.home)
    secrets = raw_identifiers(ALICE, BOB, CAROL)
    assert occurrences(lake, secrets) == {}
    assert occurrences(warehouse_tables(dsn), secrets) == {}
    # The dead letter is the one place raw records remain (own table, short retention).
    dead = test_lake.rows("dead_letter")
    assert occurrences({"dead_letter": dead}, secrets) == {"dead_letter": {ALICE["user_id"]}}

    # Joins and sessions still work, on the hashed ids.
    sessions = {(r["user_id"], r["events"], r["purchases"]) for r in lake["sessions"]}
    assert sessions == {(stored(ALICE["user_id"]), 4, 1), (stored(BOB["user_id"]), 4, 1),
                        (stored(CAROL["user_id"]), 3, 0)}
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT customer_id, frequency FROM rfm_scores ORDER BY 1")
        # RFM is per customer, identified as events are: user_id, else customer_id.
        assert cur.fetchall() == sorted([(stored(ALICE["user_id"]), 1),
                                         (stored(BOB["user_id"]), 1)])
    # What replaced them: hashes, the postal region, URLs without the secret parameters.
    purchase = next(json.loads(r["payload"]) for r in lake["events"]
                    if r["event_id"] == "a1-4")
    assert purchase["ip_address"] == stored(ALICE["ip"])
    assert purchase["shipping_address"]["postal_code"] == ALICE["postal"][:2]
    view = next(json.loads(r["payload"]) for r in lake["events"] if r["event_id"] == "a1-1")
    assert view["page_url"] == "/product/home/lamp?utm_source=news"
    assert view["referrer"] == "https://ref.example/?q=lamp"
    assert view["email"] == stored(ALICE["email"])


def _run_stream(stack: StackInfo, stream: str, lake: JobLake,
                monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("ECOMFLOW__KinesisSource__stream.name", stream)
    out = run_cli(stack, "run", *lake.args, "--idle-timeout", "10", "--from",
                  "TRIM_HORIZON", "--parallelism", "1")
    assert "stopped after idle timeout" in out
    return out


def _mentions(rows: list[Any], needles: set[str]) -> bool:
    return any(needle in str(row) for row in rows for needle in needles)


def test_no_raw_identifier_is_stored_and_forget_erases_a_user_everywhere(
        stack: StackInfo, warehouse: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stream run stores no raw identifier; then `ecomflow forget` erases Alice from the
    lake, the warehouse and the stream's later output."""
    client = kinesis_client(stack.kinesis_endpoint, stack.region, stack.access_key,
                            stack.secret_key)
    before_stream, after_stream = "privacy-before", "privacy-after"
    create_active_stream(client, before_stream, shards=1)
    create_active_stream(client, after_stream, shards=1)
    lake = fresh_lake(stack, "privacy")
    batch = Path(stack.home) / "privacy-first.jsonl"
    batch.write_text("\n".join(first_batch()) + "\n")
    assert replay(batch, stream_name=before_stream, client=client).records == len(first_batch())
    _run_stream(stack, before_stream, lake, monkeypatch)

    lake_before = lake_rows(lake)
    assert_no_raw_identifier(lake_before, lake, stack, warehouse)

    stored = hashed(stack.home)
    alice = {stored(ALICE["user_id"]), stored(ALICE["customer_id"])}
    tables_before = warehouse_tables(warehouse)
    assert _mentions(lake_before["events"], alice) and _mentions(lake_before["sessions"], alice)
    assert _mentions(tables_before["sessions_log"], alice)
    removed_rows = {name: sum(_mentions([row], alice) for row in rows)
                    for name, rows in tables_before.items()
                    if name.endswith("_log") and _mentions(rows, alice)}

    # Alice asks to be forgotten, under both of her ids.
    outputs = [run_cli(stack, "forget", ALICE[key], *lake.args, "--stream", after_stream)
               for key in ("user_id", "customer_id")]
    reported: Counter[str] = Counter()
    for line in "\n".join(outputs).splitlines():
        if line.startswith("warehouse:"):
            reported.update({t: int(n) for t, n in re.findall(r"(\w+_log) (\d+)", line)})
    assert reported == removed_rows

    # Nothing of hers is left; everybody else's rows are exactly as they were.
    lake_after = lake_rows(lake)
    tables_after = warehouse_tables(warehouse)
    for dataset, rows in lake_after.items():
        assert not _mentions(rows, alice), dataset
        assert Counter(map(str, rows)) == Counter(
            str(r) for r in lake_before[dataset] if not _mentions([r], alice)), dataset
    for name, rows in tables_after.items():
        if name.startswith("erasure_"):
            continue  # the request log holds the hash, by design
        if name.endswith("_log") or name in ("sessions", "transactions", "cart_abandoned"):
            assert not _mentions(rows, alice), name
            assert Counter(rows) == Counter(
                r for r in tables_before[name] if not _mentions([r], alice)), name
    # RFM's quintile scores are ranks among the customers left: recomputed without her.
    assert not _mentions(tables_after["rfm_scores"], alice)
    assert [row[:4] for row in tables_after["rfm_scores"]] == [
        row[:4] for row in tables_before["rfm_scores"] if not _mentions([row], alice)]
    # Per-minute counts carry no user id: they stay, as anonymous counts.
    assert tables_after["event_counts_minute"] == tables_before["event_counts_minute"]

    # The control events carry the hashes only.
    control = [json.loads(r["Data"]) for r in read_stream(client, after_stream)]
    assert {event["user_id"] for event in control} == alice
    assert not occurrences({"stream": control}, raw_identifiers(ALICE))

    # Twice is harmless.
    again = run_cli(stack, "forget", ALICE["user_id"], *lake.args, "--stream", after_stream)
    assert "already" in again
    assert {name: rows for name, rows in warehouse_tables(warehouse).items()
            if not name.startswith("erasure_")} == {
        name: rows for name, rows in tables_after.items() if not name.startswith("erasure_")}

    # Later output: Alice's new events are dropped by the job, Bob's pass.
    later = Path(stack.home) / "privacy-second.jsonl"
    later.write_text("\n".join(second_batch()) + "\n")
    replay(later, stream_name=after_stream, client=client)
    out = _run_stream(stack, after_stream, lake, monkeypatch)
    alice_later = sum(json.loads(line)["user_id"] == ALICE["user_id"] for line in second_batch())
    assert f"forgotten={alice_later} control=2" in out  # the repeated request sent nothing
    final = lake_rows(lake)
    assert not any(_mentions(rows, alice) for rows in final.values())
    assert not any(_mentions(rows, alice) for name, rows in warehouse_tables(warehouse).items()
                   if not name.startswith("erasure_"))
    assert {r["event_id"] for r in final["events"]} >= {"b2-1", "b2-2", "b2-3"}
    with psycopg2.connect(warehouse) as conn, conn.cursor() as cur:
        cur.execute("SELECT SUM(forgotten), SUM(control), SUM(records_in), SUM(valid) "
                    "FROM pipeline_health WHERE window_start >= %s",
                    (BASE.replace(tzinfo=None) + timedelta(minutes=59),))
        assert cur.fetchone() == (alice_later, 0, len(second_batch()) + 0,
                                  len(second_batch()) - alice_later)
