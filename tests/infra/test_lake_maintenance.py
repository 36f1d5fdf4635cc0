"""The lake tables' scheduled maintenance (ecomflow_infra/lake_maintenance.py): one daily
EventBridge Scheduler schedule per statement, each starting an Athena query in the lake's
workgroup as one role whose rights are the workgroup, the tables and their files."""

from __future__ import annotations

import json

from ecomflow_infra import environments, lake_maintenance

from ecomflow.aws import names as aws_names
from tests.infra import cfn

TABLES = ("events", "dead_letter", "late_events", "sessions")


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _schedules(synth) -> dict[str, dict]:
    return {r["Properties"]["Name"]: r["Properties"]
            for r in cfn.resources(synth.json("storage"), "AWS::Scheduler::Schedule").values()}


def _tables_bucket(storage: dict, env: str) -> tuple[str, dict]:
    [(logical_id, bucket)] = [(k, b) for k, b in cfn.resources(storage, "AWS::S3::Bucket").items()
                              if cfn.joined(b["Properties"]["BucketName"]).startswith(
                                  f"ecomflow-{env}-tables-")]
    return logical_id, bucket


def _maintenance(synth) -> tuple[str, dict, dict]:
    """The maintenance role's logical id, the role and its policy."""
    storage = synth.json("storage")
    [(role_id, role)] = [(k, r) for k, r in cfn.resources(storage, "AWS::IAM::Role").items()
                         if cfn.joined(r["Properties"]["RoleName"]).startswith(
                             f"ecomflow-{synth.env}-lake-maintenance-")]
    [policy] = [p for p in cfn.resources(storage, "AWS::IAM::Policy").values()
                if p["Properties"]["Roles"] == [{"Ref": role_id}]]
    return role_id, role, policy


def test_each_table_is_compacted_and_vacuumed_daily_and_dead_letters_expire(synth):
    database = aws_names.lake_database(synth.env)
    days = environments.get(synth.env).lake.dead_letter_expiry_days
    expected = {"dead_letter-expire": (
        1, f"DELETE FROM {database}.dead_letter WHERE received_at < "
           f"date_trunc('hour', current_timestamp) - interval '{days}' day")}
    for table in TABLES:
        expected[f"{table}-optimize"] = (2, f"OPTIMIZE {database}.{table} REWRITE DATA USING "
                                            "BIN_PACK")
        expected[f"{table}-vacuum"] = (3, f"VACUUM {database}.{table}")
    schedules = _schedules(synth)
    assert set(schedules) == set(expected)
    for name, (hour, sql) in expected.items():
        schedule = schedules[name]
        # Daily at a fixed UTC hour: expiry, then compaction, then VACUUM.
        assert schedule["ScheduleExpression"] == f"cron(0 {hour} * * ? *)", name
        assert schedule["ScheduleExpressionTimezone"] == "UTC"
        assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
        assert schedule["State"] == "ENABLED"
        target = schedule["Target"]
        assert cfn.joined(target["Arn"]) == (
            "arn:${AWS::Partition}:scheduler:::aws-sdk:athena:startQueryExecution")
        assert json.loads(target["Input"]) == {
            "QueryString": sql, "WorkGroup": aws_names.athena_workgroup(synth.env),
            "QueryExecutionContext": {"Catalog": "AwsDataCatalog", "Database": database}}
        # A start later than an hour would overlap the next step.
        assert target["RetryPolicy"]["MaximumEventAgeInSeconds"] <= 3600
    assert days == {"dev": 14, "staging": 30, "prod": 30}[synth.env]


def test_the_schedules_run_as_one_role_only_scheduler_of_this_group_assumes(synth):
    role_id, role, _ = _maintenance(synth)
    storage = synth.json("storage")
    [group_id] = cfn.resources(storage, "AWS::Scheduler::ScheduleGroup")
    for schedule in _schedules(synth).values():
        assert schedule["Target"]["RoleArn"] == {"Fn::GetAtt": [role_id, "Arn"]}
        assert schedule["GroupName"] == {"Ref": group_id}
    [trust] = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {
        "aws:SourceAccount": {"Ref": "AWS::AccountId"},
        "aws:SourceArn": {"Fn::GetAtt": [group_id, "Arn"]}}}


def test_the_maintenance_role_reaches_the_workgroup_the_tables_and_their_files_only(synth):
    _, _, policy = _maintenance(synth)
    env = synth.env
    [key_id] = cfn.resources(synth.json("storage"), "AWS::KMS::Key")
    key = f"${{{key_id}.Arn}}"
    database = aws_names.lake_database(env)
    tables = f"ecomflow-{env}-tables-${{AWS::AccountId}}-${{AWS::Region}}"
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    granted = {}
    for statement in statements:
        assert statement["Effect"] == "Allow" and "Condition" not in statement
        resources = [cfn.joined(r) for r in _as_list(statement["Resource"])]
        assert "*" not in resources
        for action in _as_list(statement["Action"]):
            granted.setdefault(action, set()).update(resources)
    prefix = "arn:${AWS::Partition}"
    glue = f"{prefix}:glue:${{AWS::Region}}:${{AWS::AccountId}}"
    glue_resources = {f"{glue}:catalog", f"{glue}:database/{database}",
                      *(f"{glue}:table/{database}/{table}" for table in TABLES)}
    files = {f"{prefix}:s3:::{tables}/{table}/*" for table in TABLES} | {
        f"{prefix}:s3:::{tables}/athena-results/*"}
    assert granted == {
        "athena:StartQueryExecution": {
            f"{prefix}:athena:${{AWS::Region}}:${{AWS::AccountId}}:workgroup/"
            f"{aws_names.athena_workgroup(env)}"},
        "glue:GetDatabase": glue_resources, "glue:GetTable": glue_resources,
        "glue:UpdateTable": glue_resources,
        "s3:GetBucketLocation": {f"{prefix}:s3:::{tables}"},
        "s3:ListBucket": {f"{prefix}:s3:::{tables}"},
        **{action: files for action in ("s3:AbortMultipartUpload", "s3:DeleteObject",
                                         "s3:GetObject", "s3:ListMultipartUploadParts",
                                         "s3:PutObject")},
        "kms:Decrypt": {key}, "kms:GenerateDataKey": {key},
    }


def test_the_dead_letter_denials_admit_the_maintenance_role_in_the_tables_bucket_only(synth):
    storage = synth.json("storage")
    role = f"role/{lake_maintenance.lake_maintenance_role_name(synth.env)}-${{AWS::Region}}"
    admitted = {}
    for policy in cfn.resources(storage, "AWS::S3::BucketPolicy").values():
        bucket = policy["Properties"]["Bucket"]["Ref"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement.get("Sid") in ("RawDataOnlyForTheJobAndTheReader",
                                        "DeadLettersWrittenByTheJobOnly"):
                principals = _as_list(statement["Condition"]["ArnNotEquals"]["aws:PrincipalArn"])
                admitted[(bucket, statement["Sid"])] = any(
                    cfn.joined(p).endswith(role) for p in principals)
    tables = {k for k, v in admitted.items() if v}
    assert {sid for _, sid in tables} == {"RawDataOnlyForTheJobAndTheReader",
                                          "DeadLettersWrittenByTheJobOnly"}
    assert {bucket for bucket, _ in tables} == {_tables_bucket(storage, synth.env)[0]}
    assert len(admitted) == 4  # the lake bucket's two denials do not name it


def test_replaced_dead_letter_files_expire_like_raw_records(synth):
    lifecycle = environments.get(synth.env).lake
    _, bucket = _tables_bucket(synth.json("storage"), synth.env)
    rules = {r["Id"]: r for r in bucket["Properties"]["LifecycleConfiguration"]["Rules"]}
    rule = rules["expire-replaced-dead-letters"]
    # VACUUM's deletes leave versions behind in a versioned bucket: raw ones go after a day.
    assert (rule["Prefix"], rule["NoncurrentVersionExpiration"]) == (
        "dead_letter/", {"NoncurrentDays": lifecycle.raw_noncurrent_version_expiry_days})
    assert "ExpirationInDays" not in rule  # the current files are Iceberg's to delete


def test_steps_order_expiry_before_compaction_before_vacuum():
    steps = lake_maintenance.steps("db", ("a", "b"), {"b": lake_maintenance.Expiry("t", 7)})
    assert [(s.name, s.hour) for s in steps] == [
        ("b-expire", 1), ("a-optimize", 2), ("a-vacuum", 3), ("b-optimize", 2),
        ("b-vacuum", 3)]
    assert steps[0].sql == (
        "DELETE FROM db.b WHERE t < date_trunc('hour', current_timestamp) - interval '7' day")
