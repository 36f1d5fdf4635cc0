"""Ingestion: the KMS-encrypted event stream, its raw archive in the lake (Firehose), and the
HTTP collection endpoint (`POST /events`, API key, usage plan) that forwards to the stream."""

from __future__ import annotations

from aws_cdk import (
    Aws,
    Duration,
    RemovalPolicy,
)
from aws_cdk import (
    aws_apigateway as apigw,
)
from aws_cdk import (
    aws_iam as iam,
)
from aws_cdk import (
    aws_kinesis as kinesis,
)
from aws_cdk import (
    aws_kinesisfirehose as firehose,
)
from aws_cdk import (
    aws_kms as kms,
)
from aws_cdk import (
    aws_logs as logs,
)
from constructs import Construct

from ecomflow_infra.common import (
    bucket_arn,
    bucket_name,
    log_retention,
    log_stream_arn,
    objects_arn,
    stateful_removal,
)
from ecomflow_infra.environments import EnvironmentConfig
from ecomflow_infra.storage import RAW_ERRORS_PREFIX, RAW_PREFIX

# API Gateway -> PutRecords. One event (a JSON object) becomes one record; a batch (a JSON
# array) one record per element, as the local collector does. Partition keys spread records
# over the shards; the job orders by event time, not by arrival.
PUT_RECORDS_TEMPLATE = """#set($body = $input.path('$'))
{
  "StreamName": "%(stream)s",
  "Records": [
#if($input.body.trim().startsWith("["))
#foreach($event in $body)
    {"Data": "$util.base64Encode($input.json("$[$foreach.index]"))",
     "PartitionKey": "$context.requestId-$foreach.index"}#if($foreach.hasNext),#end

#end
#else
    {"Data": "$util.base64Encode($input.body)", "PartitionKey": "$context.requestId"}
#end
  ]
}"""

PUT_RECORDS_RESPONSE = """{
  "received": $input.path('$.Records').size(),
  "failed": $input.path('$.FailedRecordCount')
}"""

# A request must be a JSON object or a non-empty array of objects; the contract itself is
# checked by the job, which routes what does not parse to the lake's dead_letter/.
EVENTS_MODEL_SCHEMA = apigw.JsonSchema(
    schema=apigw.JsonSchemaVersion.DRAFT4,
    title="Events",
    one_of=[
        apigw.JsonSchema(type=apigw.JsonSchemaType.OBJECT, required=["event_type"]),
        apigw.JsonSchema(type=apigw.JsonSchemaType.ARRAY, min_items=1, max_items=500,
                         items=apigw.JsonSchema(type=apigw.JsonSchemaType.OBJECT,
                                                required=["event_type"])),
    ],
)


class Ingest(Construct):
    def __init__(self, scope: Construct, id: str, *, config: EnvironmentConfig,
                 data_key: kms.IKey) -> None:
        super().__init__(scope, id)
        self.stream = kinesis.Stream(
            self, "Events",
            stream_name=config.stream_name,
            shard_count=config.kinesis_shard_count,
            stream_mode=kinesis.StreamMode.PROVISIONED,
            retention_period=Duration.hours(config.kinesis_retention_hours),
            encryption=kinesis.StreamEncryption.KMS,
            encryption_key=data_key,
            removal_policy=stateful_removal(config),
        )
        self._raw_archive(config, data_key, bucket_name(config, "lake"))
        self._events_api(config, data_key)

    # -- Firehose: stream -> lake raw/ (gzip) --------------------------------------------------

    def _raw_archive(self, config: EnvironmentConfig, data_key: kms.IKey, lake: str) -> None:
        log_group = logs.LogGroup(self, "RawArchiveLogs", encryption_key=data_key,
                                  retention=log_retention(config.log_retention_days),
                                  removal_policy=RemovalPolicy.DESTROY)
        log_stream = log_group.add_stream("S3Delivery")
        role = iam.Role(self, "RawArchiveRole",
                        assumed_by=iam.ServicePrincipal("firehose.amazonaws.com"),
                        description="Firehose: read the event stream, write the lake's raw/")
        policy = iam.Policy(self, "RawArchivePolicy", roles=[role], statements=[
            iam.PolicyStatement(
                sid="ReadEventStream",
                actions=["kinesis:DescribeStream", "kinesis:DescribeStreamSummary",
                         "kinesis:GetShardIterator", "kinesis:GetRecords", "kinesis:ListShards"],
                resources=[self.stream.stream_arn]),
            iam.PolicyStatement(
                sid="DecryptEventStream",
                actions=["kms:Decrypt"], resources=[data_key.key_arn],
                conditions={"StringEquals": {
                    "kms:ViaService": f"kinesis.{Aws.REGION}.amazonaws.com"}}),
            iam.PolicyStatement(
                sid="LakeBucket",
                actions=["s3:GetBucketLocation", "s3:ListBucket",
                         "s3:ListBucketMultipartUploads"],
                resources=[bucket_arn(lake)]),
            iam.PolicyStatement(
                sid="WriteRawArchive",
                actions=["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"],
                resources=[objects_arn(lake, f"{RAW_PREFIX}*"),
                           objects_arn(lake, f"{RAW_ERRORS_PREFIX}*")]),
            iam.PolicyStatement(
                sid="EncryptRawArchive",
                actions=["kms:GenerateDataKey", "kms:Decrypt"], resources=[data_key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"s3.{Aws.REGION}.amazonaws.com"}}),
            iam.PolicyStatement(
                sid="DeliveryErrorLogs",
                actions=["logs:PutLogEvents"],
                resources=[log_stream_arn(log_group.log_group_name,
                                          log_stream.log_stream_name)]),
        ])
        self.delivery_stream = firehose.CfnDeliveryStream(
            self, "RawArchive",
            delivery_stream_name=config.delivery_stream_name,
            delivery_stream_type="KinesisStreamAsSource",
            kinesis_stream_source_configuration=firehose.CfnDeliveryStream
            .KinesisStreamSourceConfigurationProperty(
                kinesis_stream_arn=self.stream.stream_arn, role_arn=role.role_arn),
            extended_s3_destination_configuration=firehose.CfnDeliveryStream
            .ExtendedS3DestinationConfigurationProperty(
                bucket_arn=bucket_arn(lake),
                role_arn=role.role_arn,
                prefix=f"{RAW_PREFIX}dt=!{{timestamp:yyyy-MM-dd}}/hr=!{{timestamp:HH}}/",
                error_output_prefix=(f"{RAW_ERRORS_PREFIX}!{{firehose:error-output-type}}/"
                                     "dt=!{timestamp:yyyy-MM-dd}/"),
                compression_format="GZIP",
                buffering_hints=firehose.CfnDeliveryStream.BufferingHintsProperty(
                    interval_in_seconds=300, size_in_m_bs=64),
                encryption_configuration=firehose.CfnDeliveryStream
                .EncryptionConfigurationProperty(
                    kms_encryption_config=firehose.CfnDeliveryStream.KMSEncryptionConfigProperty(
                        awskms_key_arn=data_key.key_arn)),
                cloud_watch_logging_options=firehose.CfnDeliveryStream
                .CloudWatchLoggingOptionsProperty(
                    enabled=True, log_group_name=log_group.log_group_name,
                    log_stream_name=log_stream.log_stream_name),
            ),
        )
        # Firehose checks its role's permissions when it is created.
        self.delivery_stream.node.add_dependency(policy)

    # -- API Gateway: POST /events -> PutRecords --------------------------------------------

    def _events_api(self, config: EnvironmentConfig, data_key: kms.IKey) -> None:
        access_logs = logs.LogGroup(self, "ApiAccessLogs", encryption_key=data_key,
                                    retention=log_retention(config.log_retention_days),
                                    removal_policy=RemovalPolicy.DESTROY)
        self.api = apigw.RestApi(
            self, "EventsApi",
            rest_api_name=f"ecomflow-{config.name}-events",
            description="ecomflow collection endpoint: POST /events with X-API-Key",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            api_key_source_type=apigw.ApiKeySourceType.HEADER,
            # The account-level logging role is declared below with named actions instead of
            # CDK's role with the AmazonAPIGatewayPushToCloudWatchLogs managed policy.
            cloud_watch_role=False,
            deploy_options=apigw.StageOptions(
                stage_name=config.name,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=False, http_method=True, ip=True, protocol=True,
                    request_time=True, resource_path=True, response_length=True,
                    status=True, user=False),
                logging_level=apigw.MethodLoggingLevel.ERROR,
                metrics_enabled=config.detailed_monitoring,
                throttling_rate_limit=config.api_rate_limit,
                throttling_burst_limit=config.api_burst_limit,
            ),
            default_cors_preflight_options=apigw.CorsOptions(
                allow_origins=apigw.Cors.ALL_ORIGINS, allow_methods=["POST", "OPTIONS"],
                allow_headers=["Content-Type", "X-API-Key"]),
        )
        self._account_logging_role()

        role = iam.Role(self, "EventsApiRole",
                        assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
                        description="API Gateway: put collected events on the stream")
        role.attach_inline_policy(iam.Policy(self, "EventsApiPolicy", statements=[
            iam.PolicyStatement(sid="PutEvents",
                                actions=["kinesis:PutRecord", "kinesis:PutRecords"],
                                resources=[self.stream.stream_arn]),
            iam.PolicyStatement(
                sid="EncryptEvents", actions=["kms:GenerateDataKey"],
                resources=[data_key.key_arn],
                conditions={"StringEquals": {
                    "kms:ViaService": f"kinesis.{Aws.REGION}.amazonaws.com"}}),
        ]))
        integration = apigw.AwsIntegration(
            service="kinesis", action="PutRecords", integration_http_method="POST",
            options=apigw.IntegrationOptions(
                credentials_role=role,
                passthrough_behavior=apigw.PassthroughBehavior.NEVER,
                request_templates={"application/json": PUT_RECORDS_TEMPLATE % {
                    "stream": self.stream.stream_name}},
                integration_responses=[
                    apigw.IntegrationResponse(
                        status_code="200",
                        response_templates={"application/json": PUT_RECORDS_RESPONSE},
                        response_parameters={
                            "method.response.header.Access-Control-Allow-Origin": "'*'"}),
                    apigw.IntegrationResponse(status_code="400", selection_pattern="4\\d{2}"),
                    apigw.IntegrationResponse(status_code="503", selection_pattern="5\\d{2}"),
                ],
            ),
        )
        model = self.api.add_model("EventsModel", content_type="application/json",
                                   model_name="Events", schema=EVENTS_MODEL_SCHEMA)
        validator = self.api.add_request_validator(
            "EventsValidator", validate_request_body=True, validate_request_parameters=True)
        events = self.api.root.add_resource("events")
        events.add_method(
            "POST", integration,
            api_key_required=True,
            request_models={"application/json": model},
            request_validator=validator,
            method_responses=[
                apigw.MethodResponse(status_code="200", response_parameters={
                    "method.response.header.Access-Control-Allow-Origin": True}),
                apigw.MethodResponse(status_code="400"),
                apigw.MethodResponse(status_code="503"),
            ],
        )
        self.api_key = self.api.add_api_key(
            "EventsApiKey", api_key_name=f"ecomflow-{config.name}-collector",
            description="Key the SDKs send as X-API-Key")
        plan = self.api.add_usage_plan(
            "EventsUsagePlan", name=f"ecomflow-{config.name}-collection",
            throttle=apigw.ThrottleSettings(rate_limit=config.api_rate_limit,
                                            burst_limit=config.api_burst_limit))
        plan.add_api_key(self.api_key)
        plan.add_api_stage(stage=self.api.deployment_stage)

    def _account_logging_role(self) -> None:
        """API Gateway writes execution logs with one role per account and region (the last
        deployed environment's wins), so the role covers every API's execution log groups."""
        group = (f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:"
                 "API-Gateway-Execution-Logs_*")
        role = iam.Role(self, "ApiGatewayLoggingRole",
                        assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
                        description="API Gateway: write REST API execution logs")
        role.attach_inline_policy(iam.Policy(self, "ApiGatewayLoggingPolicy", statements=[
            iam.PolicyStatement(
                sid="ExecutionLogs",
                actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams",
                         "logs:PutLogEvents", "logs:PutRetentionPolicy"],
                resources=[group, f"{group}:log-stream:*"]),
        ]))
        account = apigw.CfnAccount(self, "ApiGatewayAccount", cloud_watch_role_arn=role.role_arn)
        self.api.deployment_stage.node.add_dependency(account)

