"""`ecomflow lake maintain`: compaction, snapshot expiry and orphan removal for each lake
table, in the JVM (dev.ecomflow.lake.LakeMaintenance): pyiceberg 0.6.1, the newest our pyarrow
allows, cannot rewrite files, and Iceberg's own compaction is a Flink action.

Compaction runs as a local batch job in that JVM (ecomflow/lake/jvm.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ecomflow.errors import EcomflowError
from ecomflow.lake.jvm import java_error, java_map, lake_helper

# Files of up to this size are what compaction writes (Iceberg's default target).
TARGET_FILE_BYTES = 128 * 1024 * 1024


class MaintenanceError(EcomflowError):
    """A lake table could not be maintained."""


@dataclass(frozen=True)
class Maintained:
    """What one table's maintenance did (LakeMaintenance's counts)."""

    table: str
    counts: dict[str, int]

    def line(self) -> str:
        c = self.counts
        return (f"{self.table}: data files {c['data_files_before']} -> {c['data_files_after']}"
                f" ({c.get('files_compacted', 0)} compacted into {c.get('files_written', 0)}),"
                f" snapshots {c['snapshots_before']} -> {c['snapshots_after']},"
                f" orphans removed {c['orphans_removed']}")


def maintain(catalog_options: dict[str, str], database: str, tables: list[str], *,
             home: Path, older_than_hours: float, retain_last: int) -> list[Maintained]:
    """Maintain `tables` of catalog `database`; snapshots and orphans older than
    `older_than_hours` go, the newest `retain_last` snapshots stay."""
    from py4j.protocol import Py4JJavaError

    maintenance = lake_helper("LakeMaintenance", home)
    options = java_map(catalog_options)
    done = []
    for table in tables:
        try:
            counts = maintenance.maintain(options, database, table,
                                          int(older_than_hours * 3_600_000), retain_last,
                                          TARGET_FILE_BYTES)
        except Py4JJavaError as exc:
            raise MaintenanceError(f"{database}.{table}: {java_error(exc)}") from exc
        done.append(Maintained(table, {str(k): int(v) for k, v in dict(counts).items()}))
    return done
