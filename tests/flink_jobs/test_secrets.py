"""flink_jobs.secrets: the warehouse password from Secrets Manager (moto), resolved before the
settings are built; and the settings' refusal to run with an unresolved secret."""

from __future__ import annotations

import builtins
import json
import subprocess
import sys
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from flink_jobs import secrets
from flink_jobs.properties import PropertyGroups
from flink_jobs.secrets import region_of, resolve_warehouse_secret
from flink_jobs.settings import JobSettings, SettingsError

REGION = "eu-west-1"
JDBC = "jdbc:redshift://wh.example:5439/analytics"


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    # moto intercepts the calls; these keep botocore from looking for real credentials.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")  # not the secret's: the ARN decides


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def _secret(value: str, region: str = REGION, name: str = "redshift!cluster-admin") -> str:
    client = boto3.client("secretsmanager", region_name=region)
    return client.create_secret(Name=name, SecretString=value)["ARN"]


def _groups(**warehouse: str) -> PropertyGroups:
    return {
        "KinesisSource": {"stream.name": "events", "aws.region": REGION},
        "Lake": {"url": "s3://lake"},
        "Warehouse": {"jdbc.url": JDBC, **warehouse},
        "CleanStream": {"enrich.fx": "false"},
        "Privacy": {"hash.key": "k"},
    }


def test_password_and_username_come_from_the_secret(aws: None) -> None:
    arn = _secret(json.dumps({"username": "admin", "password": "s3cr3t", "engine": "redshift"}))
    groups = _groups(**{"password.secret.arn": arn})
    resolved = resolve_warehouse_secret(groups)
    assert resolved["Warehouse"]["password"] == "s3cr3t"
    assert resolved["Warehouse"]["username"] == "admin"
    assert "password" not in groups["Warehouse"]  # the input is left alone
    warehouse = JobSettings.from_property_groups(resolved, local=False).warehouse
    assert (warehouse.username, warehouse.password) == ("admin", "s3cr3t")
    options = warehouse.connector_options("pipeline_health_log")
    assert (options["username"], options["password"]) == ("admin", "s3cr3t")
    assert "s3cr3t" not in repr(warehouse)


def test_own_username_wins_over_the_secrets(aws: None) -> None:
    arn = _secret(json.dumps({"username": "admin", "password": "s3cr3t"}))
    resolved = resolve_warehouse_secret(
        _groups(username="ecomflow_job", **{"password.secret.arn": arn}))
    assert resolved["Warehouse"]["username"] == "ecomflow_job"
    assert resolved["Warehouse"]["password"] == "s3cr3t"


def test_own_username_needs_only_a_password_in_the_secret(aws: None) -> None:
    arn = _secret(json.dumps({"password": "s3cr3t"}))
    resolved = resolve_warehouse_secret(_groups(username="job", **{"password.secret.arn": arn}))
    assert (resolved["Warehouse"]["username"], resolved["Warehouse"]["password"]) == (
        "job", "s3cr3t")


def test_plain_password_wins_and_the_secret_is_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_call(region: str) -> None:
        raise AssertionError("the secret must not be read")

    monkeypatch.setattr(secrets, "_secretsmanager_client", no_call)
    arn = f"arn:aws:secretsmanager:{REGION}:123456789012:secret:wh-AbCdEf"
    groups = _groups(password="plain", **{"password.secret.arn": arn})
    assert resolve_warehouse_secret(groups) is groups
    assert JobSettings.from_property_groups(groups, local=False).warehouse.password == "plain"


def test_without_a_secret_nothing_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(secrets, "_secretsmanager_client", None)  # would fail if called
    groups = _groups(username="u")
    assert resolve_warehouse_secret(groups) is groups
    assert resolve_warehouse_secret({}) == {}


def test_region_comes_from_the_arn(aws: None) -> None:
    # created in another region than the default one: only the ARN's region finds it
    arn = _secret(json.dumps({"username": "a", "password": "p"}), region="ap-southeast-2")
    assert region_of(arn) == "ap-southeast-2"
    assert resolve_warehouse_secret(
        _groups(**{"password.secret.arn": arn}))["Warehouse"]["password"] == "p"


@pytest.mark.parametrize("arn", ["", "not-an-arn", "arn:aws:s3:::bucket",
                                 "arn:aws:secretsmanager::123456789012:secret:x"])
def test_region_of_rejects_what_is_not_a_secret_arn(arn: str) -> None:
    with pytest.raises(SettingsError, match=r"Warehouse\.password\.secret\.arn"):
        region_of(arn)


def test_region_of_other_partitions() -> None:
    assert region_of("arn:aws-cn:secretsmanager:cn-north-1:1:secret:x-1") == "cn-north-1"


@pytest.mark.parametrize(("document", "missing"), [
    ({"username": "admin"}, "password"),
    ({"password": ""}, "password"),
    ({"password": 123, "username": "a"}, "password"),
    ({"password": "p"}, "username"),
])
def test_missing_keys_are_a_clear_error(aws: None, document: dict, missing: str) -> None:
    arn = _secret(json.dumps(document))
    with pytest.raises(SettingsError) as raised:
        resolve_warehouse_secret(_groups(**{"password.secret.arn": arn}))
    message = str(raised.value)
    assert f"'{missing}'" in message and arn in message
    assert "Warehouse.password.secret.arn" in message


@pytest.mark.parametrize("text", ["bare-password", '["a", "b"]'])
def test_a_secret_that_is_not_a_json_object_is_a_clear_error(aws: None, text: str) -> None:
    arn = _secret(text)
    with pytest.raises(SettingsError, match="not a JSON object") as raised:
        resolve_warehouse_secret(_groups(**{"password.secret.arn": arn}))
    assert "bare-password" not in str(raised.value)  # never echo what may be the password


def test_an_unknown_secret_is_a_clear_error(aws: None) -> None:
    arn = f"arn:aws:secretsmanager:{REGION}:123456789012:secret:absent-AbCdEf"
    with pytest.raises(SettingsError, match=r"cannot read the secret .*absent"):
        resolve_warehouse_secret(_groups(**{"password.secret.arn": arn}))


def test_missing_boto3_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def without_boto3(name: str, *args: object, **kwargs: object) -> object:
        if name == "boto3" or name.startswith("boto3."):
            raise ImportError("No module named 'boto3'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_boto3)
    arn = f"arn:aws:secretsmanager:{REGION}:123456789012:secret:wh-AbCdEf"
    with pytest.raises(SettingsError, match=r"boto3 cannot be imported.*Warehouse\.password"):
        resolve_warehouse_secret(_groups(**{"password.secret.arn": arn}))


def test_settings_refuse_an_unresolved_secret() -> None:
    arn = f"arn:aws:secretsmanager:{REGION}:123456789012:secret:wh-AbCdEf"
    with pytest.raises(SettingsError, match="not resolved"):
        JobSettings.from_property_groups(_groups(**{"password.secret.arn": arn}), local=False)


def test_settings_and_secrets_import_without_boto3() -> None:
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('boto3', 'botocore', 'pyflink'):\n"
        "            raise ImportError('blocked: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import flink_jobs.settings, flink_jobs.secrets\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "ok"
