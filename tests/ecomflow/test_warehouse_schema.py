"""Warehouse DDL through the Redshift Data API, against moto's in-process mock (mock_aws)."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.redshiftdata.models import redshiftdata_backends

from ecomflow import paths
from ecomflow.aws import warehouse_schema
from ecomflow.aws.warehouse_schema import SchemaError, Target

REGION = "us-east-1"
TARGET = Target(cluster_identifier="ecomflow-dev-dw", database="ecomflow",
                secret_arn="arn:aws:secretsmanager:us-east-1:123456789012:secret:dw-AbCdEf")


def moto_statements() -> dict:
    return redshiftdata_backends[DEFAULT_ACCOUNT_ID][REGION].statements


def finish_all(_seconds: float) -> None:
    """moto leaves statements STARTED forever; the test's clock finishes them."""
    for statement in moto_statements().values():
        if statement.status == "STARTED":
            statement.status = "FINISHED"


def test_splits_on_semicolons_outside_quotes_and_comments():
    sql = """-- a comment; not a split
CREATE TABLE a (x VARCHAR(3) DEFAULT ';');
/* block; comment */ CREATE VIEW b AS SELECT 'it''s; fine' AS y;
"""
    assert warehouse_schema.split_statements(sql) == [
        "CREATE TABLE a (x VARCHAR(3) DEFAULT ';')",
        "CREATE VIEW b AS SELECT 'it''s; fine' AS y",
    ]


def test_repository_migrations_split_into_statements():
    files = warehouse_schema.migration_files()
    assert files and files[0].name.startswith("V001__")
    for _, _, statement in warehouse_schema.statements(files):
        assert statement.split()[0].upper() in ("CREATE", "ALTER", "DROP", "INSERT", "GRANT",
                                                "COMMENT")


def test_migrations_sort_by_version_number_and_reject_duplicates(tmp_path):
    for name in ("V10__later.sql", "V2__second.sql", "V001__first.sql", "README.md",
                 "v3__lowercase.sql"):
        (tmp_path / name).write_text("SELECT 1;")
    assert [p.name for p in warehouse_schema.migration_files(tmp_path)] == [
        "V001__first.sql", "V2__second.sql", "V10__later.sql"]
    (tmp_path / "V02__clash.sql").write_text("SELECT 2;")
    with pytest.raises(SchemaError, match="share a version"):
        warehouse_schema.migration_files(tmp_path)


@mock_aws
def test_applies_every_statement_in_order_with_the_cluster_secret():
    client = boto3.client("redshift-data", region_name=REGION)
    applied = warehouse_schema.apply(client, TARGET, sleep=finish_all)
    expected = [s for _, _, s in warehouse_schema.statements(
        warehouse_schema.migration_files(paths.WAREHOUSE_DDL_DIR))]
    assert applied == len(expected) >= 2
    sent = list(moto_statements().values())
    assert [s.query_string for s in sent] == expected
    assert {(s.cluster_identifier, s.database, s.secret_arn) for s in sent} == {
        (TARGET.cluster_identifier, TARGET.database, TARGET.secret_arn)}
    assert all(s.status == "FINISHED" for s in sent)


@mock_aws
def test_a_failed_statement_stops_the_run_with_its_error():
    client = boto3.client("redshift-data", region_name=REGION)

    def fail_all(_seconds: float) -> None:
        for statement in moto_statements().values():
            statement.status = "FAILED"

    with pytest.raises(SchemaError, match="V001__event_counts_minute.sql statement 1 failed"):
        warehouse_schema.apply(client, TARGET, sleep=fail_all)
    assert len(moto_statements()) == 1


@mock_aws
def test_a_statement_that_never_finishes_times_out():
    client = boto3.client("redshift-data", region_name=REGION)
    with pytest.raises(SchemaError, match="still STARTED after 3 s"):
        warehouse_schema.apply(client, TARGET, timeout_s=3, poll_s=1, sleep=lambda _: None)


def test_redshift_only_clauses_are_comments_for_postgres_and_ddl_for_redshift() -> None:
    sql = "CREATE TABLE t (\n    a INT\n)\n-- redshift: DISTKEY (a) SORTKEY (a)\n;\n"
    assert warehouse_schema.split_statements(sql) == ["CREATE TABLE t (\n    a INT\n)"]
    assert warehouse_schema.split_statements(warehouse_schema.for_redshift(sql)) == [
        "CREATE TABLE t (\n    a INT\n)\nDISTKEY (a) SORTKEY (a)"]


def test_every_warehouse_table_chooses_its_redshift_keys() -> None:
    # Each landing table states its distribution and sort key (explained beside it).
    for name, _, statement in warehouse_schema.statements(warehouse_schema.migration_files()):
        if statement.startswith("CREATE TABLE"):
            assert "SORTKEY (" in statement and ("DISTKEY (" in statement
                                                 or "DISTSTYLE ALL" in statement), name


def test_released_migrations_never_change():
    """A released migration has run on someone's warehouse: a change is a new V### file.
    sql/warehouse/released.sha256 lists every released file (`sha256sum V*.sql` format);
    a new migration is released by adding its line, in the commit that adds it."""
    import hashlib

    released = {}
    for line in (paths.WAREHOUSE_DDL_DIR / "released.sha256").read_text().splitlines():
        digest, name = line.split()
        released[name] = digest
    files = {p.name: p for p in warehouse_schema.migration_files()}
    assert set(files) == set(released), "every migration is listed once released"
    changed = [name for name, path in files.items()
               if hashlib.sha256(path.read_bytes()).hexdigest() != released[name]]
    assert changed == [], f"released migrations changed: {changed} (add a new V### instead)"
