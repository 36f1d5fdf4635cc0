"""Loading the job's SQL from `sql/`: one statement per file, `${UPPER_SNAKE}` placeholders.

Placeholders are `${UPPER_SNAKE}` only, filled with `Template.substitute`, so a missing value
fails loudly. A `$` not followed by `{` is literal, so JSON paths (`'$.event_id'`) read
naturally. Connector options are rendered from dicts by `render_options`, never spliced into
SQL by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from string import Template

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


class SqlTemplate(Template):
    # Only braced names are placeholders; a bare `$` (JSON paths) is left alone.
    pattern = r"""
        \$(?:
            (?P<escaped>(?!))|
            (?P<named>(?!))|
            \{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)\}|
            (?P<invalid>(?!))
        )
    """


class SqlFileError(LookupError):
    """A SQL file is missing or a placeholder has no value."""


def sql_path(name: str) -> Path:
    """Find `<name>.sql` in any numbered stage folder (names are unique across stages)."""
    matches = sorted(SQL_DIR.glob(f"[0-9][0-9]_*/{name}.sql"))
    if len(matches) != 1:
        found = ", ".join(str(m) for m in matches) or "none"
        raise SqlFileError(f"expected exactly one sql/*/{name}.sql, found {found}")
    return matches[0]


def render_options(options: Mapping[str, str], indent: str = "    ") -> str:
    """A WITH-clause body: `'key' = 'value'` pairs, single quotes escaped SQL-style."""

    def quote(text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    return ",\n".join(f"{indent}{quote(k)} = {quote(str(v))}" for k, v in options.items())


def load_sql(name: str, **params: object) -> str:
    template = SqlTemplate(sql_path(name).read_text(encoding="utf-8"))
    try:
        return template.substitute({k: str(v) for k, v in params.items()})
    except KeyError as exc:
        raise SqlFileError(f"{name}.sql needs a value for ${{{exc.args[0]}}}") from None
    except ValueError as exc:
        raise SqlFileError(f"{name}.sql: {exc}") from None
