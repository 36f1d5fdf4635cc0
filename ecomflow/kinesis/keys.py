"""Partition keys: how an event or a raw line is keyed (user, else a stable hash), within
Kinesis' 256-character limit."""


from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

MAX_PARTITION_KEY_CHARS = 256
ANONYMOUS_KEY = "anonymous"


def _hash_key(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


def normalise_key(value: Any) -> str:
    """A user id as a partition key: strings as they are, other JSON values as JSON, missing or
    empty ids as "anonymous"; ids over Kinesis' 256 characters as a hash (equal ids still
    share a key)."""
    if value is None or value == "":
        return ANONYMOUS_KEY
    key = value if isinstance(value, str) else json.dumps(value)
    return key if len(key) <= MAX_PARTITION_KEY_CHARS else _hash_key(key.encode("utf-8"))


def key_for_object(obj: Mapping[str, Any]) -> str:
    """The partition key of an event: ``user_id``, else ``customer_id`` (the first that is
    neither missing, null nor empty), else "anonymous"; see ``normalise_key``."""
    for name in ("user_id", "customer_id"):
        value = obj.get(name)
        if value is None or value == "":
            continue
        return normalise_key(value)
    return ANONYMOUS_KEY


def key_for_bytes(data: bytes) -> str:
    """The partition key of a raw JSON line: ``key_for_object`` of the object; a hash of the
    line if it is not a JSON object (so malformed lines spread over the shards)."""
    try:
        obj = json.loads(data)
    except ValueError:  # includes UnicodeDecodeError
        return _hash_key(data)
    if not isinstance(obj, dict):
        return _hash_key(data)
    return key_for_object(obj)
