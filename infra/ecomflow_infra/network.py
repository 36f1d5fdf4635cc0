"""The VPC: private subnets only (no internet gateway, no NAT) plus endpoints, so the Flink
application reaches Kinesis, S3, Secrets Manager and CloudWatch without leaving AWS's network."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from ecomflow_infra.common import log_retention
from ecomflow_infra.environments import EnvironmentConfig

INTERFACE_ENDPOINTS = {
    "Kinesis": ec2.InterfaceVpcEndpointAwsService.KINESIS_STREAMS,
    "SecretsManager": ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
    "CloudWatch": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_MONITORING,
    "CloudWatchLogs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
}


class Network(Construct):
    def __init__(self, scope: Construct, id: str, *, config: EnvironmentConfig,
                 log_key: kms.IKey) -> None:
        super().__init__(scope, id)
        self.vpc = ec2.Vpc(
            self, "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(config.vpc_cidr),
            max_azs=2,
            nat_gateways=0,
            subnet_configuration=[ec2.SubnetConfiguration(
                name="private", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24)],
            # The default security group is attached to nothing here; restricting it would
            # add a Lambda-backed custom resource (and its managed-policy role) to every stack.
            restrict_default_security_group=False,
        )
        self.subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        self.vpc.add_gateway_endpoint("S3", service=ec2.GatewayVpcEndpointAwsService.S3,
                                      subnets=[self.subnets])
        # One security group for every interface endpoint: HTTPS from inside the VPC only.
        self.endpoint_security_group = ec2.SecurityGroup(
            self, "EndpointSecurityGroup", vpc=self.vpc, allow_all_outbound=False,
            description="VPC interface endpoints: HTTPS from inside the VPC")
        self.endpoint_security_group.add_ingress_rule(
            ec2.Peer.ipv4(config.vpc_cidr), ec2.Port.tcp(443), "HTTPS from the VPC")
        for name, service in INTERFACE_ENDPOINTS.items():
            self.vpc.add_interface_endpoint(name, service=service, subnets=self.subnets,
                                            private_dns_enabled=True, open=False,
                                            security_groups=[self.endpoint_security_group])
        flow_logs = logs.LogGroup(self, "FlowLogs", encryption_key=log_key,
                                  retention=log_retention(config.log_retention_days),
                                  removal_policy=RemovalPolicy.DESTROY)
        self.vpc.add_flow_log("FlowLog",
                              destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs),
                              traffic_type=ec2.FlowLogTrafficType.ALL)

        # The Flink application's ENIs: HTTPS out (the subnets route nowhere but the VPC
        # endpoints and the S3 gateway, whose addresses are the region's, hence any-IPv4) and
        # JDBC to the warehouse; nothing in.
        self.flink_security_group = ec2.SecurityGroup(
            self, "FlinkSecurityGroup", vpc=self.vpc, allow_all_outbound=False,
            description="Managed Flink application ENIs: HTTPS to VPC endpoints, JDBC to Redshift")
        self.flink_security_group.add_egress_rule(
            ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "VPC endpoints and the S3 gateway endpoint")
        self.warehouse_security_group = ec2.SecurityGroup(
            self, "WarehouseSecurityGroup", vpc=self.vpc, allow_all_outbound=False,
            description="Redshift cluster: JDBC from the Flink application only")
        self.warehouse_security_group.add_ingress_rule(
            self.flink_security_group, ec2.Port.tcp(config.warehouse_port), "Flink JDBC sink")
        self.flink_security_group.add_egress_rule(
            self.warehouse_security_group, ec2.Port.tcp(config.warehouse_port), "Redshift JDBC")

