from __future__ import annotations

import json
from pathlib import Path

import pytest

from flink_jobs.properties import (
    LOCAL_PROPERTIES_PATH,
    PropertiesError,
    env_overrides,
    load_property_groups,
    merge,
    parse_property_groups,
)
from flink_jobs.settings import FileSource, JobSettings, KinesisSource, SettingsError


def groups(**overrides: dict[str, str]) -> dict[str, dict[str, str]]:
    base = {
        "KinesisSource": {"stream.name": "events", "aws.region": "eu-west-1"},
        "Lake": {"url": "s3://lake/"},
        "Warehouse": {"jdbc.url": "jdbc:postgresql://h:5439/dw", "username": "flink"},
        "CleanStream": {"fx.rates.url": "s3://lake/reference/fx_rates.csv"},
        "Privacy": {"hash.key": "test-key"},
    }
    return merge(base, overrides)


def test_parse_msf_document() -> None:
    document = [
        {"PropertyGroupId": "A", "PropertyMap": {"x": 1, "y": "two"}},
        {"PropertyGroupId": "B"},
    ]
    assert parse_property_groups(document) == {"A": {"x": "1", "y": "two"}, "B": {}}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"PropertyGroupId": "A"}, "expected a JSON list"),
        ([{"PropertyMap": {}}], "entry 0 has no PropertyGroupId"),
        ([{"PropertyGroupId": "A", "PropertyMap": []}], "is not an object"),
        ([{"PropertyGroupId": "A"}, {"PropertyGroupId": "A"}], "appears twice"),
    ],
)
def test_parse_rejects_malformed_documents(document: object, message: str) -> None:
    with pytest.raises(PropertiesError, match=message):
        parse_property_groups(document)


def test_load_reports_missing_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(PropertiesError, match="not found"):
        load_property_groups(tmp_path / "absent.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(PropertiesError, match="not valid JSON"):
        load_property_groups(bad)


def test_local_properties_file_builds_settings() -> None:
    rates = {"CleanStream": {"fx.rates.url": "file:///tmp/fx_rates.csv"},
             "Privacy": {"hash.key": "k"}}  # no key in the repository: a local run adds one
    settings = JobSettings.from_property_groups(
        merge(load_property_groups(LOCAL_PROPERTIES_PATH), rates), local=True)
    assert isinstance(settings.source, KinesisSource)
    assert settings.source.stream_name == "ecomflow-events"
    assert settings.lake.url == "s3://ecomflow-lake"
    assert settings.watermark_delay_seconds == 30


def test_env_overrides_and_merge_order() -> None:
    env = {"ECOMFLOW__Job__parallelism": "4", "ECOMFLOW__Lake__url": "file:///x", "PATH": "/bin"}
    overrides = env_overrides(env)
    assert overrides == {"Job": {"parallelism": "4"}, "Lake": {"url": "file:///x"}}
    merged = merge(groups(), overrides)
    settings = JobSettings.from_property_groups(merged, local=True)
    assert settings.parallelism == 4
    assert settings.lake.url == "file:///x"
    # untouched keys of an overridden group survive
    assert merged["Warehouse"]["username"] == "flink"


def test_env_override_needs_group_and_key() -> None:
    with pytest.raises(PropertiesError, match="ECOMFLOW__Job"):
        env_overrides({"ECOMFLOW__Job": "1"})


def test_kinesis_connector_options() -> None:
    settings = JobSettings.from_property_groups(groups(KinesisSource={
        "aws.endpoint": "http://127.0.0.1:4568", "aws.access.key.id": "k",
        "aws.secret.access.key": "s", "init.position": "latest"}), local=True)
    options = settings.source.connector_options()
    assert options["connector"] == "kinesis"
    assert options["stream"] == "events"
    assert options["format"] == "raw"  # never `json`: bad records must reach the dead letter
    assert options["scan.stream.initpos"] == "LATEST"
    assert options["aws.credentials.provider"] == "BASIC"
    assert options["aws.endpoint"] == "http://127.0.0.1:4568"
    assert settings.lake.url == "s3://lake"  # trailing slash dropped


def test_without_keys_the_default_credential_chain_is_used() -> None:
    settings = JobSettings.from_property_groups(groups(), local=False)
    assert "aws.credentials.provider" not in settings.source.connector_options()
    assert settings.lake.filesystem_config() == {}


def test_file_source_makes_a_bounded_run() -> None:
    settings = JobSettings.from_property_groups(
        groups(FileSource={"path": "/data/in.jsonl"}), local=True)
    assert isinstance(settings.source, FileSource)
    assert settings.bounded
    assert settings.source.connector_options() == {
        "connector": "filesystem", "path": "/data/in.jsonl", "format": "raw"}


def test_emulator_lake_uses_path_style_and_keys() -> None:
    settings = JobSettings.from_property_groups(groups(Lake={
        "s3.endpoint": "http://127.0.0.1:4569", "s3.access.key": "a", "s3.secret.key": "b"}),
        local=True)
    assert settings.lake.filesystem_config() == {
        "s3.endpoint": "http://127.0.0.1:4569", "s3.path.style.access": "true",
        "s3.access-key": "a", "s3.secret-key": "b"}


def test_an_iceberg_lake_in_the_jdbc_catalog_on_a_folder() -> None:
    lake = JobSettings.from_property_groups(groups(Lake={
        "url": "file:///data/lake", "catalog": "JDBC",
        "catalog.uri": "jdbc:postgresql://127.0.0.1:5433/ecomflow_lake",
        "catalog.user": "postgres", "catalog.password": "pw"}), local=True).lake
    assert lake.connector_options("events") == {
        "connector": "iceberg", "catalog-name": "ecomflow_lake",
        "catalog-impl": "org.apache.iceberg.jdbc.JdbcCatalog", "warehouse": "file:///data/lake",
        "uri": "jdbc:postgresql://127.0.0.1:5433/ecomflow_lake", "jdbc.user": "postgres",
        "jdbc.password": "pw", "catalog-database": "ecomflow_lake", "catalog-table": "events"}
    assert "pw" not in repr(lake)


def test_an_iceberg_lake_in_glue_writes_through_iceberg_s3_client() -> None:
    lake = JobSettings.from_property_groups(groups(Lake={
        "url": "s3a://lake/tables", "catalog.database": "shop"}),
        local=False).lake
    assert lake.connector_options("sessions") == {
        "connector": "iceberg", "catalog-name": "ecomflow_lake",
        "catalog-impl": "org.apache.iceberg.aws.glue.GlueCatalog",
        "warehouse": "s3://lake/tables", "io-impl": "org.apache.iceberg.io.ResolvingFileIO",
        "catalog-database": "shop", "catalog-table": "sessions"}
    emulated = JobSettings.from_property_groups(groups(Lake={
        "s3.endpoint": "http://127.0.0.1:4569", "s3.access.key": "a",
        "s3.secret.key": "b"}), local=True).lake.iceberg_catalog_options()
    assert {key: emulated[key] for key in emulated if key.startswith(("s3.", "client."))} == {
        "s3.endpoint": "http://127.0.0.1:4569", "s3.path-style-access": "true",
        "client.region": "us-east-1", "s3.access-key-id": "a", "s3.secret-access-key": "b"}


def test_warehouse_options_hide_nothing_and_pair_credentials() -> None:
    warehouse = JobSettings.from_property_groups(groups(), local=True).warehouse
    options = warehouse.connector_options("t")
    assert options["username"] == "flink" and options["password"] == ""
    assert options["table-name"] == "t"
    no_user = groups()
    del no_user["Warehouse"]["username"]
    options = JobSettings.from_property_groups(no_user, local=True).warehouse.connector_options("t")
    assert "username" not in options and "password" not in options


def test_password_is_not_in_repr() -> None:
    settings = JobSettings.from_property_groups(
        groups(Warehouse={"password": "s3cret"}), local=False)
    assert "s3cret" not in repr(settings)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"KinesisSource": {"stream.name": " "}}, "missing property KinesisSource.stream.name"),
        ({"Lake": {"url": "hdfs://x"}}, "Lake.url must be"),
        ({"Warehouse": {"jdbc.url": "postgresql://x"}}, "must start with jdbc:"),
        ({"Job": {"parallelism": "two"}}, "Job.parallelism must be an integer"),
        ({"Job": {"parallelism": "0"}}, "Job.parallelism must be >= 1"),
        ({"KinesisSource": {"init.position": "AT_TIMESTAMP"}}, "init.position must be one of"),
        ({"Lake": {"s3.path.style.access": "maybe"}}, "must be true or false"),
        ({"Lake": {"catalog": "hive"}},
         "Lake.catalog must be one of glue, jdbc, memory, got 'hive'"),
        ({"Lake": {"catalog": "jdbc"}},
         "Lake.catalog.uri is required with Lake.catalog jdbc"),
    ],
)
def test_invalid_properties_name_group_and_key(override: dict, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        JobSettings.from_property_groups(groups(**override), local=True)


def test_missing_group_is_reported() -> None:
    incomplete = groups()
    del incomplete["Warehouse"]
    with pytest.raises(SettingsError, match="missing property Warehouse.jdbc.url"):
        JobSettings.from_property_groups(incomplete, local=True)


def test_local_properties_file_has_msf_shape() -> None:
    document = json.loads(LOCAL_PROPERTIES_PATH.read_text())
    assert all(set(entry) == {"PropertyGroupId", "PropertyMap"} for entry in document)


def test_clean_stream_defaults_and_switches() -> None:
    settings = JobSettings.from_property_groups(groups(), local=False)
    clean = settings.clean
    assert (clean.max_payload_bytes, clean.max_future_seconds, clean.dedup_horizon_minutes) == (
        1_000_000, 300, 1440)
    assert clean.enrich_user_agent and clean.enrich_country and clean.enrich_fx
    assert clean.enrich_catalog
    assert clean.fx_rates is not None and clean.fx_rates.connector_options() == {
        "connector": "filesystem", "path": "s3://lake/reference/fx_rates.csv", "format": "csv",
        "csv.allow-comments": "true"}
    off = JobSettings.from_property_groups(groups(CleanStream={
        "enrich.fx": "false", "enrich.user-agent": "no", "dedup.horizon.minutes": "60"}),
        local=False).clean
    assert not off.enrich_fx and not off.enrich_user_agent and off.dedup_horizon_minutes == 60


def test_fx_needs_rates_unless_switched_off() -> None:
    no_rates = groups()
    del no_rates["CleanStream"]
    with pytest.raises(SettingsError, match="CleanStream.fx.rates.url is required"):
        JobSettings.from_property_groups(no_rates, local=False)
    no_rates["CleanStream"] = {"enrich.fx": "false"}
    assert JobSettings.from_property_groups(no_rates, local=False).clean.fx_rates is None


def test_checkpointing_is_set_for_local_runs_only() -> None:
    from flink_jobs.environment import flink_configuration

    local = flink_configuration(JobSettings.from_property_groups(groups(Job={
        "checkpoint.interval.ms": "60000", "checkpoint.min.pause.ms": "60000"}), local=True))
    assert local.get_string("execution.checkpointing.interval", "") == "60000ms"
    assert local.get_string("execution.checkpointing.min-pause", "") == "60000ms"
    on_msf = flink_configuration(JobSettings.from_property_groups(groups(), local=False))
    assert on_msf.get_string("execution.checkpointing.min-pause", "unset") == "unset"


def test_a_planning_lake_catalog_reaches_nothing() -> None:
    """`memory`: what deploy's state maps plan with (no Glue, no S3 client, no location)."""
    lake = JobSettings.from_property_groups(groups(Lake={"catalog": "memory"}), local=False).lake
    assert lake.iceberg_catalog_options() == {
        "catalog-name": "ecomflow_lake", "catalog-impl": "dev.ecomflow.lake.PlanningCatalog"}
