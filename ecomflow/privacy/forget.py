"""`ecomflow forget USER_ID`: erase one user from the warehouse, the lake and later output.

Steps (README "Privacy"; each is safe to repeat, so running the command twice is harmless and
a second run catches what was still in open windows during the first):

1. hash the id with the job's key (the warehouse and the lake only ever hold the hash);
2. in one warehouse transaction: record the request (`erasure_requests`, status pending; its
   id derives from the hash) and delete the user's rows from every table
   (`erasure_deletions` keeps the counts);
3. put the control event `erasure_request` (hash only) on the stream: the job drops the user's
   later events until the request expires;
4. delete the user's rows from the lake's Iceberg tables (position deletes, which find the
   rows themselves: nothing to work out from the warehouse, no partitions to log), then mark
   the request done. A request left pending (the deletes failed) or whose event was not sent
   is finished by `resume`, which repeats the deletes.

Works on PostgreSQL and on Redshift (through its PostgreSQL protocol: no RETURNING, no ON
CONFLICT).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import psycopg2

from ecomflow.errors import EcomflowError
from ecomflow.privacy.hashing import CONTROL_EVENT_TYPE, hash_id
from flink_jobs.graph import SINKS

ID_COLUMNS = ("user_id", "customer_id")
# From the job's list of outputs (flink_jobs/graph.py): tables that name the user in text
# rather than in an id column (anomaly flags: the segment `user:<hash>` / `customer:<hash>`
# and the explanation); the lake tables erased (not the dead letter: README "Privacy").
TEXT_COLUMNS = {sink.target: sink.erase_text for sink in SINKS if sink.erase_text}
LAKE_TABLES = tuple(sink.target for sink in SINKS if sink.lake_erase)
# The tables this command writes (V007 also made `erasure_partitions`, the log of the removed
# Parquet rewrite: kept, as released migrations are, but no longer written or required).
REQUEST_TABLES = ("erasure_requests", "erasure_deletions")


class ForgetError(EcomflowError, RuntimeError):
    """A problem the user can act on (one line)."""


class ErasableLake(Protocol):
    """What forget needs of the lake: `ecomflow.lake.erasure.IcebergLake` (a fake in tests)."""

    def erase(self, user_hash: str, tables: tuple[str, ...]) -> dict[str, int]:
        """Delete the user's rows from each table; rows deleted per table (0 once gone)."""
        ...


def request_id_of(user_hash: str) -> str:
    """The request's id: derived from the hash (not the hash itself), the same every time."""
    return "erasure-" + hashlib.sha256(f"erasure:{user_hash}".encode()).hexdigest()[:24]


@dataclass(frozen=True)
class Stream:
    """Where the control event goes: a Kinesis client and the stream's name."""

    client: Any
    name: str


@dataclass
class Report:
    request_id: str
    user_hash: str
    requested_at: datetime
    expires_at: datetime | None
    existed: bool  # the request was recorded by an earlier run
    dry_run: bool = False
    warehouse: dict[str, int] = field(default_factory=dict)  # rows removed this run
    event: str = ""  # what happened with the control event
    lake: dict[str, int] | None = None  # rows deleted per lake table this run (None: no deletes)

    @property
    def lake_rows(self) -> int:
        return sum((self.lake or {}).values())

    def lines(self) -> list[str]:
        head = "dry run, nothing changed: " if self.dry_run else ""
        state = (f"already recorded at {self.requested_at:%Y-%m-%d %H:%M:%S} UTC" if self.existed
                 else "recorded now" if not self.dry_run else "not recorded yet")
        lines = [f"{head}erasure request {self.request_id} (user {self.user_hash}): {state}"]
        verb = "would remove" if self.dry_run else "removed"
        total = sum(self.warehouse.values())
        lines.append(f"warehouse: {verb} {total} rows"
                     + (": " + ", ".join(f"{t} {n}" for t, n in self.warehouse.items() if n)
                        if total else ""))
        if self.lake is not None:
            lines.append(f"lake: {self.lake_rows} rows deleted from the Iceberg tables ("
                         + ", ".join(f"{t} {n}" for t, n in self.lake.items())
                         + ") by position deletes")
        else:
            # Iceberg counts the rows only as it deletes them: a dry run cannot say how many.
            lines.append(f"lake: would delete the user's rows from {', '.join(LAKE_TABLES)} "
                         "(counted when the deletes run)")
        lines.append(f"stream: {self.event}")
        if self.expires_at is None:
            lines.append("stream: later events of this user are NOT dropped "
                         "(Privacy.forget.drop.days = 0)")
        else:
            lines.append(f"stream: the job drops this user's later events until "
                         f"{self.expires_at:%Y-%m-%d %H:%M:%S} UTC")
        return lines


# -- the warehouse ---------------------------------------------------------------------------

@contextmanager
def _cursor(dsn: str) -> Iterator[tuple[Any, Any]]:
    """A connection and its cursor, closed afterwards (psycopg2's `with` only ends the
    transaction); nothing is committed unless the caller commits."""
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            yield conn, cur
    finally:
        conn.close()


def _tables(cur: Any) -> dict[str, set[str]]:
    """Base tables of the current schema -> their columns."""
    cur.execute(
        "SELECT c.table_name, c.column_name FROM information_schema.columns c "
        "JOIN information_schema.tables t "
        "ON t.table_schema = c.table_schema AND t.table_name = c.table_name "
        "WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'")
    tables: dict[str, set[str]] = {}
    for table, column in cur.fetchall():
        tables.setdefault(table, set()).add(column)
    return tables


def user_filters(tables: dict[str, set[str]], user_hash: str
                 ) -> dict[str, tuple[str, list[str]]]:
    """Every table that can hold the user -> (WHERE clause, parameters), by name."""
    filters: dict[str, tuple[str, list[str]]] = {}
    for table in sorted(tables):
        if table in REQUEST_TABLES:
            continue
        clauses: list[str] = []
        params: list[str] = []
        for column in ID_COLUMNS:
            if column in tables[table]:
                clauses.append(f"{column} = %s")
                params.append(user_hash)
        for column in TEXT_COLUMNS.get(table, ()):
            if column in tables[table]:
                clauses.append(f"POSITION(%s IN {column}) > 0")
                params.append(user_hash)
        if clauses:
            filters[table] = (" OR ".join(clauses), params)
    return filters


def _request(cur: Any, request_id: str) -> tuple | None:
    cur.execute("SELECT requested_at, expires_at, event_sent_at FROM erasure_requests "
                "WHERE request_id = %s", (request_id,))
    return cur.fetchone()


def _require_tables(tables: dict[str, set[str]]) -> None:
    missing = [t for t in REQUEST_TABLES if t not in tables]
    if missing:
        raise ForgetError(f"the warehouse has no {', '.join(missing)} table: apply "
                          "sql/warehouse/V007__erasure_requests.sql (`ecomflow local up` does)")


# -- the command -----------------------------------------------------------------------------

def forget(user_id: str, *, key: str, dsn: str, lake: ErasableLake, stream: Stream | None,
           drop_days: int, expires_days: int | None = None, dry_run: bool = False,
           now: datetime | None = None) -> Report:
    """Erase `user_id` (see the module docstring); returns what this run did."""
    if not user_id:
        raise ForgetError("the user id is empty")
    user_hash = hash_id(key, user_id)
    request_id = request_id_of(user_hash)
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
    days = drop_days if expires_days is None else min(expires_days, drop_days)
    with _cursor(dsn) as (conn, cur):
        tables = _tables(cur)
        _require_tables(tables)
        filters = user_filters(tables, user_hash)
        existing = _request(cur, request_id)
        if existing is None:
            requested_at = now
            expires_at = now + timedelta(days=days) if days > 0 else None
        else:
            requested_at, expires_at, _ = existing
        report = Report(request_id=request_id, user_hash=user_hash, requested_at=requested_at,
                        expires_at=expires_at, existed=existing is not None, dry_run=dry_run)
        if dry_run:
            for table, (where, params) in filters.items():
                cur.execute(f"SELECT COUNT(*) FROM {table} WHERE {where}", params)  # noqa: S608
                report.warehouse[table] = int(cur.fetchone()[0])
            report.event = "nothing sent (dry run)"
            conn.rollback()
            return report
        if existing is None:
            cur.execute(
                "INSERT INTO erasure_requests (request_id, user_hash, requested_at, expires_at, "
                "status) VALUES (%s, %s, %s, %s, 'pending')",
                (request_id, user_hash, requested_at, expires_at))
        else:
            # Every run deletes from the lake again: pending until those deletes commit, so a
            # run that fails half-way is left for `resume`.
            cur.execute("UPDATE erasure_requests SET status = 'pending', completed_at = NULL "
                        "WHERE request_id = %s", (request_id,))
        for table, (where, params) in filters.items():
            cur.execute(f"DELETE FROM {table} WHERE {where}", params)  # noqa: S608
            removed = report.warehouse[table] = cur.rowcount
            if removed:
                cur.execute("INSERT INTO erasure_deletions VALUES (%s, %s, %s, %s)",
                            (request_id, table, removed, now))
        conn.commit()
        report.event = _send_event(cur, stream, request_id, user_hash, requested_at,
                                   expires_at, now)
        conn.commit()
    _erase_lake(dsn, lake, report, now)
    return report


def _send_event(cur: Any, stream: Stream | None, request_id: str, user_hash: str,
                requested_at: datetime, expires_at: datetime | None, now: datetime) -> str:
    cur.execute("SELECT event_sent_at FROM erasure_requests WHERE request_id = %s",
                (request_id,))
    sent_at = cur.fetchone()[0]
    if sent_at is not None:
        return f"control event already put at {sent_at:%Y-%m-%d %H:%M:%S} UTC"
    if stream is None:
        return "no stream given: control event NOT sent (a later run with a stream sends it)"
    event = control_event(request_id, user_hash, requested_at, expires_at)
    stream.client.put_record(StreamName=stream.name, Data=json.dumps(event).encode(),
                             PartitionKey=user_hash)
    cur.execute("UPDATE erasure_requests SET event_sent_at = %s WHERE request_id = %s",
                (now, request_id))
    return f"control event put on {stream.name} (partition key = the hash)"


def control_event(request_id: str, user_hash: str, requested_at: datetime,
                  expires_at: datetime | None) -> dict[str, Any]:
    """The `erasure_request` event (flink_jobs/contract/v1/erasure_request.schema.json)."""
    event: dict[str, Any] = {
        "event_type": CONTROL_EVENT_TYPE,
        "timestamp": requested_at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "user_id": user_hash,
        "request_id": request_id,
    }
    if expires_at is not None:
        event["expires_at"] = expires_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return event


def _erase_lake(dsn: str, lake: ErasableLake, report: Report, now: datetime) -> None:
    """The user's rows deleted from every erased lake table, then the request is done (a
    failure leaves it pending: the deletes are idempotent, `resume` repeats them)."""
    report.lake = lake.erase(report.user_hash, LAKE_TABLES)
    with _cursor(dsn) as (conn, cur):
        cur.execute("UPDATE erasure_requests SET status = 'done', completed_at = "
                    "COALESCE(completed_at, %s) WHERE request_id = %s",
                    (now, report.request_id))
        conn.commit()


def resume(*, dsn: str, lake: ErasableLake, stream: Stream | None = None,
           now: datetime | None = None) -> list[Report]:
    """Finish every unfinished request: lake deletes not committed (status pending), a control
    event not sent. Both are repeated whole, being idempotent.

    Needs no key and no user id: the request log holds the hash.
    """
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
    with _cursor(dsn) as (conn, cur):
        _require_tables(_tables(cur))
        cur.execute(
            "SELECT request_id, user_hash, requested_at, expires_at FROM erasure_requests "
            "WHERE event_sent_at IS NULL OR status = 'pending' ORDER BY requested_at")
        pending = cur.fetchall()
        reports = []
        # Every event first: the job starts dropping the users' events before the lake work.
        for request_id, user_hash, requested_at, expires_at in pending:
            report = Report(request_id=request_id, user_hash=user_hash,
                            requested_at=requested_at, expires_at=expires_at, existed=True)
            report.event = _send_event(cur, stream, request_id, user_hash, requested_at,
                                       expires_at, now)
            conn.commit()
            reports.append(report)
    for report in reports:
        _erase_lake(dsn, lake, report, now)
    return reports
