"""The Managed Flink application: runtime, code, run options, property groups, checkpointing,
parallelism and autoscaling per environment, logging, VPC, snapshots."""

from __future__ import annotations

from ecomflow_infra import environments, processing

from ecomflow import paths
from ecomflow.aws import names as aws_names
from ecomflow.aws.package import run_options
from flink_jobs.property_keys import DECLARED
from tests.infra.conftest import CODE_KEY


def _application(synth) -> dict:
    [app] = synth.template("processing").find_resources(
        "AWS::KinesisAnalyticsV2::Application").values()
    return app["Properties"]


def _groups(props: dict) -> dict[str, dict]:
    return {g["PropertyGroupId"]: g["PropertyMap"]
            for g in props["ApplicationConfiguration"]["EnvironmentProperties"]["PropertyGroups"]}


def test_runtime_code_and_run_options(synth):
    props = _application(synth)
    assert props["RuntimeEnvironment"] == "FLINK-1_20"
    assert props["ApplicationName"] == aws_names.application_name(synth.env)
    code = props["ApplicationConfiguration"]["ApplicationCodeConfiguration"]
    assert code["CodeContentType"] == "ZIPFILE"
    location = code["CodeContent"]["S3ContentLocation"]
    assert location["FileKey"] == CODE_KEY
    assert f":s3:::ecomflow-{synth.env}-code-" in str(location["BucketARN"])
    assert _groups(props)[processing.RUN_OPTIONS_GROUP] == run_options()


def test_property_groups_use_exactly_the_keys_the_job_reads(synth):
    readable = {(p.group, p.key) for p in DECLARED}
    groups = _groups(_application(synth))
    set_keys = {(group, key) for group, properties in groups.items()
                if group != processing.RUN_OPTIONS_GROUP for key in properties}
    assert set_keys <= readable  # incl. Warehouse.password.secret.arn (flink_jobs/secrets.py)
    required = {("KinesisSource", "stream.name"), ("KinesisSource", "aws.region"),
                ("Lake", "url"), ("Warehouse", "jdbc.url")}
    assert required <= set_keys


def test_property_values_come_from_the_environment(synth):
    config = environments.get(synth.env)
    groups = _groups(_application(synth))
    assert groups["KinesisSource"]["aws.region"] == {"Ref": "AWS::Region"}
    assert "IngestEvents" in groups["KinesisSource"]["stream.name"]["Fn::ImportValue"]
    assert groups["KinesisSource"]["init.position"] == "TRIM_HORIZON"
    # The lake's tables are in the tables bucket; the lake bucket serves the FX rates.
    lake = groups["Lake"]["url"]["Fn::Join"][1]
    assert lake[0] == f"s3://ecomflow-{synth.env}-tables-"
    assert groups["Lake"]["catalog.database"] == aws_names.lake_database(synth.env)
    jdbc = groups["Warehouse"]["jdbc.url"]["Fn::Join"][1]
    assert jdbc[0] == "jdbc:postgresql://"
    assert jdbc[-1] == f"/{config.warehouse_database}?ssl=true&sslmode=require"
    assert groups["Warehouse"]["username"] == config.warehouse_admin_user
    assert "password" not in groups["Warehouse"]  # never a plaintext password
    assert "MasterPasswordSecretArn" in groups["Warehouse"]["password.secret.arn"][
        "Fn::ImportValue"]
    # The job's own watermark default applies unless an environment sets one.
    assert config.watermark_delay_seconds is None and "Job" not in groups
    fx = groups["CleanStream"]["fx.rates.url"]["Fn::Join"][1]
    assert fx[0] == f"s3://ecomflow-{synth.env}-lake-"
    assert fx[-1] == f"/{aws_names.FX_RATES_KEY}"


def test_local_properties_file_uses_the_same_keys():
    import json

    local = json.loads((paths.REPO_ROOT / "flink_jobs" / "conf" /
                        "application_properties.local.json").read_text())
    keys = {(g["PropertyGroupId"], k) for g in local for k in g["PropertyMap"]}
    assert keys <= {(p.group, p.key) for p in DECLARED}


def test_checkpointing_parallelism_autoscaling_and_monitoring_per_environment(synth):
    config = environments.get(synth.env)
    flink = _application(synth)["ApplicationConfiguration"]["FlinkApplicationConfiguration"]
    assert flink["CheckpointConfiguration"] == {
        "ConfigurationType": "CUSTOM", "CheckpointingEnabled": True,
        "CheckpointInterval": config.flink_checkpoint_interval_ms,
        "MinPauseBetweenCheckpoints": config.flink_min_pause_between_checkpoints_ms}
    assert flink["ParallelismConfiguration"] == {
        "ConfigurationType": "CUSTOM", "Parallelism": {"dev": 1, "staging": 2, "prod": 4}[
            synth.env],
        "ParallelismPerKPU": 1, "AutoScalingEnabled": synth.env != "dev"}
    assert flink["MonitoringConfiguration"]["MetricsLevel"] == (
        "TASK" if config.detailed_monitoring else "APPLICATION")


def test_snapshots_rollback_restore_and_vpc(synth):
    props = _application(synth)
    app_config = props["ApplicationConfiguration"]
    assert app_config["ApplicationSnapshotConfiguration"] == {"SnapshotsEnabled": True}
    assert app_config["ApplicationSystemRollbackConfiguration"] == {"RollbackEnabled": True}
    assert props["RunConfiguration"]["ApplicationRestoreConfiguration"] == {
        "ApplicationRestoreType": "RESTORE_FROM_LATEST_SNAPSHOT"}
    assert props["RunConfiguration"]["FlinkRunConfiguration"] == {"AllowNonRestoredState": False}
    [vpc] = app_config["VpcConfigurations"]
    assert len(vpc["SubnetIds"]) == 2
    assert all("privateSubnet" in s["Fn::ImportValue"] for s in vpc["SubnetIds"])
    assert "FlinkSecurityGroup" in vpc["SecurityGroupIds"][0]["Fn::ImportValue"]


def test_cloudwatch_logging_option_points_at_the_job_log_stream(synth):
    template = synth.template("processing")
    [option] = template.find_resources(
        "AWS::KinesisAnalyticsV2::ApplicationCloudWatchLoggingOption").values()
    arn = option["Properties"]["CloudWatchLoggingOption"]["LogStreamARN"]["Fn::Join"][1]
    app = aws_names.application_name(synth.env)
    assert arn[-1] == f":log-group:/aws/kinesis-analytics/{app}:log-stream:job"
    config = environments.get(synth.env)
    template.has_resource_properties("AWS::Logs::LogGroup", {
        "LogGroupName": f"/aws/kinesis-analytics/{app}",
        "RetentionInDays": config.log_retention_days})


def test_deploy_plans_the_groups_the_application_gets(synth):
    """`ecomflow deploy` predicts whether a new plan restores the running state from the plan
    of `state_map.planned_groups`: the application's groups, with placeholders for names and
    secrets (a secret's ARN stands for the value the job reads from it)."""
    from ecomflow.aws import state_map
    deployed = {(group, key.removesuffix(".secret.arn"))
                for group, properties in _groups(_application(synth)).items()
                if group != processing.RUN_OPTIONS_GROUP for key in properties}
    planned = {(group, key) for group, properties in state_map.planned_groups(synth.env).items()
               for key in properties}
    assert planned == deployed
    # Values that shape the plan are the application's own (the rest only name things).
    assert state_map.planned_groups(synth.env)["KinesisSource"]["init.position"] == \
        _groups(_application(synth))["KinesisSource"]["init.position"]
