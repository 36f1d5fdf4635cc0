"""The (group, key) pairs the job reads, taken from flink_jobs/settings.py's source."""

from __future__ import annotations

import re

from ecomflow import paths

SETTINGS = paths.REPO_ROOT / "flink_jobs" / "settings.py"


_READ = re.compile(
    r'_(?:require|optional|int|bool)\(\s*groups,\s*(?:"(\w+)"|(\w+)),\s*"([\w.-]+)"')
_GROUP_VARIABLE = re.compile(r'^\s*(\w+)\s*=\s*"(\w+)"\s*$', re.M)


def keys_the_job_reads() -> set[tuple[str, str]]:
    """(group, key) pairs flink_jobs/settings.py reads, taken from its source so the test
    follows the job when keys are added there (groups named literally or by a variable)."""
    source = SETTINGS.read_text()
    keys = set()
    for match in _READ.finditer(source):
        literal, variable, key = match.groups()
        if variable:
            # The variable's last assignment before the call, within the same function.
            function = source[source.rfind("\ndef ", 0, match.start()):match.start()]
            literal = dict(m.groups() for m in _GROUP_VARIABLE.finditer(function))[variable]
        keys.add((literal, key))
    return keys
