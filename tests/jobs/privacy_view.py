"""What the job's pseudonymisation makes of the test inputs, for the oracles.

The job replaces personal fields before any sink (README "Privacy") with the key of the state
folder it runs in; the oracles apply the reference rules (ecomflow.privacy.hashing) with the
same key to every record that is not a contract dead letter (those keep the payload as received).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ecomflow.privacy.hashing import hash_id, pseudonymise
from ecomflow.run.local_run import local_hash_key
from flink_jobs.privacy_rules import PrivacyRules


def private_text(home: Path) -> Callable[[str], str]:
    """payload -> the payload as the job stores it (unchanged if not a JSON object)."""
    key, rules = local_hash_key(home), PrivacyRules()
    return lambda payload: pseudonymise(payload, rules, key) or payload


def hashed(home: Path) -> Callable[[str], str]:
    """id -> the id as the job stores it."""
    key = local_hash_key(home)
    return lambda value: hash_id(key, value)
