"""Small helpers every construct uses."""

from __future__ import annotations

from aws_cdk import Aws, RemovalPolicy
from aws_cdk import aws_logs as logs

from ecomflow.aws import names as aws_names
from ecomflow_infra.environments import EnvironmentConfig

_RETENTION = {
    1: logs.RetentionDays.ONE_DAY, 3: logs.RetentionDays.THREE_DAYS,
    7: logs.RetentionDays.ONE_WEEK, 14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH, 60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS, 180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
}


def log_retention(days: int) -> logs.RetentionDays:
    try:
        return _RETENTION[days]
    except KeyError:
        raise ValueError(f"log retention must be one of {sorted(_RETENTION)} days") from None


def stateful_removal(config: EnvironmentConfig) -> RemovalPolicy:
    """Stateful resources survive a stack deletion where the environment is protected."""
    return RemovalPolicy.RETAIN if config.deletion_protection else RemovalPolicy.DESTROY


def bucket_name(config: EnvironmentConfig, purpose: str) -> str:
    """The fixed bucket name, with this deployment's account and region filled in by CFN."""
    return aws_names.bucket_name(config.name, purpose, account=Aws.ACCOUNT_ID, region=Aws.REGION)


def bucket_arn(name: str) -> str:
    return f"arn:{Aws.PARTITION}:s3:::{name}"


def objects_arn(name: str, pattern: str) -> str:
    return f"arn:{Aws.PARTITION}:s3:::{name}/{pattern}"


def log_group_arn(name: str) -> str:
    return f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:{name}"


def log_stream_arn(group: str, stream: str) -> str:
    return f"{log_group_arn(group)}:log-stream:{stream}"
