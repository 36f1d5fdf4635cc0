"""Redshift: encrypted, private, enhanced VPC routing, snapshots, sizes, managed secret."""

from __future__ import annotations

from ecomflow_infra import environments

from ecomflow.aws import names as aws_names

SIZES = {"dev": ("ra3.large", "single-node", None), "staging": ("ra3.large", "single-node", None),
         "prod": ("ra3.4xlarge", "multi-node", 4)}


def _cluster(synth) -> dict:
    [cluster] = synth.template("warehouse").find_resources("AWS::Redshift::Cluster").values()
    return cluster


def test_cluster_is_encrypted_private_and_routed_through_the_vpc(synth):
    props = _cluster(synth)["Properties"]
    assert props["Encrypted"] is True
    assert "StorageDataKey" in props["KmsKeyId"]["Fn::ImportValue"]
    assert props["PubliclyAccessible"] is False
    assert props["EnhancedVpcRouting"] is True
    assert props["ClusterIdentifier"] == aws_names.cluster_identifier(synth.env)
    assert props["LoggingProperties"]["LogDestinationType"] == "cloudwatch"
    assert set(props["LoggingProperties"]["LogExports"]) == {
        "connectionlog", "userlog", "useractivitylog"}


def test_node_type_count_and_snapshot_retention_per_environment(synth):
    props = _cluster(synth)["Properties"]
    node_type, cluster_type, nodes = SIZES[synth.env]
    assert props["NodeType"] == node_type
    assert props["ClusterType"] == cluster_type
    assert props.get("NumberOfNodes") == nodes
    assert props["AutomatedSnapshotRetentionPeriod"] == {"dev": 3, "staging": 7,
                                                         "prod": 30}[synth.env]


def test_admin_password_lives_only_in_secrets_manager(synth):
    props = _cluster(synth)["Properties"]
    assert props["ManageMasterPassword"] is True
    assert "StorageDataKey" in props["MasterPasswordSecretKmsKeyId"]["Fn::ImportValue"]
    assert "MasterUserPassword" not in props
    assert props["MasterUsername"] != "awsuser"
    outputs = synth.json("warehouse")["Outputs"]
    [logical_id] = synth.template("warehouse").find_resources("AWS::Redshift::Cluster")
    assert outputs[aws_names.OUTPUT_SECRET_ARN]["Value"] == {
        "Fn::GetAtt": [logical_id, "MasterPasswordSecretArn"]}


def test_cluster_requires_tls_and_sits_in_the_private_subnets(synth):
    template = synth.template("warehouse")
    [group] = template.find_resources("AWS::Redshift::ClusterParameterGroup").values()
    parameters = {p["ParameterName"]: p["ParameterValue"]
                  for p in group["Properties"]["Parameters"]}
    assert parameters == {"require_ssl": "true", "enable_user_activity_logging": "true"}
    [subnets] = template.find_resources("AWS::Redshift::ClusterSubnetGroup").values()
    imports = [s["Fn::ImportValue"] for s in subnets["Properties"]["SubnetIds"]]
    assert len(imports) == 2 and all("privateSubnet" in i for i in imports)


def test_deleting_the_stack_keeps_the_cluster_in_prod_and_a_snapshot_elsewhere(synth):
    cluster = _cluster(synth)
    expected = "Retain" if environments.get(synth.env).deletion_protection else "Snapshot"
    assert cluster["DeletionPolicy"] == expected
    assert cluster["UpdateReplacePolicy"] == "Snapshot"
