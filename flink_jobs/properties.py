"""Runtime property groups: MSF's `application_properties.json` shape, read anywhere.

MSF writes `/etc/flink/application_properties.json` as a JSON list of
`{"PropertyGroupId": ..., "PropertyMap": {...}}`. Locally the same shape lives in
`flink_jobs/conf/application_properties.local.json`, so that file also documents the deployed
configuration. Values are always strings, as on MSF.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

MSF_PROPERTIES_PATH = Path("/etc/flink/application_properties.json")
# A local cluster running the MSF zip (`ecomflow run --package`) cannot write /etc: it names
# its own copy of the file here.
PROPERTIES_PATH_VARIABLE = "ECOMFLOW_APPLICATION_PROPERTIES"
LOCAL_PROPERTIES_PATH = (
    Path(__file__).resolve().parent / "conf" / "application_properties.local.json"
)
ENV_PREFIX = "ECOMFLOW__"

PropertyGroups = dict[str, dict[str, str]]


def msf_properties_path(environ: Mapping[str, str] = os.environ) -> Path:
    """Where the MSF entry point reads its property groups."""
    return Path(environ.get(PROPERTIES_PATH_VARIABLE) or MSF_PROPERTIES_PATH)


def to_document(groups: PropertyGroups) -> list[dict[str, object]]:
    """The groups as MSF writes them (the inverse of parse_property_groups)."""
    return [{"PropertyGroupId": group, "PropertyMap": dict(values)}
            for group, values in groups.items()]


class PropertiesError(ValueError):
    """The properties file or an override is malformed."""


def parse_property_groups(document: object, *, source: str = "properties") -> PropertyGroups:
    """Turn the MSF JSON document into {group id: {key: value}}, rejecting anything else."""
    if not isinstance(document, list):
        raise PropertiesError(f"{source}: expected a JSON list of property groups")
    groups: PropertyGroups = {}
    for index, entry in enumerate(document):
        if not isinstance(entry, dict) or "PropertyGroupId" not in entry:
            raise PropertiesError(f"{source}: entry {index} has no PropertyGroupId")
        group_id = entry["PropertyGroupId"]
        property_map = entry.get("PropertyMap", {})
        if not isinstance(property_map, dict):
            raise PropertiesError(f"{source}: PropertyMap of {group_id!r} is not an object")
        if group_id in groups:
            raise PropertiesError(f"{source}: property group {group_id!r} appears twice")
        groups[group_id] = {str(k): str(v) for k, v in property_map.items()}
    return groups


def load_property_groups(path: Path) -> PropertyGroups:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PropertiesError(f"properties file not found: {path}") from None
    except json.JSONDecodeError as exc:
        raise PropertiesError(f"{path}: not valid JSON ({exc})") from None
    return parse_property_groups(document, source=str(path))


def env_overrides(environ: Mapping[str, str]) -> PropertyGroups:
    """`ECOMFLOW__<GroupId>__<key>=value` overrides one property.

    Example: `ECOMFLOW__Job__parallelism=2`.
    """
    groups: PropertyGroups = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        parts = name[len(ENV_PREFIX):].split("__", 1)
        if len(parts) != 2 or not all(parts):
            raise PropertiesError(f"{name}: expected {ENV_PREFIX}<GroupId>__<key>")
        groups.setdefault(parts[0], {})[parts[1]] = value
    return groups


def merge(*layers: PropertyGroups) -> PropertyGroups:
    """Later layers win, key by key."""
    merged: PropertyGroups = {}
    for layer in layers:
        for group_id, properties in layer.items():
            merged.setdefault(group_id, {}).update(properties)
    return merged
