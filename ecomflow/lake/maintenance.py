"""`ecomflow lake maintain`: expiry of old dead letters (dev.ecomflow.lake.LakeExpiry), then
compaction, snapshot expiry and orphan removal for each lake table, in the JVM
(dev.ecomflow.lake.LakeMaintenance): pyiceberg 0.6.1, the newest our pyarrow allows, cannot
delete or rewrite files, and Iceberg's own compaction is a Flink action.

Compaction runs as a local batch job in that JVM (ecomflow/lake/jvm.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
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
                f" orphans removed {c['orphans_removed']},"
                f" rewritten without deleted rows {c.get('files_purged', 0)}")


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


@dataclass(frozen=True)
class Expired:
    """What the expiry of one table's old rows did."""

    table: str
    before: datetime
    files: int
    rows: int

    def line(self) -> str:
        return (f"{self.table}: {self.rows} rows in {self.files} files from before "
                f"{self.before:%Y-%m-%d %H}:00 UTC deleted")


def expire_rows(catalog_options: dict[str, str], database: str, table: str, column: str,
                before: datetime, *, home: Path) -> Expired:
    """Delete the rows of `table` whose `column` lies in a whole hour before `before` (UTC)."""
    from py4j.protocol import Py4JJavaError

    expiry = lake_helper("LakeExpiry", home)
    try:
        counts = expiry.expire(java_map(catalog_options), database, table, column,
                               int(before.timestamp() * 1000))
    except Py4JJavaError as exc:
        raise MaintenanceError(f"{database}.{table}: {java_error(exc)}") from exc
    hour = datetime.fromtimestamp(int(before.timestamp()) // 3600 * 3600, tz=before.tzinfo)
    return Expired(table, hour, int(counts["files_deleted"]), int(counts["rows_deleted"]))
