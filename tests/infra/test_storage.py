"""The lake and package buckets: KMS, versioning, TLS only, no public access, lifecycle, logs."""

from __future__ import annotations

from aws_cdk.assertions import Match
from ecomflow_infra import environments

BLOCK_ALL = {"BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True,
             "RestrictPublicBuckets": True}


def _bucket(template: dict, purpose: str) -> tuple[str, dict]:
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] == "AWS::S3::Bucket":
            name = resource["Properties"]["BucketName"]["Fn::Join"][1][0]
            if name.endswith(f"-{purpose}-"):
                return logical_id, resource
    raise AssertionError(f"no {purpose} bucket")


def _key_id(template: dict) -> str:
    [key] = [k for k, r in template["Resources"].items() if r["Type"] == "AWS::KMS::Key"]
    return key


def test_lake_and_code_buckets_are_kms_encrypted_versioned_private_and_logged(synth):
    template = synth.json("storage")
    key = _key_id(template)
    for purpose in ("lake", "code"):
        _, bucket = _bucket(template, purpose)
        props = bucket["Properties"]
        [rule] = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert rule["ServerSideEncryptionByDefault"] == {
            "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": {"Fn::GetAtt": [key, "Arn"]}}
        assert rule["BucketKeyEnabled"] is True
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}
        assert props["PublicAccessBlockConfiguration"] == BLOCK_ALL
        logs_id, _ = _bucket(template, "access-logs")
        assert props["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": logs_id}
        assert props["LoggingConfiguration"]["LogFilePrefix"] == f"{purpose}/"


def test_access_log_bucket_is_private_sse_s3_and_expires(synth):
    # S3 delivers server access logs only to SSE-S3 buckets.
    template = synth.json("storage")
    _, bucket = _bucket(template, "access-logs")
    props = bucket["Properties"]
    [rule] = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert props["PublicAccessBlockConfiguration"] == BLOCK_ALL
    expected = environments.get(synth.env).lake.access_log_expiry_days
    assert props["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == expected


def test_every_bucket_policy_denies_requests_without_tls(synth):
    template = synth.json("storage")
    buckets = {k for k, r in template["Resources"].items() if r["Type"] == "AWS::S3::Bucket"}
    covered = set()
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::S3::BucketPolicy":
            continue
        statements = resource["Properties"]["PolicyDocument"]["Statement"]
        deny = [s for s in statements if s["Effect"] == "Deny"
                and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}]
        assert deny and deny[0]["Action"] == "s3:*" and deny[0]["Principal"] == {"AWS": "*"}
        covered.add(resource["Properties"]["Bucket"]["Ref"])
    assert covered == buckets


def test_lake_lifecycle_tiers_down_and_expires_per_environment(synth):
    lifecycle = environments.get(synth.env).lake
    _, bucket = _bucket(synth.json("storage"), "lake")
    rules = {r["Id"]: r for r in bucket["Properties"]["LifecycleConfiguration"]["Rules"]}
    assert rules["tier-down"]["Transitions"] == [
        {"StorageClass": "STANDARD_IA",
         "TransitionInDays": lifecycle.infrequent_access_after_days},
        {"StorageClass": "GLACIER", "TransitionInDays": lifecycle.glacier_after_days},
    ]
    assert rules["tier-down"]["NoncurrentVersionExpiration"] == {
        "NoncurrentDays": lifecycle.noncurrent_version_expiry_days}
    assert rules["tier-down"]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}
    assert rules["expire-dead-letters"]["Prefix"] == "dead_letter/"
    assert rules["expire-dead-letters"]["ExpirationInDays"] == lifecycle.dead_letter_expiry_days
    assert rules["expire-undeliverable-raw"]["Prefix"] == "raw_errors/"
    assert {r["Status"] for r in rules.values()} == {"Enabled"}
    assert (lifecycle.noncurrent_version_expiry_days, lifecycle.dead_letter_expiry_days) == {
        "dev": (7, 14), "staging": (30, 30), "prod": (90, 30)}[synth.env]


def test_data_key_rotates_and_buckets_outlive_the_stack(synth):
    template = synth.template("storage")
    template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    template.all_resources("AWS::S3::Bucket", {"DeletionPolicy": "Retain",
                                               "UpdateReplacePolicy": "Retain",
                                               "Type": "AWS::S3::Bucket",
                                               "Properties": Match.any_value()})
    # The key stays too: the retained buckets are unreadable without it.
    template.has_resource("AWS::KMS::Key", {"DeletionPolicy": "Retain"})


def test_every_log_group_is_encrypted_with_the_data_key(synth):
    groups = {f"{suffix}/{logical_id}": resource["Properties"].get("KmsKeyId")
              for suffix, template in synth.all_templates().items()
              for logical_id, resource in template["Resources"].items()
              if resource["Type"] == "AWS::Logs::LogGroup"}
    assert len(groups) == 4  # flow logs, raw archive, API access logs, the Flink job
    for name, key in groups.items():
        assert key and "StorageDataKey" in key["Fn::ImportValue"], name
    # CloudWatch Logs may use the key for this account's log groups only.
    [key] = synth.template("storage").find_resources("AWS::KMS::Key").values()
    [statement] = [s for s in key["Properties"]["KeyPolicy"]["Statement"]
                   if s.get("Sid") == "CloudWatchLogsEncryptLogGroups"]
    assert "kms:*" not in statement["Action"]
    condition = statement["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert condition["Fn::Join"][1][-1] == ":log-group:*"
