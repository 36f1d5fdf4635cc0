"""The warehouse password from AWS Secrets Manager, resolved once at start-up on the client.

On AWS the application's property group `Warehouse` names the Redshift-managed secret
(`password.secret.arn`) instead of carrying the password: its JSON has `username` and
`password`. `resolve_warehouse_secret` reads it before the settings are built, so the rest of
the job only ever sees `Warehouse.password` (and `Warehouse.username`), as locally.

Rules:
- `Warehouse.password` set: it wins, the secret is not read (local runs, overrides).
- otherwise `Warehouse.password.secret.arn` set: the secret's `password` becomes
  `Warehouse.password`; its `username` becomes `Warehouse.username` unless that is set.
- neither: nothing changes (credentials in the JDBC URL, or trust auth locally).

The pseudonymisation key works the same way (`resolve_privacy_secret`): `Privacy.hash.key`
wins; otherwise `Privacy.hash.key.secret.arn` names a secret whose text is the key, or JSON
with the key under `key`. `resolve_secrets` applies both.

boto3 is imported only when a secret must be read, so this module (like `settings`) imports
without it. The region is the ARN's own.
"""

from __future__ import annotations

import json
from typing import Any

from flink_jobs import property_keys as keys
from flink_jobs.properties import PropertyGroups
from flink_jobs.settings import SettingsError

GROUP = keys.WAREHOUSE_PASSWORD_SECRET_ARN.group
SECRET_ARN_KEY = keys.WAREHOUSE_PASSWORD_SECRET_ARN.key
_PASSWORD = keys.WAREHOUSE_PASSWORD.key
_USERNAME = keys.WAREHOUSE_USERNAME.key
PRIVACY_GROUP = keys.PRIVACY_HASH_KEY_SECRET_ARN.group
PRIVACY_SECRET_ARN_KEY = keys.PRIVACY_HASH_KEY_SECRET_ARN.key
_HASH_KEY = keys.PRIVACY_HASH_KEY.key
_WAREHOUSE_SETTING = keys.WAREHOUSE_PASSWORD_SECRET_ARN.name


def region_of(arn: str, setting: str = _WAREHOUSE_SETTING) -> str:
    """The region field of a Secrets Manager ARN (`arn:aws:secretsmanager:REGION:ACCOUNT:...`)."""
    parts = arn.split(":")
    if len(parts) < 7 or parts[0] != "arn" or parts[2] != "secretsmanager" or not parts[3]:
        raise SettingsError(
            f"{setting} must be a Secrets Manager secret ARN "
            f"(arn:aws:secretsmanager:<region>:<account>:secret:<name>), got {arn!r}")
    return parts[3]


def _secretsmanager_client(region: str, setting: str = _WAREHOUSE_SETTING,
                           instead: str = keys.WAREHOUSE_PASSWORD.name) -> Any:
    try:
        import boto3
    except ImportError:
        raise SettingsError(
            f"{setting} is set but boto3 cannot be imported in this Python; "
            f"install boto3 (the application zip ships it in python/), or set "
            f"{instead} instead") from None
    return boto3.client("secretsmanager", region_name=region)


def _secret_text(arn: str, setting: str, instead: str, expected: str) -> str:
    client = _secretsmanager_client(region_of(arn, setting), setting, instead)
    try:
        response = client.get_secret_value(SecretId=arn)
    except Exception as exc:  # botocore's ClientError and friends: say which secret, then why
        raise SettingsError(f"cannot read the secret {setting} = {arn}: {exc}") from exc
    text = response.get("SecretString")
    if text is None:
        raise SettingsError(
            f"the secret {arn} ({setting}) has no SecretString: expected {expected}")
    return text


def _read_secret(arn: str) -> dict[str, Any]:
    text = _secret_text(arn, _WAREHOUSE_SETTING, keys.WAREHOUSE_PASSWORD.name,
                        "JSON with username and password")
    try:
        secret = json.loads(text)
    except ValueError:
        secret = None
    if not isinstance(secret, dict):
        # Never echo the secret's text: it may be the bare password.
        raise SettingsError(
            f"the secret {arn} ({_WAREHOUSE_SETTING}) is not a JSON object: expected JSON "
            f"with username and password")
    return secret


def _string_key(secret: dict[str, Any], key: str, arn: str) -> str:
    value = secret.get(key)
    if not isinstance(value, str) or not value:
        raise SettingsError(
            f"the secret {arn} ({_WAREHOUSE_SETTING}) has no non-empty string {key!r} "
            f"(keys present: {', '.join(sorted(secret)) or 'none'})")
    return value


def resolve_warehouse_secret(groups: PropertyGroups) -> PropertyGroups:
    """`groups` with `Warehouse.password` (and `username`) filled from the named secret.

    Returns `groups` itself when there is nothing to resolve; otherwise a copy (the input is
    never modified). Raises SettingsError with the group, the key and the reason.
    """
    warehouse = groups.get(GROUP, {})
    arn = warehouse.get(SECRET_ARN_KEY, "").strip()
    if not arn or warehouse.get(_PASSWORD, "").strip():
        return groups
    secret = _read_secret(arn)
    resolved = dict(warehouse)
    resolved[_PASSWORD] = _string_key(secret, "password", arn)
    if not warehouse.get(_USERNAME, "").strip():
        resolved[_USERNAME] = _string_key(secret, "username", arn)
    return {**groups, GROUP: resolved}


def resolve_privacy_secret(groups: PropertyGroups) -> PropertyGroups:
    """`groups` with `Privacy.hash.key` filled from `Privacy.hash.key.secret.arn`.

    The secret is JSON with a non-empty string `key` (what the CDK app generates); any other
    text is the key itself (surrounding whitespace dropped). As for the warehouse: the input is
    never modified, an own `hash.key` wins, and errors name the setting, never the secret.
    """
    privacy = groups.get(PRIVACY_GROUP, {})
    arn = privacy.get(PRIVACY_SECRET_ARN_KEY, "").strip()
    if not arn or privacy.get(_HASH_KEY, "").strip():
        return groups
    setting = keys.PRIVACY_HASH_KEY_SECRET_ARN.name
    text = _secret_text(arn, setting, keys.PRIVACY_HASH_KEY.name,
                        'the key, or JSON with a string "key"')
    try:
        document = json.loads(text)
    except ValueError:
        document = None  # not JSON: the text is the key itself
    if isinstance(document, dict):
        key = document.get("key")
        if not isinstance(key, str) or not key:
            raise SettingsError(
                f"the secret {arn} ({setting}) is JSON without a non-empty string 'key' "
                f"(keys present: {', '.join(sorted(document)) or 'none'})")
    else:
        key = text.strip()
        if not key:
            raise SettingsError(f"the secret {arn} ({setting}) is empty")
    return {**groups, PRIVACY_GROUP: {**privacy, _HASH_KEY: key}}


def resolve_secrets(groups: PropertyGroups) -> PropertyGroups:
    """Every secret the job's groups name (warehouse password, pseudonymisation key)."""
    return resolve_privacy_secret(resolve_warehouse_secret(groups))
