"""Pseudonymisation rules, in plain Python: the reference the job's Java function must match.

The job replaces personal fields before any sink (`dev.ecomflow.udf.Pseudonymise`); this module
computes the same keyed hash so that tooling (`ecomflow forget`) and test oracles can find a
user's rows without ever storing the raw identifier.
"""

from __future__ import annotations

import hashlib
import hmac


def hash_id(key: str, value: str) -> str:
    """HMAC-SHA-256 of `value` under `key` (both UTF-8), as 64 lowercase hex characters.

    The same input always gives the same hash, so joins, sessions and deduplication still work
    on the hashed id; without the key nobody can test a guessed id against it.
    """
    return hmac.new(key.encode("utf-8"), value.encode("utf-8"), hashlib.sha256).hexdigest()
