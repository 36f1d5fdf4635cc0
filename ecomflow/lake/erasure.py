"""Erasure from the Iceberg lake by row-level deletes (dev.ecomflow.lake.LakeErasure), for
`ecomflow forget`: no partition bookkeeping of its own, the table's snapshots are the record.

In the JVM for the same reason as maintenance: pyiceberg 0.6.1 cannot delete rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ecomflow.errors import EcomflowError
from ecomflow.lake.jvm import java_error, java_map, lake_helper


class ErasureError(EcomflowError):
    """A lake table could not be erased from."""


@dataclass(frozen=True)
class IcebergLake:
    """The lake's Iceberg tables, as the job's settings name them (`LakeSink`)."""

    catalog_options: dict[str, str] = field(repr=False)
    database: str
    home: Path

    def erase(self, user_hash: str, tables: tuple[str, ...]) -> dict[str, int]:
        """Delete the user's rows from each of `tables`; rows deleted per table (0 when a
        table has none left, so a repeated run deletes nothing)."""
        from py4j.protocol import Py4JJavaError

        erasure = lake_helper("LakeErasure", self.home)
        options = java_map(self.catalog_options)
        deleted = {}
        for table in tables:
            try:
                deleted[table] = int(erasure.forget(options, self.database, table, user_hash))
            except Py4JJavaError as exc:
                raise ErasureError(f"{self.database}.{table}: {java_error(exc)}") from exc
        return deleted
