"""The lake's Iceberg tables on AWS: their bucket, the Glue database, the Athena workgroup, and
what the job gets in every environment (the Iceberg properties, Glue rights on that database's
tables, writes to the tables' folders and none to the Parquet lake's old prefixes)."""

from __future__ import annotations

from ecomflow.aws import names as aws_names

TABLE_FOLDERS = ["/dead_letter/*", "/events/*", "/late_events/*", "/sessions/*"]


def _resources(template: dict, kind: str) -> list[dict]:
    return [r for r in template["Resources"].values() if r["Type"] == kind]


def _joined(value: object) -> str:
    """A Fn::Join of literals and Refs, as text (Refs as ${name})."""
    if isinstance(value, dict) and "Fn::Join" in value:
        sep, parts = value["Fn::Join"]
        return sep.join(_joined(p) for p in parts)
    if isinstance(value, dict) and "Ref" in value:
        return "${" + value["Ref"] + "}"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return "${" + ".".join(value["Fn::GetAtt"]) + "}"
    return str(value)


def test_the_tables_have_a_bucket_a_glue_database_and_an_athena_workgroup(synth):
    storage = synth.json("storage")
    tables_bucket = aws_names.bucket_name(synth.env, "tables", account="${AWS::AccountId}",
                                          region="${AWS::Region}")
    [bucket] = [b for b in _resources(storage, "AWS::S3::Bucket")
                if _joined(b["Properties"]["BucketName"]) == tables_bucket]
    encryption = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption[0]["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    rules = {r["Id"]: r for r in bucket["Properties"]["LifecycleConfiguration"]["Rules"]}
    # Iceberg decides which files live: no storage-class moves, no expiry of table files.
    assert not any("Transitions" in r for r in rules.values())
    assert {r.get("Prefix") for r in rules.values() if "ExpirationInDays" in r} == {
        "athena-results/"}

    [database] = _resources(storage, "AWS::Glue::Database")
    assert database["Properties"]["DatabaseInput"]["Name"] == aws_names.lake_database(synth.env)
    assert _joined(database["Properties"]["DatabaseInput"]["LocationUri"]) == (
        f"s3://{tables_bucket}")

    [workgroup] = _resources(storage, "AWS::Athena::WorkGroup")
    config = workgroup["Properties"]["WorkGroupConfiguration"]
    assert config["EnforceWorkGroupConfiguration"] is True
    results = config["ResultConfiguration"]
    assert _joined(results["OutputLocation"]) == f"s3://{tables_bucket}/athena-results/"
    assert results["EncryptionConfiguration"]["EncryptionOption"] == "SSE_KMS"
    assert "DataKey" in _joined(results["EncryptionConfiguration"]["KmsKey"])


def test_the_dead_letter_table_is_raw_data_like_the_lake_s(synth):
    storage = synth.json("storage")
    denials = {}
    for policy in _resources(storage, "AWS::S3::BucketPolicy"):
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement["Effect"] == "Deny" and "Sid" in statement:
                resources = statement["Resource"]
                resources = resources if isinstance(resources, list) else [resources]
                denials.setdefault(statement["Sid"], set()).update(
                    _joined(r).rsplit("}", 1)[-1] for r in resources)
    assert "/dead_letter/*" in denials["RawDataOnlyForTheJobAndTheReader"]
    assert "/dead_letter/*" in denials["DeadLettersWrittenByTheJobOnly"]
    tables_policies = [p for p in _resources(storage, "AWS::S3::BucketPolicy")
                       if "Tables" in p["Properties"]["Bucket"]["Ref"]]
    assert {s["Sid"] for p in tables_policies
            for s in p["Properties"]["PolicyDocument"]["Statement"] if "Sid" in s} >= {
        "RawDataOnlyForTheJobAndTheReader", "DeadLettersWrittenByTheJobOnly"}


def _application_groups(processing: dict) -> dict[str, dict]:
    [application] = _resources(processing, "AWS::KinesisAnalyticsV2::Application")
    return {g["PropertyGroupId"]: g["PropertyMap"] for g in application["Properties"][
        "ApplicationConfiguration"]["EnvironmentProperties"]["PropertyGroups"]}


def test_the_job_writes_the_lake_as_iceberg_tables_through_glue(synth):
    lake = _application_groups(synth.json("processing"))["Lake"]
    # No Lake.format: the job knows one format only (flink_jobs/property_keys.py).
    assert set(lake) == {"catalog", "catalog.database", "url"}
    assert (lake["catalog"], lake["catalog.database"]) == (
        "glue", aws_names.lake_database(synth.env))
    assert _joined(lake["url"]) == "s3://" + aws_names.bucket_name(
        synth.env, "tables", account="${AWS::AccountId}", region="${AWS::Region}")


def test_the_job_commits_through_glue_and_writes_only_the_tables_folders(synth):
    processing = synth.json("processing")
    [policy] = _resources(processing, "AWS::IAM::Policy")
    by_sid = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    glue = by_sid["LakeTablesInGlue"]
    assert sorted(glue["Action"]) == ["glue:CreateTable", "glue:GetDatabase", "glue:GetTable",
                                      "glue:GetTables", "glue:UpdateTable"]
    database = aws_names.lake_database(synth.env)
    assert sorted(_joined(r).rsplit(":", 1)[-1] for r in glue["Resource"]) == sorted([
        "catalog", f"database/{database}", f"table/{database}/*"])
    written = sorted(_joined(r).rsplit("}", 1)[-1] for r in by_sid["WriteLakeTables"]["Resource"])
    assert written == TABLE_FOLDERS
    assert all(f"ecomflow-{synth.env}-tables-" in _joined(r)
               for r in by_sid["WriteLakeTables"]["Resource"])
