"""What `up` creates inside the services: the stream, the lake bucket, the warehouse database
and its migrations (sql/warehouse/V*.sql)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ecomflow import paths
from ecomflow.local.config import (
    _STREAM_TIMEOUT,
    KINESIS,
    StackError,
    StackInfo,
    _aws_client,
    _first_line,
    _log_path,
    _pg_connect,
)


def _ensure_stream(info: StackInfo, shards: int) -> tuple[str, int]:
    """Create the stream if missing, wait until ACTIVE; return (arn, open shard count)."""
    with _aws_client(info, "kinesis") as client:
        try:
            client.create_stream(StreamName=info.stream_name, ShardCount=shards)
        except client.exceptions.ResourceInUseException:
            pass  # an earlier `up` made it
        deadline = time.monotonic() + _STREAM_TIMEOUT
        while True:
            summary = client.describe_stream_summary(StreamName=info.stream_name)
            summary = summary["StreamDescriptionSummary"]
            if summary["StreamStatus"] == "ACTIVE":
                return summary["StreamARN"], int(summary["OpenShardCount"])
            if time.monotonic() >= deadline:
                raise StackError(
                    f"stream {info.stream_name} is still {summary['StreamStatus']} after "
                    f"{_STREAM_TIMEOUT:.0f}s: see {_log_path(info.home, KINESIS)}"
                )
            time.sleep(0.2)


def _ensure_bucket(info: StackInfo) -> None:
    with _aws_client(info, "s3") as client:
        existing = {bucket["Name"] for bucket in client.list_buckets().get("Buckets", [])}
        if info.bucket in existing:
            return
        kwargs: dict[str, Any] = {"Bucket": info.bucket}
        if info.region != "us-east-1":  # us-east-1 rejects an explicit LocationConstraint
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": info.region}
        client.create_bucket(**kwargs)


def _ensure_database(info: StackInfo) -> None:
    from psycopg2 import sql

    conn = _pg_connect(info, database="postgres")
    try:
        conn.autocommit = True  # CREATE DATABASE cannot run inside a transaction
        with conn.cursor() as cur:
            for database in (info.database, info.catalog_database):
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
                if cur.fetchone() is None:
                    cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    finally:
        conn.close()


def forget_lost_lake_tables(info: StackInfo) -> int:
    """Drop the catalog's entries for tables in the stack's bucket; the number dropped.

    moto keeps objects in memory, so a restarted S3 has lost every table file while the
    catalog (PostgreSQL, on disk) still names them: the job would fail to load the tables
    instead of creating them afresh. Tables in local folders keep their entries.
    """
    conn = _pg_connect(info, database=info.catalog_database)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT to_regclass('iceberg_tables') IS NOT NULL")
            if not cur.fetchone()[0]:
                return 0  # no table created yet
            cur.execute("DELETE FROM iceberg_tables WHERE metadata_location LIKE %s",
                        (f"s3://{info.bucket}/%",))
            dropped = cur.rowcount
        conn.commit()
        return dropped
    finally:
        conn.close()


def apply_warehouse_ddl(info: StackInfo, ddl_dir: Path | None = None) -> list[str]:
    """Run every sql/warehouse/*.sql in name order, one transaction per file; return the names.

    The files are idempotent (IF NOT EXISTS / OR REPLACE), so this runs on every `up`.
    """
    import psycopg2

    directory = paths.WAREHOUSE_DDL_DIR if ddl_dir is None else Path(ddl_dir)
    files = sorted(directory.glob("*.sql")) if directory.is_dir() else []
    if not files:
        return []
    conn = _pg_connect(info)
    try:
        for path in files:
            try:
                with conn.cursor() as cur:
                    cur.execute(path.read_text())
                conn.commit()
            except psycopg2.Error as exc:
                conn.rollback()
                raise StackError(f"warehouse DDL {path.name} failed: {_first_line(exc)}") from None
    finally:
        conn.close()
    return [path.name for path in files]
