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
from flink_jobs.properties import (
    LOCAL_PROPERTIES_PATH,
    PropertyGroups,
    env_overrides,
    load_property_groups,
    merge,
)
from flink_jobs.settings import JobSettings, Privacy, privacy_settings


def stack_property_groups(info: StackInfo) -> PropertyGroups:
    """Where the local stack listens, as property overrides."""
    return {
        "KinesisSource": {
            "stream.name": info.stream_name,
            "aws.region": info.region,
            "aws.endpoint": info.kinesis_endpoint,
            "aws.access.key.id": info.access_key,
            "aws.secret.access.key": info.secret_key,
        },
        "Lake": {
            "url": info.lake_url,
            "s3.endpoint": info.s3_endpoint,
            "s3.access.key": info.access_key,
            "s3.secret.key": info.secret_key,
        },
        "Warehouse": {"jdbc.url": info.warehouse_url, "username": info.user},
        "Job": {"parallelism": str(info.shards)},
    }


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
    groups = merge({"Privacy": {"hash.key": local_hash_key(home)}},
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
    warehouse_url: str | None = None,
    parallelism: int | None = None,
    watermark_delay_seconds: int | None = None,
    init_position: str | None = None,
    rest_port: int | None = None,
    restore_path: Path | str | None = None,
) -> PropertyGroups:
    """The property groups of a local run, in MSF's shape (what `--package` runs write to the
    application properties file)."""
    flags: PropertyGroups = {"Job": {}}
    if input_file is not None:
        flags["FileSource"] = {"path": str(input_file.resolve())}
    if lake is not None:
        flags["Lake"] = {"url": lake_url(lake)}
    if warehouse_url is not None:
        flags["Warehouse"] = {"jdbc.url": warehouse_url}
    if parallelism is not None:
        flags["Job"]["parallelism"] = str(parallelism)
    if watermark_delay_seconds is not None:
        flags["Job"]["watermark.delay.seconds"] = str(watermark_delay_seconds)
    if init_position is not None:
        flags["KinesisSource"] = {"init.position": init_position}
    if restore_path is not None:
        flags["Job"]["restore.path"] = str(restore_path)

    # Lowest layer: what a local run needs that MSF gets from its deployment (rates from S3,
    # state folders, a REST port, the hash key from Secrets Manager). Environment variables may
    # override these.
    defaults: PropertyGroups = {
        "CleanStream": {"fx.rates.url": paths.FX_RATES.as_uri()},
        "Privacy": {"hash.key": local_hash_key(home)},
        "Job": {"checkpoint.dir": str(home / "checkpoints"),
                "savepoint.dir": str(home / "savepoints")},
    }
    if rest_port is not None:
        defaults["Job"]["rest.port"] = str(rest_port)
    layers = [defaults, load_property_groups(properties_file)]
    if stack is not None:
        stack_groups = stack_property_groups(stack)
        if input_file is not None:
            # A file has one split: shard-count parallelism would only add idle subtasks.
            stack_groups["Job"].pop("parallelism")
        layers.append(stack_groups)
    layers += [env_overrides(environ), flags]
    groups = merge(*layers)
    # A local-folder lake must not inherit the emulator's S3 endpoint and keys.
    if not groups["Lake"]["url"].startswith(("s3://", "s3a://")):
        for key in ("s3.endpoint", "s3.access.key", "s3.secret.key"):
            groups["Lake"].pop(key, None)
    return groups
