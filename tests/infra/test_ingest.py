"""The event stream (KMS, shards per environment), the raw archive, and POST /events."""

from __future__ import annotations

from aws_cdk.assertions import Match
from ecomflow_infra import environments

from ecomflow.aws import names as aws_names


def _imported_key_arn(value: dict) -> bool:
    return "Fn::ImportValue" in value and "StorageDataKey" in value["Fn::ImportValue"]


def test_stream_is_kms_encrypted_with_the_data_key_and_sized_per_environment(synth):
    config = environments.get(synth.env)
    [stream] = synth.template("ingest").find_resources("AWS::Kinesis::Stream").values()
    props = stream["Properties"]
    assert props["Name"] == aws_names.stream_name(synth.env)
    assert props["ShardCount"] == {"dev": 1, "staging": 2, "prod": 4}[synth.env]
    assert props["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}
    assert props["RetentionPeriodHours"] == config.kinesis_retention_hours
    assert props["StreamEncryption"]["EncryptionType"] == "KMS"
    assert _imported_key_arn(props["StreamEncryption"]["KeyId"])


def test_raw_archive_delivers_the_stream_to_the_lake_raw_prefix_compressed(synth):
    template = synth.template("ingest")
    [delivery] = template.find_resources("AWS::KinesisFirehose::DeliveryStream").values()
    props = delivery["Properties"]
    assert props["DeliveryStreamType"] == "KinesisStreamAsSource"
    [stream_id] = template.find_resources("AWS::Kinesis::Stream")
    assert props["KinesisStreamSourceConfiguration"]["KinesisStreamARN"] == {
        "Fn::GetAtt": [stream_id, "Arn"]}
    s3 = props["ExtendedS3DestinationConfiguration"]
    assert s3["Prefix"] == "raw/dt=!{timestamp:yyyy-MM-dd}/hr=!{timestamp:HH}/"
    assert s3["ErrorOutputPrefix"].startswith("raw_errors/")
    assert s3["CompressionFormat"] == "GZIP"
    assert _imported_key_arn(s3["EncryptionConfiguration"]["KMSEncryptionConfig"]["AWSKMSKeyARN"])
    assert f"ecomflow-{synth.env}-lake-" in str(s3["BucketARN"])
    assert s3["CloudWatchLoggingOptions"]["Enabled"] is True


def test_post_events_requires_an_api_key_validates_and_puts_records(synth):
    template = synth.template("ingest")
    [method] = [m for m in template.find_resources("AWS::ApiGateway::Method").values()
                if m["Properties"]["HttpMethod"] == "POST"]
    props = method["Properties"]
    assert props["ApiKeyRequired"] is True
    assert "RequestValidatorId" in props and "application/json" in props["RequestModels"]
    integration = props["Integration"]
    assert integration["Type"] == "AWS"
    assert integration["PassthroughBehavior"] == "NEVER"
    assert ":kinesis:action/PutRecords" in str(integration["Uri"])
    template_text = str(integration["RequestTemplates"]["application/json"])
    assert "StreamName" in template_text and "$util.base64Encode" in template_text
    resources = template.find_resources("AWS::ApiGateway::Resource")
    assert [r["Properties"]["PathPart"] for r in resources.values()] == ["events"]
    template.has_resource_properties("AWS::ApiGateway::RequestValidator",
                                     {"ValidateRequestBody": True})


def test_usage_plan_throttles_and_holds_the_key(synth):
    config = environments.get(synth.env)
    template = synth.template("ingest")
    template.has_resource_properties("AWS::ApiGateway::UsagePlan", {
        "Throttle": {"RateLimit": config.api_rate_limit, "BurstLimit": config.api_burst_limit},
        "ApiStages": [Match.object_like({"Stage": Match.any_value()})],
    })
    template.resource_count_is("AWS::ApiGateway::UsagePlanKey", 1)
    template.has_resource_properties("AWS::ApiGateway::Stage", {
        "StageName": synth.env,
        "AccessLogSetting": Match.object_like({"DestinationArn": Match.any_value()}),
        "MethodSettings": [Match.object_like({"LoggingLevel": "ERROR",
                                              "MetricsEnabled": config.detailed_monitoring})],
    })
