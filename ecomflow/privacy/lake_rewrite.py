"""Rewrite lake partitions without one (hashed) user's rows: the lake half of `ecomflow forget`.

A lake is `s3://bucket[/prefix]` (read and written through an S3 client, so moto, MinIO and AWS
alike) or a local folder (`file://` URL or path). A partition is a folder under it, e.g.
`events/dt=2025-07-16/hr=10`; its committed files are every object below whose name starts with
neither '.' nor '_' (Flink's in-progress and marker files).

Each file is read whole with pyarrow, filtered, and written back under the same name: one PUT
on S3 (atomic per object) or a rename over the old file locally, so a reader sees the old file
or the new one, never half of one. A file with nothing to remove is left alone; a file left
empty is deleted. On a versioned bucket the replaced version is deleted too (it still holds
the rows), which needs s3:DeleteObjectVersion. The file keeps its timestamp encoding (Flink
writes INT96) and its compression.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

# Columns that hold a (hashed) user in each dataset the job writes; `payload` is searched too
# (the pseudonymised payload carries the hash wherever the user appears in it).
ID_COLUMNS = ("user_id", "customer_id")
PAYLOAD_COLUMN = "payload"


@dataclass(frozen=True)
class FileOutcome:
    name: str
    rows_removed: int
    deleted: bool  # every row was the user's: the file is gone


class Lake:
    """A lake URL and, for s3:// URLs, the S3 client that reaches it."""

    def __init__(self, url: str, s3: Any | None = None) -> None:
        parsed = urlparse(url)
        self.url = url.rstrip("/")
        self.s3 = s3
        if parsed.scheme in ("s3", "s3a"):
            if s3 is None:
                raise ValueError(f"{url}: an S3 lake needs an S3 client")
            self.bucket = parsed.netloc
            self.prefix = parsed.path.strip("/")
            self.root: Path | None = None
        else:
            self.root = Path(parsed.path if parsed.scheme == "file" else url)

    def _key(self, relative: str) -> str:
        return "/".join(p for p in (self.prefix, relative.strip("/")) if p)

    def files(self, partition: str) -> list[str]:
        """Committed files of a partition, as names relative to the lake (sorted)."""
        names: list[str] = []
        if self.root is not None:
            folder = self.root / partition
            if folder.is_dir():
                names = [str(p.relative_to(self.root)) for p in folder.rglob("*")
                         if p.is_file() and not p.name.startswith((".", "_"))]
            return sorted(names)
        start = len(self.prefix) + 1 if self.prefix else 0
        paginator = self.s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self._key(partition) + "/"):
            for item in page.get("Contents", []):
                if not item["Key"].rsplit("/", 1)[-1].startswith((".", "_")):
                    names.append(item["Key"][start:])
        return sorted(names)

    def read(self, name: str) -> tuple[bytes, str | None]:
        """The file's bytes and, on a versioned bucket, the version read."""
        if self.root is not None:
            return (self.root / name).read_bytes(), None
        response = self.s3.get_object(Bucket=self.bucket, Key=self._key(name))
        version = response.get("VersionId")
        return response["Body"].read(), None if version in (None, "null") else version

    def replace(self, name: str, data: bytes, version: str | None) -> None:
        if self.root is not None:
            target = self.root / name
            tmp = target.with_name(f".{target.name}.forget-tmp")
            tmp.write_bytes(data)
            os.replace(tmp, target)
            return
        key = self._key(name)
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=data)
        if version is not None:
            self.s3.delete_object(Bucket=self.bucket, Key=key, VersionId=version)

    def delete(self, name: str, version: str | None) -> None:
        if self.root is not None:
            (self.root / name).unlink(missing_ok=True)
            return
        key = self._key(name)
        if version is not None:
            # Deleting the version itself removes the rows for good (no delete marker left
            # in front of a noncurrent copy).
            self.s3.delete_object(Bucket=self.bucket, Key=key, VersionId=version)
        else:
            self.s3.delete_object(Bucket=self.bucket, Key=key)


def user_rows(table: pa.Table, user_hash: str) -> pa.Array:
    """A boolean mask of the rows that belong to the user (by id column or payload)."""
    mask = pa.array([False] * table.num_rows, type=pa.bool_())
    for column in (*ID_COLUMNS, PAYLOAD_COLUMN):
        if column not in table.column_names:
            continue
        values = table[column]
        hit = (pc.match_substring(values, user_hash) if column == PAYLOAD_COLUMN
               else pc.equal(values, user_hash))
        mask = pc.or_(mask, pc.fill_null(hit, False))
    return mask


def _encode_like(table: pa.Table, original: pq.ParquetFile) -> bytes:
    """`table` as Parquet with the original file's timestamp type and compression."""
    schema = original.schema
    int96 = any(schema.column(i).physical_type == "INT96" for i in range(len(schema)))
    metadata = original.metadata
    compression = "snappy"
    if metadata.num_row_groups and metadata.num_columns:
        compression = metadata.row_group(0).column(0).compression.lower()
    out = io.BytesIO()
    pq.write_table(table, out, compression=compression,
                   use_deprecated_int96_timestamps=int96)
    return out.getvalue()


def rewrite_file(lake: Lake, name: str, user_hash: str) -> FileOutcome:
    data, version = lake.read(name)
    original = pq.ParquetFile(io.BytesIO(data))
    table = original.read()
    mask = user_rows(table, user_hash)
    removed = pc.sum(mask).as_py() or 0
    if removed == 0:
        return FileOutcome(name, 0, deleted=False)
    kept = table.filter(pc.invert(mask))
    if kept.num_rows == 0:
        lake.delete(name, version)
        return FileOutcome(name, removed, deleted=True)
    lake.replace(name, _encode_like(kept, original), version)
    return FileOutcome(name, removed, deleted=False)


def rewrite_partition(lake: Lake, partition: str, user_hash: str,
                      on_file: Callable[[FileOutcome], None] = lambda _: None
                      ) -> Iterator[FileOutcome]:
    """Rewrite every committed file of `partition` that holds the user's rows.

    Yields (and passes to `on_file`) one outcome per file changed; files without the user's
    rows are skipped. A partition that does not exist yields nothing.
    """
    for name in lake.files(partition):
        outcome = rewrite_file(lake, name, user_hash)
        if outcome.rows_removed:
            on_file(outcome)
            yield outcome
