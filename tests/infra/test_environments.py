"""The environment configs carry the original design's values (docs: original-design.md)."""

from __future__ import annotations

import pytest
from ecomflow_infra import environments

DESIGN = {
    # env: (shards, node type, cluster type, nodes, detailed monitoring, backup days, protected)
    # The design's dc2 sizes, as the RA3 nodes AWS recommends for them (dc2 is no longer
    # offered for new clusters): one ra3.large per dc2.large, two ra3.4xlarge per dc2.8xlarge.
    "dev": (1, "ra3.large", "single-node", 1, False, 3, False),
    "staging": (2, "ra3.large", "single-node", 1, True, 7, False),
    "prod": (4, "ra3.4xlarge", "multi-node", 4, True, 30, True),
}


@pytest.mark.parametrize("env", sorted(DESIGN))
def test_sizes_retention_monitoring_and_protection_are_the_designs(env):
    config = environments.get(env)
    assert (config.kinesis_shard_count, config.redshift.node_type, config.redshift.cluster_type,
            config.redshift.number_of_nodes, config.detailed_monitoring,
            config.backup_retention_days, config.deletion_protection) == DESIGN[env]


@pytest.mark.parametrize("env", sorted(DESIGN))
def test_alarm_thresholds_are_the_designs(env):
    alarms = environments.get(env).alarms
    assert alarms.incoming_records_per_minute == 1000
    assert alarms.delivery_error_percent == 1.0
    assert alarms.redshift_cpu_percent == 80.0
    assert alarms.lake_storage_bytes == 10**12
    assert alarms.api_error_percent == 5.0


def test_unknown_environment_is_refused():
    with pytest.raises(ValueError, match="unknown environment 'qa'"):
        environments.get("qa")


def test_inconsistent_redshift_sizing_is_refused():
    with pytest.raises(ValueError, match="multi-node"):
        environments.RedshiftSizing(node_type="ra3.large", cluster_type="multi-node",
                                    number_of_nodes=1)


@pytest.mark.parametrize(("node_type", "cluster_type", "nodes", "message"), [
    ("dc2.large", "single-node", 1, "no longer creates clusters of node type 'dc2.large'"),
    ("dc2.8xlarge", "multi-node", 2, "no longer creates clusters"),
    ("ra3.4xlarge", "single-node", 1, "ra3.4xlarge needs a multi-node cluster"),
])
def test_node_types_redshift_no_longer_creates_are_refused(node_type, cluster_type, nodes,
                                                           message):
    with pytest.raises(ValueError, match=message):
        environments.RedshiftSizing(node_type=node_type, cluster_type=cluster_type,
                                    number_of_nodes=nodes)
