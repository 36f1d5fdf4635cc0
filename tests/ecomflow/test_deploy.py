"""`ecomflow deploy`: the whole sequence against moto's in-process mocks (S3, Redshift Data API),
a stubbed kinesisanalyticsv2 client (moto 5.0.x has none) and a fake CDK CLI standing in for
CloudFormation. What is tested is the deploy logic, not AWS."""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.redshiftdata.models import redshiftdata_backends

from ecomflow import paths
from ecomflow.aws import deploy, state_map, warehouse_schema
from ecomflow.aws import names as aws_names
from ecomflow.aws.deploy import AwsClients, DeployError, DeployRequest
from ecomflow.cli.deploy import deploy_command
from tests.ecomflow.msf_stubs import REGION, expect_describe, msf_client, snapshot_list

ENV = "dev"
APP = aws_names.application_name(ENV)
CODE_BUCKET = aws_names.bucket_name(ENV, "code", account=DEFAULT_ACCOUNT_ID, region=REGION)
LAKE_BUCKET = aws_names.bucket_name(ENV, "lake", account=DEFAULT_ACCOUNT_ID, region=REGION)
SECRET = f"arn:aws:secretsmanager:{REGION}:{DEFAULT_ACCOUNT_ID}:secret:dw-AbCdEf"
FOUNDATION = [aws_names.stack_name(ENV, s) for s in aws_names.FOUNDATION_STACKS]
EVERY = [aws_names.stack_name(ENV, s) for s in aws_names.ALL_STACKS]


OLD_KEY = "flink/ecomflow-msf-old.zip"
# A plan's state map (ecomflow/aws/state_map.py), as computed from the job graph.
PLAN: state_map.StateMap = {
    "0a": state_map.Operator("Source: src_stream__raw_events", None, (), "s1"),
    "0b": state_map.Operator("ecomflow-deduplicate-first-by-key", "k1", ("s1",), "s1"),
    "0c": state_map.Operator("Sink: snk_warehouse__sessions", None, ("s1",), None),
}


def deploy_with_plan(request, *, plan: state_map.StateMap = PLAN, **kwargs):
    """Deploy with `plan` as the new package's state map (no JVM in these tests)."""
    return deploy.deploy(request, plan=lambda _env: plan, **kwargs)


def keep_state_map(s3, code_key: str, plan: state_map.StateMap = PLAN) -> None:
    """What the deploy of `code_key` left beside it."""
    s3.put_object(Bucket=CODE_BUCKET, Key=deploy.state_map_key(ENV, code_key),
                  Body=state_map.dumps(plan).encode())


class FakeCdk:
    """Records `cdk deploy` calls; creates what CloudFormation would (the package bucket) and
    answers with the stacks' outputs."""

    def __init__(self, s3) -> None:
        self.s3 = s3
        self.calls: list[tuple[list[str], str, dict[str, str]]] = []

    def deploy(self, env, stacks, *, code_key, parameters):
        self.calls.append((list(stacks), code_key, dict(parameters)))
        buckets = {b["Name"] for b in self.s3.list_buckets()["Buckets"]}
        if aws_names.stack_name(env, "storage") in stacks:
            for bucket in {CODE_BUCKET, LAKE_BUCKET} - buckets:
                self.s3.create_bucket(Bucket=bucket)
        return {
            aws_names.stack_name(env, "storage"): {aws_names.OUTPUT_CODE_BUCKET: CODE_BUCKET,
                                                   aws_names.OUTPUT_LAKE_BUCKET: LAKE_BUCKET},
            aws_names.stack_name(env, "warehouse"): {
                aws_names.OUTPUT_CLUSTER_ID: aws_names.cluster_identifier(env),
                aws_names.OUTPUT_DATABASE: "ecomflow",
                aws_names.OUTPUT_SECRET_ARN: SECRET},
            aws_names.stack_name(env, "ingest"): {
                aws_names.OUTPUT_API_URL: "https://api.example/dev/events",
                aws_names.OUTPUT_API_KEY_ID: "k1"},
        }


def finish_statements(_seconds: float) -> None:
    for statement in redshiftdata_backends[DEFAULT_ACCOUNT_ID][REGION].statements.values():
        if statement.status == "STARTED":
            statement.status = "FINISHED"


@pytest.fixture
def package(tmp_path: Path) -> Path:
    path = tmp_path / "ecomflow-msf.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("main.py", "print('job')\n")
    return path


@pytest.fixture
def aws():
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        redshift_data = boto3.client("redshift-data", region_name=REGION)
        msf, stubber = msf_client()
        with stubber:
            yield AwsClients(s3=s3, redshift_data=redshift_data, msf=msf), stubber


def ddl_statements() -> list[str]:
    return [s for _, _, s in warehouse_schema.statements(warehouse_schema.migration_files())]


def test_first_deploy_uploads_applies_the_schema_deploys_and_starts_fresh(aws, package):
    clients, stubber = aws
    key = deploy.code_key_for(package)
    assert key.startswith("flink/ecomflow-msf-") and key.endswith(".zip")
    expect_describe(stubber, APP, None)                       # no application yet
    expect_describe(stubber, APP, "READY", code_key=key)      # CloudFormation created it
    stubber.add_response("list_application_snapshots", snapshot_list(),
                         {"ApplicationName": APP, "Limit": 50})
    stubber.add_response("start_application", {}, {
        "ApplicationName": APP, "RunConfiguration": {
            "ApplicationRestoreConfiguration": {
                "ApplicationRestoreType": "SKIP_RESTORE_FROM_SNAPSHOT"},
            "FlinkRunConfiguration": {"AllowNonRestoredState": False}}})
    expect_describe(stubber, APP, "STARTING", code_key=key)
    expect_describe(stubber, APP, "RUNNING", code_key=key)
    cdk = FakeCdk(clients.s3)
    lines: list[str] = []

    result = deploy_with_plan(DeployRequest(env=ENV, alert_email="ops@example.com",
                                         package=package),
                           aws=clients, cdk=cdk, report=lines.append, sleep=finish_statements)

    stubber.assert_no_pending_responses()
    assert cdk.calls == [
        (FOUNDATION, key, {}),
        (EVERY, key, {"ecomflow-dev-monitoring:AlertEmail": "ops@example.com"}),
    ]
    body = clients.s3.get_object(Bucket=CODE_BUCKET, Key=key)["Body"].read()
    assert body == package.read_bytes()
    rates = clients.s3.get_object(Bucket=LAKE_BUCKET, Key="reference/fx_rates.csv")
    assert rates["Body"].read() == paths.FX_RATES.read_bytes()
    sent = list(redshiftdata_backends[DEFAULT_ACCOUNT_ID][REGION].statements.values())
    assert [s.query_string for s in sent] == ddl_statements()
    assert {(s.cluster_identifier, s.database, s.secret_arn) for s in sent} == {
        ("ecomflow-dev-dw", "ecomflow", SECRET)}
    assert result.uploaded and result.snapshot is None
    assert result.started == "SKIP_RESTORE_FROM_SNAPSHOT" and result.status == "RUNNING"
    assert result.statements_applied == len(sent)
    assert lines[-1] == f"{APP} running (version 1)"


def test_update_snapshots_the_running_job_before_cloudformation_updates_it(aws, package):
    clients, stubber = aws
    key = deploy.code_key_for(package)
    for bucket in (CODE_BUCKET, LAKE_BUCKET):
        clients.s3.create_bucket(Bucket=bucket)
    clients.s3.upload_file(str(package), CODE_BUCKET, key)   # same zip deployed before
    keep_state_map(clients.s3, OLD_KEY)
    expect_describe(stubber, APP, "RUNNING", version=5, code_key=OLD_KEY)
    stubber.add_response("create_application_snapshot", {}, None)
    stubber.add_response("describe_application_snapshot", {"SnapshotDetails": {
        "SnapshotName": "s", "SnapshotStatus": "READY", "ApplicationVersionId": 5}}, None)
    expect_describe(stubber, APP, "UPDATING", version=6, code_key=key)
    expect_describe(stubber, APP, "RUNNING", version=6, code_key=key)
    cdk = FakeCdk(clients.s3)

    result = deploy_with_plan(DeployRequest(env=ENV, package=package), aws=clients, cdk=cdk,
                           sleep=finish_statements)

    stubber.assert_no_pending_responses()
    assert result.snapshot is not None and result.snapshot.startswith("ecomflow-")
    assert not result.uploaded                      # content-addressed key already there
    assert result.started is None and result.status == "RUNNING"
    assert cdk.calls[1] == (EVERY, key, {})         # no e-mail given: parameter kept as is
    assert result.verdict is not None and result.verdict.restores
    kept = clients.s3.get_object(Bucket=CODE_BUCKET, Key=deploy.state_map_key(ENV, key))
    assert state_map.loads(kept["Body"].read().decode()) == PLAN


def _running_on_old_code(clients, stubber, old_plan: state_map.StateMap | None) -> None:
    for bucket in (CODE_BUCKET, LAKE_BUCKET):
        clients.s3.create_bucket(Bucket=bucket)
    if old_plan is not None:
        keep_state_map(clients.s3, OLD_KEY, old_plan)
    expect_describe(stubber, APP, "RUNNING", version=5, code_key=OLD_KEY)


WITHOUT_DEDUP = {k: v for k, v in PLAN.items() if k != "0b"}
RETYPED = {**PLAN, "0b": state_map.Operator("ecomflow-deduplicate-first-by-key", "k1",
                                           ("s2",), "s2")}


@pytest.mark.parametrize(("old_plan", "why"), [
    ({**PLAN, "0d": state_map.Operator("WindowAggregate", "k2", ("s1",), "s3")},
     "1 operator\\(s\\) no longer in the plan under the same id: WindowAggregate"),
    (RETYPED, "1 operator\\(s\\) with changed types: ecomflow-deduplicate-first-by-key"),
    (None, "no state map kept for the running package flink/ecomflow-msf-old.zip"),
])
def test_a_plan_that_cannot_restore_stops_the_deploy_before_the_job_is_touched(
        aws, package, old_plan, why):
    clients, stubber = aws
    _running_on_old_code(clients, stubber, old_plan)
    cdk = FakeCdk(clients.s3)
    with pytest.raises(DeployError, match=why) as raised:
        deploy_with_plan(DeployRequest(env=ENV, package=package), aws=clients, cdk=cdk,
                         sleep=finish_statements)
    assert "was not changed" in str(raised.value) and "--fresh-start" in str(raised.value)
    assert cdk.calls == [(FOUNDATION, deploy.code_key_for(package), {})]
    stubber.assert_no_pending_responses()           # no snapshot, no stop, no update
    assert not deploy._object_exists(
        clients.s3, CODE_BUCKET, deploy.state_map_key(ENV, deploy.code_key_for(package)))


def test_fresh_start_stops_with_a_snapshot_and_starts_the_new_plan_without_state(aws, package):
    clients, stubber = aws
    key = deploy.code_key_for(package)
    _running_on_old_code(clients, stubber, PLAN)
    stubber.add_response("create_application_snapshot", {}, None)
    stubber.add_response("describe_application_snapshot", {"SnapshotDetails": {
        "SnapshotName": "s", "SnapshotStatus": "READY", "ApplicationVersionId": 5}}, None)
    stubber.add_response("stop_application", {}, {"ApplicationName": APP, "Force": False})
    expect_describe(stubber, APP, "STOPPING", version=5, code_key=OLD_KEY)
    expect_describe(stubber, APP, "READY", version=5, code_key=OLD_KEY)
    expect_describe(stubber, APP, "READY", version=6, code_key=key)   # CloudFormation updated
    stubber.add_response("start_application", {}, {
        "ApplicationName": APP, "RunConfiguration": {
            "ApplicationRestoreConfiguration": {
                "ApplicationRestoreType": "SKIP_RESTORE_FROM_SNAPSHOT"},
            "FlinkRunConfiguration": {"AllowNonRestoredState": False}}})
    expect_describe(stubber, APP, "RUNNING", version=6, code_key=key)
    cdk = FakeCdk(clients.s3)
    lines: list[str] = []

    result = deploy_with_plan(DeployRequest(env=ENV, package=package, fresh_start=True,
                                            start=False),
                              plan=WITHOUT_DEDUP, aws=clients, cdk=cdk, report=lines.append,
                              sleep=finish_statements)

    stubber.assert_no_pending_responses()
    assert result.verdict is not None and not result.verdict.restores
    assert result.verdict.gone == ("ecomflow-deduplicate-first-by-key",)
    assert result.snapshot is not None                      # the old state, kept
    assert result.started == "SKIP_RESTORE_FROM_SNAPSHOT" and result.status == "RUNNING"
    assert any("starts without its state" in line for line in lines)
    assert [call[0] for call in cdk.calls] == [FOUNDATION, EVERY]


def test_a_stopped_job_with_snapshots_is_checked_too(aws, package):
    """A start restores the latest snapshot: a stopped job's state counts as much."""
    clients, stubber = aws
    for bucket in (CODE_BUCKET, LAKE_BUCKET):
        clients.s3.create_bucket(Bucket=bucket)
    expect_describe(stubber, APP, "READY", version=5, code_key=OLD_KEY)
    stubber.add_response("list_application_snapshots", snapshot_list(("s", "READY")),
                         {"ApplicationName": APP, "Limit": 50})
    with pytest.raises(DeployError, match="no state map kept"):
        deploy_with_plan(DeployRequest(env=ENV, package=package), aws=clients,
                         cdk=FakeCdk(clients.s3), sleep=finish_statements)


def test_state_maps_compare_by_operator_id_and_types():
    assert state_map.compare(PLAN, PLAN).restores
    # New operators start empty: the old state still finds every operator it belongs to.
    grown = {**PLAN, "0e": state_map.Operator("WindowRank", "k3", ("s1",), "s4")}
    assert state_map.compare(PLAN, grown).restores
    assert state_map.compare(grown, PLAN).gone == ("WindowRank",)
    assert state_map.compare(PLAN, RETYPED).changed == ("ecomflow-deduplicate-first-by-key",)
    assert state_map.loads(state_map.dumps(grown)) == grown
    assert "unknown" in state_map.unknown("why").explain()


def test_a_failing_schema_stops_before_the_job_is_touched(aws, package):
    clients, stubber = aws
    cdk = FakeCdk(clients.s3)

    def fail(_seconds: float) -> None:
        for statement in redshiftdata_backends[DEFAULT_ACCOUNT_ID][REGION].statements.values():
            statement.status = "FAILED"

    with pytest.raises(DeployError, match="warehouse schema: .* failed"):
        deploy_with_plan(DeployRequest(env=ENV, package=package), aws=clients, cdk=cdk,
                      sleep=fail)
    assert len(cdk.calls) == 1                      # the foundation only
    stubber.assert_no_pending_responses()           # and no Flink call at all


def test_deploy_refuses_an_application_left_on_other_code(aws, package):
    clients, stubber = aws
    expect_describe(stubber, APP, None)
    expect_describe(stubber, APP, "RUNNING", code_key="flink/ecomflow-msf-other.zip")
    with pytest.raises(DeployError, match="runs flink/ecomflow-msf-other.zip"):
        deploy_with_plan(DeployRequest(env=ENV, package=package), aws=clients,
                      cdk=FakeCdk(clients.s3), sleep=finish_statements)


def test_missing_package_and_unknown_environment_are_errors(aws, tmp_path):
    clients, _ = aws
    with pytest.raises(DeployError, match="not found"):
        deploy_with_plan(DeployRequest(env=ENV, package=tmp_path / "nope.zip"), aws=clients,
                      cdk=FakeCdk(clients.s3))
    with pytest.raises(DeployError, match="unknown environment"):
        deploy_with_plan(DeployRequest(env="qa"), aws=clients, cdk=FakeCdk(clients.s3))


def test_builds_the_package_when_none_is_given(aws, package):
    clients, stubber = aws
    built: list[Path] = []

    def build(out: Path) -> Path:
        built.append(out)
        return package

    expect_describe(stubber, APP, None)
    expect_describe(stubber, APP, "READY", code_key=deploy.code_key_for(package))
    deploy_with_plan(DeployRequest(env=ENV, start=False), aws=clients, cdk=FakeCdk(clients.s3),
                  build=build, sleep=finish_statements)
    assert built and built[0].name == "ecomflow-msf-dev.zip"
    stubber.assert_no_pending_responses()          # start=False: no start_application


def test_cdk_cli_command_line(monkeypatch, tmp_path):
    seen = {}

    def run(command, cwd, env):
        seen.update(command=command, cwd=cwd, env=env)
        out = Path(command[command.index("--outputs-file") + 1])
        out.write_text(json.dumps({"ecomflow-dev-storage": {"CodeBucketName": "b"}}))
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(deploy.subprocess, "run", run)
    monkeypatch.setattr(deploy, "CDK_BIN", tmp_path / "cdk")
    (tmp_path / "cdk").touch()
    outputs = deploy.CdkCli(region="eu-west-1", profile="ops").deploy(
        "dev", ["ecomflow-dev-storage"], code_key="flink/k.zip",
        parameters={"ecomflow-dev-monitoring:AlertEmail": "a@b.c"})
    assert outputs == {"ecomflow-dev-storage": {"CodeBucketName": "b"}}
    command = seen["command"]
    assert command[:3] == [str(tmp_path / "cdk"), "deploy", "ecomflow-dev-storage"]
    assert " ".join(command[3:]).count("-c env=dev -c code_key=flink/k.zip") == 1
    assert "--require-approval never" in " ".join(command)
    assert "--parameters ecomflow-dev-monitoring:AlertEmail=a@b.c" in " ".join(command)
    assert "--profile ops" in " ".join(command)
    assert seen["cwd"] == deploy.INFRA_DIR
    assert seen["env"]["AWS_REGION"] == "eu-west-1"


def test_cdk_cli_failure_is_a_deploy_error(monkeypatch, tmp_path):
    monkeypatch.setattr(deploy.subprocess, "run",
                        lambda command, cwd, env: subprocess.CompletedProcess(command, 1))
    monkeypatch.setattr(deploy, "CDK_BIN", tmp_path / "cdk")
    (tmp_path / "cdk").touch()
    with pytest.raises(DeployError, match="cdk deploy ecomflow-dev-storage failed"):
        deploy.CdkCli().deploy("dev", ["ecomflow-dev-storage"], code_key="k", parameters={})


def test_deploy_command_needs_a_region(monkeypatch):
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    result = CliRunner().invoke(deploy_command, ["--env", "dev"])
    assert result.exit_code == 1 and "no AWS region" in result.output
