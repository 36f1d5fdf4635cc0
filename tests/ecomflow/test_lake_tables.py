"""Reading the Iceberg lake through its catalog (ecomflow/lake/tables.py), on the local
stack's PostgreSQL: tables written here by pyiceberg (the job's own writes are checked in
tests/jobs/test_clean_stream.py)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pyarrow as pa
import pytest
from click.testing import CliRunner

from ecomflow.lake.tables import LakeCatalog, LakeTablesError
from ecomflow.local.stack import StackInfo

pytestmark = pytest.mark.stack

EVENTS = pa.table({
    "event_id": ["e1", "e2", "e3", "e4"],
    "event_type": ["page_view", "purchase", "page_view", "add_to_cart"],
    "total_amount": pa.array([None, 30.5, None, None], pa.float64()),
})


@pytest.fixture
def lake(stack: StackInfo, tmp_path: Path) -> LakeCatalog:
    """A catalog database of its own, with an `events` table and a table the lake never has."""
    catalog = LakeCatalog(stack.catalog_url, user=stack.user,
                          database=f"lake_test_{uuid.uuid4().hex[:8]}",
                          warehouse=tmp_path.as_uri())
    pyiceberg = catalog._catalog()
    pyiceberg.create_namespace(catalog.database)
    pyiceberg.create_table((catalog.database, "events"), schema=EVENTS.schema).append(EVENTS)
    pyiceberg.create_table((catalog.database, "scratch"), schema=EVENTS.schema)
    return catalog


def test_the_jdbc_url_becomes_sqlalchemy_s() -> None:
    assert LakeCatalog("jdbc:postgresql://127.0.0.1:5433/lake?user=me").sqlalchemy_url() == (
        "postgresql+psycopg2://me@127.0.0.1:5433/lake")
    assert LakeCatalog("jdbc:postgresql://h:1/lake", user="u", password="p").sqlalchemy_url() == (
        "postgresql+psycopg2://u:p@h:1/lake")
    with pytest.raises(LakeTablesError, match="not a PostgreSQL JDBC URL"):
        LakeCatalog("jdbc:mysql://h/lake").sqlalchemy_url()


def test_rows_files_and_sql_come_from_the_current_snapshot(lake: LakeCatalog) -> None:
    assert lake.tables() == ["events"]  # the lake's datasets only
    assert sorted(row["event_id"] for row in lake.rows("events")) == ["e1", "e2", "e3", "e4"]
    assert len(lake.data_files("events")) == 1
    assert lake.row_count("events") == 4  # from the snapshot's summary
    assert lake.describe("events").line() == (
        f"{lake.database}.events: partitioned by nothing, 1 snapshots, 1 data files, 4 rows")
    result = lake.query("SELECT event_type, COUNT(*) AS n, SUM(total_amount) AS amount "
                        "FROM events GROUP BY event_type ORDER BY event_type")
    assert result.to_pylist() == [
        {"event_type": "add_to_cart", "n": 1, "amount": None},
        {"event_type": "page_view", "n": 2, "amount": None},
        {"event_type": "purchase", "n": 1, "amount": 30.5}]


def test_a_missing_table_or_bad_sql_is_a_clear_error(lake: LakeCatalog) -> None:
    with pytest.raises(LakeTablesError, match=f"no lake table {lake.database}.sessions"):
        lake.rows("sessions")
    with pytest.raises(LakeTablesError, match="query failed: .*sessions"):
        lake.query("SELECT * FROM sessions")


def test_the_lake_commands_need_a_running_stack(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from ecomflow.cli import main

    monkeypatch.setenv("ECOMFLOW_HOME", str(tmp_path))
    result = CliRunner().invoke(main, ["lake", "query", "SELECT 1"])
    assert result.exit_code == 1
    assert "the local stack is not running" in result.output
