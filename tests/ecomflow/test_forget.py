"""`ecomflow forget` on a real local stack (PostgreSQL, kinesis-mock) with an in-memory lake:
two users' rows in the warehouse and in the lake's tables; one user is forgotten. Nothing of
them remains in the warehouse, the lake gets one erasure of the erased tables per run, the
other user's data is untouched, the report's numbers are exact, the stream gets a control
event with only the hash, a second run is harmless, and a request whose lake deletes failed
is finished by `resume`.

The lake here is `FakeLake`: forget only calls `erase(hash, tables)`; the real Iceberg
position deletes are tested by LakeErasureTest (Java) and tests/jobs/test_privacy.py."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from copy import deepcopy
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from click.testing import CliRunner

from ecomflow import cli
from ecomflow.kinesis.client import kinesis_client
from ecomflow.lake import erasure as lake_erasure
from ecomflow.lake.erasure import ErasureError
from ecomflow.local import stack as local_stack
from ecomflow.local.stack import StackInfo
from ecomflow.privacy.forget import (
    LAKE_TABLES,
    ForgetError,
    Stream,
    control_event,
    forget,
    request_id_of,
    resume,
    user_filters,
)
from ecomflow.privacy.hashing import hash_id
from ecomflow.run.local_run import local_hash_key
from flink_jobs.contract import validate
from tests.kinesis_reader import create_active_stream, read_stream

NOW = datetime(2025, 7, 20, 12, 0, tzinfo=UTC)

Row = dict[str, Any]


def t(text: str) -> datetime:
    return datetime.fromisoformat(text)


@dataclass
class FakeLake:
    """The lake's tables as lists of rows; `erase` removes the user's rows by the rule of
    dev.ecomflow.lake.LakeErasure (an id column equal to the hash, or a payload containing
    it) and records each call. `failures` makes the next calls raise, as a failed commit."""

    tables: dict[str, list[Row]]
    calls: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    failures: int = 0

    def erase(self, user_hash: str, tables: tuple[str, ...]) -> dict[str, int]:
        self.calls.append((user_hash, tables))
        if self.failures:
            self.failures -= 1
            raise ErasureError("ecomflow_lake.events: commit failed")
        deleted = {}
        for table in tables:
            rows = self.tables.get(table, [])
            kept = [row for row in rows if not _mine(row, user_hash)]
            deleted[table] = len(rows) - len(kept)
            rows[:] = kept
        return deleted


def _mine(row: Row, user_hash: str) -> bool:
    return (user_hash in (row.get("user_id"), row.get("customer_id"))
            or user_hash in (row.get("payload") or ""))


def event(n: str, user: str | None, when: str, *, customer: str | None = None,
          kind: str = "page_view", extra: dict | None = None) -> Row:
    payload = {"event_type": kind, "timestamp": when + "Z", "user_id": user,
               "customer_id": customer, **(extra or {})}
    return {"event_id": n, "event_type": kind, "event_time": t(when), "user_id": user,
            "customer_id": customer, "payload": json.dumps(payload)}


def lake_rows(key: str, a: str, b: str) -> dict[str, list[Row]]:
    ha, hb = hash_id(key, a), hash_id(key, b)
    return {
        # a's page views, a's purchase as a customer, b's events, an anonymous visitor, and a
        # row of b's whose payload names a (a referral): 4 of 9 rows are a's
        "events": [
            event("e1", ha, "2025-07-16T10:50:00"),
            event("e2", None, "2025-07-16T10:55:00", customer=ha, kind="purchase"),
            event("e3", hb, "2025-07-16T10:05:00"),
            event("e4", hb, "2025-07-16T10:06:00", kind="add_to_cart"),
            event("e5", None, "2025-07-16T10:07:00"),
            event("e6", hb, "2025-07-16T10:08:00", extra={"referred_by": ha}),
            event("e7", ha, "2025-07-16T11:05:00"),
            event("e8", hb, "2025-07-16T11:30:00"),
            event("e9", hb, "2025-07-17T09:00:00"),
        ],
        "late_events": [
            {"event_id": "l1", "event_time": t("2025-07-16T10:40:00"), "user_id": ha,
             "payload": json.dumps({"user_id": ha})},
            {"event_id": "l2", "event_time": t("2025-07-16T10:41:00"), "user_id": hb,
             "payload": json.dumps({"user_id": hb})},
        ],
        "sessions": [
            {"session_id": "s-a", "user_id": ha, "session_start": t("2025-07-16T10:50:00")},
            {"session_id": "s-b", "user_id": hb, "session_start": t("2025-07-16T10:05:00")},
            {"session_id": "s-b2", "user_id": hb, "session_start": t("2025-07-17T09:00:00")},
        ],
        # the dead letter keeps raw payloads (README "Privacy"): never erased
        "dead_letter": [{"payload": f'{{"user_id": "{a}"', "reason": "not_json"}],
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


def request_row(dsn: str, request_id: str) -> tuple:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT status, completed_at, event_sent_at FROM erasure_requests "
                    "WHERE request_id = %s", (request_id,))
        row = cur.fetchone()
    conn.close()
    return row


def new_stream(stack: StackInfo) -> Stream:
    kinesis = kinesis_client(stack.kinesis_endpoint, stack.region, stack.access_key,
                             stack.secret_key)
    name = f"forget-{uuid.uuid4().hex[:8]}"
    create_active_stream(kinesis, name, shards=1)
    return Stream(kinesis, name)


@dataclass
class Scenario:
    """Two users' data: `a` is forgotten, `b` stays."""

    key: str
    a: str
    b: str
    lake: FakeLake
    rows: dict[str, list[Row]]  # the lake's rows before any erasure
    dsn: str
    stream: Stream

    @property
    def ha(self) -> str:
        return hash_id(self.key, self.a)

    @property
    def hb(self) -> str:
        return hash_id(self.key, self.b)


@pytest.fixture
def scenario(stack: StackInfo) -> Iterator[Scenario]:
    """Fresh users, key, lake and stream: tests share the session's stack only."""
    tag = uuid.uuid4().hex[:8]
    key, a, b = f"key-{tag}", f"user_a_{tag}", f"user_b_{tag}"
    rows = lake_rows(key, a, b)
    stream = new_stream(stack)
    dsn = local_stack.warehouse_dsn(stack)
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        warehouse_rows(cur, hash_id(key, a), hash_id(key, b))
    conn.close()
    yield Scenario(key=key, a=a, b=b, lake=FakeLake(deepcopy(rows)), rows=rows, dsn=dsn,
                   stream=stream)
    stream.client.close()


def run(s: Scenario, **kwargs: Any):  # noqa: ANN201
    return forget(s.a, key=s.key, dsn=s.dsn, lake=s.lake, stream=s.stream, drop_days=30,
                  **{"now": NOW, **kwargs})


WAREHOUSE_REMOVED = {"anomalies_log": 1, "cart_abandoned_log": 1, "rfm_log": 1,
                     "sessions_log": 2, "transactions_log": 2}
LAKE_DELETED = {"events": 4, "late_events": 1, "sessions": 1}


def lake_ids(lake: FakeLake) -> dict[str, list[str]]:
    return {table: [r.get("event_id") or r.get("session_id") or r["reason"] for r in rows]
            for table, rows in lake.tables.items()}


def assert_a_is_gone_and_b_untouched(s: Scenario) -> None:
    assert remaining(s.dsn, s.ha) == {**dict.fromkeys(USER_TABLES, 0),
                                      "event_counts_minute_log": 1}
    assert remaining(s.dsn, s.hb) == {"sessions_log": 2, "cart_abandoned_log": 1,
                                      "transactions_log": 1, "rfm_log": 1, "anomalies_log": 1,
                                      "event_counts_minute_log": 0}
    assert lake_ids(s.lake) == {"events": ["e3", "e4", "e5", "e8", "e9"],
                                "late_events": ["l2"], "sessions": ["s-b", "s-b2"],
                                "dead_letter": ["not_json"]}
    # everybody else's rows are exactly as they were; the dead letter is never erased
    for table, rows in s.lake.tables.items():
        assert rows == [r for r in s.rows[table] if table == "dead_letter" or not _mine(r, s.ha)]


@pytest.mark.stack
def test_forget_removes_one_user_everywhere_and_reports_exactly(scenario: Scenario) -> None:
    s = scenario
    report = run(s)
    assert report.request_id == request_id_of(s.ha) and not report.existed
    assert report.warehouse == {**WAREHOUSE_REMOVED}
    assert s.lake.calls == [(s.ha, ("events", "late_events", "sessions"))]
    assert report.lake == LAKE_DELETED and report.lake_rows == 6
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
        cur.execute("SELECT user_hash, status, requested_at, expires_at, completed_at, "
                    "event_sent_at IS NOT NULL FROM erasure_requests WHERE request_id = %s",
                    (report.request_id,))
        assert cur.fetchall() == [(s.ha, "done", datetime(2025, 7, 20, 12),
                                   datetime(2025, 8, 19, 12), datetime(2025, 7, 20, 12), True)]
        cur.execute("SELECT table_name, rows_removed FROM erasure_deletions "
                    "WHERE request_id = %s ORDER BY table_name", (report.request_id,))
        assert dict(cur.fetchall()) == WAREHOUSE_REMOVED
        cur.execute("SELECT COUNT(*) FROM erasure_requests WHERE user_hash = %s OR "
                    "request_id = %s", (s.a, s.a))
        assert cur.fetchone()[0] == 0
        # the Parquet lake's partition log (V007) is no longer written
        cur.execute("SELECT COUNT(*) FROM erasure_partitions WHERE request_id = %s",
                    (report.request_id,))
        assert cur.fetchone()[0] == 0
    conn.close()

    lines = report.lines()
    assert lines[0] == f"erasure request {report.request_id} (user {s.ha}): recorded now"
    assert lines[1] == ("warehouse: removed 7 rows: anomalies_log 1, cart_abandoned_log 1, "
                        "rfm_log 1, sessions_log 2, transactions_log 2")
    assert lines[2] == ("lake: 6 rows deleted from the Iceberg tables (events 4, late_events 1, "
                        "sessions 1) by position deletes")
    assert lines[3] == f"stream: control event put on {s.stream.name} (partition key = the hash)"
    assert lines[4] == ("stream: the job drops this user's later events until "
                        "2025-08-19 12:00:00 UTC")


@pytest.mark.stack
def test_a_second_run_is_harmless(scenario: Scenario) -> None:
    s = scenario
    first = run(s)
    before = deepcopy(s.lake.tables)
    second = run(s, now=datetime(2025, 7, 21, tzinfo=UTC))  # later: the request keeps its times
    assert second.existed and second.request_id == first.request_id
    assert second.warehouse == dict.fromkeys(WAREHOUSE_REMOVED, 0)
    # the deletes run again (they are how a later run catches rows that landed since) and
    # find nothing
    assert s.lake.calls == [(s.ha, LAKE_TABLES)] * 2
    assert second.lake == dict.fromkeys(LAKE_TABLES, 0)
    assert second.expires_at == first.expires_at == datetime(2025, 8, 19, 12)
    assert second.event == "control event already put at 2025-07-20 12:00:00 UTC"
    assert second.lines()[0].endswith("already recorded at 2025-07-20 12:00:00 UTC")
    assert second.lines()[1] == "warehouse: removed 0 rows"
    assert second.lines()[2] == ("lake: 0 rows deleted from the Iceberg tables (events 0, "
                                 "late_events 0, sessions 0) by position deletes")
    assert s.lake.tables == before
    assert len(read_stream(s.stream.client, s.stream.name)) == 1
    assert request_row(s.dsn, first.request_id)[:2] == ("done", datetime(2025, 7, 21))
    assert_a_is_gone_and_b_untouched(s)


@pytest.mark.stack
def test_a_later_run_catches_what_arrived_after_the_first(scenario: Scenario) -> None:
    # A session still open at the first run lands afterwards: run the command again.
    s = scenario
    run(s)
    s.lake.tables["events"] += [event("e10", s.ha, "2025-07-16T12:10:00"),
                                event("e11", s.hb, "2025-07-16T12:11:00")]
    with psycopg2.connect(s.dsn) as conn, conn.cursor() as cur:
        cur.execute(SESSION_ROW, ("s-a3", s.ha, t("2025-07-16T12:10:00"),
                                  t("2025-07-16T12:10:00"), t("2025-07-16T13:00:00")))
    conn.close()
    again = run(s)
    assert again.warehouse["sessions_log"] == 1
    assert again.lake == {"events": 1, "late_events": 0, "sessions": 0}
    assert lake_ids(s.lake)["events"] == ["e3", "e4", "e5", "e8", "e9", "e11"]


@pytest.mark.stack
def test_failed_lake_deletes_leave_the_request_pending_for_resume(scenario: Scenario) -> None:
    s = scenario
    s.lake.failures = 1
    with pytest.raises(ErasureError, match="commit failed"):
        run(s)
    # the warehouse is done and the event sent; the lake is not, and the request says so
    assert remaining(s.dsn, s.ha)["sessions_log"] == 0
    assert s.lake.tables == s.rows
    status, completed_at, event_sent_at = request_row(s.dsn, request_id_of(s.ha))
    assert (status, completed_at, event_sent_at) == ("pending", None, datetime(2025, 7, 20, 12))

    later = datetime(2025, 7, 20, 13, tzinfo=UTC)
    [report] = [r for r in resume(dsn=s.dsn, lake=s.lake, stream=s.stream, now=later)
                if r.request_id == request_id_of(s.ha)]
    assert report.existed and report.user_hash == s.ha
    assert report.lake == LAKE_DELETED and report.warehouse == {}
    assert report.event == "control event already put at 2025-07-20 12:00:00 UTC"
    assert s.lake.calls[-1] == (s.ha, LAKE_TABLES)
    assert_a_is_gone_and_b_untouched(s)
    assert request_row(s.dsn, request_id_of(s.ha))[:2] == ("done", datetime(2025, 7, 20, 13))
    assert len(read_stream(s.stream.client, s.stream.name)) == 1
    assert request_id_of(s.ha) not in {r.request_id for r in resume(dsn=s.dsn, lake=s.lake)}


@pytest.mark.stack
def test_a_dry_run_changes_nothing(scenario: Scenario) -> None:
    s = scenario
    report = run(s, dry_run=True)
    assert report.dry_run and not report.existed
    assert report.warehouse == WAREHOUSE_REMOVED
    assert report.lake is None and s.lake.calls == []
    assert report.lines()[0].startswith("dry run, nothing changed: ")
    assert report.lines()[1].startswith("warehouse: would remove 7 rows: ")
    assert report.lines()[2] == ("lake: would delete the user's rows from events, late_events, "
                                 "sessions (counted when the deletes run)")
    assert report.event == "nothing sent (dry run)"
    assert remaining(s.dsn, s.ha)["sessions_log"] == 2
    assert s.lake.tables == s.rows
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
    assert request_row(s.dsn, report.request_id)[0] == "done"  # the lake is, the event not
    # a later resume with the stream sends it (and repeats the lake deletes: nothing left)
    [sent] = [r for r in resume(dsn=s.dsn, lake=s.lake, stream=s.stream)
              if r.request_id == report.request_id]
    assert sent.event == f"control event put on {s.stream.name} (partition key = the hash)"
    assert sent.lake == dict.fromkeys(LAKE_TABLES, 0)
    assert len(read_stream(s.stream.client, s.stream.name)) == 1
    other = forget(s.b, key=s.key, dsn=s.dsn, lake=s.lake, stream=s.stream, drop_days=0,
                   now=NOW)
    assert other.expires_at is None
    assert other.lines()[-1] == ("stream: later events of this user are NOT dropped "
                                 "(Privacy.forget.drop.days = 0)")
    assert "expires_at" not in json.loads(read_stream(s.stream.client, s.stream.name)[-1]["Data"])


@pytest.mark.stack
def test_a_warehouse_without_the_request_tables_is_refused(stack: StackInfo) -> None:
    schema = f"forget_{uuid.uuid4().hex[:8]}"
    dsn = local_stack.warehouse_dsn(stack)
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE SCHEMA {schema}")
    conn.close()
    lake = FakeLake({})
    empty = f"{dsn} options='-c search_path={schema}'"
    with pytest.raises(ForgetError, match=r"no erasure_requests, erasure_deletions table: "
                                          r"apply sql/warehouse/V007__erasure_requests\.sql"):
        forget("a", key="k", dsn=empty, lake=lake, stream=None, drop_days=1)
    with pytest.raises(ForgetError, match="V007"):
        resume(dsn=empty, lake=lake)
    assert lake.calls == []
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(f"DROP SCHEMA {schema}")
    conn.close()


@pytest.mark.stack
def test_cli_forget_on_the_local_stack(stack: StackInfo, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # The command's own stack lookup, key file and lake settings; its own stream here, so the
    # session stack's stream (read by the job tests) gets no control event. The lake is the
    # fake, built from what the command would give IcebergLake.
    home = tmp_path / "home"
    monkeypatch.setenv("ECOMFLOW_HOME", str(home))
    key = local_hash_key(home)
    tag = uuid.uuid4().hex[:8]
    info = replace(stack, stream_name=f"cli-{tag}")
    monkeypatch.setattr(cli, "_running_stack", lambda: info)
    kinesis = kinesis_client(stack.kinesis_endpoint, stack.region, stack.access_key,
                             stack.secret_key)
    create_active_stream(kinesis, info.stream_name, shards=1)
    a, b = f"cli_a_{tag}", f"cli_b_{tag}"
    lake = FakeLake(lake_rows(key, a, b))
    built: list[tuple[dict[str, str], str, Path]] = []

    def iceberg_lake(options: dict[str, str], database: str, state: Path) -> FakeLake:
        built.append((options, database, state))
        return lake

    monkeypatch.setattr(lake_erasure, "IcebergLake", iceberg_lake)
    dsn = local_stack.warehouse_dsn(stack)
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        warehouse_rows(cur, hash_id(key, a), hash_id(key, b))
    conn.close()
    where = ["--lake", f"{stack.lake_url}/cli-{tag}", "--lake-database", f"cli_{tag}"]

    dry = CliRunner().invoke(cli.main, ["forget", a, "--dry-run", *where])
    assert dry.exit_code == 0, dry.output
    assert "would remove 7 rows" in dry.output and lake.calls == []
    # the lake's tables as `ecomflow run --lake ... --lake-database ...` made them
    options, database, state = built[0]
    assert (database, state) == (f"cli_{tag}", home)
    assert options["warehouse"] == f"{stack.lake_url}/cli-{tag}"
    assert options["uri"] == stack.catalog_url
    done = CliRunner().invoke(cli.main, ["forget", a, "--expires-days", "7", *where])
    assert done.exit_code == 0, done.output
    assert a not in done.output  # the report names the hash only
    assert "removed 7 rows" in done.output
    assert "lake: 6 rows deleted from the Iceberg tables" in done.output
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT expires_at - requested_at FROM erasure_requests "
                    "WHERE user_hash = %s", (hash_id(key, a),))
        assert cur.fetchone()[0] == timedelta(days=7)
    conn.close()
    again = CliRunner().invoke(cli.main, ["forget", a, *where])
    assert "already recorded" in again.output and "removed 0 rows" in again.output
    assert "lake: 0 rows deleted" in again.output
    resumed = CliRunner().invoke(cli.main, ["forget", "--resume", *where])
    assert resumed.exit_code == 0 and "no unfinished erasure request" in resumed.output
    [record] = read_stream(kinesis, info.stream_name)
    assert json.loads(record["Data"])["user_id"] == hash_id(key, a)
    kinesis.close()
    # the lake's erasure failing is one line, not a traceback; the request waits for --resume
    lake.failures = 1
    failed = CliRunner().invoke(cli.main, ["forget", b, *where])
    assert failed.exit_code == 1 and "commit failed" in failed.output
    assert "Traceback" not in failed.output
    finished = CliRunner().invoke(cli.main, ["forget", "--resume", *where])
    assert finished.exit_code == 0, finished.output
    assert ("lake: 7 rows deleted from the Iceberg tables (events 4, late_events 1, "
            "sessions 2)") in finished.output  # b's rows (e6, naming a, went with a's)
    both = CliRunner().invoke(cli.main, ["forget", a, "--resume"])
    assert both.exit_code == 1 and "USER_ID, or --resume" in both.output


# -- the pure parts ----------------------------------------------------------------------------

def test_the_erased_lake_tables_are_the_jobs_lake_tables_but_the_dead_letter() -> None:
    assert LAKE_TABLES == ("events", "late_events", "sessions")


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
    lake = FakeLake({})
    with pytest.raises(ForgetError, match="empty"):
        forget("", key="k", dsn="", lake=lake, stream=None, drop_days=1)
    assert lake.calls == []
