"""The lake's Iceberg tables on AWS: their bucket, the Glue database, the Athena workgroup, and
what the job gets in every environment (the Iceberg properties, Glue rights on that database's
tables, writes to the tables' folders and none to the Parquet lake's old prefixes)."""

from __future__ import annotations

from ecomflow.aws import names as aws_names
from tests.infra import cfn

TABLE_FOLDERS = ["/dead_letter/*", "/events/*", "/late_events/*", "/sessions/*"]


def test_the_tables_have_a_bucket_a_glue_database_and_an_athena_workgroup(synth):
    storage = synth.json("storage")
    tables_bucket = aws_names.bucket_name(synth.env, "tables", account="${AWS::AccountId}",
                                          region="${AWS::Region}")
    [bucket] = [b for b in cfn.resources(storage, "AWS::S3::Bucket").values()
                if cfn.joined(b["Properties"]["BucketName"]) == tables_bucket]
    encryption = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption[0]["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    rules = {r["Id"]: r for r in bucket["Properties"]["LifecycleConfiguration"]["Rules"]}
    # Iceberg decides which files live: no storage-class moves, no expiry of table files.
    assert not any("Transitions" in r for r in rules.values())
    assert {r.get("Prefix") for r in rules.values() if "ExpirationInDays" in r} == {
        "athena-results/"}

    [database] = cfn.resources(storage, "AWS::Glue::Database").values()
    assert database["Properties"]["DatabaseInput"]["Name"] == aws_names.lake_database(synth.env)
    assert cfn.joined(database["Properties"]["DatabaseInput"]["LocationUri"]) == (
        f"s3://{tables_bucket}")

    [workgroup] = cfn.resources(storage, "AWS::Athena::WorkGroup").values()
    config = workgroup["Properties"]["WorkGroupConfiguration"]
    assert config["EnforceWorkGroupConfiguration"] is True
    results = config["ResultConfiguration"]
    assert cfn.joined(results["OutputLocation"]) == f"s3://{tables_bucket}/athena-results/"
    assert results["EncryptionConfiguration"]["EncryptionOption"] == "SSE_KMS"
    assert "DataKey" in cfn.joined(results["EncryptionConfiguration"]["KmsKey"])


def test_the_dead_letter_table_is_raw_data_like_the_lake_s(synth):
    storage = synth.json("storage")
    denials = {}
    for policy in cfn.resources(storage, "AWS::S3::BucketPolicy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement["Effect"] == "Deny" and "Sid" in statement:
                resources = statement["Resource"]
                resources = resources if isinstance(resources, list) else [resources]
                denials.setdefault(statement["Sid"], set()).update(
                    cfn.joined(r).rsplit("}", 1)[-1] for r in resources)
    assert "/dead_letter/*" in denials["RawDataOnlyForTheJobAndTheReader"]
    assert "/dead_letter/*" in denials["DeadLettersWrittenByTheJobOnly"]
    tables_policies = [p for p in cfn.resources(storage, "AWS::S3::BucketPolicy").values()
                       if "Tables" in p["Properties"]["Bucket"]["Ref"]]
    assert {s["Sid"] for p in tables_policies
            for s in p["Properties"]["PolicyDocument"]["Statement"] if "Sid" in s} >= {
        "RawDataOnlyForTheJobAndTheReader", "DeadLettersWrittenByTheJobOnly"}


def _application_groups(processing: dict) -> dict[str, dict]:
    [application] = cfn.resources(processing, "AWS::KinesisAnalyticsV2::Application").values()
    return {g["PropertyGroupId"]: g["PropertyMap"] for g in application["Properties"][
        "ApplicationConfiguration"]["EnvironmentProperties"]["PropertyGroups"]}


def test_the_job_writes_the_lake_as_iceberg_tables_through_glue(synth):
    lake = _application_groups(synth.json("processing"))["Lake"]
    # No Lake.format: the job knows one format only (flink_jobs/property_keys.py).
    assert set(lake) == {"catalog", "catalog.database", "url"}
    assert (lake["catalog"], lake["catalog.database"]) == (
        "glue", aws_names.lake_database(synth.env))
    assert cfn.joined(lake["url"]) == "s3://" + aws_names.bucket_name(
        synth.env, "tables", account="${AWS::AccountId}", region="${AWS::Region}")


def test_the_job_commits_through_glue_and_writes_only_the_tables_folders(synth):
    processing = synth.json("processing")
    [policy] = cfn.resources(processing, "AWS::IAM::Policy").values()
    by_sid = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    glue = by_sid["LakeTablesInGlue"]
    assert sorted(glue["Action"]) == ["glue:CreateTable", "glue:GetDatabase", "glue:GetTable",
                                      "glue:GetTables", "glue:UpdateTable"]
    database = aws_names.lake_database(synth.env)
    assert sorted(cfn.joined(r).rsplit(":", 1)[-1] for r in glue["Resource"]) == sorted([
        "catalog", f"database/{database}", f"table/{database}/*"])
    written = sorted(cfn.joined(r).rsplit("}", 1)[-1]
                     for r in by_sid["WriteLakeTables"]["Resource"])
    assert written == TABLE_FOLDERS
    assert all(f"ecomflow-{synth.env}-tables-" in cfn.joined(r)
               for r in by_sid["WriteLakeTables"]["Resource"])
