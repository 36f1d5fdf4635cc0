"""The lake's Iceberg tables, read through their catalog: never by listing files.

The job writes the tables (dev.ecomflow.lake.LakeTables creates them at its start);
here Python reads them with pyiceberg, which plans a scan from the table's current snapshot
(committed files only, deletes applied) and returns Arrow. `query` runs DuckDB's SQL over those
scans: an embedded engine, no server, and the Arrow tables go in without a copy.

pyiceberg is held at 0.6.1: apache-flink 1.20 caps pyarrow below 12 (through apache-beam), and
0.6.1 is the newest pyiceberg that scans with that pyarrow (docs/iceberg-lake-plan.md). Its SQL
catalog reads the same catalog tables as Iceberg's JDBC catalog in the job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any
from urllib.parse import parse_qs, urlparse

import pyarrow as pa

from ecomflow.errors import EcomflowError
from flink_jobs.graph import LAKE_DATASETS
from flink_jobs.settings import LakeSink


class LakeTablesError(EcomflowError):
    """The lake's catalog or one of its tables cannot be read."""


@dataclass(frozen=True)
class TableInfo:
    """One table as `ecomflow lake tables` shows it."""

    name: str
    partitioning: str
    snapshots: int
    data_files: int
    rows: int

    def line(self) -> str:
        return (f"{self.name}: partitioned by {self.partitioning or 'nothing'}, "
                f"{self.snapshots} snapshots, {self.data_files} data files, {self.rows} rows")


def _data_files(table: Any) -> list[str]:
    return sorted(task.file.file_path for task in table.scan().plan_files())


def _row_count(table: Any) -> int:
    snapshot = table.current_snapshot()
    if snapshot is None:
        return 0
    summary = snapshot.summary
    if int(summary.get("total-delete-files") or 0):
        return table.scan().to_arrow().num_rows
    return int(summary.get("total-records") or 0)


@dataclass(frozen=True)
class LakeCatalog:
    """Iceberg's JDBC catalog on PostgreSQL (the local stack's), as pyiceberg reaches it.

    `jdbc_url`: what the job uses (`jdbc:postgresql://host:port/db[?user=...]`); the S3
    settings reach tables whose files are on an S3 endpoint (the stack's moto).
    """

    jdbc_url: str
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    database: str = "ecomflow_lake"
    warehouse: str | None = None
    s3_endpoint: str | None = None
    s3_access_key: str | None = None
    s3_secret_key: str | None = field(default=None, repr=False)

    @classmethod
    def of(cls, lake: LakeSink) -> LakeCatalog:
        """The catalog a job with these lake settings writes to (JDBC catalogs only)."""
        if lake.catalog != "jdbc" or not lake.catalog_uri:
            raise LakeTablesError(f"the lake's catalog is {lake.catalog!r}: only a JDBC "
                                  "catalog is read from here (on AWS, query with Athena)")
        return cls(lake.catalog_uri, user=lake.catalog_user, password=lake.catalog_password,
                   database=lake.catalog_database, warehouse=lake.warehouse,
                   s3_endpoint=lake.s3_endpoint, s3_access_key=lake.s3_access_key,
                   s3_secret_key=lake.s3_secret_key)

    def sqlalchemy_url(self) -> str:
        parsed = urlparse(self.jdbc_url.removeprefix("jdbc:"))
        if parsed.scheme != "postgresql":
            raise LakeTablesError(f"not a PostgreSQL JDBC URL: {self.jdbc_url}")
        query = parse_qs(parsed.query)
        user = self.user or query.get("user", [""])[0]
        password = self.password or query.get("password", [""])[0]
        login = user + (f":{password}" if password else "") + ("@" if user else "")
        return f"postgresql+psycopg2://{login}{parsed.netloc}{parsed.path}"

    @cached_property
    def _pyiceberg(self) -> Any:
        from pyiceberg.catalog.sql import SqlCatalog

        properties = {"uri": self.sqlalchemy_url()}
        if self.warehouse:
            properties["warehouse"] = self.warehouse
        if self.s3_endpoint:
            # pyarrow's S3 client; an endpoint given means path-style addressing.
            properties.update({"s3.endpoint": self.s3_endpoint, "s3.region": "us-east-1"})
        if self.s3_access_key and self.s3_secret_key:
            properties.update({"s3.access-key-id": self.s3_access_key,
                               "s3.secret-access-key": self.s3_secret_key})
        return SqlCatalog("ecomflow_lake", **properties)

    def _catalog(self) -> Any:
        """pyiceberg's catalog, connected once per LakeCatalog."""
        return self._pyiceberg

    def tables(self) -> list[str]:
        """The lake's tables that exist in the catalog, in the job's order."""
        try:
            present = {name for _, name in self._catalog().list_tables(self.database)}
        except Exception as exc:  # noqa: BLE001 (pyiceberg raises several kinds)
            raise LakeTablesError(f"cannot list {self.database} in {self.jdbc_url}: {exc}"
                                  ) from exc
        return [name for name in LAKE_DATASETS if name in present]

    def table(self, dataset: str) -> Any:
        """The pyiceberg Table of a lake dataset."""
        try:
            return self._catalog().load_table((self.database, dataset))
        except Exception as exc:  # noqa: BLE001
            raise LakeTablesError(f"no lake table {self.database}.{dataset}: {exc}") from exc

    def scan(self, dataset: str) -> pa.Table:
        """Every row of the table's current snapshot."""
        return self.table(dataset).scan().to_arrow()

    def rows(self, dataset: str) -> list[dict[str, Any]]:
        """The current snapshot as plain rows (timestamps naive, as the job wrote them)."""
        rows = self.scan(dataset).to_pylist()
        for row in rows:
            for key, value in row.items():
                if isinstance(value, datetime):
                    row[key] = value.replace(tzinfo=None)
        return rows

    def row_count(self, dataset: str) -> int:
        """Rows in the current snapshot: from its summary when it has no delete files (no
        data read), else by a scan (a compaction that applied deletes leaves their files, so
        the summary's delete count would no longer match its rows)."""
        return _row_count(self.table(dataset))

    def data_files(self, dataset: str) -> list[str]:
        """The data files the current snapshot reads (for file counts, never for reading)."""
        return _data_files(self.table(dataset))

    def describe(self, dataset: str) -> TableInfo:
        """Partitioning, snapshots, data files and rows of one table (loaded once)."""
        table = self.table(dataset)
        schema = table.schema()
        return TableInfo(
            name=f"{self.database}.{dataset}",
            partitioning=", ".join(f"{field.transform}({schema.find_column_name(field.source_id)})"
                                   for field in table.spec().fields),
            snapshots=len(table.metadata.snapshots), data_files=len(_data_files(table)),
            rows=table.scan().to_arrow().num_rows)

    def query(self, sql: str) -> pa.Table:
        """Ad-hoc SQL (DuckDB's dialect) over the lake's tables, each by its dataset name."""
        import duckdb

        named = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", sql))
        connection = duckdb.connect()
        try:
            for dataset in self.tables():
                if dataset in named:
                    connection.register(dataset, self.scan(dataset))
            return connection.execute(sql).fetch_arrow_table()
        except duckdb.Error as exc:
            raise LakeTablesError(f"query failed: {exc}") from exc
        finally:
            connection.close()
