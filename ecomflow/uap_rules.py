"""uap-core's user-agent rules, exported from the Python ua-parser for the job's Java parser.

The job parses user agents in the JVM (uap-java, `dev.ecomflow.udf.UserAgents`); the Python
`ua-parser` is the reference it is checked against. Both must read the same rules, and the
Python package is the one that is kept current (`ua-parser-builtins`, pinned in pyproject.toml,
is uap-core's regexes.yaml of its month). This module writes those rules back out in uap-core's
YAML layout, which uap-java reads:

    .venv/bin/python -m ecomflow.uap_rules > src/main/resources/dev/ecomflow/uap/regexes.yaml

A test fails when the committed file differs from what the installed package exports, so an
upgrade of ua-parser-builtins is one command and one commit.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

RULES_PATH = "src/main/resources/dev/ecomflow/uap/regexes.yaml"


def _quoted(value: str) -> str:
    """A YAML single-quoted scalar: backslashes stay literal, a quote is doubled."""
    if any(ord(c) < 0x20 or c == "\x7f" for c in value):
        raise ValueError(f"a rule holds a control character: {value!r}")
    return "'" + value.replace("'", "''") + "'"


def _entry(fields: list[tuple[str, str | None]]) -> Iterator[str]:
    first = True
    for key, value in fields:
        if value is None:
            continue
        yield f"  {'- ' if first else '  '}{key}: {_quoted(value)}"
        first = False


def export() -> str:
    """The installed ua-parser-builtins rules as uap-core regexes.yaml text."""
    from importlib.metadata import version

    from ua_parser_builtins.matchers import MATCHERS

    agents, systems, devices = MATCHERS
    lines = [f"# uap-core rules from ua-parser-builtins {version('ua-parser-builtins')}, "
             "exported by ecomflow/uap_rules.py: do not edit", "user_agent_parsers:"]
    for m in agents:
        lines += _entry([("regex", m.regex),
                         ("family_replacement", None if m.family == "$1" else m.family),
                         ("v1_replacement", m.major), ("v2_replacement", m.minor),
                         ("v3_replacement", m.patch), ("v4_replacement", m.patch_minor)])
    lines.append("os_parsers:")
    for m in systems:
        lines += _entry([("regex", m.regex),
                         ("os_replacement", None if m.family == "$1" else m.family),
                         ("os_v1_replacement", None if m.major == "$2" else m.major),
                         ("os_v2_replacement", None if m.minor == "$3" else m.minor),
                         ("os_v3_replacement", None if m.patch == "$4" else m.patch),
                         ("os_v4_replacement",
                          None if m.patch_minor == "$5" else m.patch_minor)])
    lines.append("device_parsers:")
    for m in devices:
        lines += _entry([("regex", m.regex), ("regex_flag", m.regex_flag or None),
                         ("device_replacement", None if m.family == "$1" else m.family),
                         ("brand_replacement", m.brand or None),
                         ("model_replacement", None if m.model == "$1" else m.model)])
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(export())
