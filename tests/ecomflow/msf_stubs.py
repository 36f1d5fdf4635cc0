"""A stubbed kinesisanalyticsv2 client: moto 5.0.x (the project's pin, <5.1) has no
kinesisanalyticsv2 backend at all, so these calls are checked with botocore's Stubber, which
validates every request and response against the service model."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
from botocore.stub import Stubber

REGION = "us-east-1"
ACCOUNT = "123456789012"


def msf_client():
    client = boto3.client("kinesisanalyticsv2", region_name=REGION,
                          aws_access_key_id="test", aws_secret_access_key="test")
    return client, Stubber(client)


def detail(name: str, status: str, *, version: int = 1,
           code_key: str = "flink/ecomflow-msf-0000000000000000.zip") -> dict:
    return {"ApplicationDetail": {
        "ApplicationARN": f"arn:aws:kinesisanalytics:{REGION}:{ACCOUNT}:application/{name}",
        "ApplicationName": name,
        "RuntimeEnvironment": "FLINK-1_20",
        "ApplicationStatus": status,
        "ApplicationVersionId": version,
        "ApplicationConfigurationDescription": {
            "ApplicationCodeConfigurationDescription": {
                "CodeContentType": "ZIPFILE",
                "CodeContentDescription": {"S3ApplicationCodeLocationDescription": {
                    "BucketARN": f"arn:aws:s3:::ecomflow-code-{ACCOUNT}", "FileKey": code_key}}},
            "FlinkApplicationConfigurationDescription": {
                "ParallelismConfigurationDescription": {
                    "ConfigurationType": "CUSTOM", "Parallelism": 2, "CurrentParallelism": 2,
                    "ParallelismPerKPU": 1, "AutoScalingEnabled": True}},
        },
    }}


def snapshot_list(*names_and_status: tuple[str, str]) -> dict:
    return {"SnapshotSummaries": [
        {"SnapshotName": name, "SnapshotStatus": status, "ApplicationVersionId": 3,
         "SnapshotCreationTimestamp": datetime(2026, 11, day + 1, 12, 0, tzinfo=UTC)}
        for day, (name, status) in enumerate(names_and_status)]}


def expect_describe(stubber: Stubber, name: str, status: str | None, **kwargs) -> None:
    if status is None:
        stubber.add_client_error("describe_application",
                                 service_error_code="ResourceNotFoundException",
                                 http_status_code=400,
                                 expected_params={"ApplicationName": name})
    else:
        stubber.add_response("describe_application", detail(name, status, **kwargs),
                             {"ApplicationName": name})
