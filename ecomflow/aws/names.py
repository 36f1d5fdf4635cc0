"""Names shared by the CDK app (infra/) and the deploy commands: one place, so they agree.

Physical names are fixed, so IAM policies name their resources and the deploy command finds
them without reading stack outputs. Bucket names carry the account and region to be globally
unique (the CDK app passes CloudFormation's pseudo parameters for both).
"""

from __future__ import annotations

ENVIRONMENTS = ("dev", "staging", "prod")
PROJECT = "ecomflow"

# Stack suffixes, in deploy order. The foundation stacks exist before the package is uploaded
# and the warehouse schema is applied; processing and monitoring follow.
FOUNDATION_STACKS = ("storage", "network", "ingest", "warehouse")
LATER_STACKS = ("processing", "monitoring")
ALL_STACKS = FOUNDATION_STACKS + LATER_STACKS

# CloudFormation output keys the deploy command reads.
OUTPUT_CODE_BUCKET = "CodeBucketName"
OUTPUT_LAKE_BUCKET = "LakeBucketName"
OUTPUT_CLUSTER_ID = "ClusterIdentifier"
OUTPUT_DATABASE = "DatabaseName"
OUTPUT_SECRET_ARN = "WarehouseSecretArn"
OUTPUT_API_URL = "EventsApiUrl"
OUTPUT_API_KEY_ID = "EventsApiKeyId"
OUTPUT_APP_NAME = "FlinkApplicationName"

# The monitoring stack's parameter for the alert e-mail subscription.
ALERT_EMAIL_PARAMETER = "AlertEmail"
# Context keys the CDK app reads.
CONTEXT_ENV = "env"
CONTEXT_CODE_KEY = "code_key"
DEFAULT_CODE_KEY = "flink/ecomflow-msf.zip"
CODE_PREFIX = "flink/"
# Every package deploy uploads (content-addressed, see deploy.code_key_for): the job role may
# read them all, so a failed update can roll back to the package that ran before.
CODE_KEY_PATTERN = f"{CODE_PREFIX}ecomflow-msf*.zip"
# Where deploy puts the exchange-rate CSV in the lake (CleanStream.fx.rates.url on AWS).
FX_RATES_KEY = "reference/fx_rates.csv"


def _check(env: str) -> str:
    if env not in ENVIRONMENTS:
        raise ValueError(f"unknown environment {env!r}: one of {', '.join(ENVIRONMENTS)}")
    return env


def _name(env: str, *parts: str) -> str:
    """The one naming rule of every physical name: ecomflow-<env>-<parts>."""
    return "-".join((PROJECT, _check(env), *parts))


def stack_name(env: str, suffix: str) -> str:
    return _name(env, suffix)


def stream_name(env: str) -> str:
    return _name(env, "events")


def application_name(env: str) -> str:
    return _name(env, "events-job")


def cluster_identifier(env: str) -> str:
    return _name(env, "dw")


def lake_database(env: str) -> str:
    """The Glue database of the lake's Iceberg tables (Glue names take no hyphens)."""
    return _name(env, "lake").replace("-", "_")


def athena_workgroup(env: str) -> str:
    return _name(env, "lake")


def bucket_name(env: str, purpose: str, *, account: str, region: str) -> str:
    """`purpose` is one of lake, code, access-logs."""
    return _name(env, purpose, account, region)


def flink_role_name(env: str) -> str:
    """The Flink job's IAM role (the CDK app appends the region: role names are per account).

    Fixed so that the lake's bucket policy can name it without depending on the stack that
    creates it."""
    return _name(env, "flink-job")


def raw_data_reader_role_name(env: str) -> str:
    """The only role that may read raw records (dead_letter/, raw/); region appended too."""
    return _name(env, "raw-data-reader")


def hash_key_secret_name(env: str) -> str:
    """The Secrets Manager secret holding the pseudonymisation key (Privacy.hash.key)."""
    return _name(env, "privacy-hash-key")


def delivery_stream_name(env: str) -> str:
    return _name(env, "raw-archive")
