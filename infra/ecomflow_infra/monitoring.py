"""Alarms at the design's thresholds plus Flink's own, an SNS topic (KMS, TLS-only) with an
optional e-mail subscription given as a stack parameter, and one dashboard."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import (
    Aws,
    CfnCondition,
    CfnParameter,
    Duration,
    Fn,
)
from aws_cdk import (
    aws_cloudwatch as cw,
)
from aws_cdk import (
    aws_cloudwatch_actions as cw_actions,
)
from aws_cdk import (
    aws_iam as iam,
)
from aws_cdk import (
    aws_sns as sns,
)
from constructs import Construct

from ecomflow.aws import names as aws_names
from ecomflow_infra.common import stateful_removal
from ecomflow_infra.environments import EnvironmentConfig
from ecomflow_infra.keys import account_key


@dataclass(frozen=True, kw_only=True)
class Monitored:
    """What the alarms watch, by name (resolved across stacks)."""

    stream_name: str
    delivery_stream_name: str
    lake_bucket_name: str
    cluster_identifier: str
    api_name: str
    api_stage: str
    application_name: str


class Monitoring(Construct):
    def __init__(self, scope: Construct, id: str, *, config: EnvironmentConfig,
                 monitored: Monitored) -> None:
        super().__init__(scope, id)
        email = CfnParameter(
            scope, aws_names.ALERT_EMAIL_PARAMETER, type="String", default="",
            allowed_pattern=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$",
            description="E-mail address subscribed to the alarms (empty: no subscription)")
        # CloudWatch must be able to use the topic's key to publish alarm notifications.
        key = account_key(
            self, "AlertsKey", alias=f"alias/ecomflow-{config.name}-alerts",
            description=f"ecomflow {config.name}: alarm notifications",
            removal_policy=stateful_removal(config),
            extra_statements=[iam.PolicyStatement(
                sid="CloudWatchPublishesAlarms",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey"], resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}})])
        self.topic = sns.Topic(self, "Alerts", topic_name=f"ecomflow-{config.name}-alerts",
                               master_key=key, enforce_ssl=True)
        has_email = CfnCondition(scope, "HasAlertEmail", expression=Fn.condition_not(
            Fn.condition_equals(email.value_as_string, "")))
        subscription = sns.CfnSubscription(self, "AlertEmailSubscription",
                                           topic_arn=self.topic.topic_arn, protocol="email",
                                           endpoint=email.value_as_string)
        subscription.cfn_options.condition = has_email

        self.alarms = _alarms(self, config, monitored)
        action = cw_actions.SnsAction(self.topic)
        for alarm in self.alarms.values():
            alarm.add_alarm_action(action)
            alarm.add_ok_action(action)
        self.dashboard = _dashboard(self, config, monitored, self.alarms)


def _alarm(scope: Construct, id: str, *, metric: cw.IMetric, threshold: float,
           description: str, periods: int = 1,
           missing: cw.TreatMissingData = cw.TreatMissingData.NOT_BREACHING) -> cw.Alarm:
    return cw.Alarm(scope, id, metric=metric, threshold=threshold, evaluation_periods=periods,
                    comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
                    treat_missing_data=missing, alarm_description=description)


def _alarms(scope: Construct, config: EnvironmentConfig, m: Monitored) -> dict[str, cw.Alarm]:
    t = config.alarms
    minute = Duration.minutes(1)
    five = Duration.minutes(5)
    app = {"Application": m.application_name}
    delivered = cw.Metric(namespace="AWS/Firehose", metric_name="DeliveryToS3.Success",
                          dimensions_map={"DeliveryStreamName": m.delivery_stream_name},
                          statistic="Average", period=five)
    storage = {
        storage_type: cw.Metric(namespace="AWS/S3", metric_name="BucketSizeBytes",
                                dimensions_map={"BucketName": m.lake_bucket_name,
                                                "StorageType": storage_type},
                                statistic="Average", period=Duration.days(1))
        for storage_type in ("StandardStorage", "StandardIAStorage", "GlacierStorage")}
    return {
        "IncomingRecords": _alarm(
            scope, "IncomingRecordsHigh", threshold=t.incoming_records_per_minute,
            description="Kinesis IncomingRecords above the design's 1000/min: scale up shards",
            metric=cw.Metric(namespace="AWS/Kinesis", metric_name="IncomingRecords",
                             dimensions_map={"StreamName": m.stream_name},
                             statistic="Sum", period=minute)),
        "DeliveryErrors": _alarm(
            scope, "RawArchiveDeliveryErrors", threshold=t.delivery_error_percent,
            description="Firehose raw archive: failed S3 deliveries above 1 %: investigate",
            metric=cw.MathExpression(expression="100 * (1 - delivered)",
                                     using_metrics={"delivered": delivered},
                                     label="delivery error %", period=five)),
        "RedshiftCpu": _alarm(
            scope, "WarehouseCpuHigh", threshold=t.redshift_cpu_percent, periods=3,
            description="Redshift CPU above 80 %: scale up the cluster",
            metric=cw.Metric(namespace="AWS/Redshift", metric_name="CPUUtilization",
                             dimensions_map={"ClusterIdentifier": m.cluster_identifier},
                             statistic="Average", period=five)),
        "LakeStorage": _alarm(
            scope, "LakeStorageHigh", threshold=t.lake_storage_bytes,
            description="Data lake above 1 TB: review the lifecycle policies",
            metric=cw.MathExpression(expression="standard + ia + glacier",
                                     using_metrics={"standard": storage["StandardStorage"],
                                                    "ia": storage["StandardIAStorage"],
                                                    "glacier": storage["GlacierStorage"]},
                                     label="lake bytes", period=Duration.days(1))),
        "ApiErrors": _alarm(
            scope, "CollectionApiErrors", threshold=t.api_error_percent, periods=5,
            description="Collection API 5XX rate above 5 %: alert the team",
            metric=cw.MathExpression(
                expression="100 * errors",
                using_metrics={"errors": cw.Metric(
                    namespace="AWS/ApiGateway", metric_name="5XXError",
                    dimensions_map={"ApiName": m.api_name, "Stage": m.api_stage},
                    statistic="Average", period=minute)},
                label="5XX %", period=minute)),
        "FlinkDowntime": _alarm(
            scope, "FlinkDowntime", threshold=0,
            description="The Flink job is down (failing or restarting): check its logs",
            metric=cw.Metric(namespace="AWS/KinesisAnalytics", metric_name="downtime",
                             dimensions_map=app, statistic="Average", period=minute)),
        "FlinkCheckpoints": _alarm(
            scope, "FlinkFailedCheckpoints", threshold=0,
            description="The Flink job failed checkpoints: state and lake commits are stalled",
            metric=cw.MathExpression(
                expression="RATE(failed)",
                using_metrics={"failed": cw.Metric(
                    namespace="AWS/KinesisAnalytics", metric_name="numberOfFailedCheckpoints",
                    dimensions_map=app, statistic="Average", period=five)},
                label="failed checkpoints / s", period=five)),
        "FlinkLag": _alarm(
            scope, "FlinkBehindLatest", threshold=t.flink_millis_behind_latest, periods=3,
            description="The Flink source is falling behind the stream: scale or investigate",
            metric=cw.Metric(namespace="AWS/KinesisAnalytics", metric_name="millisBehindLatest",
                             # MSF names the source by its stream, dashes as underscores.
                             dimensions_map={**app, "Flow": "Input",
                                             "Id": m.stream_name.replace("-", "_")},
                             statistic="Maximum", period=minute)),
    }


def _dashboard(scope: Construct, config: EnvironmentConfig, m: Monitored,
               alarms: dict[str, cw.Alarm]) -> cw.Dashboard:
    dashboard = cw.Dashboard(scope, "Dashboard", dashboard_name=f"ecomflow-{config.name}")
    dashboard.add_widgets(cw.AlarmStatusWidget(title="Alarms", alarms=list(alarms.values()),
                                               width=24))
    dashboard.add_widgets(*(cw.AlarmWidget(title=alarm.node.id, alarm=alarm, width=8)
                            for alarm in alarms.values()))
    dashboard.add_widgets(cw.GraphWidget(
        title="Flink: records in/out per second", width=24,
        left=[cw.Metric(namespace="AWS/KinesisAnalytics", metric_name=name,
                        dimensions_map={"Application": m.application_name},
                        statistic="Average", period=Duration.minutes(1))
              for name in ("numRecordsInPerSecond", "numRecordsOutPerSecond")]))
    dashboard.add_widgets(*_pipeline_health_widgets(m.application_name))
    return dashboard


# The job's own accounting: Flink counters in the metric group `kinesisanalytics` / `ecomflow`
# (src/main/java/dev/ecomflow/stream/CountOutcomes.java), which MSF publishes to CloudWatch.
# The same figures as the local dashboard's pipeline health (ecomflow dashboard), per minute.
ACCOUNTING = ("records_in", "valid", "dead_letter", "duplicates", "late", "forgotten", "control")


def _pipeline_health_widgets(application: str) -> list[cw.IWidget]:
    counters = {term: cw.Metric(namespace="AWS/KinesisAnalytics", metric_name=term,
                                dimensions_map={"Application": application},
                                statistic="Sum", period=Duration.minutes(1), label=term)
                for term in ACCOUNTING}
    # records_in = valid + dead_letter + duplicates + late + forgotten + control in every minute:
    # anything else is a record the job lost or counted twice.
    unbalanced = cw.MathExpression(
        expression="m_records_in - (" + " + ".join(f"m_{t}" for t in ACCOUNTING[1:]) + ")",
        using_metrics={f"m_{term}": metric for term, metric in counters.items()},
        label="records not accounted for (0 when balanced)", period=Duration.minutes(1))
    return [
        cw.GraphWidget(title="Pipeline health: records per minute by outcome", width=16,
                       left=list(counters.values()), stacked=False),
        cw.GraphWidget(title="Pipeline health: accounting balance", width=8,
                       left=[unbalanced]),
        cw.SingleValueWidget(title="Pipeline health: last minute", width=24,
                             metrics=list(counters.values())),
    ]
