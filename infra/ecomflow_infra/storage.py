"""The data key, the lake's buckets, the bucket MSF loads the package from, and their logs.

The lake is Iceberg tables in the tables bucket (the job's `Lake.url`), registered in the Glue
database and maintained on a schedule (lake_maintenance.py), one folder per table:
    events/, dead_letter/, late_events/, sessions/
    athena-results/   the Athena workgroup's query results

The lake bucket keeps what is not a table:
    raw/          Firehose's compressed archive of every record on the stream
    raw_errors/   records Firehose could not deliver
    reference/    reference data the job reads at start (fx_rates.csv, uploaded by deploy)
    events/, dead_letter/, late_events/, sessions/: what the Parquet lake wrote before the
                  switch to Iceberg; nothing writes there any more, and its dead letters still
                  expire like the other raw records.

Raw records (raw/, raw_errors/, both buckets' dead_letter/) still carry unhashed ids (README
"Privacy"): they expire after days, not years, their replaced versions after one day, and only
the Flink job's role, the raw-data reader role and (dead letter table) the table maintenance
role may read them.
"""

from __future__ import annotations

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_athena as athena
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ecomflow.aws import names as aws_names
from ecomflow_infra.common import bucket_arn, bucket_name, objects_arn
from ecomflow_infra.environments import EnvironmentConfig, LakeLifecycle
from ecomflow_infra.keys import account_key
from ecomflow_infra.lake_maintenance import Expiry, LakeMaintenance, lake_maintenance_role_name

RAW_PREFIX = "raw/"
RAW_ERRORS_PREFIX = "raw_errors/"
# The Parquet lake's dead letters, left from before the switch to Iceberg.
DEAD_LETTER_PREFIX = "dead_letter/"
RAW_DATA_PREFIXES = (RAW_PREFIX, RAW_ERRORS_PREFIX, DEAD_LETTER_PREFIX)
# The lake's Iceberg tables (the job creates them), each in the tables bucket's folder of its
# name: the Glue database's location is the bucket's root.
DEAD_LETTER_TABLE = "dead_letter"
LAKE_TABLES = ("events", DEAD_LETTER_TABLE, "late_events", "sessions")
TABLE_DEAD_LETTER_PREFIX = f"{DEAD_LETTER_TABLE}/"
# When a dead letter arrived (UTC): what its expiry counts from (sql/50_sinks).
DEAD_LETTER_TIME_COLUMN = "received_at"
ATHENA_RESULTS_PREFIX = "athena-results/"
RAW_READ_ACTIONS = ("s3:GetObject", "s3:GetObjectVersion")


def role_arn(name: str) -> str:
    """A role of this account by name, with the region appended (see aws_names)."""
    return f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}:role/{name}-{Aws.REGION}"
FX_RATES_KEY = aws_names.FX_RATES_KEY


def _logs_use_key() -> iam.PolicyStatement:
    """CloudWatch Logs encrypts this account's log groups in this region with the key (the
    encryption context names the log group, so no other account's logs can use it)."""
    return iam.PolicyStatement(
        sid="CloudWatchLogsEncryptLogGroups",
        principals=[iam.ServicePrincipal(f"logs.{Aws.REGION}.amazonaws.com")],
        actions=["kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo",
                 "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext",
                 "kms:DescribeKey"],
        resources=["*"],
        conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": (
            f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:*")}})


class Storage(Construct):
    def __init__(self, scope: Construct, id: str, *, config: EnvironmentConfig) -> None:
        super().__init__(scope, id)
        lifecycle = config.lake
        self.data_key = account_key(
            self, "DataKey", alias=f"alias/ecomflow-{config.name}-data",
            description=(f"ecomflow {config.name}: stream, lake, package, warehouse, secrets "
                         "and log groups"),
            # Kept like the buckets it encrypts: deleting it would make retained data unreadable.
            removal_policy=RemovalPolicy.RETAIN,
            extra_statements=[_logs_use_key()])

        # S3 server access logs can only be delivered to an SSE-S3 bucket (not SSE-KMS).
        self.access_logs = s3.Bucket(
            self, "AccessLogs",
            bucket_name=bucket_name(config, "access-logs"),
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(
                id="expire-access-logs",
                expiration=Duration.days(lifecycle.access_log_expiry_days),
                noncurrent_version_expiration=Duration.days(1))],
            # Buckets are kept on stack deletion everywhere: CloudFormation cannot delete a
            # bucket that still holds objects, and the data is worth a manual decision.
            removal_policy=RemovalPolicy.RETAIN,
        )

        self.lake = self._data_bucket(
            "Lake", bucket_name(config, "lake"), "lake/", [
                s3.LifecycleRule(
                    id="tier-down",
                    transitions=[
                        s3.Transition(storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                                      transition_after=Duration.days(
                                          lifecycle.infrequent_access_after_days)),
                        s3.Transition(storage_class=s3.StorageClass.GLACIER,
                                      transition_after=Duration.days(
                                          lifecycle.glacier_after_days)),
                    ],
                    noncurrent_version_expiration=Duration.days(
                        lifecycle.noncurrent_version_expiry_days),
                    abort_incomplete_multipart_upload_after=Duration.days(
                        lifecycle.incomplete_upload_abort_days),
                ),
                # The Parquet lake's dead letters (none are written here any more).
                s3.LifecycleRule(
                    id="expire-dead-letters",
                    prefix=DEAD_LETTER_PREFIX,
                    expiration=Duration.days(lifecycle.dead_letter_expiry_days),
                    noncurrent_version_expiration=Duration.days(
                        lifecycle.raw_noncurrent_version_expiry_days),
                ),
                s3.LifecycleRule(
                    id="expire-undeliverable-raw",
                    prefix=RAW_ERRORS_PREFIX,
                    expiration=Duration.days(lifecycle.dead_letter_expiry_days),
                    noncurrent_version_expiration=Duration.days(
                        lifecycle.raw_noncurrent_version_expiry_days),
                ),
                s3.LifecycleRule(
                    id="expire-raw-archive",
                    prefix=RAW_PREFIX,
                    expiration=Duration.days(lifecycle.raw_archive_expiry_days),
                    noncurrent_version_expiration=Duration.days(
                        lifecycle.raw_noncurrent_version_expiry_days),
                ),
            ])

        self._restrict_raw_data(config)
        self._lake_tables(config, lifecycle)

        # The packages `ecomflow deploy` uploads (content-addressed keys under flink/).
        self.code = self._data_bucket(
            "Code", bucket_name(config, "code"), "code/", [s3.LifecycleRule(
                id="expire-old-packages",
                noncurrent_version_expiration=Duration.days(30),
                abort_incomplete_multipart_upload_after=Duration.days(
                    lifecycle.incomplete_upload_abort_days))])

    def _data_bucket(self, id: str, name: str, logs_prefix: str,
                     lifecycle_rules: list[s3.LifecycleRule]) -> s3.Bucket:
        """A bucket of data: KMS with the data key, TLS only, no public access, versioned,
        access-logged, kept when the stack goes (CloudFormation cannot delete a bucket that
        still holds objects, and the data is worth a manual decision)."""
        return s3.Bucket(
            self, id,
            bucket_name=name,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.data_key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix=logs_prefix,
            lifecycle_rules=lifecycle_rules,
            removal_policy=RemovalPolicy.RETAIN,
        )

    def _deny_raw_data(self, config: EnvironmentConfig, bucket: s3.Bucket,
                       read_prefixes: tuple[str, ...], dead_letter_prefix: str,
                       maintainers: tuple[str, ...] = ()) -> None:
        """Bucket-policy denials: raw records under `read_prefixes` are read by the job, the
        reader role and `maintainers` (role ARNs) only; only the job and `maintainers` write
        dead letters."""
        flink = role_arn(aws_names.flink_role_name(config.name))
        reader = role_arn(aws_names.raw_data_reader_role_name(config.name))
        bucket.add_to_resource_policy(iam.PolicyStatement(
            sid="RawDataOnlyForTheJobAndTheReader", effect=iam.Effect.DENY,
            principals=[iam.AnyPrincipal()], actions=list(RAW_READ_ACTIONS),
            resources=[bucket.arn_for_objects(f"{p}*") for p in read_prefixes],
            conditions={"ArnNotEquals": {"aws:PrincipalArn": [flink, reader, *maintainers]}}))
        bucket.add_to_resource_policy(iam.PolicyStatement(
            sid="DeadLettersWrittenByTheJobOnly", effect=iam.Effect.DENY,
            principals=[iam.AnyPrincipal()], actions=["s3:PutObject"],
            resources=[bucket.arn_for_objects(f"{dead_letter_prefix}*")],
            conditions={"ArnNotEquals": {
                "aws:PrincipalArn": [flink, *maintainers] if maintainers else flink}}))

    def _lake_tables(self, config: EnvironmentConfig, lifecycle: LakeLifecycle) -> None:
        """The lake as Iceberg tables: their bucket, the Glue database they are registered in
        (the job creates the tables: their hidden partitioning has no CloudFormation form),
        and an Athena workgroup whose results are KMS-encrypted in the same bucket.

        A bucket of its own because Iceberg manages its files' lifetime itself (snapshot
        expiry, compaction; scheduled in lake_maintenance.py): the lake bucket's storage-class
        transitions would move metadata every query reads to Glacier, and its prefix expiries
        would delete files that live snapshots still name. Only replaced versions (the files
        maintenance deleted), unfinished uploads and query results expire here.
        """
        tables = bucket_name(config, "tables")
        self.tables = self._data_bucket("Tables", tables, "tables/", [
                s3.LifecycleRule(
                    id="expire-replaced-versions",
                    noncurrent_version_expiration=Duration.days(
                        lifecycle.noncurrent_version_expiry_days),
                    abort_incomplete_multipart_upload_after=Duration.days(
                        lifecycle.incomplete_upload_abort_days)),
                # Raw records: a dead letter file VACUUM deleted does not linger as a version.
                s3.LifecycleRule(
                    id="expire-replaced-dead-letters", prefix=TABLE_DEAD_LETTER_PREFIX,
                    noncurrent_version_expiration=Duration.days(
                        lifecycle.raw_noncurrent_version_expiry_days)),
                s3.LifecycleRule(
                    id="expire-query-results", prefix=ATHENA_RESULTS_PREFIX,
                    expiration=Duration.days(lifecycle.query_result_expiry_days)),
            ])
        self.lake_maintenance = LakeMaintenance(
            self, "LakeMaintenance", config=config, data_key=self.data_key, bucket=tables,
            tables=LAKE_TABLES, results_prefix=ATHENA_RESULTS_PREFIX,
            expiries={DEAD_LETTER_TABLE: Expiry(column=DEAD_LETTER_TIME_COLUMN,
                                                days=lifecycle.dead_letter_expiry_days)})
        # The dead letter table holds records as received: the same two readers as the lake's,
        # and the maintenance role, whose queries run with its rights: the expiry's DELETE and
        # compaction read the dead letter files and write their replacements (data, delete and
        # metadata files), which these denials would otherwise refuse it.
        self._deny_raw_data(config, self.tables, (TABLE_DEAD_LETTER_PREFIX,),
                            TABLE_DEAD_LETTER_PREFIX,
                            maintainers=(role_arn(lake_maintenance_role_name(config.name)),))
        iam.Policy(self, "RawTablesReaderPolicy", roles=[self.raw_data_reader], statements=[
            iam.PolicyStatement(
                sid="ReadRawTableFiles", actions=list(RAW_READ_ACTIONS),
                resources=[objects_arn(tables, f"{TABLE_DEAD_LETTER_PREFIX}*")]),
            iam.PolicyStatement(sid="ListTables", actions=["s3:ListBucket"],
                                resources=[bucket_arn(tables)]),
        ])

        self.lake_database = glue.CfnDatabase(
            self, "LakeDatabase", catalog_id=Aws.ACCOUNT_ID,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=aws_names.lake_database(config.name),
                description=f"ecomflow {config.name}: the lake's Iceberg tables",
                location_uri=f"s3://{tables}"))
        self.athena_workgroup = athena.CfnWorkGroup(
            self, "LakeQueries", name=aws_names.athena_workgroup(config.name),
            description=f"ecomflow {config.name}: SQL over the lake's tables",
            # Deleting the stack must not fail on saved queries or history.
            recursive_delete_option=True,
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                enforce_work_group_configuration=True,
                publish_cloud_watch_metrics_enabled=True,
                engine_version=athena.CfnWorkGroup.EngineVersionProperty(
                    selected_engine_version="Athena engine version 3"),
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=f"s3://{tables}/{ATHENA_RESULTS_PREFIX}",
                    encryption_configuration=athena.CfnWorkGroup
                    .EncryptionConfigurationProperty(encryption_option="SSE_KMS",
                                                     kms_key=self.data_key.key_arn))))

    def _restrict_raw_data(self, config: EnvironmentConfig) -> None:
        """Raw records are read by two roles only: the job (its dead letters) and a reader.

        Bucket-policy denials hold whatever an identity policy allows (analysts' and
        administrators' included). Reading raw data means assuming the reader role, which
        CloudTrail records. Only the job may write dead letters.
        """
        lake = bucket_name(config, "lake")
        self.raw_data_reader = iam.Role(
            self, "RawDataReader",
            role_name=f"{aws_names.raw_data_reader_role_name(config.name)}-{Aws.REGION}",
            assumed_by=iam.AccountRootPrincipal(),
            description="Reads raw records (dead_letter/, raw/): diagnosis and erasure only")
        iam.Policy(self, "RawDataReaderPolicy", roles=[self.raw_data_reader], statements=[
            iam.PolicyStatement(
                sid="ReadRawData", actions=[*RAW_READ_ACTIONS, "s3:DeleteObjectVersion"],
                resources=[objects_arn(lake, f"{p}*") for p in RAW_DATA_PREFIXES]),
            iam.PolicyStatement(sid="ListLake", actions=["s3:ListBucket"],
                                resources=[bucket_arn(lake)]),
            iam.PolicyStatement(sid="DecryptRawData", actions=["kms:Decrypt"],
                                resources=[self.data_key.key_arn]),
        ])
        self._deny_raw_data(config, self.lake, RAW_DATA_PREFIXES, DEAD_LETTER_PREFIX)
