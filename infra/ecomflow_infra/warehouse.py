"""The Redshift warehouse: KMS-encrypted, in private subnets, enhanced VPC routing, automated
snapshots kept for the environment's retention, audit logs, TLS required, and the admin
password generated, stored and rotated by Redshift in Secrets Manager (never in a template)."""

from __future__ import annotations

from aws_cdk import CfnDeletionPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_redshift as redshift
from constructs import Construct

from ecomflow_infra.environments import EnvironmentConfig


class Warehouse(Construct):
    def __init__(self, scope: Construct, id: str, *, config: EnvironmentConfig, vpc: ec2.IVpc,
                 subnets: ec2.SubnetSelection, security_group: ec2.ISecurityGroup,
                 data_key: kms.IKey) -> None:
        super().__init__(scope, id)
        self.config = config
        subnet_group = redshift.CfnClusterSubnetGroup(
            self, "Subnets", description=f"ecomflow {config.name} warehouse: private subnets",
            subnet_ids=vpc.select_subnets(
                subnet_type=subnets.subnet_type).subnet_ids)
        parameters = redshift.CfnClusterParameterGroup(
            self, "Parameters", description="ecomflow: TLS only, user activity logged",
            parameter_group_family="redshift-1.0",
            parameters=[
                redshift.CfnClusterParameterGroup.ParameterProperty(
                    parameter_name="require_ssl", parameter_value="true"),
                redshift.CfnClusterParameterGroup.ParameterProperty(
                    parameter_name="enable_user_activity_logging", parameter_value="true"),
            ])
        sizing = config.redshift
        self.cluster = redshift.CfnCluster(
            self, "Cluster",
            cluster_identifier=config.cluster_identifier,
            cluster_type=sizing.cluster_type,
            node_type=sizing.node_type,
            number_of_nodes=sizing.number_of_nodes if sizing.cluster_type == "multi-node"
            else None,
            db_name=config.warehouse_database,
            master_username=config.warehouse_admin_user,
            manage_master_password=True,
            master_password_secret_kms_key_id=data_key.key_arn,
            port=config.warehouse_port,
            encrypted=True,
            kms_key_id=data_key.key_arn,
            publicly_accessible=False,
            enhanced_vpc_routing=True,
            cluster_subnet_group_name=subnet_group.ref,
            vpc_security_group_ids=[security_group.security_group_id],
            cluster_parameter_group_name=parameters.ref,
            automated_snapshot_retention_period=config.backup_retention_days,
            allow_version_upgrade=True,
            logging_properties=redshift.CfnCluster.LoggingPropertiesProperty(
                log_destination_type="cloudwatch",
                log_exports=["connectionlog", "userlog", "useractivitylog"]),
        )
        # Deleting the stack keeps the cluster (prod) or leaves a final snapshot behind.
        self.cluster.cfn_options.deletion_policy = (
            CfnDeletionPolicy.RETAIN if config.deletion_protection else CfnDeletionPolicy.SNAPSHOT)
        self.cluster.cfn_options.update_replace_policy = CfnDeletionPolicy.SNAPSHOT

    @property
    def secret_arn(self) -> str:
        return self.cluster.attr_master_password_secret_arn

    @property
    def jdbc_url(self) -> str:
        # pgjdbc (the job's driver, 42.7.5) against Redshift; sslmode=require matches
        # the cluster's require_ssl.
        return (f"jdbc:postgresql://{self.cluster.attr_endpoint_address}:"
                f"{self.cluster.attr_endpoint_port}/{self.config.warehouse_database}"
                "?ssl=true&sslmode=require")
