"""`ecomflow forget` on a real local stack (moto S3, PostgreSQL, kinesis-mock): two users' rows in
the warehouse and in lake partitions written with the job's schemas; one user is forgotten.
Nothing of them remains in the warehouse or the lake partitions, the other user's data is
untouched byte for byte, the report's numbers are exact, the stream gets a control event with
only the hash, a second run is harmless, and an interrupted rewrite resumes."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import psycopg2
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from ecomflow import cli
from ecomflow.kinesis.client import kinesis_client
from ecomflow.local import stack as local_stack
from ecomflow.local.stack import StackInfo
from ecomflow.privacy.forget import (
    ForgetError,
    PartitionDone,
    Stream,
    control_event,
    forget,
    hours_between,
    partitions_for,
    request_id_of,
    resume,
    user_filters,
)
from ecomflow.privacy.hashing import hash_id
from ecomflow.privacy.lake_rewrite import Lake
from ecomflow.run.local_run import local_hash_key
from flink_jobs.contract import validate
from tests.kinesis_reader import create_active_stream, read_stream

NOW = datetime(2025, 7, 20, 12, 0, tzinfo=UTC)
TS = pa.timestamp("ms")
MONEY = pa.decimal128(18, 2)

# The lake datasets' columns as the job writes them (sql/50_sinks/snk_lake__*.sql; partition
# columns live in the path, not in the files).
EVENTS = pa.schema([
    ("event_id", pa.string()), ("event_type", pa.string()), ("event_time", TS),
    ("user_id", pa.string()), ("customer_id", pa.string()), ("session_id", pa.string()),
    ("page_url", pa.string()), ("referrer", pa.string()), ("user_agent", pa.string()),
    ("device_type", pa.string()), ("product_id", pa.string()), ("product_name", pa.string()),
    ("category", pa.string()), ("price", MONEY), ("quantity", pa.int32()),
    ("transaction_id", pa.string()), ("total_amount", MONEY), ("currency", pa.string()),
    ("payment_method", pa.string()), ("shipping_country", pa.string()),
    ("items_json", pa.string()), ("device_class", pa.string()), ("browser", pa.string()),
    ("os", pa.string()), ("country", pa.string()), ("fx_rate_to_usd", pa.decimal128(18, 8)),
    ("price_usd", MONEY), ("total_amount_usd", MONEY), ("catalog_product_name", pa.string()),
    ("catalog_category", pa.string()), ("catalog_brand", pa.string()),
    ("catalog_price", MONEY), ("catalog_currency", pa.string()), ("payload", pa.string()),
])
LATE = pa.schema([
    ("event_id", pa.string()), ("event_type", pa.string()), ("event_time", TS),
    ("arrival_watermark", TS), ("user_id", pa.string()), ("payload", pa.string()),
    ("received_at", TS),
])
SESSIONS = pa.schema([
    ("session_id", pa.string()), ("user_id", pa.string()), ("session_start", TS),
    ("session_end", TS), ("duration_seconds", pa.int32()), ("client_session_id", pa.string()),
    ("events", pa.int64()), ("page_views", pa.int64()), ("product_views", pa.int64()),
    ("add_to_cart", pa.int64()), ("remove_from_cart", pa.int64()), ("purchases", pa.int64()),
    ("pages_viewed", pa.int64()), ("entry_page", pa.string()), ("exit_page", pa.string()),
    ("device_class", pa.string()), ("country", pa.string()), ("revenue_usd", MONEY),
    ("converted", pa.bool_()),
])
DEAD_LETTER = pa.schema([("payload", pa.string()), ("reason", pa.string()),
                         ("field", pa.string()), ("detail", pa.string()),
                         ("received_at", TS)])


def t(text: str) -> datetime:
    return datetime.fromisoformat(text)


def parquet(schema: pa.Schema, rows: list[dict[str, Any]]) -> bytes:
    """A file as Flink writes it: INT96 timestamps, snappy."""
    table = pa.Table.from_pylist([{n: r.get(n) for n in schema.names} for r in rows],
                                 schema=schema)
    out = io.BytesIO()
    pq.write_table(table, out, use_deprecated_int96_timestamps=True, compression="snappy")
    return out.getvalue()


def event(n: str, user: str | None, when: str, *, customer: str | None = None,
          kind: str = "page_view", extra: dict | None = None) -> dict[str, Any]:
    payload = {"event_type": kind, "timestamp": when + "Z", "user_id": user,
               "customer_id": customer, **(extra or {})}
    return {"event_id": n, "event_type": kind, "event_time": t(when), "user_id": user,
            "customer_id": customer, "page_url": "/p", "price": Decimal("9.99"),
            "quantity": 1, "fx_rate_to_usd": Decimal("1.00000000"),
            "payload": json.dumps(payload)}


@dataclass
class Scenario:
    """Two users' data: `a` is forgotten, `b` stays. Names are relative to the lake."""

    key: str
    a: str
    b: str
    lake: Lake
    dsn: str
    stream: Stream
    files: dict[str, bytes]

    @property
    def ha(self) -> str:
        return hash_id(self.key, self.a)

    @property
    def hb(self) -> str:
        return hash_id(self.key, self.b)


HR10 = "events/dt=2025-07-16/hr=10/part-0-0"
HR11_A = "events/dt=2025-07-16/hr=11/part-0-1"
HR11_B = "events/dt=2025-07-16/hr=11/part-1-0"
DAY2 = "events/dt=2025-07-17/hr=09/part-0-0"
LATE_FILE = "late_events/dt=2025-07-16/part-0-0"
SESSIONS_1 = "sessions/dt=2025-07-16/part-0-0"
SESSIONS_2 = "sessions/dt=2025-07-17/part-0-0"
DEAD = "dead_letter/dt=2025-07-16/part-0-0"
PARTITIONS = ["events/dt=2025-07-16/hr=10", "events/dt=2025-07-16/hr=11",
              "late_events/dt=2025-07-16", "sessions/dt=2025-07-16"]


def lake_files(key: str, a: str, b: str) -> dict[str, bytes]:
    ha, hb = hash_id(key, a), hash_id(key, b)
    return {
        # a's page view, a's purchase as a customer, b's two events, an anonymous visitor, and
        # a row whose payload names a (a referral): 3 of 6 rows are a's
        HR10: parquet(EVENTS, [
            event("e1", ha, "2025-07-16T10:50:00"),
            event("e2", None, "2025-07-16T10:55:00", customer=ha, kind="purchase"),
            event("e3", hb, "2025-07-16T10:05:00"),
            event("e4", hb, "2025-07-16T10:06:00", kind="add_to_cart"),
            event("e5", None, "2025-07-16T10:07:00"),
            event("e6", hb, "2025-07-16T10:08:00", extra={"referred_by": ha}),
        ]),
        HR11_A: parquet(EVENTS, [event("e7", ha, "2025-07-16T11:05:00")]),  # only a's
        HR11_B: parquet(EVENTS, [event("e8", hb, "2025-07-16T11:30:00")]),  # only b's
        DAY2: parquet(EVENTS, [event("e9", hb, "2025-07-17T09:00:00")]),
        LATE_FILE: parquet(LATE, [
            {"event_id": "l1", "event_type": "page_view", "event_time": t("2025-07-16T10:40:00"),
             "user_id": ha, "payload": json.dumps({"user_id": ha})},
            {"event_id": "l2", "event_type": "page_view", "event_time": t("2025-07-16T10:41:00"),
             "user_id": hb, "payload": json.dumps({"user_id": hb})},
        ]),
        SESSIONS_1: parquet(SESSIONS, [
            {"session_id": "s-a", "user_id": ha, "session_start": t("2025-07-16T10:50:00"),
             "session_end": t("2025-07-16T11:10:00"), "events": 3, "revenue_usd": Decimal("5")},
            {"session_id": "s-b", "user_id": hb, "session_start": t("2025-07-16T10:05:00"),
             "session_end": t("2025-07-16T10:20:00"), "events": 2, "revenue_usd": Decimal("0")},
        ]),
        SESSIONS_2: parquet(SESSIONS, [
            {"session_id": "s-b2", "user_id": hb, "session_start": t("2025-07-17T09:00:00"),
             "session_end": t("2025-07-17T09:00:00"), "events": 1,
             "revenue_usd": Decimal("0")}]),
        # the dead letter keeps raw payloads (README "Privacy"): never rewritten
        DEAD: parquet(DEAD_LETTER, [{"payload": f'{{"user_id": "{a}"', "reason": "not_json"}]),
    }


SESSION_ROW = ("INSERT INTO sessions_log (session_id, user_id, session_start, session_end, "
               "duration_seconds, events, page_views, product_views, add_to_cart, "
               "remove_from_cart, purchases, pages_viewed, revenue_usd, converted, loaded_at) "
               "VALUES (%s, %s, %s, %s, 60, 1, 1, 0, 0, 0, 0, 1, 0, false, %s)")


def warehouse_rows(cur: Any, ha: str, hb: str) -> None:
    loaded = t("2025-07-16T12:00:00")
    for hashed, sid, start, end in ((ha, "s-a", "2025-07-16T10:50:00", "2025-07-16T11:10:00"),
                                    (ha, "s-a", "2025-07-16T10:50:00", "2025-07-16T11:10:00"),
                                    (hb, "s-b", "2025-07-16T10:05:00", "2025-07-16T10:20:00"),
                                    (hb, "s-b2", "2025-07-17T09:00:00", "2025-07-17T09:00:00")):
        cur.execute(SESSION_ROW, (f"{sid}-{hashed[:8]}", hashed, t(start), t(end), loaded))
    for hashed, first, last in ((ha, "2025-07-16T10:52:00", "2025-07-16T10:58:00"),
                                (hb, "2025-07-16T10:06:00", "2025-07-16T10:06:00")):
        cur.execute("INSERT INTO cart_abandoned_log VALUES (%s, 10, 1, %s, %s, %s, %s)",
                    (hashed, t(first), t(last), t(last), loaded))
    for hashed, product in ((ha, "p1"), (ha, "p2"), (hb, "p1")):
        cur.execute("INSERT INTO transactions_log VALUES (%s, %s, %s, %s, 1, 5, %s, %s)",
                    (f"tx-{hashed[:8]}", f"ev-{hashed[:8]}", hashed, product,
                     t("2025-07-16T10:55:00"), loaded))
    for hashed in (ha, hb):
        cur.execute("INSERT INTO rfm_log VALUES (%s, %s, 1, 5, %s)",
                    (hashed, t("2025-07-16T10:55:00"), loaded))
        cur.execute("INSERT INTO anomalies_log VALUES (%s, 'bot_user', 'events', %s, 90, 60, 0, "
                    "60, 9, 'up', %s, %s)", (t("2025-07-16T10:56:00"), f"user:{hashed}",
                                            f"{hashed} sent 90 events in a minute", loaded))
    # an anonymous aggregate: kept as is (README "Privacy")
    cur.execute("INSERT INTO event_counts_minute_log VALUES (%s, %s, %s, 7, %s)",
                (t("2025-07-16T10:50:00"), t("2025-07-16T10:51:00"), f"probe-{ha[:8]}", loaded))


USER_TABLES = {"sessions_log": "user_id", "cart_abandoned_log": "user_id",
               "transactions_log": "customer_id", "rfm_log": "customer_id",
               "anomalies_log": "segment"}


def remaining(dsn: str, hashed: str) -> dict[str, int]:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        counts = {}
        for table, column in USER_TABLES.items():
            cur.execute(f"SELECT COUNT(*) FROM {table} WHERE POSITION(%s IN {column}) > 0",
                        (hashed,))
            counts[table] = cur.fetchone()[0]
        cur.execute("SELECT COUNT(*) FROM event_counts_minute_log WHERE event_type = %s",
                    (f"probe-{hashed[:8]}",))
        counts["event_counts_minute_log"] = cur.fetchone()[0]
    conn.close()
    return counts


def read_rows(lake: Lake, name: str) -> list[dict[str, Any]]:
    data, _ = lake.read(name)
    return pq.read_table(io.BytesIO(data)).to_pylist()


def ids(lake: Lake, name: str) -> list[str]:
    return [row.get("event_id") or row.get("session_id") for row in read_rows(lake, name)]


def all_names(lake: Lake) -> list[str]:
    return sorted(n for d in ("events", "late_events", "sessions", "dead_letter")
                  for n in lake.files(d))


def new_stream(stack: StackInfo) -> Stream:
    kinesis = kinesis_client(stack.kinesis_endpoint, stack.region, stack.access_key,
                             stack.secret_key)
    name = f"forget-{uuid.uuid4().hex[:8]}"
    create_active_stream(kinesis, name, shards=1)
    return Stream(kinesis, name)


def s3(stack: StackInfo) -> Any:
    return boto3.client("s3", endpoint_url=stack.s3_endpoint, region_name=stack.region,
                        aws_access_key_id=stack.access_key,
                        aws_secret_access_key=stack.secret_key)


@pytest.fixture
def scenario(stack: StackInfo) -> Iterator[Scenario]:
    """Fresh users, key, lake prefix and stream: tests share the session's stack only."""
    tag = uuid.uuid4().hex[:8]
    key, a, b = f"key-{tag}", f"user_a_{tag}", f"user_b_{tag}"
    lake = Lake(f"{stack.lake_url}/forget-{tag}", s3=s3(stack))
    files = lake_files(key, a, b)
    for name, data in files.items():
        lake.replace(name, data, None)
    kinesis = kinesis_client(stack.kinesis_endpoint, stack.region, stack.access_key,
                             stack.secret_key)
    stream = Stream(kinesis, f"forget-{tag}")
    create_active_stream(kinesis, stream.name, shards=1)
    dsn = local_stack.warehouse_dsn(stack)
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        warehouse_rows(cur, hash_id(key, a), hash_id(key, b))
    conn.close()
    yield Scenario(key=key, a=a, b=b, lake=lake, dsn=dsn, stream=stream, files=files)
    kinesis.close()


def run(s: Scenario, **kwargs: Any):  # noqa: ANN201
    return forget(s.a, key=s.key, dsn=s.dsn, lake=s.lake, stream=s.stream, drop_days=30,
                  **{"now": NOW, **kwargs})


WAREHOUSE_REMOVED = {"anomalies_log": 1, "cart_abandoned_log": 1, "rfm_log": 1,
                     "sessions_log": 2, "transactions_log": 2}


def assert_a_is_gone_and_b_untouched(s: Scenario) -> None:
    assert remaining(s.dsn, s.ha) == {**dict.fromkeys(USER_TABLES, 0),
                                      "event_counts_minute_log": 1}
    assert remaining(s.dsn, s.hb) == {"sessions_log": 2, "cart_abandoned_log": 1,
                                      "transactions_log": 1, "rfm_log": 1, "anomalies_log": 1,
                                      "event_counts_minute_log": 0}
    assert all_names(s.lake) == sorted([HR10, HR11_B, DAY2, LATE_FILE, SESSIONS_1,
                                        SESSIONS_2, DEAD])  # a's only file is gone
    assert ids(s.lake, HR10) == ["e3", "e4", "e5"]
    assert ids(s.lake, LATE_FILE) == ["l2"]
    assert ids(s.lake, SESSIONS_1) == ["s-b"]
    for name in (HR11_B, DAY2, SESSIONS_2, DEAD):  # nothing of a's: never rewritten
        assert s.lake.read(name)[0] == s.files[name]
    for name in (HR10, LATE_FILE, SESSIONS_1):
        data = s.lake.read(name)[0]
        assert s.ha.encode() not in data
        assert s.hb.encode() in data
    # the rewritten files keep the job's encoding: INT96 timestamps, the same values
    rewritten = pq.ParquetFile(io.BytesIO(s.lake.read(HR10)[0]))
    assert rewritten.schema.column(2).physical_type == "INT96"
    assert read_rows(s.lake, HR10)[0]["event_time"].replace(tzinfo=None) == t(
        "2025-07-16T10:05:00")
    assert read_rows(s.lake, HR10)[0]["price"] == Decimal("9.99")


@pytest.mark.stack
def test_forget_removes_one_user_everywhere_and_reports_exactly(scenario: Scenario) -> None:
    s = scenario
    report = run(s)
    assert report.request_id == request_id_of(s.ha) and not report.existed
    assert report.warehouse == {**WAREHOUSE_REMOVED}
    assert [p.path for p in report.partitions] == PARTITIONS
    assert [(p.rows_removed, p.files_rewritten, p.files_deleted) for p in report.partitions] == [
        (3, 1, 0), (1, 0, 1), (1, 1, 0), (1, 1, 0)]
    assert (report.partitions_logged, report.partitions_added, report.partitions_left) == (
        4, 4, 0)
    assert report.lake_rows == 6
    assert report.expires_at == datetime(2025, 8, 19, 12, 0)
    assert_a_is_gone_and_b_untouched(s)

    # the control event: only the hash, valid under the contract
    [record] = read_stream(s.stream.client, s.stream.name)
    assert record["PartitionKey"] == s.ha
    assert s.a.encode() not in record["Data"]
    sent = json.loads(record["Data"])
    assert sent == {"event_type": "erasure_request", "timestamp": "2025-07-20T12:00:00.000Z",
                    "user_id": s.ha, "request_id": report.request_id,
                    "expires_at": "2025-08-19T12:00:00Z"}
    assert validate(sent, now=NOW) == []

    # the request and its log in the warehouse: the hash, never the raw id
    with psycopg2.connect(s.dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT user_hash, status, requested_at, expires_at, event_sent_at IS NOT "
                    "NULL FROM erasure_requests WHERE request_id = %s", (report.request_id,))
        assert cur.fetchall() == [(s.ha, "done", datetime(2025, 7, 20, 12),
                                   datetime(2025, 8, 19, 12), True)]
        cur.execute("SELECT partition_path, rows_removed, files_rewritten, files_deleted, "
                    "done_at IS NOT NULL FROM erasure_partitions WHERE request_id = %s "
                    "ORDER BY partition_path", (report.request_id,))
        assert cur.fetchall() == [(PARTITIONS[0], 3, 1, 0, True), (PARTITIONS[1], 1, 0, 1, True),
                                  (PARTITIONS[2], 1, 1, 0, True), (PARTITIONS[3], 1, 1, 0, True)]
        cur.execute("SELECT table_name, rows_removed FROM erasure_deletions "
                    "WHERE request_id = %s ORDER BY table_name", (report.request_id,))
        assert dict(cur.fetchall()) == WAREHOUSE_REMOVED
        cur.execute("SELECT COUNT(*) FROM erasure_requests WHERE user_hash = %s OR "
                    "request_id = %s", (s.a, s.a))
        assert cur.fetchone()[0] == 0
    conn.close()

    lines = report.lines()
    assert lines[0] == f"erasure request {report.request_id} (user {s.ha}): recorded now"
    assert lines[1] == ("warehouse: removed 7 rows: anomalies_log 1, cart_abandoned_log 1, "
                        "rfm_log 1, sessions_log 2, transactions_log 2")
    assert lines[2] == ("lake: 4 partitions in the request log (4 new), 4 rewritten this run, "
                        "0 left; 6 rows removed, 3 files rewritten, 1 files deleted")
    assert lines[4] == ("stream: the job drops this user's later events until "
                        "2025-08-19 12:00:00 UTC")


@pytest.mark.stack
def test_a_second_run_is_harmless(scenario: Scenario) -> None:
    s = scenario
    first = run(s)
    before = {name: s.lake.read(name)[0] for name in all_names(s.lake)}
    second = run(s, now=datetime(2025, 7, 21, tzinfo=UTC))  # later: the request keeps its times
    assert second.existed and second.request_id == first.request_id
    assert second.warehouse == dict.fromkeys(WAREHOUSE_REMOVED, 0)
    assert (second.partitions, second.partitions_added, second.partitions_left) == ([], 0, 0)
    assert second.expires_at == first.expires_at == datetime(2025, 8, 19, 12)
    assert second.event == "control event already put at 2025-07-20 12:00:00 UTC"
    assert second.lines()[0].endswith("already recorded at 2025-07-20 12:00:00 UTC")
    assert second.lines()[1] == "warehouse: removed 0 rows"
    assert {name: s.lake.read(name)[0] for name in all_names(s.lake)} == before
    assert len(read_stream(s.stream.client, s.stream.name)) == 1
    assert_a_is_gone_and_b_untouched(s)


@pytest.mark.stack
def test_a_later_run_catches_what_arrived_after_the_first(scenario: Scenario) -> None:
    # A session still open at the first run lands afterwards: run the command again.
    s = scenario
    run(s)
    late_hour = "events/dt=2025-07-16/hr=12/part-0-0"
    s.lake.replace(late_hour, parquet(EVENTS, [event("e10", s.ha, "2025-07-16T12:10:00"),
                                               event("e11", s.hb, "2025-07-16T12:11:00")]), None)
    with psycopg2.connect(s.dsn) as conn, conn.cursor() as cur:
        cur.execute(SESSION_ROW, ("s-a3", s.ha, t("2025-07-16T12:10:00"),
                                  t("2025-07-16T12:10:00"), t("2025-07-16T13:00:00")))
    conn.close()
    again = run(s)
    assert again.warehouse["sessions_log"] == 1
    assert again.partitions_added == 1  # the same day's late_events/sessions are logged already
    assert [(p.path, p.rows_removed) for p in again.partitions] == [
        ("events/dt=2025-07-16/hr=12", 1)]
    assert ids(s.lake, late_hour) == ["e11"]


@pytest.mark.stack
def test_an_interrupted_rewrite_resumes_where_it_stopped(scenario: Scenario) -> None:
    s = scenario

    class Interrupted(Exception):
        pass

    def stop_after_first(done: PartitionDone) -> None:
        raise Interrupted(done.path)

    with pytest.raises(Interrupted, match="hr=10"):
        run(s, after_partition=stop_after_first)
    # the warehouse is done, the first partition is rewritten, the others are not
    assert remaining(s.dsn, s.ha)["sessions_log"] == 0
    assert ids(s.lake, HR10) == ["e3", "e4", "e5"]
    assert s.lake.read(HR11_A)[0] == s.files[HR11_A]
    with psycopg2.connect(s.dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT partition_path FROM erasure_partitions WHERE request_id = %s AND "
                    "done_at IS NULL ORDER BY 1", (request_id_of(s.ha),))
        assert [p for (p,) in cur.fetchall()] == PARTITIONS[1:]
        cur.execute("SELECT status FROM erasure_requests WHERE request_id = %s",
                    (request_id_of(s.ha),))
        assert cur.fetchone()[0] == "pending"
    conn.close()

    [report] = [r for r in resume(dsn=s.dsn, lake=s.lake, stream=s.stream)
                if r.request_id == request_id_of(s.ha)]
    assert [p.path for p in report.partitions] == PARTITIONS[1:]
    assert report.lake_rows == 3 and report.partitions_left == 0
    assert report.event == "control event already put at 2025-07-20 12:00:00 UTC"
    assert_a_is_gone_and_b_untouched(s)
    with psycopg2.connect(s.dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT SUM(rows_removed), SUM(files_rewritten), SUM(files_deleted) "
                    "FROM erasure_partitions WHERE request_id = %s", (request_id_of(s.ha),))
        assert cur.fetchone() == (6, 3, 1)  # the same totals as an uninterrupted run
        cur.execute("SELECT status FROM erasure_requests WHERE request_id = %s",
                    (request_id_of(s.ha),))
        assert cur.fetchone()[0] == "done"
    conn.close()
    assert len(read_stream(s.stream.client, s.stream.name)) == 1
    assert request_id_of(s.ha) not in {r.request_id for r in resume(dsn=s.dsn, lake=s.lake)}


@pytest.mark.stack
def test_a_dry_run_changes_nothing(scenario: Scenario) -> None:
    s = scenario
    report = run(s, dry_run=True)
    assert report.dry_run and not report.existed
    assert report.warehouse == WAREHOUSE_REMOVED
    assert report.partitions_logged == 4 and report.partitions == []
    assert report.lines()[0].startswith("dry run, nothing changed: ")
    assert remaining(s.dsn, s.ha)["sessions_log"] == 2
    assert {n: s.lake.read(n)[0] for n in all_names(s.lake)} == s.files
    assert read_stream(s.stream.client, s.stream.name) == []
    with psycopg2.connect(s.dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM erasure_requests WHERE request_id = %s",
                    (report.request_id,))
        assert cur.fetchone()[0] == 0
    conn.close()


@pytest.mark.stack
def test_shorter_expiry_and_no_stream_drop(scenario: Scenario) -> None:
    s = scenario
    report = forget(s.a, key=s.key, dsn=s.dsn, lake=s.lake, stream=None, drop_days=30,
                    expires_days=90, now=NOW)  # never longer than the job drops
    assert report.expires_at == datetime(2025, 8, 19, 12)
    assert report.event.startswith("no stream given: control event NOT sent")
    # a later resume with the stream sends it
    [sent] = [r for r in resume(dsn=s.dsn, lake=s.lake, stream=s.stream)
              if r.request_id == report.request_id]
    assert sent.event == f"control event put on {s.stream.name} (partition key = the hash)"
    assert len(read_stream(s.stream.client, s.stream.name)) == 1
    other = forget(s.b, key=s.key, dsn=s.dsn, lake=s.lake, stream=s.stream, drop_days=0,
                   now=NOW)
    assert other.expires_at is None
    assert other.lines()[-1] == ("stream: later events of this user are NOT dropped "
                                 "(Privacy.forget.drop.days = 0)")
    assert "expires_at" not in json.loads(read_stream(s.stream.client, s.stream.name)[-1]["Data"])


@pytest.mark.stack
def test_a_local_folder_lake(stack: StackInfo, tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:8]
    key, a, b = f"key-{tag}", f"a_{tag}", f"b_{tag}"
    lake = Lake(tmp_path.as_uri())
    files = lake_files(key, a, b)
    for name, data in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    (tmp_path / "events/dt=2025-07-16/hr=10/.part-in-progress").write_bytes(b"not parquet")
    dsn = local_stack.warehouse_dsn(stack)
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        warehouse_rows(cur, hash_id(key, a), hash_id(key, b))
    conn.close()
    # (every test sends its control event: `resume` elsewhere must find no request unsent)
    report = forget(a, key=key, dsn=dsn, lake=lake, stream=new_stream(stack), drop_days=30,
                    now=NOW)
    assert report.lake_rows == 6
    assert not (tmp_path / HR11_A).exists()
    assert [r["event_id"] for r in pq.read_table(tmp_path / HR10).to_pylist()] == [
        "e3", "e4", "e5"]
    assert (tmp_path / HR11_B).read_bytes() == files[HR11_B]
    assert sorted(p.name for p in (tmp_path / "events/dt=2025-07-16/hr=10").iterdir()) == [
        ".part-in-progress", "part-0-0"]  # hidden files are left alone, no temporary left


@pytest.mark.stack
def test_a_versioned_bucket_keeps_no_old_version(stack: StackInfo) -> None:
    client = s3(stack)
    bucket = f"versioned-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=bucket)
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    lake = Lake(f"s3://{bucket}", s3=client)
    files = lake_files("k", "a", "b")
    for name in (HR10, HR11_A):
        client.put_object(Bucket=bucket, Key=name, Body=files[name])
    dsn = local_stack.warehouse_dsn(stack)
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        warehouse_rows(cur, hash_id("k", "a"), hash_id("k", "b"))
    conn.close()
    report = forget("a", key="k", dsn=dsn, lake=lake, stream=new_stream(stack), drop_days=30,
                    now=NOW)
    assert report.lake_rows == 4
    versions = client.list_object_versions(Bucket=bucket)
    assert [(v["Key"], v["IsLatest"]) for v in versions.get("Versions", [])] == [(HR10, True)]
    assert versions.get("DeleteMarkers", []) == []
    assert hash_id("k", "a").encode() not in lake.read(HR10)[0]


@pytest.mark.stack
def test_cli_forget_on_the_local_stack(stack: StackInfo, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # The command's own stack lookup and key file; its own lake prefix and stream here, so the
    # session stack's stream (read by the job tests) gets no control event.
    home = tmp_path / "home"
    monkeypatch.setenv("ECOMFLOW_HOME", str(home))
    key = local_hash_key(home)
    tag = uuid.uuid4().hex[:8]
    info = replace(stack, lake_url=f"{stack.lake_url}/cli-{tag}", stream_name=f"cli-{tag}")
    monkeypatch.setattr(cli, "_running_stack", lambda: info)
    kinesis = kinesis_client(stack.kinesis_endpoint, stack.region, stack.access_key,
                             stack.secret_key)
    create_active_stream(kinesis, info.stream_name, shards=1)
    lake = Lake(info.lake_url, s3=s3(stack))
    a, b = f"cli_a_{tag}", f"cli_b_{tag}"
    for name, data in lake_files(key, a, b).items():
        lake.replace(name, data, None)
    dsn = local_stack.warehouse_dsn(stack)
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        warehouse_rows(cur, hash_id(key, a), hash_id(key, b))
    conn.close()

    dry = CliRunner().invoke(cli.main, ["forget", a, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would remove 7 rows" in dry.output
    done = CliRunner().invoke(cli.main, ["forget", a, "--expires-days", "7"])
    assert done.exit_code == 0, done.output
    assert a not in done.output  # the report names the hash only
    assert "removed 7 rows" in done.output and "6 rows removed" in done.output
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT expires_at - requested_at FROM erasure_requests "
                    "WHERE user_hash = %s", (hash_id(key, a),))
        assert cur.fetchone()[0] == timedelta(days=7)
    conn.close()
    again = CliRunner().invoke(cli.main, ["forget", a])
    assert "already recorded" in again.output and "removed 0 rows" in again.output
    resumed = CliRunner().invoke(cli.main, ["forget", "--resume"])
    assert resumed.exit_code == 0 and "no unfinished erasure request" in resumed.output
    [record] = read_stream(kinesis, info.stream_name)
    assert json.loads(record["Data"])["user_id"] == hash_id(key, a)
    kinesis.close()
    both = CliRunner().invoke(cli.main, ["forget", a, "--resume"])
    assert both.exit_code == 1 and "USER_ID, or --resume" in both.output


# -- the pure parts ----------------------------------------------------------------------------

def test_hours_and_partitions() -> None:
    assert hours_between(t("2025-07-16T10:50:00"), t("2025-07-16T12:00:00")) == [
        t("2025-07-16T10:00:00"), t("2025-07-16T11:00:00"), t("2025-07-16T12:00:00")]
    assert hours_between(t("2025-07-16T23:30:00"), t("2025-07-16T23:30:00")) == [
        t("2025-07-16T23:00:00")]
    assert len(hours_between(t("2025-01-01T00:00:00"), t("2026-01-01T00:00:00"))) == 31 * 24 + 1
    assert partitions_for([t("2025-07-16T23:00:00"), t("2025-07-17T00:00:00")]) == [
        ("events", "events/dt=2025-07-16/hr=23"), ("events", "events/dt=2025-07-17/hr=00"),
        ("late_events", "late_events/dt=2025-07-16"), ("late_events", "late_events/dt=2025-07-17"),
        ("sessions", "sessions/dt=2025-07-16"), ("sessions", "sessions/dt=2025-07-17")]


def test_filters_cover_every_id_column_and_the_anomaly_text() -> None:
    tables = {"sessions_log": {"user_id", "session_id"}, "transactions_log": {"customer_id"},
              "both_log": {"user_id", "customer_id"}, "anomalies_log": {"segment", "explanation"},
              "funnel_minute_log": {"window_start"}, "erasure_requests": {"user_hash"},
              "erasure_partitions": {"request_id"}}
    assert user_filters(tables, "h") == {
        "anomalies_log": ("POSITION(%s IN segment) > 0 OR POSITION(%s IN explanation) > 0",
                          ["h", "h"]),
        "both_log": ("user_id = %s OR customer_id = %s", ["h", "h"]),
        "sessions_log": ("user_id = %s", ["h"]),
        "transactions_log": ("customer_id = %s", ["h"]),
    }


def test_request_ids_are_stable_and_not_the_hash() -> None:
    hashed = "ab" * 32
    assert request_id_of(hashed) == request_id_of(hashed) != request_id_of("cd" * 32)
    assert request_id_of(hashed).startswith("erasure-") and hashed not in request_id_of(hashed)
    event_ = control_event(request_id_of(hashed), hashed, datetime(2025, 7, 16, 10, 30, 0, 5000),
                           None)
    assert event_ == {"event_type": "erasure_request", "timestamp": "2025-07-16T10:30:00.005Z",
                      "user_id": hashed, "request_id": request_id_of(hashed)}
    assert validate(event_, now=NOW) == []


def test_an_empty_user_id_is_refused() -> None:
    with pytest.raises(ForgetError, match="empty"):
        forget("", key="k", dsn="", lake=Lake("/nowhere"), stream=None, drop_days=1)
