"""Read the lake back as plain rows: Parquet from a folder or from S3 through the S3 API, or
Iceberg tables through their catalog (`LakeReader`)."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

import boto3
import pyarrow.parquet as pq

from ecomflow.lake.tables import LakeCatalog
from ecomflow.local.stack import StackInfo
from ecomflow.results.summary import lake_files

# dataset -> its rows
LakeReader = Callable[[str], list[dict[str, Any]]]

PARTITION = re.compile(r"/(\w+)=([^/]+)")


def _s3(stack: StackInfo) -> Any:
    return boto3.client("s3", endpoint_url=stack.s3_endpoint, region_name=stack.region,
                        aws_access_key_id=stack.access_key,
                        aws_secret_access_key=stack.secret_key)


def read_dataset(lake_url: str, dataset: str, stack: StackInfo | None = None
                 ) -> list[dict[str, Any]]:
    """Every row of every committed file, with the Hive partition values from its path."""
    files = lake_files(lake_url, dataset, **({
        "s3_endpoint": stack.s3_endpoint, "region": stack.region,
        "access_key": stack.access_key, "secret_key": stack.secret_key} if stack else {}))
    rows: list[dict[str, Any]] = []
    for name in files:
        if name.startswith("s3://"):
            assert stack is not None
            parsed = urlparse(name)
            body = _s3(stack).get_object(Bucket=parsed.netloc, Key=parsed.path.lstrip("/"))
            table = pq.read_table(io.BytesIO(body["Body"].read()))
        else:
            table = pq.read_table(name)
        partitions = dict(PARTITION.findall("/" + name.split(f"/{dataset}/", 1)[1]))
        for row in table.to_pylist():
            for key, value in row.items():
                if isinstance(value, datetime):  # INT96 -> ns timestamps; compare at ms
                    row[key] = value.replace(tzinfo=None)
            rows.append({**row, **partitions})
    return rows


def parquet_reader(lake_url: str, stack: StackInfo | None = None) -> LakeReader:
    """The Parquet lake under `lake_url`."""
    return lambda dataset: read_dataset(lake_url, dataset, stack)


def iceberg_catalog(stack: StackInfo, database: str) -> LakeCatalog:
    """Catalog database `database` in the stack's catalog (the job's Iceberg tables)."""
    return LakeCatalog(stack.catalog_url, user=stack.user, database=database)


def iceberg_reader(stack: StackInfo, database: str) -> LakeReader:
    """The Iceberg tables of catalog database `database` in the stack's catalog."""
    return iceberg_catalog(stack, database).rows
