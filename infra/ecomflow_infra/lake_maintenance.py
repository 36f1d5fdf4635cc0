"""Daily upkeep of the lake's Iceberg tables on AWS, as Athena statements EventBridge Scheduler
starts in the lake's workgroup.

Why not Glue's managed table optimizers: they are set per table, and the tables do not exist at
deploy time (the job creates them at its first start: their hidden partitioning has no
CloudFormation form). Athena engine 3 runs Iceberg's maintenance as SQL instead:

    OPTIMIZE <table> REWRITE DATA USING BIN_PACK   compaction (delete files merged in)
    VACUUM <table>                                 snapshot expiry and orphan removal

Dead letters are raw data and must expire, but S3 lifecycle rules cannot delete files that
live snapshots name: their rows older than LakeLifecycle.dead_letter_expiry_days are deleted by
SQL an hour before compaction, which rewrites the files without them. The cutoff is a whole
hour, as `ecomflow lake maintain`'s (dev.ecomflow.lake.LakeExpiry): the table is partitioned by
the hour, so the engine may drop whole files instead of writing deletes. VACUUM removes the old
files once their snapshots are older than Athena's `vacuum_max_snapshot_age_seconds` (5 days
unless the table says otherwise), and the tables bucket expires their replaced versions after a
day (storage.py).

Scheduler only starts each query (it does not wait for it): a failed statement shows in the
workgroup's query history and metrics, and runs again the next day.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_scheduler as scheduler
from constructs import Construct

from ecomflow.aws import names as aws_names
from ecomflow_infra.common import bucket_arn, objects_arn
from ecomflow_infra.environments import EnvironmentConfig

# Athena's StartQueryExecution as an EventBridge Scheduler universal target.
START_QUERY_TARGET = f"arn:{Aws.PARTITION}:scheduler:::aws-sdk:athena:startQueryExecution"
# UTC hours, one step an hour, in this order: expired rows go before compaction rewrites the
# files, and compaction's replaced files before VACUUM looks for what no snapshot needs.
EXPIRE_HOUR, OPTIMIZE_HOUR, VACUUM_HOUR = 1, 2, 3
# A start delayed past the hour could overlap the next step: give up instead (tomorrow's runs).
MAX_START_DELAY_SECONDS = 3600
START_RETRIES = 3


@dataclass(frozen=True)
class Step:
    name: str   # the schedule's name: <table>-<step>
    hour: int   # UTC
    sql: str


@dataclass(frozen=True)
class Expiry:
    """Rows of a table whose `column` (a UTC timestamp) is more than `days` old, counted in
    whole hours."""

    column: str
    days: int


def steps(database: str, tables: Sequence[str], expiries: Mapping[str, Expiry]) -> list[Step]:
    """Every table's daily statements, expiring ones first."""
    found = [Step(f"{table}-expire", EXPIRE_HOUR,
                  f"DELETE FROM {database}.{table} WHERE {expiry.column} < "
                  f"date_trunc('hour', current_timestamp) - interval '{expiry.days}' day")
             for table, expiry in expiries.items()]
    for table in tables:
        found.append(Step(f"{table}-optimize", OPTIMIZE_HOUR,
                          f"OPTIMIZE {database}.{table} REWRITE DATA USING BIN_PACK"))
        found.append(Step(f"{table}-vacuum", VACUUM_HOUR, f"VACUUM {database}.{table}"))
    return found


class LakeMaintenance(Construct):
    """The schedules and the one role they run as (its rights: the workgroup, the database's
    tables and the tables' files; the tables bucket's policy admits it to the dead letters)."""

    def __init__(self, scope: Construct, id: str, *, config: EnvironmentConfig,
                 data_key: kms.IKey, bucket: str, tables: Sequence[str],
                 expiries: Mapping[str, Expiry], results_prefix: str) -> None:
        super().__init__(scope, id)
        database = aws_names.lake_database(config.name)
        workgroup = aws_names.athena_workgroup(config.name)
        group = scheduler.CfnScheduleGroup(
            self, "Group", name=f"{aws_names.PROJECT}-{config.name}-lake-maintenance")
        self.role = iam.Role(
            self, "Role", role_name=f"{lake_maintenance_role_name(config.name)}-{Aws.REGION}",
            # Only this account's schedules of this group (confused-deputy protection).
            assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com", conditions={
                "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID,
                                 "aws:SourceArn": group.attr_arn}}),
            description="Runs the lake tables' scheduled maintenance queries in Athena")
        iam.Policy(self, "Policy", roles=[self.role], statements=_statements(
            database=database, workgroup=workgroup, bucket=bucket, tables=tables,
            results_prefix=results_prefix, data_key=data_key))

        self.schedules: dict[str, scheduler.CfnSchedule] = {}
        for step in steps(database, tables, expiries):
            self.schedules[step.name] = scheduler.CfnSchedule(
                self, step.name, name=step.name, group_name=group.ref,
                description=f"ecomflow {config.name}: {step.sql}",
                schedule_expression=f"cron(0 {step.hour} * * ? *)",
                schedule_expression_timezone="UTC",
                # Exact times keep the steps in order.
                flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(
                    mode="OFF"),
                state="ENABLED",
                target=scheduler.CfnSchedule.TargetProperty(
                    arn=START_QUERY_TARGET, role_arn=self.role.role_arn,
                    input=json.dumps({
                        "QueryString": step.sql, "WorkGroup": workgroup,
                        "QueryExecutionContext": {"Catalog": "AwsDataCatalog",
                                                  "Database": database}}),
                    retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                        maximum_event_age_in_seconds=MAX_START_DELAY_SECONDS,
                        maximum_retry_attempts=START_RETRIES)))


def lake_maintenance_role_name(env: str) -> str:
    """The schedules' role, without the region the CDK app appends (like the job's role):
    named so that the tables bucket's policy can admit it to the dead letters."""
    return f"{aws_names.PROJECT}-{env}-lake-maintenance"


def _statements(*, database: str, workgroup: str, bucket: str, tables: Sequence[str],
                results_prefix: str, data_key: kms.IKey) -> list[iam.PolicyStatement]:
    """What Athena needs to run the statements as this role: it reads and writes the tables'
    catalog entries and files, and the workgroup's results, with the caller's rights."""
    athena_arn = f"arn:{Aws.PARTITION}:athena:{Aws.REGION}:{Aws.ACCOUNT_ID}"
    glue_arn = f"arn:{Aws.PARTITION}:glue:{Aws.REGION}:{Aws.ACCOUNT_ID}"
    return [
        iam.PolicyStatement(sid="StartLakeQueries", actions=["athena:StartQueryExecution"],
                            resources=[f"{athena_arn}:workgroup/{workgroup}"]),
        # The tables are named: maintenance never touches one the job did not create.
        iam.PolicyStatement(
            sid="LakeTablesInGlue",
            actions=["glue:GetDatabase", "glue:GetTable", "glue:UpdateTable"],
            resources=[f"{glue_arn}:catalog", f"{glue_arn}:database/{database}",
                       *(f"{glue_arn}:table/{database}/{table}" for table in tables)]),
        iam.PolicyStatement(sid="TablesBucket",
                            actions=["s3:GetBucketLocation", "s3:ListBucket"],
                            resources=[bucket_arn(bucket)]),
        # Compaction writes new files and VACUUM deletes old ones (without s3:DeleteObject it
        # succeeds and deletes nothing); Athena writes the statements' results.
        iam.PolicyStatement(
            sid="RewriteTableFiles",
            actions=["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject",
                     "s3:ListMultipartUploadParts", "s3:PutObject"],
            resources=[*(objects_arn(bucket, f"{table}/*") for table in tables),
                       objects_arn(bucket, f"{results_prefix}*")]),
        iam.PolicyStatement(sid="UseDataKey", actions=["kms:Decrypt", "kms:GenerateDataKey"],
                            resources=[data_key.key_arn]),
    ]
