"""The Managed Service for Apache Flink application running the PyFlink events job.

Code: the zip `ecomflow deploy` uploads (ecomflow/aws/package.py). Configuration: the job's runtime
property groups (flink_jobs/settings.py reads exactly these keys), built from the environment
config and the other stacks' resources. Checkpointing, parallelism and autoscaling are the
service's; snapshots are on so every update and stop keeps the job's state.
"""

from __future__ import annotations

from aws_cdk import (
    Aws,
    RemovalPolicy,
    Stack,
)
from aws_cdk import (
    aws_ec2 as ec2,
)
from aws_cdk import (
    aws_iam as iam,
)
from aws_cdk import (
    aws_kinesis as kinesis,
)
from aws_cdk import (
    aws_kinesisanalyticsv2 as msf,
)
from aws_cdk import (
    aws_kms as kms,
)
from aws_cdk import (
    aws_logs as logs,
)
from aws_cdk import (
    aws_secretsmanager as secretsmanager,
)
from constructs import Construct

from ecomflow.aws import names as aws_names
from ecomflow.aws.package import RUN_OPTIONS_GROUP, run_options
from ecomflow_infra.common import (
    bucket_arn,
    bucket_name,
    log_group_arn,
    log_retention,
    log_stream_arn,
    objects_arn,
)
from ecomflow_infra.environments import EnvironmentConfig
from ecomflow_infra.regions import NO_MSF_LOGGING_OPTION, refuse_regions
from ecomflow_infra.storage import FX_RATES_KEY, LAKE_TABLES
from flink_jobs import property_keys as keys
from flink_jobs.property_keys import property_groups

RUNTIME = "FLINK-1_20"
LOG_STREAM = "job"

# ENI management in the application's VPC: AWS gives these Describe calls no resource-level
# permissions, so they are the only statements here with Resource "*".
VPC_DESCRIBE_ACTIONS = ("ec2:DescribeDhcpOptions", "ec2:DescribeNetworkInterfaces",
                        "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs")


class Processing(Construct):
    def __init__(self, scope: Construct, id: str, *, config: EnvironmentConfig,
                 code_key: str, data_key: kms.IKey, stream: kinesis.IStream, vpc: ec2.IVpc,
                 subnets: ec2.SubnetSelection, security_group: ec2.ISecurityGroup,
                 warehouse_jdbc_url: str, warehouse_user: str,
                 warehouse_secret_arn: str) -> None:
        super().__init__(scope, id)
        log_group_name = f"/aws/kinesis-analytics/{config.application_name}"
        code_bucket = bucket_name(config, "code")
        lake = bucket_name(config, "lake")
        self.log_group = logs.LogGroup(self, "Logs", log_group_name=log_group_name,
                                       encryption_key=data_key,
                                       retention=log_retention(config.log_retention_days),
                                       removal_policy=RemovalPolicy.DESTROY)
        log_stream = self.log_group.add_stream("Job", log_stream_name=LOG_STREAM)
        subnet_ids = vpc.select_subnets(subnet_type=subnets.subnet_type).subnet_ids

        # Named: the buckets' policies name it among the few that may read or write dead
        # letters (storage.py).
        role = iam.Role(self, "Role",
                        role_name=f"{aws_names.flink_role_name(config.name)}-{Aws.REGION}",
                        assumed_by=iam.ServicePrincipal("kinesisanalytics.amazonaws.com"),
                        description="Managed Flink events job")
        self.hash_key = _hash_key_secret(self, config, data_key)
        statements = _job_statements(
            code_bucket=code_bucket, data_key=data_key, stream=stream,
            lake=lake, log_group=log_group_name, log_stream=LOG_STREAM,
            subnet_ids=subnet_ids, security_group=security_group,
            warehouse_secret_arn=warehouse_secret_arn, hash_key_secret_arn=self.hash_key.ref)
        statements += _lake_table_statements(config)
        self.policy = iam.Policy(self, "Policy", roles=[role], statements=statements)

        # Only declared properties (flink_jobs/property_keys.py): an unknown key fails the synth.
        properties = {
            keys.KINESIS_STREAM_NAME: stream.stream_name,
            keys.KINESIS_REGION: Aws.REGION,
            # Only a first start reads from here: restarts resume from the snapshot.
            keys.KINESIS_INIT_POSITION: "TRIM_HORIZON",
            # The lake's Iceberg tables: the tables bucket is the warehouse, the Glue
            # database's location places each table in the folder of its name.
            keys.LAKE_CATALOG: "glue",
            keys.LAKE_CATALOG_DATABASE: aws_names.lake_database(config.name),
            keys.LAKE_URL: f"s3://{bucket_name(config, 'tables')}",
            keys.WAREHOUSE_JDBC_URL: warehouse_jdbc_url,
            keys.WAREHOUSE_USERNAME: warehouse_user,
            # The Redshift-managed secret, resolved at start-up by flink_jobs/secrets.py.
            keys.WAREHOUSE_PASSWORD_SECRET_ARN: warehouse_secret_arn,
            # Exchange rates for the FX enrichment: the CSV `ecomflow deploy` uploads.
            keys.CLEAN_FX_RATES_URL: f"s3://{lake}/{FX_RATES_KEY}",
            # Ids are hashed with this secret's key before any sink (README "Privacy").
            keys.PRIVACY_HASH_KEY_SECRET_ARN: self.hash_key.ref,
        }
        if config.watermark_delay_seconds is not None:
            properties[keys.JOB_WATERMARK_DELAY_SECONDS] = str(config.watermark_delay_seconds)
        groups = {**property_groups(properties), RUN_OPTIONS_GROUP: run_options()}
        self.property_groups = groups
        self.application = msf.CfnApplication(
            self, "Application",
            application_name=config.application_name,
            application_description=f"ecomflow {config.name}: events job (PyFlink)",
            runtime_environment=RUNTIME,
            service_execution_role=role.role_arn,
            application_configuration=msf.CfnApplication.ApplicationConfigurationProperty(
                application_code_configuration=msf.CfnApplication
                .ApplicationCodeConfigurationProperty(
                    code_content_type="ZIPFILE",
                    code_content=msf.CfnApplication.CodeContentProperty(
                        s3_content_location=msf.CfnApplication.S3ContentLocationProperty(
                            bucket_arn=bucket_arn(code_bucket), file_key=code_key))),
                environment_properties=msf.CfnApplication.EnvironmentPropertiesProperty(
                    property_groups=[
                        msf.CfnApplication.PropertyGroupProperty(
                            property_group_id=group, property_map=values)
                        for group, values in groups.items()]),
                flink_application_configuration=msf.CfnApplication
                .FlinkApplicationConfigurationProperty(
                    checkpoint_configuration=msf.CfnApplication.CheckpointConfigurationProperty(
                        configuration_type="CUSTOM",
                        checkpointing_enabled=True,
                        checkpoint_interval=config.flink_checkpoint_interval_ms,
                        min_pause_between_checkpoints=(
                            config.flink_min_pause_between_checkpoints_ms)),
                    monitoring_configuration=msf.CfnApplication.MonitoringConfigurationProperty(
                        configuration_type="CUSTOM",
                        log_level="INFO",
                        metrics_level="TASK" if config.detailed_monitoring else "APPLICATION"),
                    parallelism_configuration=msf.CfnApplication
                    .ParallelismConfigurationProperty(
                        configuration_type="CUSTOM",
                        parallelism=config.flink_parallelism,
                        parallelism_per_kpu=1,
                        auto_scaling_enabled=config.flink_autoscaling),
                ),
                application_snapshot_configuration=msf.CfnApplication
                .ApplicationSnapshotConfigurationProperty(snapshots_enabled=True),
                application_system_rollback_configuration=msf.CfnApplication
                .ApplicationSystemRollbackConfigurationProperty(rollback_enabled=True),
                vpc_configurations=[msf.CfnApplication.VpcConfigurationProperty(
                    subnet_ids=subnet_ids,
                    security_group_ids=[security_group.security_group_id])],
            ),
            # An update of the running application restarts it from the snapshot it takes.
            run_configuration=msf.CfnApplication.RunConfigurationProperty(
                application_restore_configuration=msf.CfnApplication
                .ApplicationRestoreConfigurationProperty(
                    application_restore_type="RESTORE_FROM_LATEST_SNAPSHOT"),
                flink_run_configuration=msf.CfnApplication.FlinkRunConfigurationProperty(
                    allow_non_restored_state=False)),
        )
        # MSF validates its role (and the code object's readability) on creation.
        self.application.node.add_dependency(self.policy)
        logging_option = msf.CfnApplicationCloudWatchLoggingOption(
            self, "Logging",
            application_name=self.application.ref,
            cloud_watch_logging_option=msf.CfnApplicationCloudWatchLoggingOption
            .CloudWatchLoggingOptionProperty(log_stream_arn=log_stream_arn(
                log_group_name, LOG_STREAM)))
        # (Ordered after the application by its Ref.)
        logging_option.node.add_dependency(log_stream)
        refuse_regions(Stack.of(self), NO_MSF_LOGGING_OPTION,
                       "AWS::KinesisAnalyticsV2::ApplicationCloudWatchLoggingOption (the Managed "
                       "Flink application's CloudWatch logging)")


def _job_statements(*, code_bucket: str, data_key: kms.IKey,
                    stream: kinesis.IStream, lake: str, log_group: str, log_stream: str,
                    subnet_ids: list[str], security_group: ec2.ISecurityGroup,
                    warehouse_secret_arn: str,
                    hash_key_secret_arn: str) -> list[iam.PolicyStatement]:
    arn = f"arn:{Aws.PARTITION}:ec2:{Aws.REGION}:{Aws.ACCOUNT_ID}"
    group_arn = log_group_arn(log_group)
    return [
        iam.PolicyStatement(sid="ReadPackage", actions=["s3:GetObject", "s3:GetObjectVersion"],
                            resources=[objects_arn(code_bucket,
                                                   aws_names.CODE_KEY_PATTERN)]),
        iam.PolicyStatement(
            sid="ReadEventStream",
            actions=["kinesis:DescribeStream", "kinesis:DescribeStreamSummary",
                     "kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards"],
            resources=[stream.stream_arn]),
        # The lake bucket only serves the job its reference data (the datasets are tables in
        # the tables bucket): it uploads nothing there any more.
        iam.PolicyStatement(sid="LakeBucket",
                            actions=["s3:GetBucketLocation", "s3:ListBucket"],
                            resources=[bucket_arn(lake)]),
        iam.PolicyStatement(sid="ReadReferenceData", actions=["s3:GetObject"],
                            resources=[objects_arn(lake, FX_RATES_KEY)]),
        iam.PolicyStatement(sid="UseDataKey",
                            actions=["kms:Decrypt", "kms:GenerateDataKey"],
                            resources=[data_key.key_arn]),
        iam.PolicyStatement(sid="WarehousePassword", actions=["secretsmanager:GetSecretValue"],
                            resources=[warehouse_secret_arn]),
        iam.PolicyStatement(sid="PseudonymisationKey", actions=["secretsmanager:GetSecretValue"],
                            resources=[hash_key_secret_arn]),
        iam.PolicyStatement(sid="FindLogGroup", actions=["logs:DescribeLogGroups"],
                            resources=[log_group_arn("*")]),
        iam.PolicyStatement(sid="WriteJobLogs",
                            actions=["logs:DescribeLogStreams", "logs:PutLogEvents"],
                            resources=[f"{group_arn}:*",
                                       f"{group_arn}:log-stream:{log_stream}"]),
        iam.PolicyStatement(sid="DescribeVpc", actions=list(VPC_DESCRIBE_ACTIONS),
                            resources=["*"]),
        iam.PolicyStatement(
            sid="ApplicationEnis",
            actions=["ec2:CreateNetworkInterface"],
            resources=[*(f"{arn}:subnet/{subnet}" for subnet in subnet_ids),
                       f"{arn}:security-group/{security_group.security_group_id}",
                       f"{arn}:network-interface/*"]),
        iam.PolicyStatement(
            sid="ManageApplicationEnis",
            actions=["ec2:CreateNetworkInterfacePermission", "ec2:DeleteNetworkInterface"],
            resources=[f"{arn}:network-interface/*"]),
    ]


def _lake_table_statements(config: EnvironmentConfig) -> list[iam.PolicyStatement]:
    """The lake's Iceberg tables: the job creates and commits them in the lake's Glue database
    (nothing else in the catalog) and writes their files in the tables bucket."""
    glue_arn = f"arn:{Aws.PARTITION}:glue:{Aws.REGION}:{Aws.ACCOUNT_ID}"
    database = aws_names.lake_database(config.name)
    tables = bucket_name(config, "tables")
    return [
        iam.PolicyStatement(
            sid="LakeTablesInGlue",
            actions=["glue:GetDatabase", "glue:GetTable", "glue:GetTables",
                     "glue:CreateTable", "glue:UpdateTable"],
            resources=[f"{glue_arn}:catalog", f"{glue_arn}:database/{database}",
                       f"{glue_arn}:table/{database}/*"]),
        iam.PolicyStatement(sid="TablesBucket",
                            actions=["s3:GetBucketLocation", "s3:ListBucket"],
                            resources=[bucket_arn(tables)]),
        iam.PolicyStatement(
            sid="WriteLakeTables",
            actions=["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject",
                     "s3:ListMultipartUploadParts", "s3:PutObject"],
            resources=[objects_arn(tables, f"{table}/*") for table in LAKE_TABLES]),
    ]


def _hash_key_secret(scope: Construct, config: EnvironmentConfig,
                     data_key: kms.IKey) -> secretsmanager.CfnSecret:
    """The pseudonymisation key: generated once, JSON {"key": ...}, encrypted with the data key.

    L1 on purpose: the L2 Secret grants the key to Secrets Manager in the key's own policy
    with wildcard actions (kms:GenerateDataKey*); the key policy already delegates to IAM.
    Retained and never rotated: a new key changes every pseudonym, which breaks joins across
    the change and leaves `ecomflow forget` unable to find rows hashed with the old key.
    """
    secret = secretsmanager.CfnSecret(
        scope, "HashKey",
        name=aws_names.hash_key_secret_name(config.name),
        description=f"ecomflow {config.name}: HMAC key that pseudonymises user ids",
        kms_key_id=data_key.key_arn,
        generate_secret_string=secretsmanager.CfnSecret.GenerateSecretStringProperty(
            secret_string_template="{}", generate_string_key="key", password_length=64,
            exclude_punctuation=True))
    secret.apply_removal_policy(RemovalPolicy.RETAIN)
    return secret
