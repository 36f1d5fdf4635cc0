"""The MSF zip: layout, run options, and the uber-jar's connectors and functions."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path, PurePosixPath

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
    assert {"dev/ecomflow/stream/CleanStream.class", "dev/ecomflow/contract/EventContract.class",
            "dev/ecomflow/udf/SwitchedOn.class"} <= names
    # the contract's schema files and the user-agent rules travel inside the jar
    assert "dev/ecomflow/contract/v1/event.schema.json" in names
    assert "dev/ecomflow/contract/v1/text_limits.json" in names
    assert "dev/ecomflow/uap/regexes.yaml" in names and "ua_parser/regexes.yaml" not in names
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


# --------------------------------------------------------------------------- vendored libraries

VENDORED_PACKAGES = ("fastjsonschema", "ua_parser", "ua_parser_builtins")


def test_vendored_libraries_are_in_the_zip_and_on_pyfiles(built_zip: zipfile.ZipFile) -> None:
    names = set(built_zip.namelist())
    assert package.VENDOR_DIR + "/" in package.run_options()["pyFiles"].split(",")
    for name in VENDORED_PACKAGES:
        assert f"lib/python/{name}/__init__.py" in names, name
    # ua_parser's default rules, loaded lazily on the first parse
    assert "lib/python/ua_parser_builtins/matchers.py" in names
    assert "lib/python/ua_parser/loaders.py" in names
    vendored = [n for n in names if n.startswith("lib/python/")]
    for name in vendored:
        assert "__pycache__" not in name and not name.endswith((".pyc", "/__main__.py")), name
        assert "/tests/" not in name, name
        if ".dist-info/" in name:
            assert PurePosixPath(name).name.startswith(("LICENSE", "AUTHORS")), name
    assert any(n.endswith(".dist-info/licenses/LICENSE") and "/fastjsonschema-" in n
               for n in vendored)
    assert any(n.endswith(".dist-info/licenses/LICENSE") and "/ua_parser-" in n
               for n in vendored)
    # the vendored files are the installed ones, byte for byte
    for path, name in package.vendored_files():
        assert built_zip.read(name) == path.read_bytes(), name


def test_reference_data_stays_out(built_zip: zipfile.ZipFile) -> None:
    # On AWS the job reads the exchange rates from S3 (CleanStream.fx.rates.url).
    assert not [n for n in built_zip.namelist() if n.endswith((".csv", ".jsonl.gz"))]


def test_missing_distribution_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(package, "VENDORED", (package.Vendored("no-such-dist", ("nosuch",)),))
    with pytest.raises(package.PackageError, match="no-such-dist is not installed") as caught:
        package.vendored_files()
    assert "\n" not in str(caught.value)


# Runs in a fresh interpreter (-I: no PYTHONPATH, no user site) whose path starts like an MSF
# Python worker's: lib/python/ (pyFiles) and the zip's root. The venv's site-packages stays
# reachable behind them for pyflink itself, so the check is that every module of the three
# vendored packages was loaded from the unzipped copy, and that the UDFs work from it.
IMPORT_CHECK = """
import json, sys
root, vendor = sys.argv[1], sys.argv[2]
sys.path[:0] = [vendor, root]
import fastjsonschema, ua_parser
from ua_parser import parse
from udfs.contract_check import verdict
from udfs.user_agent import device_of
ipad = ('Mozilla/5.0 (iPad; CPU OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) '
        'Version/17.1 Mobile/15E148 Safari/604.1')
record = {"event_type": "page_view", "timestamp": "2025-07-16T10:30:00Z", "user_id": "u",
          "page_url": "https://shop.example/"}
result = {
    "os": parse(ipad).os.family,
    "device": list(device_of(ipad)),
    "verdict": list(verdict(json.dumps(record), 1000000, 300))[:3],
    "modules": {name: getattr(module, "__file__", None) for name, module in sys.modules.items()
                if name.split(".")[0] in ("fastjsonschema", "ua_parser", "ua_parser_builtins",
                                          "udfs", "flink_jobs")},
}
print(json.dumps(result))
"""


def test_udfs_import_from_the_unzipped_package(built_zip: zipfile.ZipFile,
                                               tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    root = tmp_path / "app"
    built_zip.extractall(root)
    vendor = root / package.VENDOR_DIR
    out = subprocess.run(
        [sys.executable, "-I", "-c", IMPORT_CHECK, str(root), str(vendor)],
        capture_output=True, text=True, cwd=tmp_path, check=False)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["os"] == "iOS"
    assert result["device"] == ["tablet", "Mobile Safari", "iOS"]
    assert result["verdict"] == [None, None, None]
    modules = result["modules"]
    assert {"fastjsonschema", "ua_parser", "ua_parser_builtins", "ua_parser_builtins.matchers",
            "udfs.contract_check", "flink_jobs.contract"} <= set(modules)
    for name, file in modules.items():
        if file is None:  # namespace packages have no file
            continue
        top = name.split(".")[0]
        expected = vendor if top in VENDORED_PACKAGES else root
        assert Path(file).resolve().is_relative_to(expected.resolve()), (name, file)
