"""Least privilege across every policy in every stack: no `*` in any allowed action, and
Resource "*" only where AWS requires it (listed below, with why)."""

from __future__ import annotations

import fnmatch

from ecomflow_infra import processing

from tests.infra.conftest import CODE_KEY

# Where AWS accepts no narrower resource than "*".
RESOURCE_STAR_EXCEPTIONS = {
    # A key policy's Resource is always "*": it means "this key".
    "AWS::KMS::Key": None,
    # EC2 Describe calls have no resource-level permissions (MSF places its ENIs with them).
    "AWS::IAM::Policy": set(processing.VPC_DESCRIBE_ACTIONS),
}


def _documents(resource: dict) -> list[dict]:
    props = resource.get("Properties", {})
    kind = resource["Type"]
    if kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::S3::BucketPolicy",
                "AWS::SNS::TopicPolicy"):
        return [props["PolicyDocument"]]
    if kind == "AWS::IAM::Role":
        return [p["PolicyDocument"] for p in props.get("Policies", [])]
    if kind == "AWS::KMS::Key":
        return [props["KeyPolicy"]]
    return []


def _statements(synth):
    for suffix, template in synth.all_templates().items():
        for logical_id, resource in template["Resources"].items():
            for document in _documents(resource):
                for statement in document["Statement"]:
                    yield suffix, logical_id, resource["Type"], statement


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def test_policies_exist_to_check(synth):
    kinds = {kind for _, _, kind, _ in _statements(synth)}
    assert {"AWS::IAM::Policy", "AWS::S3::BucketPolicy", "AWS::KMS::Key"} <= kinds


def test_no_allowed_action_has_a_wildcard(synth):
    for suffix, logical_id, _, statement in _statements(synth):
        if statement["Effect"] != "Allow":
            continue
        for action in _as_list(statement["Action"]):
            assert "*" not in action, f"{suffix}/{logical_id}: {action}"


def test_wildcard_actions_appear_only_in_tls_denials(synth):
    for suffix, logical_id, _, statement in _statements(synth):
        if any("*" in a for a in _as_list(statement["Action"])):
            assert statement["Effect"] == "Deny", f"{suffix}/{logical_id}"
            assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_resource_star_only_where_aws_requires_it(synth):
    seen = set()
    for suffix, logical_id, kind, statement in _statements(synth):
        if statement["Effect"] != "Allow" or "*" not in _as_list(statement.get("Resource", [])):
            continue
        assert kind in RESOURCE_STAR_EXCEPTIONS, f"{suffix}/{logical_id}: {statement}"
        allowed = RESOURCE_STAR_EXCEPTIONS[kind]
        if allowed is not None:
            assert set(_as_list(statement["Action"])) <= allowed, f"{suffix}/{logical_id}"
        seen.add(kind)
    # Both exceptions are really used (the list is not stale).
    assert seen == set(RESOURCE_STAR_EXCEPTIONS)


def test_no_aws_managed_policies(synth):
    for suffix, template in synth.all_templates().items():
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] == "AWS::IAM::Role":
                assert not resource["Properties"].get("ManagedPolicyArns"), (
                    f"{suffix}/{logical_id}")


# What writes or deletes S3 objects (the job's table files).
S3_WRITE_ACTIONS = {"s3:AbortMultipartUpload", "s3:DeleteObject", "s3:PutObject"}


def test_flink_role_reads_only_packages_and_writes_only_the_lake_tables(synth):
    template = synth.json("processing")
    [policy] = [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Policy"]
    by_sid = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    package = by_sid["ReadPackage"]["Resource"]["Fn::Join"][1]
    # Every package deploy uploads, not only the newest: a failed update rolls back to the
    # package that ran before, which MSF must still be able to read.
    assert package[-1] == "/flink/ecomflow-msf*.zip"
    assert fnmatch.fnmatchcase(CODE_KEY, package[-1][1:])
    # The Parquet lake's prefixes in the lake bucket are written no more: the job writes its
    # tables' folders in the tables bucket only.
    assert "WriteLakeDatasets" not in by_sid
    written = [r for s in by_sid.values() if S3_WRITE_ACTIONS & set(_as_list(s["Action"]))
               for r in _as_list(s["Resource"])]
    assert [r["Fn::Join"][1][-1] for r in written] == [
        "/events/*", "/dead_letter/*", "/late_events/*", "/sessions/*"]
    assert all(r["Fn::Join"][1][2].startswith(f":s3:::ecomflow-{synth.env}-tables-")
               for r in written)
    assert by_sid["LakeBucket"]["Action"] == ["s3:GetBucketLocation", "s3:ListBucket"]
    reference = by_sid["ReadReferenceData"]
    assert reference["Action"] == "s3:GetObject"
    assert reference["Resource"]["Fn::Join"][1][-1] == "/reference/fx_rates.csv"
    assert by_sid["WarehousePassword"]["Action"] == "secretsmanager:GetSecretValue"
    assert "MasterPasswordSecretArn" in by_sid["WarehousePassword"]["Resource"][
        "Fn::ImportValue"]
