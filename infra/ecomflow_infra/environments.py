"""Per-environment values: the only place where dev, staging and prod differ.

Sizes, backup retention, monitoring level and deletion protection are the original design's
(docs: "Configuración por Entornos"); alarm thresholds are its "Métricas Clave" table, plus the
Flink alarms AWS recommends for Managed Service for Apache Flink.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ecomflow.aws import names as aws_names

# Node types Redshift still creates new provisioned clusters with (dc2 and ds2 are no longer
# offered for new clusters), and whether each may run as a single node.
NEW_CLUSTER_NODE_TYPES = {"ra3.large": True, "ra3.xlplus": True, "ra3.4xlarge": False,
                          "ra3.16xlarge": False}


@dataclass(frozen=True, kw_only=True)
class RedshiftSizing:
    """The design sized dev and staging at one dc2.large and prod at two dc2.8xlarge. dc2 is
    gone for new clusters: each takes the RA3 size AWS recommends for its dc2 upgrade (one
    ra3.large per dc2.large, two ra3.4xlarge per dc2.8xlarge)."""

    node_type: str
    cluster_type: str  # "single-node" or "multi-node"
    number_of_nodes: int = 1

    def __post_init__(self) -> None:
        if self.node_type not in NEW_CLUSTER_NODE_TYPES:
            raise ValueError(
                f"Redshift no longer creates clusters of node type {self.node_type!r}; "
                f"choose one of {', '.join(NEW_CLUSTER_NODE_TYPES)}")
        if self.cluster_type == "single-node" and not NEW_CLUSTER_NODE_TYPES[self.node_type]:
            raise ValueError(f"{self.node_type} needs a multi-node cluster: {self}")
        if self.cluster_type not in ("single-node", "multi-node"):
            raise ValueError(f"cluster_type must be single-node or multi-node: {self}")
        if (self.cluster_type == "multi-node") != (self.number_of_nodes > 1):
            raise ValueError(f"multi-node clusters need 2+ nodes, single-node exactly 1: {self}")


@dataclass(frozen=True, kw_only=True)
class AlarmThresholds:
    """The design's thresholds; each maps to one CloudWatch alarm (see monitoring.py)."""

    incoming_records_per_minute: int = 1000        # Kinesis IncomingRecords > 1000/min
    delivery_error_percent: float = 1.0            # Firehose delivery errors > 1 %
    redshift_cpu_percent: float = 80.0             # Redshift CPU > 80 %
    lake_storage_bytes: int = 1_000_000_000_000    # S3 storage > 1 TB
    # The design's "Lambda Errors > 5 %": the serverless ingest path here is API Gateway.
    api_error_percent: float = 5.0
    # Flink's own (AWS's recommended MSF alarms): any downtime, any failed checkpoint, and
    # the source falling more than this far behind the stream's tip.
    flink_millis_behind_latest: int = 60_000


@dataclass(frozen=True, kw_only=True)
class LakeLifecycle:
    infrequent_access_after_days: int = 30   # S3's minimum for STANDARD_IA
    glacier_after_days: int = 90
    noncurrent_version_expiry_days: int = 30
    # Raw records (dead letters, Firehose's raw/ archive) hold unhashed ids: they expire, and
    # their replaced versions go after a day (README "Privacy"). Dead letters are rows of an
    # Iceberg table: a scheduled DELETE expires them (lake_maintenance.py).
    dead_letter_expiry_days: int = 30
    raw_archive_expiry_days: int = 30
    raw_noncurrent_version_expiry_days: int = 1
    incomplete_upload_abort_days: int = 7
    access_log_expiry_days: int = 90
    query_result_expiry_days: int = 30  # Athena's results in the tables bucket


@dataclass(frozen=True, kw_only=True)
class EnvironmentConfig:
    name: str
    kinesis_shard_count: int
    redshift: RedshiftSizing
    detailed_monitoring: bool
    backup_retention_days: int
    deletion_protection: bool
    kinesis_retention_hours: int = 24
    lake: LakeLifecycle = field(default_factory=LakeLifecycle)
    alarms: AlarmThresholds = field(default_factory=AlarmThresholds)
    # Flink: one subtask per shard to start with (see README: event time across shards).
    flink_autoscaling: bool = True
    flink_checkpoint_interval_ms: int = 60_000
    flink_min_pause_between_checkpoints_ms: int = 5_000
    # None: the job's own default (flink_jobs/settings.py).
    watermark_delay_seconds: int | None = None
    warehouse_database: str = "ecomflow"
    warehouse_admin_user: str = "ecomflow_admin"  # not "awsuser" (cdk-nag RS3)
    warehouse_port: int = 5440                     # not 5439 (cdk-nag RS4)
    log_retention_days: int = 30
    api_rate_limit: int = 500       # requests/s across the usage plan
    api_burst_limit: int = 1000
    vpc_cidr: str = "10.40.0.0/16"

    @property
    def flink_parallelism(self) -> int:
        return self.kinesis_shard_count

    @property
    def stream_name(self) -> str:
        return aws_names.stream_name(self.name)

    @property
    def application_name(self) -> str:
        return aws_names.application_name(self.name)

    @property
    def cluster_identifier(self) -> str:
        return aws_names.cluster_identifier(self.name)

    @property
    def delivery_stream_name(self) -> str:
        return aws_names.delivery_stream_name(self.name)


ENVIRONMENTS: dict[str, EnvironmentConfig] = {
    "dev": EnvironmentConfig(
        name="dev",
        kinesis_shard_count=1,
        redshift=RedshiftSizing(node_type="ra3.large", cluster_type="single-node"),
        detailed_monitoring=False,
        backup_retention_days=3,
        deletion_protection=False,
        # Dev runs small and fixed: autoscaling would only add cost and restarts.
        flink_autoscaling=False,
        lake=LakeLifecycle(noncurrent_version_expiry_days=7, dead_letter_expiry_days=14,
                           raw_archive_expiry_days=14, access_log_expiry_days=30),
        log_retention_days=14,
        api_rate_limit=50,
        api_burst_limit=100,
    ),
    "staging": EnvironmentConfig(
        name="staging",
        kinesis_shard_count=2,
        redshift=RedshiftSizing(node_type="ra3.large", cluster_type="single-node"),
        detailed_monitoring=True,
        backup_retention_days=7,
        deletion_protection=False,
        lake=LakeLifecycle(noncurrent_version_expiry_days=30, dead_letter_expiry_days=30),
        vpc_cidr="10.41.0.0/16",
    ),
    "prod": EnvironmentConfig(
        name="prod",
        kinesis_shard_count=4,
        redshift=RedshiftSizing(node_type="ra3.4xlarge", cluster_type="multi-node",
                                number_of_nodes=4),
        detailed_monitoring=True,
        backup_retention_days=30,
        deletion_protection=True,
        kinesis_retention_hours=168,
        lake=LakeLifecycle(noncurrent_version_expiry_days=90, dead_letter_expiry_days=30,
                           access_log_expiry_days=365),
        log_retention_days=90,
        api_rate_limit=2000,
        api_burst_limit=4000,
        vpc_cidr="10.42.0.0/16",
    ),
}


def get(name: str) -> EnvironmentConfig:
    try:
        return ENVIRONMENTS[name]
    except KeyError:
        raise ValueError(f"unknown environment {name!r}: one of "
                         f"{', '.join(ENVIRONMENTS)}") from None
