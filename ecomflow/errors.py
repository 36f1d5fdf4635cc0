"""The tooling's one exception base.

Every error the tooling raises for a problem the user can act on derives from `EcomflowError`
(and from the built-in it always derived from, so existing `except RuntimeError` code keeps
working). The `ecomflow` command prints such an error as one line and exits with status 1
(ecomflow/cli/errors.py); anything else is a bug and keeps its traceback. The two
interruptions (`ReplayInterrupted`, `SendInterrupted`) stay KeyboardInterrupts: they are
Ctrl-C with a partial result, not errors.
"""

from __future__ import annotations


class EcomflowError(Exception):
    """A problem the user can act on; the message says what and how."""
