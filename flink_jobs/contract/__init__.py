"""The versioned event contract: one JSON Schema per event type, and the checks around them.

The single source of truth for what a valid record is, shared by the producer SDK, the HTTP
collector and the Flink job's validation. The rules live in ``v1/*.schema.json`` (JSON Schema
draft 2020-12); ``v1/event.schema.json`` dispatches a record of any type to its schema. The
``schemas`` module holds the type names, compiles that schema once with ``fastjsonschema``
(pure Python, generated code) and recognises a record's type; this module maps the compiled
validator's errors onto a fixed dead-letter reason taxonomy (``REASONS``), and adds the checks
JSON Schema cannot express: a purchase's total against its items (``total_mismatch``), a
timestamp too far in the future (``future_timestamp``) and text the warehouse cannot store.
Every public name of the package is importable from here. See docs/event-contract.md.

Deliberately free of pyflink, boto3 and ``ecomflow`` imports: it ships to MSF in ``flink_jobs``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

from fastjsonschema import JsonSchemaValueException, JsonSchemaValuesException

from flink_jobs.contract.schemas import (
    ALIASES,
    CONTRACT_VERSION,
    CONTROL_TYPES,
    EVENT_TYPES,
    canonical_type,
    compiled_contract,
    is_control,
    schema,
)

#: Dead-letter reason codes (fixed; the Flink job uses the same codes) -> one-line description.
REASONS: Mapping[str, str] = {
    "not_json": "the payload is not valid UTF-8 JSON (NaN and Infinity are not JSON)",
    "not_an_object": "the payload is JSON but not an object",
    "unknown_event_type": "event_type is not one of the contract's types or aliases",
    "missing_field": "a required field is absent (for event_type: and not a catalog record)",
    "wrong_type": "a field has the wrong JSON type (e.g. a string where a number belongs)",
    "out_of_range": "a value of the right type outside its domain (negative price, quantity < 1, "
    "empty id, currency not 3 upper-case letters, empty items)",
    "total_mismatch": "a purchase's total_amount (or amount) differs from the sum of its items "
    "by more than 0.01",
    "bad_timestamp": "a timestamp is not ISO 8601 with a zone, or not a real calendar time",
    "future_timestamp": "a timestamp is further in the future than the allowed clock skew",
    "payload_too_large": "the payload is larger than the size limit",
}

#: Top-level fields holding a zoned timestamp, per canonical type (checked for calendar
#: validity and for being in the future).
_TIMESTAMP_FIELDS: Mapping[str, tuple[str, ...]] = {
    **{t: ("timestamp",) for t in EVENT_TYPES if t != "product"},
    "product": ("timestamp", "created_at", "updated_at"),
    # expires_at lies in the future by design: only the request's own time is checked.
    "erasure_request": ("timestamp",),
}


@dataclass(frozen=True)
class Issue:
    """One reason a record breaks the contract.

    ``field`` is a path into the record (``items[0].quantity``); ``$`` is the whole record.
    """

    reason: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}: {self.message}"


class EventValidationError(ValueError):
    """Raised by :func:`check`; ``issues`` lists every problem, ``str()`` names the first."""

    def __init__(self, issues: Iterable[Issue]) -> None:
        self.issues: list[Issue] = list(issues)
        if not self.issues:
            raise ValueError("EventValidationError needs at least one issue")
        first = self.issues[0]
        more = len(self.issues) - 1
        suffix = f" (and {more} more issue{'s' if more > 1 else ''})" if more else ""
        super().__init__(f"invalid event: {first}{suffix}")

    def __reduce__(self) -> tuple[Any, ...]:  # picklable across worker processes
        return (type(self), (self.issues,))


# --------------------------------------------------------------------------- the user


def user_key(record: dict) -> str | None:
    """The user a record belongs to: ``user_id``, else ``customer_id``; None when anonymous."""
    for name in ("user_id", "customer_id"):
        value = record.get(name)
        if isinstance(value, str) and value:
            return value
    return None


# --------------------------------------------------------------------------- validating


def _field(name: str | None) -> str:
    """fastjsonschema's ``data.items[0].quantity`` -> ``items[0].quantity``; ``data`` -> ``$``."""
    if not name or name == "data":
        return "$"
    return name[5:] if name.startswith("data.") else name[4:]


def _join(path: str, name: str) -> str:
    return name if path == "$" else f"{path}.{name}"


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _issues_from(
    error: JsonSchemaValueException, timestamp_patterns: frozenset[str]
) -> Iterator[Issue]:
    rule = error.rule
    rule_value = error.rule_definition
    path = _field(error.name)
    if rule == "required":
        instance = error.value
        for name in rule_value:
            if name not in instance:
                yield Issue("missing_field", _join(path, name), f"{name} is required")
    elif rule == "anyOf" and all(set(alt) == {"required"} for alt in rule_value):
        # "one of these fields": total_amount/amount, unit_price/price
        names = [name for alt in rule_value for name in alt["required"]]
        yield Issue(
            "missing_field", _join(path, names[0]), f"one of {', '.join(names)} is required"
        )
    elif rule == "type":
        expected = " or ".join(rule_value) if isinstance(rule_value, list) else rule_value
        yield Issue("wrong_type", path, f"expected {expected}, got {_short(error.value)}")
    elif rule == "pattern" and rule_value in timestamp_patterns:
        yield Issue(
            "bad_timestamp",
            path,
            f"{_short(error.value)} is not ISO 8601 with a zone (e.g. 2025-07-16T10:30:00Z)",
        )
    elif rule in ("enum", "const") and path == "event_type":
        known = ", ".join((*EVENT_TYPES, *ALIASES))
        yield Issue("unknown_event_type", path, f"{_short(error.value)} is not one of {known}")
    else:
        # minimum, maximum, exclusiveMaximum, minLength, maxLength, minItems, pattern, enum,
        # const: a value of the right type outside its domain. The tests check that every
        # keyword the schema files use maps to a reason.
        message = error.message.removeprefix(error.name or "").strip() if error.name else ""
        yield Issue("out_of_range", path, f"{_short(error.value)}: {message or error.message}")


# What the warehouse can hold: text under these field names lands in VARCHAR columns whose width
# Redshift counts in UTF-8 bytes (v1/text_limits.json, derived from sql/warehouse/ by a test),
# and U+0000 fits no PostgreSQL or Redshift text. Numbers of more than 1,000 digits and names of
# more than 50,000 characters are refused too (the job's JSON reader stops there by default).
MAX_NUMBER_DIGITS = 1000
MAX_NAME_LENGTH = 50_000


@functools.cache
def text_limits() -> Mapping[str, int]:
    """Field name -> the most UTF-8 bytes its text may hold (v1/text_limits.json)."""
    path = resources.files(__package__).joinpath(CONTRACT_VERSION, "text_limits.json")
    fields = json.loads(path.read_text(encoding="utf-8"))["fields"]
    return {name: spec["utf8_bytes"] for name, spec in fields.items()}


def utf8_length(text: str) -> int:
    """Bytes of `text` in UTF-8 (a lone surrogate, which no sink stores, counts 3)."""
    return len(text.encode("utf-8", "surrogatepass"))


def _first_issue(issue: Issue) -> tuple[int, str]:
    return _REASON_RANK[issue.reason], issue.field


_REASON_RANK = {reason: rank for rank, reason in enumerate(REASONS)}


def _check_storable(value: Any, path: str = "$") -> Iterator[Issue]:
    """Text the job could not store, anywhere in the record: NUL characters, over-long
    values of the bounded fields, numbers and names beyond the parser's limits."""
    if isinstance(value, dict):
        for name, item in value.items():
            where = _join(path, name)
            if len(name) > MAX_NAME_LENGTH:
                yield Issue("out_of_range", path, f"a field name of {len(name)} "
                            f"characters (at most {MAX_NAME_LENGTH})")
                return
            if "\x00" in name:
                yield Issue("out_of_range", where, "a field name contains U+0000")
                return
            limit = text_limits().get(name)
            if limit is not None and isinstance(item, str) and utf8_length(item) > limit:
                yield Issue("out_of_range", where,
                            f"{utf8_length(item)} bytes of UTF-8 (at most {limit})")
                return
            yield from _check_storable(item, where)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _check_storable(item, f"{path}[{index}]")
    elif isinstance(value, str) and "\x00" in value:
        yield Issue("out_of_range", path, "contains U+0000, which no warehouse text can hold")
    elif isinstance(value, int) and not isinstance(value, bool) and (
            value.bit_length() > MAX_NUMBER_DIGITS * 3):
        if len(str(abs(value))) > MAX_NUMBER_DIGITS:
            yield Issue("out_of_range", path, f"a number of more than {MAX_NUMBER_DIGITS} "
                        "digits")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_total(record: dict, flagged: set[str]) -> Iterator[Issue]:
    items = record.get("items")
    if not isinstance(items, list) or not items:
        return
    if any(field == "items" or field.startswith("items[") for field in flagged):
        return  # the items themselves are wrong: a sum over them means nothing
    subtotal = 0.0
    for item in items:
        if not isinstance(item, dict):
            return
        price = item.get("unit_price", item.get("price"))
        quantity = item.get("quantity")
        if not (_number(price) and _number(quantity)):
            return  # the schema has reported it
        subtotal += quantity * price
    expected = round(subtotal, 2)
    for name in ("total_amount", "amount"):
        total = record.get(name)
        if name in flagged or not _number(total):
            continue
        # Compare in whole cents so binary floating point cannot tip the 0.01 tolerance.
        if abs(round(total * 100) - round(expected * 100)) > 1:
            yield Issue(
                "total_mismatch",
                name,
                f"{name} {total} != {expected}, the sum of quantity * unit price over items",
            )


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value)  # 3.11: Z, offsets and up to 9 fraction digits


def _check_times(
    record: dict, event_type: str, flagged: set[str], now: datetime, max_future: timedelta
) -> Iterator[Issue]:
    limit = now + max_future
    for name in _TIMESTAMP_FIELDS[event_type]:
        value = record.get(name)
        if name in flagged or not isinstance(value, str):
            continue
        try:
            moment = _parse_time(value)
        except ValueError:
            yield Issue("bad_timestamp", name, f"{_short(value)} is not a real calendar time")
            continue
        if moment > limit:
            yield Issue(
                "future_timestamp",
                name,
                f"{value} is more than {max_future} after now ({now.isoformat()})",
            )


def validate(
    record: object,
    *,
    now: datetime | None = None,
    max_future: timedelta = timedelta(minutes=5),
) -> list[Issue]:
    """Every way ``record`` breaks the contract; ``[]`` when it is valid.

    ``now`` (zone-aware; default: the current time) and ``max_future`` bound how far ahead a
    timestamp may be (producer clock skew).
    """
    if not isinstance(record, dict):
        return [Issue("not_an_object", "$", f"expected a JSON object, got {type(record).__name__}")]
    if now is None:
        now = datetime.now(UTC)
    elif now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    contract = compiled_contract()
    issues: list[Issue] = []
    errors: list[JsonSchemaValueException] = []
    try:
        contract.validate_any(record)
    except JsonSchemaValuesException as exc:  # fast_fail=False: every error
        errors = exc.errors
    except JsonSchemaValueException as exc:  # defensive: a single error
        errors = [exc]
    if errors:
        seen: set[tuple[str, str]] = set()
        for error in errors:
            for issue in _issues_from(error, contract.timestamp_patterns):
                if (issue.reason, issue.field) not in seen:
                    seen.add((issue.reason, issue.field))
                    issues.append(issue)
        # The issue a dead letter names is the first by reason (in REASONS' order), then by
        # field: validators that find the same issues in another order (the job's, in Java)
        # name the same one.
        issues.sort(key=_first_issue)
    if not issues:
        # First storable problem only: a hostile record can hold thousands.
        issues.extend(list(_check_storable(record))[:1])
    event_type = canonical_type(record)
    if event_type is not None:
        flagged = {issue.field for issue in issues}
        if event_type == "purchase":
            issues.extend(_check_total(record, flagged))
        issues.extend(_check_times(record, event_type, flagged, now, max_future))
    return issues


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def validate_payload(
    payload: bytes | str,
    *,
    max_bytes: int = 1_000_000,
    now: datetime | None = None,
    max_future: timedelta = timedelta(minutes=5),
) -> tuple[dict | None, list[Issue]]:
    """Parse one raw payload and validate it: ``(record or None, issues)``.

    The record is returned whenever the payload is a JSON object, even if it has issues (so the
    caller can dead-letter it with its fields); None for payload_too_large / not_json /
    not_an_object.
    """
    if isinstance(payload, str):
        try:
            size = len(payload.encode("utf-8"))
        except UnicodeEncodeError as exc:  # a lone surrogate: not Unicode, so not JSON text
            return None, [Issue("not_json", "$", f"not valid Unicode at char {exc.start}")]
        if size > max_bytes:
            return None, [Issue("payload_too_large", "$", f"{size} bytes > {max_bytes} bytes")]
        text = payload
    else:
        if len(payload) > max_bytes:
            return None, [
                Issue("payload_too_large", "$", f"{len(payload)} bytes > {max_bytes} bytes")
            ]
        try:
            text = bytes(payload).decode("utf-8")
        except UnicodeDecodeError as exc:
            return None, [Issue("not_json", "$", f"not UTF-8: {exc.reason} at byte {exc.start}")]
    try:
        record = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        return None, [Issue("not_json", "$", "nested too deeply")]
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        return None, [Issue("not_json", "$", str(exc))]
    if not isinstance(record, dict):
        return None, [
            Issue("not_an_object", "$", f"expected a JSON object, got {type(record).__name__}")
        ]
    if _ESCAPED_SURROGATE.search(text) and not _is_unicode(record):
        return None, [Issue("not_json", "$", "an escaped lone UTF-16 surrogate is not Unicode")]
    return record, validate(record, now=now, max_future=max_future)


# `\ud800`-style escapes: json.loads accepts lone surrogates, which no UTF-8 sink can store.
_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")


def _is_unicode(record: dict) -> bool:
    try:
        json.dumps(record, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check(
    record: object,
    *,
    now: datetime | None = None,
    max_future: timedelta = timedelta(minutes=5),
) -> None:
    """Raise :class:`EventValidationError` (naming the first bad field) unless ``record`` is
    valid."""
    issues = validate(record, now=now, max_future=max_future)
    if issues:
        raise EventValidationError(issues)


# --------------------------------------------------------------------------- event ids


def derive_event_id(record: dict) -> str:
    """A stable id for a record that has none: the same payload always gets the same id.

    SHA-256 over the record's canonical JSON (keys sorted at every level, compact separators,
    UTF-8, ``event_id`` itself left out), its first 16 bytes formatted as an RFC 9562 UUID
    version 8 (``xxxxxxxx-xxxx-8xxx-yxxx-xxxxxxxxxxxx``), so derived ids look like the UUIDs
    producers send and can be told apart by their version digit.
    """
    body = {key: value for key, value in record.items() if key != "event_id"}
    canonical = json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    raw = bytearray(hashlib.sha256(canonical.encode("utf-8")).digest()[:16])
    raw[6] = (raw[6] & 0x0F) | 0x80  # version 8
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 9562 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def with_event_id(record: dict) -> dict:
    """A shallow copy of ``record`` whose ``event_id`` is set (derived when absent or null)."""
    out = dict(record)
    if out.get("event_id") is None:
        out["event_id"] = derive_event_id(record)
    return out


__all__ = [
    "ALIASES",
    "CONTRACT_VERSION",
    "CONTROL_TYPES",
    "EVENT_TYPES",
    "REASONS",
    "EventValidationError",
    "Issue",
    "canonical_type",
    "check",
    "derive_event_id",
    "is_control",
    "schema",
    "text_limits",
    "user_key",
    "utf8_length",
    "validate",
    "validate_payload",
    "with_event_id",
]
