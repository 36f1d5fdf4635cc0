"""Erasure from the Iceberg lake by row-level deletes (dev.ecomflow.lake.LakeErasure), for
`ecomflow forget`: no partition bookkeeping of its own, the table's snapshots are the record.

In the JVM for the same reason as maintenance: pyiceberg 0.6.1 cannot delete rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ecomflow.errors import EcomflowError


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
        from ecomflow.run import runner

        runner.prepare_jvm(runner.require_jars(), self.home / "logs")
        from py4j.protocol import Py4JJavaError
        from pyflink.java_gateway import get_gateway
        from pyflink.util.java_utils import load_java_class

        options = get_gateway().jvm.java.util.HashMap()
        for key, value in self.catalog_options.items():
            options.put(key, value)
        erasure = load_java_class("dev.ecomflow.lake.LakeErasure").newInstance()
        deleted = {}
        for table in tables:
            try:
                deleted[table] = int(erasure.forget(options, self.database, table, user_hash))
            except Py4JJavaError as exc:
                raise ErasureError(f"{self.database}.{table}: "
                                   f"{exc.java_exception.toString()}") from exc
        return deleted
