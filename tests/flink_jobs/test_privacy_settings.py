"""Property group `Privacy`: typed and validated like the others; the key comes from Secrets
Manager on AWS (moto here) and from a per-machine key file locally, never from the repository."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from ecomflow.run.local_run import build_local_settings, local_hash_key, local_privacy
from flink_jobs.privacy_rules import DEFAULT_HASH_FIELDS, PrivacyRules
from flink_jobs.properties import LOCAL_PROPERTIES_PATH, PropertyGroups, merge
from flink_jobs.secrets import resolve_privacy_secret, resolve_secrets
from flink_jobs.settings import JobSettings, SettingsError

REGION = "eu-west-1"


def groups(**privacy: str) -> PropertyGroups:
    return {
        "KinesisSource": {"stream.name": "events", "aws.region": REGION},
        "Lake": {"url": "s3://lake"},
        "Warehouse": {"jdbc.url": "jdbc:postgresql://h/db"},
        "CleanStream": {"enrich.fx": "false"},
        "Privacy": privacy,
    }


def settings(**privacy: str) -> JobSettings:
    return JobSettings.from_property_groups(groups(**privacy), local=False)


def test_defaults() -> None:
    privacy = settings(**{"hash.key": "SeCrEtKeY"}).privacy
    assert privacy.pseudonymise is True
    assert privacy.hash_key == "SeCrEtKeY"
    assert privacy.rules == PrivacyRules()
    assert privacy.rules.hash_fields == DEFAULT_HASH_FIELDS == (
        "user_id", "customer_id", "ip_address", "ip", "email")
    assert privacy.rules.region_fields == ("postal_code",) and privacy.rules.region_chars == 2
    assert privacy.rules.url_fields == ("page_url", "referrer", "url")
    assert privacy.rules.strip_params == ("email", "token", "password", "auth", "session",
                                          "sid", "key", "api_key", "access_token", "code")
    assert privacy.forget_drop_days == 30 and privacy.forget_drop_millis == 2_592_000_000
    assert privacy.spec() == PrivacyRules().spec()
    assert "SeCrEtKeY" not in repr(privacy)  # the key is never in a repr


def test_every_key_is_read() -> None:
    privacy = settings(**{
        "hash.key": "k", "hash.fields": " uid , email ", "region.fields": "zip",
        "postal.region.chars": "3", "url.fields": "", "url.strip.params": "Token,x",
        "forget.drop.days": "0"}).privacy
    assert privacy.rules == PrivacyRules(hash_fields=("uid", "email"), region_fields=("zip",),
                                         region_chars=3, url_fields=(),
                                         strip_params=("token", "x"))
    assert privacy.forget_drop_days == 0 and privacy.forget_drop_millis == 0
    assert privacy.spec() == "v1;hash=uid,email;region=zip;region.chars=3;url=;strip=token,x"


def test_the_key_is_required_while_pseudonymising() -> None:
    with pytest.raises(SettingsError, match=r"missing property Privacy\.hash\.key"):
        settings()
    off = settings(pseudonymise="false").privacy
    assert off.pseudonymise is False and off.hash_key is None


@pytest.mark.parametrize(("privacy", "message"), [
    ({"pseudonymise": "maybe"}, r"Privacy\.pseudonymise must be true or false"),
    ({"forget.drop.days": "-1"}, r"Privacy\.forget\.drop\.days must be >= 0"),
    ({"forget.drop.days": "a month"}, r"Privacy\.forget\.drop\.days must be an integer"),
    ({"postal.region.chars": "x"}, r"Privacy\.postal\.region\.chars must be an integer"),
    ({"hash.fields": "user_id,postal_code"}, "postal_code is in two"),
    ({"url.fields": "page url"}, r"Privacy\.url\.fields: 'page url'"),
    ({"hash.key.secret.arn": "arn:aws:secretsmanager:eu-west-1:1:secret:k"}, "not resolved"),
])
def test_invalid_values_name_group_and_key(privacy: dict, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        settings(**{"hash.key": "k", **privacy} if "secret" not in str(privacy) else privacy)


# -- the local key file ------------------------------------------------------------------------

def test_local_key_is_created_once_private_and_random(tmp_path: Path) -> None:
    home = tmp_path / "state"
    key = local_hash_key(home)
    path = home / "privacy.key"
    assert len(key) == 64 and int(key, 16) >= 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert local_hash_key(home) == key  # reused, not replaced
    assert [p.name for p in home.iterdir()] == ["privacy.key"]  # no temporary file left
    assert local_hash_key(tmp_path / "other") != key


def test_an_empty_key_file_is_an_error_not_an_empty_key(tmp_path: Path) -> None:
    (tmp_path / "privacy.key").write_text("\n")
    with pytest.raises(ValueError, match="is empty"):
        local_hash_key(tmp_path)


def test_local_runs_get_the_key_file_unless_overridden(tmp_path: Path) -> None:
    key = local_hash_key(tmp_path)
    built = build_local_settings(home=tmp_path, stack=None, environ={})
    assert built.privacy.hash_key == key
    env = {"ECOMFLOW__Privacy__hash.key": "from-env", "ECOMFLOW__Privacy__forget.drop.days": "7"}
    assert build_local_settings(home=tmp_path, stack=None, environ=env).privacy.hash_key == (
        "from-env")
    privacy = local_privacy(tmp_path, env)
    assert (privacy.hash_key, privacy.forget_drop_days) == ("from-env", 7)
    assert local_privacy(tmp_path, {}).hash_key == key


def test_no_key_is_committed() -> None:
    committed = json.loads(LOCAL_PROPERTIES_PATH.read_text())
    assert all("hash.key" not in g["PropertyMap"] for g in committed)


# -- the key from Secrets Manager ---------------------------------------------------------------

@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield


def _secret(value: str) -> str:
    client = boto3.client("secretsmanager", region_name=REGION)
    return client.create_secret(Name="ecomflow-hash-key", SecretString=value)["ARN"]


@pytest.mark.parametrize("text", ['{"key": "s3cr3t-key"}', "s3cr3t-key", "  s3cr3t-key\n"])
def test_key_from_a_json_or_plain_secret(aws: None, text: str) -> None:
    arn = _secret(text)
    given = groups(**{"hash.key.secret.arn": arn})
    resolved = resolve_privacy_secret(given)
    assert resolved["Privacy"]["hash.key"] == "s3cr3t-key"
    assert "hash.key" not in given["Privacy"]  # the input is left alone
    assert JobSettings.from_property_groups(resolved, local=False).privacy.hash_key == (
        "s3cr3t-key")


def test_own_key_wins_and_nothing_to_resolve_is_identity() -> None:
    arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:k-AbCdEf"
    given = groups(**{"hash.key": "own", "hash.key.secret.arn": arn})
    assert resolve_privacy_secret(given) is given
    plain = groups(**{"hash.key": "own"})
    assert resolve_secrets(plain) is plain


@pytest.mark.parametrize(("text", "message"), [
    ('{"password": "x"}', "without a non-empty string 'key'"),
    ('{"key": ""}', "without a non-empty string 'key'"),
    ("   ", "is empty"),
])
def test_unusable_secrets_are_clear_errors(aws: None, text: str, message: str) -> None:
    arn = _secret(text)
    with pytest.raises(SettingsError, match=message) as raised:
        resolve_privacy_secret(groups(**{"hash.key.secret.arn": arn}))
    assert "Privacy.hash.key.secret.arn" in str(raised.value)


def test_a_bad_arn_names_the_privacy_setting() -> None:
    with pytest.raises(SettingsError, match=r"Privacy\.hash\.key\.secret\.arn must be"):
        resolve_privacy_secret(groups(**{"hash.key.secret.arn": "not-an-arn"}))


def test_resolve_secrets_does_both(aws: None) -> None:
    client = boto3.client("secretsmanager", region_name=REGION)
    wh = client.create_secret(Name="wh", SecretString=json.dumps(
        {"username": "u", "password": "p"}))["ARN"]
    key = _secret('{"key": "kk"}')
    given = merge(groups(**{"hash.key.secret.arn": key}),
                  {"Warehouse": {"password.secret.arn": wh}})
    resolved = resolve_secrets(given)
    assert resolved["Privacy"]["hash.key"] == "kk"
    assert resolved["Warehouse"]["password"] == "p"
