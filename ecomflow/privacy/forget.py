"""`ecomflow forget USER_ID`: erase one user from the warehouse, the lake and later output.

Steps (README "Privacy"; each is safe to repeat, so running the command twice is harmless and
a second run catches what was still in open windows during the first):

1. hash the id with the job's key (the warehouse and the lake only ever hold the hash);
2. in one warehouse transaction: record the request (`erasure_requests`; its id derives from
   the hash), find the lake partitions that may hold the user's rows from the warehouse's own
   rows of the user and add them to the request log (`erasure_partitions`), then delete the
   user's rows from every table (`erasure_deletions` keeps the counts);
3. put the control event `erasure_request` (hash only) on the stream: the job drops the user's
   later events until the request expires;
4. rewrite each not-yet-done partition of the request log without the user's rows
   (ecomflow/privacy/lake_rewrite.py), marking it done; `resume` continues unfinished requests.
   An Iceberg lake (`IcebergLake`) instead gets row-level deletes in each erased table, with
   no partitions logged: the request is done when the deletes are committed, and `resume`
   repeats them for a request left pending.

Works on PostgreSQL and on Redshift (through its PostgreSQL protocol: no RETURNING, no ON
CONFLICT), on an S3 lake through any S3 client and on a local folder lake.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg2

from ecomflow.errors import EcomflowError
from ecomflow.lake.erasure import IcebergLake
from ecomflow.privacy.hashing import CONTROL_EVENT_TYPE, hash_id
from ecomflow.privacy.lake_rewrite import FileOutcome, Lake, rewrite_partition
from flink_jobs.graph import SINKS

ID_COLUMNS = ("user_id", "customer_id")
# From the job's list of outputs (flink_jobs/graph.py): tables that name the user in text
# rather than in an id column (anomaly flags: the segment `user:<hash>` / `customer:<hash>`
# and the explanation); per table, the span of the user's activity a row covers (where their
# lake rows are); how each erased lake dataset is partitioned.
TEXT_COLUMNS = {sink.target: sink.erase_text for sink in SINKS if sink.erase_text}
TIME_SPANS = {sink.target: sink.erase_span for sink in SINKS if sink.erase_span}
LAKE_PARTITIONS = {sink.target: sink.lake_partitions for sink in SINKS if sink.lake_partitions}
MAX_SPAN = timedelta(days=31)  # a longer span (a cart kept for months) is cut: see the README
REQUEST_TABLES = ("erasure_requests", "erasure_partitions", "erasure_deletions")


class ForgetError(EcomflowError, RuntimeError):
    """A problem the user can act on (one line)."""


def request_id_of(user_hash: str) -> str:
    """The request's id: derived from the hash (not the hash itself), the same every time."""
    return "erasure-" + hashlib.sha256(f"erasure:{user_hash}".encode()).hexdigest()[:24]


@dataclass(frozen=True)
class Stream:
    """Where the control event goes: a Kinesis client and the stream's name."""

    client: Any
    name: str


@dataclass
class PartitionDone:
    path: str
    rows_removed: int
    files_rewritten: int
    files_deleted: int


@dataclass
class Report:
    request_id: str
    user_hash: str
    requested_at: datetime
    expires_at: datetime | None
    existed: bool  # the request was recorded by an earlier run
    dry_run: bool = False
    warehouse: dict[str, int] = field(default_factory=dict)  # rows removed this run
    partitions_logged: int = 0  # in the request log after this run
    partitions_added: int = 0  # added to it by this run
    partitions: list[PartitionDone] = field(default_factory=list)  # rewritten this run
    partitions_left: int = 0
    event: str = ""  # what happened with the control event
    iceberg: bool = False  # the lake is Iceberg tables (row-level deletes, no partitions)
    tables: dict[str, int] | None = None  # an Iceberg lake: rows deleted per table this run

    @property
    def lake_rows(self) -> int:
        return sum(p.rows_removed for p in self.partitions)

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
        files = sum(p.files_rewritten for p in self.partitions)
        deleted = sum(p.files_deleted for p in self.partitions)
        if self.tables is not None:
            lines.append(f"lake: {sum(self.tables.values())} rows deleted from the Iceberg "
                         "tables (" + ", ".join(f"{t} {n}" for t, n in self.tables.items())
                         + ") by position deletes")
        elif self.iceberg:
            lines.append("lake: Iceberg tables; their rows are counted when the deletes run")
        else:
            lines.append(
                f"lake: {self.partitions_logged} partitions in the request log "
                f"({self.partitions_added} new), {len(self.partitions)} rewritten this run, "
                f"{self.partitions_left} left; {self.lake_rows} rows removed, {files} files "
                f"rewritten, {deleted} files deleted")
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


def hours_between(start: datetime, end: datetime) -> list[datetime]:
    first = start.replace(minute=0, second=0, microsecond=0)
    last = min(end, start + MAX_SPAN).replace(minute=0, second=0, microsecond=0)
    hours = [first]
    while hours[-1] < last:
        hours.append(hours[-1] + timedelta(hours=1))
    return hours


def partitions_for(hours: Iterable[datetime]) -> list[tuple[str, str]]:
    """(dataset, partition path) of every lake partition the hours touch.

    events are partitioned by event hour, late_events by event day and sessions by the day
    the session started (sql/60_inserts/ins_lake__*.sql).
    """
    found: set[tuple[str, str]] = set()
    for hour in hours:
        day = hour.strftime("%Y-%m-%d")
        for dataset, partitions in LAKE_PARTITIONS.items():
            path = f"{dataset}/dt={day}" + (f"/hr={hour:%H}" if partitions == "hour" else "")
            found.add((dataset, path))
    return sorted(found, key=lambda item: item[1])


def _affected_hours(cur: Any, filters: dict[str, tuple[str, list[str]]]) -> list[datetime]:
    hours: set[datetime] = set()
    for table, (start, end) in TIME_SPANS.items():
        if table not in filters:
            continue
        where, params = filters[table]
        cur.execute(f"SELECT {start}, {end} FROM {table} WHERE {where}", params)  # noqa: S608
        for first, last in cur.fetchall():
            hours.update(hours_between(first, last))
    return sorted(hours)


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

def forget(user_id: str, *, key: str, dsn: str, lake: Lake | IcebergLake, stream: Stream | None,
           drop_days: int, expires_days: int | None = None, dry_run: bool = False,
           now: datetime | None = None,
           after_partition: Callable[[PartitionDone], None] = lambda _: None) -> Report:
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
        iceberg = report.iceberg = isinstance(lake, IcebergLake)
        # An Iceberg lake needs no partitions found: its deletes find the rows themselves.
        found = [] if iceberg else partitions_for(_affected_hours(cur, filters))
        if dry_run:
            for table, (where, params) in filters.items():
                cur.execute(f"SELECT COUNT(*) FROM {table} WHERE {where}", params)  # noqa: S608
                report.warehouse[table] = int(cur.fetchone()[0])
            report.partitions_logged = len(found)
            report.event = "nothing sent (dry run)"
            conn.rollback()
            return report
        if existing is None:
            cur.execute(
                "INSERT INTO erasure_requests (request_id, user_hash, requested_at, expires_at, "
                "status) VALUES (%s, %s, %s, %s, 'pending')",
                (request_id, user_hash, requested_at, expires_at))
        for dataset, path in found:
            cur.execute(
                "INSERT INTO erasure_partitions (request_id, dataset, partition_path, "
                "rows_removed, files_rewritten, files_deleted) SELECT %s, %s, %s, 0, 0, 0 "
                "WHERE NOT EXISTS (SELECT 1 FROM erasure_partitions "
                "WHERE request_id = %s AND partition_path = %s)",
                (request_id, dataset, path, request_id, path))
            report.partitions_added += cur.rowcount
        if report.partitions_added or iceberg:
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
    if iceberg:
        _erase_tables(dsn, lake, request_id, user_hash, report, now)
    else:
        _rewrite_request(dsn, lake, request_id, user_hash, report, now, after_partition)
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


def _erase_tables(dsn: str, lake: IcebergLake, request_id: str, user_hash: str, report: Report,
                  now: datetime) -> None:
    """Row-level deletes in every erased table of an Iceberg lake, then the request is done."""
    report.tables = lake.erase(user_hash, tuple(LAKE_PARTITIONS))
    with _cursor(dsn) as (conn, cur):
        cur.execute("UPDATE erasure_requests SET status = 'done', completed_at = "
                    "COALESCE(completed_at, %s) WHERE request_id = %s", (now, request_id))
        conn.commit()


def _rewrite_request(dsn: str, lake: Lake, request_id: str, user_hash: str, report: Report,
                     now: datetime, after_partition: Callable[[PartitionDone], None]) -> None:
    """Rewrite the request's unfinished partitions, committing progress file by file."""
    with _cursor(dsn) as (conn, cur):
        cur.execute("SELECT partition_path FROM erasure_partitions "
                    "WHERE request_id = %s AND done_at IS NULL ORDER BY partition_path",
                    (request_id,))
        for (path,) in cur.fetchall():
            done = PartitionDone(path, 0, 0, 0)

            def record(outcome: FileOutcome, path: str = path, done: PartitionDone = done
                       ) -> None:
                rewritten, deleted = (0, 1) if outcome.deleted else (1, 0)
                done.rows_removed += outcome.rows_removed
                done.files_rewritten += rewritten
                done.files_deleted += deleted
                cur.execute(
                    "UPDATE erasure_partitions SET rows_removed = rows_removed + %s, "
                    "files_rewritten = files_rewritten + %s, files_deleted = files_deleted + %s "
                    "WHERE request_id = %s AND partition_path = %s",
                    (outcome.rows_removed, rewritten, deleted, request_id, path))
                conn.commit()

            for _ in rewrite_partition(lake, path, user_hash, on_file=record):
                pass
            cur.execute("UPDATE erasure_partitions SET done_at = %s "
                        "WHERE request_id = %s AND partition_path = %s",
                        (datetime.now(UTC).replace(tzinfo=None), request_id, path))
            conn.commit()
            report.partitions.append(done)
            after_partition(done)
        cur.execute("SELECT COUNT(*), COUNT(done_at) FROM erasure_partitions "
                    "WHERE request_id = %s", (request_id,))
        logged, finished = cur.fetchone()
        report.partitions_logged, report.partitions_left = int(logged), int(logged - finished)
        if report.partitions_left == 0:
            cur.execute("UPDATE erasure_requests SET status = 'done', completed_at = "
                        "COALESCE(completed_at, %s) WHERE request_id = %s", (now, request_id))
        conn.commit()


def resume(*, dsn: str, lake: Lake | IcebergLake, stream: Stream | None = None,
           now: datetime | None = None,
           after_partition: Callable[[PartitionDone], None] = lambda _: None) -> list[Report]:
    """Finish every unfinished request: partitions left to rewrite, a control event not sent.

    Needs no key and no user id: the request log holds the hash.
    """
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
    with _cursor(dsn) as (conn, cur):
        _require_tables(_tables(cur))
        cur.execute(
            "SELECT request_id, user_hash, requested_at, expires_at FROM erasure_requests r "
            "WHERE event_sent_at IS NULL OR status = 'pending' OR EXISTS (SELECT 1 "
            "FROM erasure_partitions p WHERE p.request_id = r.request_id AND p.done_at IS NULL) "
            "ORDER BY requested_at")
        pending = cur.fetchall()
        reports = []
        for request_id, user_hash, requested_at, expires_at in pending:
            report = Report(request_id=request_id, user_hash=user_hash,
                            requested_at=requested_at, expires_at=expires_at, existed=True,
                            iceberg=isinstance(lake, IcebergLake))
            report.event = _send_event(cur, stream, request_id, user_hash, requested_at,
                                       expires_at, now)
            conn.commit()
            reports.append(report)
    for report in reports:
        if isinstance(lake, IcebergLake):
            _erase_tables(dsn, lake, report.request_id, report.user_hash, report, now)
        else:
            _rewrite_request(dsn, lake, report.request_id, report.user_hash, report, now,
                             after_partition)
    return reports
