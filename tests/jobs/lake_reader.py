"""The lake a job test writes to, read back through its catalog (never by listing files).

Every test gets a lake of its own (`fresh_lake`): a location and a catalog database that no
other run has used, so that reruns and other tests never add rows to its tables.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa

from ecomflow.lake.tables import LakeCatalog
from ecomflow.local.stack import StackInfo

# dataset -> its rows
LakeReader = Callable[[str], list[dict[str, Any]]]


@dataclass(frozen=True)
class JobLake:
    """A job test's lake: where new tables go (`url`) and their catalog database."""

    url: str
    database: str
    catalog: LakeCatalog

    @property
    def args(self) -> tuple[str, ...]:
        """`ecomflow run` / `forget` flags that name this lake."""
        return ("--lake", self.url, "--lake-database", self.database)

    @property
    def env(self) -> dict[str, str]:
        """The same as property overrides (runs that take no flags)."""
        return {"ECOMFLOW__Lake__url": self.url, "ECOMFLOW__Lake__catalog.database": self.database}

    def rows(self, dataset: str) -> list[dict[str, Any]]:
        return self.catalog.rows(dataset)

    def scan(self, dataset: str) -> pa.Table:
        return self.catalog.scan(dataset)

    def partition_hours(self, dataset: str) -> set[datetime]:
        """The hours of the table's data files' partitions (tables are partitioned by hour)."""
        table = self.catalog.table(dataset)
        [field] = table.spec().fields
        assert str(field.transform) == "hour", table.spec()
        epoch = datetime(1970, 1, 1)
        return {epoch + timedelta(hours=task.file.partition[0])
                for task in table.scan().plan_files()}


def lake_catalog(stack: StackInfo, database: str) -> LakeCatalog:
    """Catalog database `database` in the stack's catalog, its S3 files on the stack's S3."""
    return LakeCatalog(stack.catalog_url, user=stack.user, database=database,
                       s3_endpoint=stack.s3_endpoint, s3_access_key=stack.access_key,
                       s3_secret_key=stack.secret_key)


def fresh_lake(stack: StackInfo, name: str, url: str | None = None) -> JobLake:
    """A new lake named after the test: in the stack's bucket, or at `url` (a local folder)."""
    database = f"{name.replace('-', '_')}_{uuid.uuid4().hex[:8]}"
    return JobLake(url or f"{stack.lake_url}/{database}", database,
                    lake_catalog(stack, database))
