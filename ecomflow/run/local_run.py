"""Job settings for a local run: properties file < local stack < environment < CLI flags.

The layers are property groups of MSF's shape, merged key by key, then typed once by
`JobSettings.from_property_groups` exactly as on MSF.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ecomflow import paths
from ecomflow.local.stack import StackInfo
from flink_jobs import property_keys as keys
from flink_jobs.properties import (
    LOCAL_PROPERTIES_PATH,
    PropertyGroups,
    env_overrides,
    load_property_groups,
    merge,
)
from flink_jobs.property_keys import property_groups
from flink_jobs.settings import JobSettings, Privacy, privacy_settings


def stack_property_groups(info: StackInfo) -> PropertyGroups:
    """Where the local stack listens, as property overrides."""
    return property_groups({
        keys.KINESIS_STREAM_NAME: info.stream_name,
        keys.KINESIS_REGION: info.region,
        keys.KINESIS_ENDPOINT: info.kinesis_endpoint,
        keys.KINESIS_ACCESS_KEY: info.access_key,
        keys.KINESIS_SECRET_KEY: info.secret_key,
        keys.LAKE_URL: info.lake_url,
        keys.LAKE_S3_ENDPOINT: info.s3_endpoint,
        keys.LAKE_S3_ACCESS_KEY: info.access_key,
        keys.LAKE_S3_SECRET_KEY: info.secret_key,
        keys.LAKE_CATALOG: "jdbc",
        keys.LAKE_CATALOG_URI: info.catalog_url,
        keys.LAKE_CATALOG_USER: info.user,
        keys.WAREHOUSE_JDBC_URL: info.warehouse_url,
        keys.WAREHOUSE_USERNAME: info.user,
        keys.JOB_PARALLELISM: str(info.shards),
    })


PRIVACY_KEY_FILE = "privacy.key"


def local_hash_key(home: Path) -> str:
    """This machine's pseudonymisation key: `<home>/privacy.key`, created on first use.

    Never in the repository: a key committed there would let anyone re-identify hashed ids by
    hashing guesses. 0600, created atomically so two first runs agree on one key.
    """
    path = home / PRIVACY_KEY_FILE
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        # Written whole under a temporary name, then linked into place: a concurrent first
        # run either links first or finds the complete file, never a half-written one.
        tmp = home / f".{PRIVACY_KEY_FILE}.{os.getpid()}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_hex(32) + "\n")
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    key = path.read_text(encoding="utf-8").strip()
    if not key:
        raise ValueError(f"{path} is empty: delete it to create a new key (hashes change)")
    return key


def local_privacy(home: Path, environ: Mapping[str, str],
                  properties_file: Path = LOCAL_PROPERTIES_PATH) -> Privacy:
    """The `Privacy` settings a local run would use (key file < properties < environment)."""
    groups = merge(property_groups({keys.PRIVACY_HASH_KEY: local_hash_key(home)}),
                   load_property_groups(properties_file), env_overrides(environ))
    return privacy_settings(groups)


def lake_url(value: str) -> str:
    """`--lake` takes an S3 URL or a local path; Flink wants a URL."""
    if urlparse(value).scheme in ("s3", "s3a", "file"):
        return value.rstrip("/")
    return Path(value).resolve().as_uri()


def build_local_settings(**options: Any) -> JobSettings:
    """The typed settings of a local run on the mini-cluster (see local_property_groups)."""
    return JobSettings.from_property_groups(local_property_groups(**options),
                                            local=True)


def local_property_groups(
    *,
    home: Path,
    stack: StackInfo | None,
    environ: Mapping[str, str],
    properties_file: Path = LOCAL_PROPERTIES_PATH,
    input_file: Path | None = None,
    lake: str | None = None,
    lake_database: str | None = None,
    warehouse_url: str | None = None,
    parallelism: int | None = None,
    watermark_delay_seconds: int | None = None,
    init_position: str | None = None,
    rest_port: int | None = None,
    restore_path: Path | str | None = None,
) -> PropertyGroups:
    """The property groups of a local run, in MSF's shape (what `--package` runs write to the
    application properties file)."""
    given = {
        keys.FILE_PATH: str(input_file.resolve()) if input_file is not None else None,
        keys.LAKE_URL: lake_url(lake) if lake is not None else None,
        keys.LAKE_CATALOG_DATABASE: lake_database,
        keys.WAREHOUSE_JDBC_URL: warehouse_url,
        keys.JOB_PARALLELISM: parallelism,
        keys.JOB_WATERMARK_DELAY_SECONDS: watermark_delay_seconds,
        keys.KINESIS_INIT_POSITION: init_position,
        keys.JOB_RESTORE_PATH: restore_path,
    }
    flags = property_groups({prop: str(value) for prop, value in given.items()
                             if value is not None})

    # Lowest layer: what a local run needs that MSF gets from its deployment (rates from S3,
    # state folders, a REST port, the hash key from Secrets Manager). Environment variables may
    # override these.
    defaults = property_groups({
        keys.CLEAN_FX_RATES_URL: paths.FX_RATES.as_uri(),
        keys.PRIVACY_HASH_KEY: local_hash_key(home),
        keys.JOB_CHECKPOINT_DIR: str(home / "checkpoints"),
        keys.JOB_SAVEPOINT_DIR: str(home / "savepoints"),
        **({keys.JOB_REST_PORT: str(rest_port)} if rest_port is not None else {}),
    })
    layers = [defaults, load_property_groups(properties_file)]
    if stack is not None:
        stack_groups = stack_property_groups(stack)
        if input_file is not None:
            # A file has one split: shard-count parallelism would only add idle subtasks.
            stack_groups[keys.JOB_PARALLELISM.group].pop(keys.JOB_PARALLELISM.key)
        layers.append(stack_groups)
    layers += [env_overrides(environ), flags]
    groups = merge(*layers)
    # A local-folder lake must not inherit the emulator's S3 endpoint and keys.
    lake_group = groups[keys.LAKE_URL.group]
    if not lake_group[keys.LAKE_URL.key].startswith(("s3://", "s3a://")):
        for prop in (keys.LAKE_S3_ENDPOINT, keys.LAKE_S3_ACCESS_KEY, keys.LAKE_S3_SECRET_KEY):
            lake_group.pop(prop.key, None)
    return groups
