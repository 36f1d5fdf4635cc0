"""Apply the warehouse DDL (sql/warehouse/V*.sql) to Redshift through the Redshift Data API.

The Data API runs one statement per call and needs no network path to the cluster (it stays
in private subnets); credentials come from the cluster's Secrets Manager secret. Every file is
idempotent (`CREATE ... IF NOT EXISTS`, `CREATE OR REPLACE VIEW`) and applied on every deploy,
in version order.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ecomflow import paths
from ecomflow.errors import EcomflowError

_VERSION = re.compile(r"^V(\d+)__.+\.sql$")
_DONE = {"FINISHED"}
_FAILED = {"FAILED", "ABORTED"}


class SchemaError(EcomflowError, RuntimeError):
    pass


@dataclass(frozen=True, kw_only=True)
class Target:
    cluster_identifier: str
    database: str
    secret_arn: str


def migration_files(directory: Path = paths.WAREHOUSE_DDL_DIR) -> list[Path]:
    """Every V<n>__name.sql in the directory, by version number (V10 after V9)."""
    found = [(int(m.group(1)), p) for p in directory.iterdir()
             if (m := _VERSION.match(p.name)) and p.is_file()]
    versions = [v for v, _ in found]
    if len(versions) != len(set(versions)):
        raise SchemaError(f"two warehouse migrations share a version in {directory}")
    return [p for _, p in sorted(found)]


def split_statements(sql: str) -> list[str]:
    """Statements separated by `;`, ignoring semicolons inside quotes and comments."""
    statements, current = [], []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end
            continue
        if sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = n if end < 0 else end + 2
            continue
        if ch in ("'", '"'):
            end = i + 1
            while end < n:
                if sql[end] == ch and sql[end + 1:end + 2] == ch:
                    end += 2  # doubled quote inside the literal
                elif sql[end] == ch:
                    break
                else:
                    end += 1
            current.append(sql[i:end + 1])
            i = end + 1
            continue
        if ch == ";":
            statements.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    statements.append("".join(current))
    return [s.strip() for s in statements if s.strip()]


# One source for both warehouses: a table's Redshift-only attributes (distribution and sort
# keys) sit in a `-- redshift: ...` comment line before the statement's `;`. PostgreSQL reads
# a comment; for Redshift the comment marker is dropped and the clause becomes part of the DDL.
_REDSHIFT_ONLY = re.compile(r"^--\s*redshift:\s*(.+)$", re.M)


def for_redshift(sql: str) -> str:
    """The DDL as Redshift runs it: `-- redshift: X` lines become `X`."""
    return _REDSHIFT_ONLY.sub(r"\1", sql)


def statements(files: list[Path]) -> Iterator[tuple[str, int, str]]:
    """(file name, number, statement) of every statement, in the Redshift dialect."""
    for path in files:
        text = for_redshift(path.read_text())
        for number, statement in enumerate(split_statements(text), start=1):
            yield path.name, number, statement


def apply(client: Any, target: Target, files: list[Path] | None = None, *,
          timeout_s: float = 300.0, poll_s: float = 1.0,
          sleep: Callable[[float], None] = time.sleep,
          report: Callable[[str], None] = lambda _: None) -> int:
    """Run every statement in order, waiting for each; returns how many ran."""
    count = 0
    for name, number, sql in statements(migration_files() if files is None else files):
        started = client.execute_statement(
            ClusterIdentifier=target.cluster_identifier, Database=target.database,
            SecretArn=target.secret_arn, Sql=sql,
            StatementName=f"ecomflow-{name.removesuffix('.sql')}-{number}"[:500])
        _wait(client, started["Id"], f"{name} statement {number}", timeout_s=timeout_s,
              poll_s=poll_s, sleep=sleep)
        report(f"warehouse: {name} statement {number} applied")
        count += 1
    return count


def _wait(client: Any, statement_id: str, what: str, *, timeout_s: float, poll_s: float,
          sleep: Callable[[float], None]) -> None:
    waited = 0.0
    while True:
        described = client.describe_statement(Id=statement_id)
        status = described["Status"]
        if status in _DONE:
            return
        if status in _FAILED:
            raise SchemaError(f"{what} {status.lower()}: {described.get('Error', 'no error text')}")
        if waited >= timeout_s:
            raise SchemaError(f"{what} still {status} after {timeout_s:.0f} s")
        sleep(poll_s)
        waited += poll_s
