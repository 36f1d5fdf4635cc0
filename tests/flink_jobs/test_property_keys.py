"""Each property is declared once (flink_jobs/property_keys.py); the reader, the README's table
and the property groups the CDK app and local runs build all follow the declarations."""

from __future__ import annotations

import ast
import sys

import pytest

from ecomflow import paths
from flink_jobs import property_keys as keys
from flink_jobs.settings import JobSettings, SettingsError

ROOT = paths.REPO_ROOT
# The least a run needs: every property required without a condition, plus the conditional
# ones the defaults switch on (FX rates, the hash key).
_MINIMAL = {keys.KINESIS_STREAM_NAME: "events", keys.KINESIS_REGION: "eu-west-1",
            keys.LAKE_URL: "s3://lake", keys.WAREHOUSE_JDBC_URL: "jdbc:postgresql://h/dw",
            keys.CLEAN_FX_RATES_URL: "s3://lake/fx.csv", keys.PRIVACY_HASH_KEY: "k"}


def _key_names_used(*files: str) -> set[str]:
    """Names of `keys.X` referenced in the given modules."""
    used = set()
    for name in files:
        for node in ast.walk(ast.parse((ROOT / name).read_text())):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id == "keys"):
                used.add(node.attr)
    return used


def test_every_declared_property_is_read_and_the_reader_names_no_key_itself() -> None:
    constants = {name for name, value in vars(keys).items() if isinstance(value, keys.Property)}
    assert len(constants) == len(keys.DECLARED)
    assert constants <= _key_names_used("flink_jobs/settings.py", "flink_jobs/secrets.py")
    literals = {node.value for node in ast.walk(ast.parse(
        (ROOT / "flink_jobs/settings.py").read_text())) if isinstance(node, ast.Constant)}
    # (keys may share a spelling with a connector option, such as aws.region: groups may not)
    assert not literals & {p.group for p in keys.DECLARED}


def test_the_readme_settings_table_is_generated_from_the_declarations() -> None:
    readme = (ROOT / "README.md").read_text()
    assert keys.markdown_table() in readme, (
        "README.md's settings table differs from the declarations: replace it with the output "
        "of `python -m flink_jobs.property_keys`")


def test_defaults_of_the_settings_are_the_declared_defaults() -> None:
    settings = JobSettings.from_property_groups(keys.property_groups(_MINIMAL), local=True)
    assert settings.source.getrecords_interval_ms == keys.KINESIS_POLL_INTERVAL_MS.default
    assert settings.clean.dedup_horizon_minutes == keys.CLEAN_DEDUP_HORIZON_MINUTES.default
    assert settings.sessions.funnels_file == keys.SESSIONS_FUNNELS_FILE.default
    assert settings.anomalies.z_threshold == keys.ANOMALY_Z_THRESHOLD.default
    assert settings.privacy.rules.hash_fields == keys.PRIVACY_HASH_FIELDS.default
    assert settings.watermark_delay_seconds == keys.JOB_WATERMARK_DELAY_SECONDS.default
    assert settings.lake.s3_path_style_access is False  # no endpoint: real S3


@pytest.mark.parametrize("prop", [p for p in keys.DECLARED if p.minimum is not None],
                         ids=lambda p: p.name)
def test_declared_minimums_are_enforced(prop: keys.Property) -> None:
    below = keys.property_groups({**_MINIMAL, prop: str(int(prop.minimum) - 1)})
    with pytest.raises(SettingsError, match=f"{prop.name} must be >= {prop.minimum:g}"):
        JobSettings.from_property_groups(below, local=True)
    at = keys.property_groups({**_MINIMAL, prop: str(int(prop.minimum))})
    JobSettings.from_property_groups(at, local=True)


def test_property_groups_refuse_what_the_job_does_not_read() -> None:
    stray = keys.Property("Lake", "url.typo", "text", None)
    with pytest.raises(keys.UndeclaredPropertyError, match="Lake.url.typo"):
        keys.property_groups({stray: "s3://x"})
    assert keys.property_groups({keys.LAKE_URL: "s3://x"}) == {"Lake": {"url": "s3://x"}}


@pytest.mark.parametrize("prop", [p for p in keys.DECLARED if p.required != "no"],
                         ids=lambda p: p.name)
def test_what_is_declared_required_is_required(prop: keys.Property) -> None:
    """`required` is what the README says; the reader must agree (FileSource.path: required
    once the group is there, instead of KinesisSource)."""
    values = {other: value for other, value in _MINIMAL.items() if other is not prop}
    groups = keys.property_groups(values)
    if prop is keys.FILE_PATH:
        groups["FileSource"] = {}
    if prop is keys.LAKE_CATALOG_URI:  # required with the JDBC catalog
        groups["Lake"].update({keys.LAKE_CATALOG.key: "jdbc"})
    with pytest.raises(SettingsError, match=f"{prop.name}"):
        JobSettings.from_property_groups(groups, local=True)


def test_the_declarations_are_a_leaf_infra_can_import() -> None:
    """property_keys imports only the standard library and the privacy rules' defaults (which
    import only the standard library): no pyflink, no tooling."""
    own = {"property_keys": "flink_jobs/property_keys.py",
           "privacy_rules": "flink_jobs/privacy_rules.py"}
    for name, path in own.items():
        tree = ast.parse((ROOT / path).read_text())
        modules = {node.module for node in ast.walk(tree)
                   if isinstance(node, ast.ImportFrom) and node.module}
        modules |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                    for alias in node.names}
        project = {m for m in modules if m.split(".")[0] not in sys.stdlib_module_names}
        allowed = {"flink_jobs.privacy_rules"} if name == "property_keys" else set()
        assert project == allowed, (name, project)
