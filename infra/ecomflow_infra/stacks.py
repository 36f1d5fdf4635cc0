"""One environment = six stacks split by concern; they only compose constructs and wire them.

    network     VPC, private subnets, endpoints, flow logs, security groups
    storage     data key, lake bucket, tables bucket (Glue database, Athena workgroup, the
                tables' scheduled maintenance), package bucket, access-log bucket
    ingest      event stream, Firehose raw archive, POST /events API
    warehouse   Redshift cluster (admin secret managed by Redshift)
    processing  the Managed Flink application
    monitoring  alarms, SNS topic (+ e-mail parameter), dashboard
"""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack, Tags
from constructs import Construct

from ecomflow.aws import names as aws_names
from ecomflow_infra.common import bucket_name
from ecomflow_infra.environments import EnvironmentConfig
from ecomflow_infra.ingest import Ingest
from ecomflow_infra.monitoring import Monitored, Monitoring
from ecomflow_infra.network import Network
from ecomflow_infra.processing import Processing
from ecomflow_infra.storage import Storage
from ecomflow_infra.suppressions import suppress
from ecomflow_infra.warehouse import Warehouse


class EcomflowStacks:
    """Builds every stack of one environment inside `scope` (an App or a Stage)."""

    def __init__(self, scope: Construct, *, config: EnvironmentConfig,
                 code_key: str = aws_names.DEFAULT_CODE_KEY) -> None:
        env = config.name

        def stack(suffix: str, description: str) -> Stack:
            created = Stack(scope, aws_names.stack_name(env, suffix),
                            description=f"ecomflow {env}: {description}",
                            termination_protection=config.deletion_protection)
            Tags.of(created).add("project", aws_names.PROJECT)
            Tags.of(created).add("environment", env)
            return created

        self.storage_stack = stack("storage", "data key, lake, package bucket")
        self.storage = Storage(self.storage_stack, "Storage", config=config)

        self.network_stack = stack("network", "VPC, private subnets, endpoints")
        self.network = Network(self.network_stack, "Network", config=config,
                               log_key=self.storage.data_key)
        CfnOutput(self.storage_stack, aws_names.OUTPUT_CODE_BUCKET,
                  value=self.storage.code.bucket_name)
        CfnOutput(self.storage_stack, aws_names.OUTPUT_LAKE_BUCKET,
                  value=self.storage.lake.bucket_name)

        self.ingest_stack = stack("ingest", "event stream, raw archive, collection API")
        self.ingest = Ingest(self.ingest_stack, "Ingest", config=config,
                             data_key=self.storage.data_key)
        # Firehose writes to the lake by its fixed name: the bucket must exist first.
        self.ingest_stack.add_stack_dependency(self.storage_stack)
        CfnOutput(self.ingest_stack, aws_names.OUTPUT_API_URL,
                  value=f"{self.ingest.api.url}events")
        CfnOutput(self.ingest_stack, aws_names.OUTPUT_API_KEY_ID,
                  value=self.ingest.api_key.key_id)

        self.warehouse_stack = stack("warehouse", "Redshift warehouse")
        self.warehouse = Warehouse(self.warehouse_stack, "Warehouse", config=config,
                                   vpc=self.network.vpc, subnets=self.network.subnets,
                                   security_group=self.network.warehouse_security_group,
                                   data_key=self.storage.data_key)
        CfnOutput(self.warehouse_stack, aws_names.OUTPUT_CLUSTER_ID,
                  value=self.warehouse.cluster.ref)
        CfnOutput(self.warehouse_stack, aws_names.OUTPUT_DATABASE,
                  value=config.warehouse_database)
        CfnOutput(self.warehouse_stack, aws_names.OUTPUT_SECRET_ARN,
                  value=self.warehouse.secret_arn)

        self.processing_stack = stack("processing", "Managed Flink application")
        self.processing = Processing(
            self.processing_stack, "Processing", config=config,
            code_key=code_key, data_key=self.storage.data_key,
            stream=self.ingest.stream, vpc=self.network.vpc,
            subnets=self.network.subnets, security_group=self.network.flink_security_group,
            warehouse_jdbc_url=self.warehouse.jdbc_url,
            warehouse_user=config.warehouse_admin_user,
            warehouse_secret_arn=self.warehouse.secret_arn)
        CfnOutput(self.processing_stack, aws_names.OUTPUT_APP_NAME,
                  value=self.processing.application.ref)

        self.monitoring_stack = stack("monitoring", "alarms, notifications, dashboard")
        self.monitoring = Monitoring(self.monitoring_stack, "Monitoring", config=config,
                                     monitored=Monitored(
                                         stream_name=config.stream_name,
                                         delivery_stream_name=config.delivery_stream_name,
                                         lake_bucket_name=bucket_name(config, "lake"),
                                         cluster_identifier=config.cluster_identifier,
                                         api_name=f"ecomflow-{env}-events",
                                         api_stage=env,
                                         application_name=config.application_name))
        # Alarms name resources by their fixed names: make the dependency explicit.
        self.monitoring_stack.add_stack_dependency(self.processing_stack)
        self.monitoring_stack.add_stack_dependency(self.ingest_stack)
        self.monitoring_stack.add_stack_dependency(self.warehouse_stack)

        for created in self.stacks:
            suppress(created, env=env)

    @property
    def stacks(self) -> list[Stack]:
        return [self.network_stack, self.storage_stack, self.ingest_stack,
                self.warehouse_stack, self.processing_stack, self.monitoring_stack]
