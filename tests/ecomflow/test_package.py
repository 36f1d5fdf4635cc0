"""The MSF zip: layout, run options, and the uber-jar's connectors and functions."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path, PurePosixPath

import pytest

from ecomflow import paths
from ecomflow.aws import package


@pytest.fixture(scope="module")
def built_zip(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = package.build_zip(tmp_path_factory.mktemp("dist") / "ecomflow-msf.zip")
    return zipfile.ZipFile(out)


def test_layout_matches_run_options(built_zip: zipfile.ZipFile) -> None:
    names = set(built_zip.namelist())
    options = package.run_options()
    assert options["python"] == "main.py" and "main.py" in names
    assert options["jarfile"] in names
    # One folder on Python's path that CONTAINS the packages (MSF puts each entry itself on
    # the path: a package folder there would turn its modules into top-level names).
    assert options["pyFiles"] == "python/"
    assert "python/flink_jobs/__init__.py" in names
    assert not any(n.startswith(("flink_jobs/", "udfs/", "python/udfs/")) for n in names)
    # exactly one jar: MSF takes one
    assert [n for n in names if n.endswith(".jar")] == [options["jarfile"]]
    # the entry point is the MSF main, and every SQL statement ships beside flink_jobs/, where
    # flink_jobs.sql_files looks for it
    assert built_zip.read("main.py") == (paths.REPO_ROOT / "flink_jobs/msf_main.py").read_bytes()
    sql_files = {f"python/{p.relative_to(paths.REPO_ROOT)}" for p in paths.SQL_DIR.rglob("*.sql")}
    assert sql_files <= names
    assert "python/flink_jobs/conf/application_properties.local.json" in names
    # The Python contract is the collector's reference; the job checks records in the JVM.
    assert not any(n.startswith("python/flink_jobs/contract/") for n in names)


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

VENDORED_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3")


def test_vendored_libraries_are_in_the_zip(built_zip: zipfile.ZipFile) -> None:
    names = set(built_zip.namelist())
    for name in VENDORED_PACKAGES:
        assert f"python/{name}/__init__.py" in names, name
    assert "python/six.py" in names
    vendored = [n for n in names if n.startswith("python/") and not n.startswith(
        ("python/flink_jobs/", "python/sql/"))]
    for name in vendored:
        assert "__pycache__" not in name and not name.endswith((".pyc", "/__main__.py")), name
        assert "/tests/" not in name, name
        if ".dist-info/" in name:
            assert PurePosixPath(name).name.startswith(("LICENSE", "AUTHORS", "NOTICE")), name
    # of botocore's service models, Secrets Manager's only
    models = {PurePosixPath(n).parts[3] for n in vendored
              if n.startswith("python/botocore/data/") and len(PurePosixPath(n).parts) > 4}
    assert models == {"secretsmanager"}
    assert any("/boto3-" in n and ".dist-info/" in n for n in vendored)
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


# Runs in a fresh interpreter with nothing but the standard library (-I: no PYTHONPATH or user
# site; -S: no site-packages, so neither this venv's boto3 nor its editable flink_jobs) and the
# zip's python/ folder, as MSF's Python sees the package: the standard library is not shadowed,
# and both secrets are read from Secrets Manager with the boto3 the zip ships.
SECRETS_CHECK = """
import json, sys
sys.path.insert(0, sys.argv[1])
import secrets
secrets.randbits(8)
from flink_jobs.secrets import resolve_secrets
groups = {"Warehouse": {"jdbc.url": "jdbc:postgresql://h/db",
                        "password.secret.arn": sys.argv[2]},
          "Privacy": {"hash.key.secret.arn": sys.argv[3]}}
resolved = resolve_secrets(groups)
import boto3
print(json.dumps({"warehouse": resolved["Warehouse"], "key": resolved["Privacy"]["hash.key"],
                  "boto3": boto3.__file__, "secrets": secrets.__file__}))
"""


def test_the_unzipped_package_reads_its_secrets_with_nothing_else_installed(
        built_zip: zipfile.ZipFile, tmp_path: Path) -> None:
    import json
    import os
    import subprocess
    import sys

    import boto3
    from moto.server import ThreadedMotoServer

    root = tmp_path / "app"
    built_zip.extractall(root)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{server.get_host_and_port()[1]}"
        keys = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
        client = boto3.client("secretsmanager", region_name="eu-west-1", endpoint_url=endpoint,
                              aws_access_key_id="testing", aws_secret_access_key="testing")
        warehouse = client.create_secret(Name="wh", SecretString=json.dumps(
            {"username": "flink", "password": "s3cr3t"}))["ARN"]
        key = client.create_secret(Name="key", SecretString=json.dumps({"key": "k-1"}))["ARN"]
        out = subprocess.run(
            [sys.executable, "-I", "-S", "-c", SECRETS_CHECK, str(root / "python"), warehouse,
             key],
            capture_output=True, text=True, cwd=tmp_path, check=False, timeout=120,
            env={"PATH": os.environ["PATH"], "AWS_ENDPOINT_URL": endpoint, **keys})
    finally:
        server.stop()
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["warehouse"] == {"jdbc.url": "jdbc:postgresql://h/db",
                                   "password.secret.arn": warehouse, "username": "flink",
                                   "password": "s3cr3t"}
    assert result["key"] == "k-1"
    assert Path(result["boto3"]).resolve().is_relative_to((root / "python").resolve())
    assert not Path(result["secrets"]).resolve().is_relative_to(root.resolve())
