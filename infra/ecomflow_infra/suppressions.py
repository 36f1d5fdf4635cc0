"""Every cdk-nag (AwsSolutions) finding this app accepts, each with the reason it is accepted.

Kept in one place so reviewers read them together. cdk-nag 3 acknowledges each finding by its
exact id (`AwsSolutions-IAM5[Resource::...]` per wildcard resource), so a new wildcard is a new,
unacknowledged error. tests/infra/test_nag.py fails on any error that is not listed here.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct

from ecomflow.aws import names as aws_names
from ecomflow_infra.storage import ATHENA_RESULTS_PREFIX, LAKE_TABLES

# The lake's Iceberg tables' folders in the tables bucket.
TABLE_FOLDERS = tuple(f"{table}/" for table in LAKE_TABLES)
OBJECTS_UNDER_PREFIX = (
    "Object-level S3 actions need object ARNs: the wildcard is limited to one prefix of one "
    "named bucket ({prefix}), the only data this role reads or writes.")


@dataclass(frozen=True)
class Suppression:
    path: str          # construct path inside the stack
    rule: str          # exact cdk-nag finding id
    reason: str


def _lake_prefix(policy: str, prefix: str, bucket: str = "lake") -> Suppression:
    return Suppression(path=policy,
                       rule=("AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::ecomflow-{env}"
                             f"-{bucket}-<AWS::AccountId>-<AWS::Region>/{prefix}*]"),
                       reason=OBJECTS_UNDER_PREFIX.format(prefix=f"{prefix}"))


def _table_folders(policy: str, *prefixes: str) -> list[Suppression]:
    """Object-level rights on the Iceberg tables' folders (and Athena's results)."""
    return [_lake_prefix(policy, prefix, bucket="tables") for prefix in prefixes]


SUPPRESSIONS: dict[str, list[Suppression]] = {
    "storage": [
        _lake_prefix("Storage/RawDataReaderPolicy/Resource", "raw/"),
        _lake_prefix("Storage/RawDataReaderPolicy/Resource", "raw_errors/"),
        _lake_prefix("Storage/RawDataReaderPolicy/Resource", "dead_letter/"),
        _lake_prefix("Storage/RawTablesReaderPolicy/Resource", "dead_letter/", bucket="tables"),
        *_table_folders("Storage/LakeMaintenance/Policy/Resource", *TABLE_FOLDERS,
                        ATHENA_RESULTS_PREFIX),
    ],
    "ingest": [
        _lake_prefix("Ingest/RawArchivePolicy/Resource", "raw/"),
        _lake_prefix("Ingest/RawArchivePolicy/Resource", "raw_errors/"),
        Suppression(
            "Ingest/RawArchive", "AwsSolutions-KDF1",
            "A delivery stream whose source is a Kinesis stream cannot take server-side "
            "encryption settings (AWS rejects them): records are encrypted at rest by the "
            "source stream's KMS key and in the lake by the same customer-managed key "
            "(EncryptionConfiguration.KMSEncryptionConfig)."),
        Suppression(
            "Ingest/Events/Resource", "AwsSolutions-KDS3",
            "The stream is encrypted with the environment's customer-managed, rotating KMS key "
            "instead of aws/kinesis, so that key policy and grants are ours to control."),
        Suppression(
            "Ingest/EventsApi/Default/events/POST/Resource", "AwsSolutions-APIG4",
            "The design's collection contract is a public endpoint for browser and mobile SDKs "
            "authenticated by an API key (X-API-Key) and limited by a usage plan; end users "
            "have no AWS or Cognito identity to authorize."),
        Suppression(
            "Ingest/EventsApi/Default/events/POST/Resource", "AwsSolutions-COG4",
            "Same as APIG4: SDK clients send an API key, not a Cognito token."),
        Suppression(
            "Ingest/EventsApi/DeploymentStage.{env}/Resource", "AwsSolutions-APIG3",
            "No WAF web ACL yet: the stage is throttled by the usage plan and stage limits, "
            "requires an API key and validates the body; a web ACL (rate-based rules) is the "
            "next step before a public launch and adds a fixed monthly cost."),
        Suppression(
            "Ingest/ApiGatewayLoggingPolicy/Resource",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:"
            "<AWS::AccountId>:log-group:API-Gateway-Execution-Logs_*]",
            "API Gateway's account-wide logging role writes the execution logs of every REST "
            "API in the region into groups it names API-Gateway-Execution-Logs_<api>/<stage>; "
            "the wildcard is limited to that prefix."),
        Suppression(
            "Ingest/ApiGatewayLoggingPolicy/Resource",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:"
            "<AWS::AccountId>:log-group:API-Gateway-Execution-Logs_*:log-stream:*]",
            "The log streams API Gateway creates inside those execution log groups."),
    ],
    "processing": [
        Suppression(
            "Processing/Policy/Resource",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::ecomflow-{env}-code-"
            "<AWS::AccountId>-<AWS::Region>/flink/ecomflow-msf*.zip]",
            "Read-only, on the packages deploy uploads (content-addressed): a failed update "
            "rolls back to the package that ran before, which MSF must still read."),
        Suppression(
            "Processing/HashKey", "AwsSolutions-SMG4",
            "The pseudonymisation key is never rotated automatically: a new key changes every "
            "pseudonym, which breaks joins and sessions across the change and leaves "
            "`ecomflow forget` unable to find rows hashed with the old key. Re-keying is a "
            "deliberate migration (README \"Privacy\")."),
        Suppression(
            "Processing/Policy/Resource",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:"
            "<AWS::AccountId>:log-group:*]",
            "logs:DescribeLogGroups is a list call that MSF makes to check its logging "
            "option; AWS authorizes it only on the log-group:* resource pattern."),
        Suppression(
            "Processing/Policy/Resource",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:"
            "<AWS::AccountId>:log-group:/aws/kinesis-analytics/ecomflow-{env}-events-job:*]",
            "logs:DescribeLogStreams on the application's own log group (its streams)."),
        Suppression(
            "Processing/Policy/Resource", "AwsSolutions-IAM5[Resource::*]",
            "Only the ec2:Describe* calls MSF makes to place the application's ENIs in the VPC "
            "(DescribeVpcs, DescribeSubnets, DescribeSecurityGroups, DescribeDhcpOptions, "
            "DescribeNetworkInterfaces): EC2 supports no resource-level permissions for them."),
        Suppression(
            "Processing/Policy/Resource",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:"
            "<AWS::AccountId>:network-interface/*]",
            "The ENIs MSF creates for the application do not exist before it starts, so they "
            "cannot be named; creation itself is limited to the named subnets and security "
            "group."),
        *_table_folders("Processing/Policy/Resource", *TABLE_FOLDERS),
        Suppression(
            "Processing/Policy/Resource",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:glue:<AWS::Region>:"
            "<AWS::AccountId>:table/ecomflow_{env}_lake/*]",
            "The job creates the lake's tables in its own Glue database when they are missing "
            "(their hidden partitioning has no CloudFormation form), so they cannot be named "
            "in advance; the wildcard covers that one database's tables."),
    ],
}


def suppress(stack: Stack, *, env: str) -> None:
    """Acknowledge this stack's accepted findings on the constructs they are about."""
    suffix = stack.stack_name.removeprefix(f"{aws_names.PROJECT}-{env}-")
    values = {"env": env}
    for item in SUPPRESSIONS.get(suffix, []):
        target: IConstruct = stack.node.find_child(item.path.split("/")[0])
        for part in item.path.format(**values).split("/")[1:]:
            target = target.node.find_child(part)
        Validations.of(target).acknowledge(
            Acknowledgment(id=item.rule.format(**values), reason=item.reason))
