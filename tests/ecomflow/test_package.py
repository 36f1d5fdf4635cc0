"""The MSF zip: layout, run options, and the uber-jar's connectors and functions."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from ecomflow import package, paths


@pytest.fixture(scope="module")
def built_zip(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = package.build_zip(tmp_path_factory.mktemp("dist") / "ecomflow-msf.zip")
    return zipfile.ZipFile(out)


def test_layout_matches_run_options(built_zip: zipfile.ZipFile) -> None:
    names = set(built_zip.namelist())
    options = package.run_options()
    assert options["python"] == "main.py" and "main.py" in names
    assert options["jarfile"] in names
    for py_file in options["pyFiles"].split(","):
        assert any(n.startswith(py_file) for n in names), py_file
    # exactly one jar: MSF takes one
    assert [n for n in names if n.endswith(".jar")] == [options["jarfile"]]
    # the entry point is the MSF main, and every SQL statement ships with the code
    assert built_zip.read("main.py") == (paths.REPO_ROOT / "flink_jobs/msf_main.py").read_bytes()
    sql_files = {str(p.relative_to(paths.REPO_ROOT)) for p in paths.SQL_DIR.rglob("*.sql")}
    assert sql_files <= names
    assert "flink_jobs/conf/application_properties.local.json" in names


def test_tooling_stays_out(built_zip: zipfile.ZipFile) -> None:
    for name in built_zip.namelist():
        assert not name.startswith(("ecomflow/", "tests/", "infra/", "tools/")), name
        assert "__pycache__" not in name


def test_uber_jar_keeps_every_connector_factory(built_zip: zipfile.ZipFile) -> None:
    jar = zipfile.ZipFile(io.BytesIO(built_zip.read(package.JAR_IN_ZIP)))
    factories = jar.read("META-INF/services/org.apache.flink.table.factories.Factory").decode()
    for factory in (
        "org.apache.flink.streaming.connectors.kinesis.table.KinesisDynamicTableFactory",
        "org.apache.flink.connector.jdbc.core.table.JdbcDynamicTableFactory",
        "org.apache.flink.formats.parquet.ParquetFileFormatFactory",
    ):
        assert factory in factories
    names = set(jar.namelist())
    assert {"dev/ecomflow/udf/EventTimeOf.class", "dev/ecomflow/udf/ParseEvent.class"} <= names
    # our Jackson is relocated, so it cannot clash with a connector's or the runtime's
    assert "dev/ecomflow/shaded/jackson/core/JsonParser.class" in names
    assert "org/postgresql/Driver.class" in names
    assert "org/apache/hadoop/conf/Configuration.class" in names  # Parquet needs it
    # MSF brings its own S3 filesystem; the KPL native producer is never used
    assert not any(n.startswith("org/apache/flink/fs/s3hadoop/") for n in names)
    assert not any(n.startswith("amazon-kinesis-producer-native-binaries/") for n in names)


def test_missing_jar_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(paths, "UBER_JAR", paths.REPO_ROOT / "target" / "absent.jar")
    with pytest.raises(package.PackageError, match=r"mvn -q -B package") as caught:
        package.build_zip(tmp_path / "x.zip")
    assert "\n" not in str(caught.value)
