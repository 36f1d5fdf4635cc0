"""The contract's event types and their JSON Schema files: what a record's type is.

Holds the type names (``EVENT_TYPES``, ``CONTROL_TYPES``, ``ALIASES``), the schema files of
``v1/`` loaded and compiled once with ``fastjsonschema`` (``compiled_contract``), a copy of any
one of them (``schema``), and the recognition of a record's type (``canonical_type``,
``is_control``), which mirrors the dispatch in ``v1/event.schema.json``. Kept apart from the
package's ``__init__``, which turns the compiled validator's errors into dead-letter reasons and
adds the rules JSON Schema cannot express; import these names from ``flink_jobs.contract``.

Like the rest of the package, free of pyflink, boto3 and ``ecomflow`` imports.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import fastjsonschema

CONTRACT_VERSION = "v1"

#: Canonical event types; "product" is the catalog record.
EVENT_TYPES: tuple[str, ...] = (
    "page_view",
    "product_view",
    "add_to_cart",
    "remove_from_cart",
    "purchase",
    "product",
)

#: Control events: on the stream beside the events, but not analytics (README "Privacy").
#: ``erasure_request`` (``ecomflow forget``) carries a hashed user id; the job drops that user's
#: later events. Only ecomflow's own tooling sends them: the HTTP collector refuses them.
CONTROL_TYPES: tuple[str, ...] = ("erasure_request",)

#: Accepted ``event_type`` values that stand for a canonical type.
ALIASES: Mapping[str, str] = {"transaction": "purchase"}

_SCHEMA_NAMES = (*EVENT_TYPES, *CONTROL_TYPES, "envelope", "event")


@dataclass(frozen=True)
class CompiledContract:
    """The schema files, as read and as compiled (the package's validator uses this)."""

    schemas: Mapping[str, dict[str, Any]]  # name -> schema as in its file
    validate_any: Callable[[Any], Any]  # compiled event.schema.json; raises with every error
    timestamp_patterns: frozenset[str]


def _read_schema(name: str) -> dict[str, Any]:
    path = resources.files(__package__).joinpath(CONTRACT_VERSION, f"{name}.schema.json")
    return json.loads(path.read_text(encoding="utf-8"))


@functools.cache
def compiled_contract() -> CompiledContract:
    """Load the schema files and compile the dispatcher once (lazily, on first use)."""
    schemas = {name: _read_schema(name) for name in _SCHEMA_NAMES}
    by_id = {s["$id"]: s for s in schemas.values()}

    def local_only(uri: str) -> dict[str, Any]:
        # Every $ref points into the contract's own files: never fetch anything.
        try:
            return by_id[uri]
        except KeyError:
            raise fastjsonschema.JsonSchemaDefinitionException(
                f"$ref outside the contract: {uri}"
            ) from None

    compiled = fastjsonschema.compile(
        schemas["event"],
        handlers={"https": local_only, "http": local_only},
        use_default=False,  # never write defaults into the caller's record
        use_formats=False,  # no `format` keyword is used; patterns carry the rules
        fast_fail=False,  # collect every error, not just the first
    )
    defs = schemas["envelope"]["$defs"]
    return CompiledContract(
        schemas=schemas,
        validate_any=compiled,
        timestamp_patterns=frozenset(
            (defs["timestamp"]["pattern"], defs["optional_timestamp"]["pattern"])
        ),
    )


def schema(event_type: str) -> dict:
    """A copy of the JSON Schema for ``event_type``.

    Accepts the canonical types, their aliases ("transaction"), and two structural names:
    "envelope" (the shared fields and value types) and "event" (the dispatcher that validates a
    record of any type).
    """
    name = ALIASES.get(event_type, event_type)
    if name not in _SCHEMA_NAMES:
        known = ", ".join((*EVENT_TYPES, *ALIASES, *CONTROL_TYPES, "envelope", "event"))
        raise ValueError(f"unknown event type {event_type!r}; known: {known}")
    return copy.deepcopy(compiled_contract().schemas[name])


# --------------------------------------------------------------------------- recognising


def canonical_type(record: dict) -> str | None:
    """The canonical type of ``record``, or None when it has none the contract knows.

    ``event_type`` decides when present ("transaction" -> "purchase"); a control event's type
    is its own (``CONTROL_TYPES``). A record without
    ``event_type`` is a catalog record ("product") when it has both ``product_id`` and ``name``
    (the design's catalog shape; events name a product ``product_name``). Mirrors the dispatch
    in ``v1/event.schema.json``.
    """
    if not isinstance(record, dict):
        return None
    if "event_type" not in record:
        return "product" if "product_id" in record and "name" in record else None
    event_type = record["event_type"]
    if not isinstance(event_type, str):
        return None
    event_type = ALIASES.get(event_type, event_type)
    return event_type if event_type in EVENT_TYPES or event_type in CONTROL_TYPES else None


def is_control(record: object) -> bool:
    """Whether ``record`` is a control event (``CONTROL_TYPES``), valid or not."""
    return isinstance(record, dict) and record.get("event_type") in CONTROL_TYPES
