"""Pseudonymisation rules, in plain Python: the reference the job's Java function must match.

The job replaces personal fields before any sink (`dev.ecomflow.udf.Pseudonymise`); this module
computes the same keyed hash so that tooling (`ecomflow forget`) and test oracles can find a
user's rows without ever storing the raw identifier, and `pseudonymise` is the reference for
the whole payload transformation (the rules are `flink_jobs.privacy_rules.PrivacyRules`).

Exact rules (Java follows them to the character; tests compare parsed JSON):
- the payload must be one JSON object (else None: the caller keeps the raw record, a dead
  letter); NaN/Infinity, trailing text and invalid JSON are None too;
- the tree is walked whole; a key in `hash_fields`, `region_fields` or `url_fields` applies its
  rule to every string and number below it (its own arrays and objects included); keys below
  such a key are not matched again;
- hash: `hash_id(key, text)`, where a number's text is exactly as written in the payload
  (`42` -> hash of "42", `4.2e1` -> hash of "4.2e1"); the result is a string;
- region: the first `region_chars` Unicode characters, as a string (a number's text likewise);
- url: strings lose the query parameters whose percent-decoded name (ASCII escapes only)
  matches `strip_params` ignoring ASCII case; other parameters, empty ones and their order
  stay; '?' goes when nothing is left of the query; the fragment ('#...') stays untouched;
  a string from which nothing is stripped is returned unchanged;
- booleans and nulls are kept; numbers elsewhere keep their text; keys (duplicates too) keep
  their order;
- in a control event the top-level `user_id` is already the hash and is kept; every other
  rule applies. A control event is what the job takes for one: a record the contract accepts
  (any time in the future allowed) as an `erasure_request` (`is_control_event`);
- output: compact JSON (`,` and `:`), non-ASCII characters as themselves.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import timedelta
from typing import Any

from flink_jobs.contract import CONTROL_TYPES, is_control, validate_payload
from flink_jobs.privacy_rules import PrivacyRules, ascii_lower

__all__ = ["CONTROL_EVENT_TYPE", "PrivacyRules", "hash_id", "is_control_event", "pseudonymise",
           "strip_query"]

[CONTROL_EVENT_TYPE] = CONTROL_TYPES


def is_control_event(payload: str) -> bool:
    """As the job decides it (the contract's verdict): accepted, and a control event."""
    record, issues = validate_payload(payload, max_future=timedelta(days=365_000))
    return not issues and is_control(record)


def hash_id(key: str, value: str) -> str:
    """HMAC-SHA-256 of `value` under `key` (both UTF-8), as 64 lowercase hex characters.

    The same input always gives the same hash, so joins, sessions and deduplication still work
    on the hashed id; without the key nobody can test a guessed id against it.
    """
    return hmac.new(key.encode("utf-8"), value.encode("utf-8"), hashlib.sha256).hexdigest()


class _Number(str):
    """A JSON number kept as the text it was written with."""


class _Object(list):
    """A JSON object as its (key, value) pairs, in order, duplicates kept."""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _parse(payload: str) -> Any:
    return json.loads(payload, object_pairs_hook=_Object, parse_int=_Number,
                      parse_float=_Number, parse_constant=_reject_constant)


_NONE, _HASH, _REGION, _URL = range(4)


def pseudonymise(payload: str | None, rules: PrivacyRules, key: str) -> str | None:
    """`payload` with its personal fields replaced per `rules`; None if not a JSON object."""
    if payload is None:
        return None
    try:
        document = _parse(payload)
    except (ValueError, RecursionError):
        return None
    if not isinstance(document, _Object):
        return None
    control = is_control_event(payload)
    modes = {**{n: _URL for n in rules.url_fields}, **{n: _REGION for n in rules.region_fields},
             **{n: _HASH for n in rules.hash_fields}}
    out: list[str] = []
    _write(document, _NONE, modes, rules, key, out, top_level_control=control)
    return "".join(out)


def _write(node: Any, mode: int, modes: dict[str, int], rules: PrivacyRules, key: str,
           out: list[str], *, top_level_control: bool = False) -> None:
    if isinstance(node, _Object):
        out.append("{")
        for index, (name, value) in enumerate(node):
            if index:
                out.append(",")
            out.append(json.dumps(name, ensure_ascii=False))
            out.append(":")
            child = mode if mode != _NONE else modes.get(name, _NONE)
            if top_level_control and name == "user_id":
                child = _NONE  # a control event carries the hash already
            _write(value, child, modes, rules, key, out)
        out.append("}")
    elif isinstance(node, list):
        out.append("[")
        for index, value in enumerate(node):
            if index:
                out.append(",")
            _write(value, mode, modes, rules, key, out)
        out.append("]")
    elif isinstance(node, _Number):
        if mode == _HASH:
            out.append(json.dumps(_hash(key, node)))
        elif mode == _REGION:
            out.append(json.dumps(str(node)[:rules.region_chars], ensure_ascii=False))
        else:
            out.append(str(node))
    elif isinstance(node, str):
        if mode == _HASH:
            node = _hash(key, node)
        elif mode == _REGION:
            node = node[:rules.region_chars]
        elif mode == _URL:
            node = strip_query(node, rules.strip_params)
        out.append(json.dumps(node, ensure_ascii=False))
    else:  # True, False, None
        out.append(json.dumps(node))


def _hash(key: str, text: str) -> str:
    # A lone surrogate (invalid Unicode) hashes as '?', as Java's String.getBytes(UTF_8) does.
    return hash_id(key, text.encode("utf-8", "replace").decode("utf-8"))


_ASCII_ESCAPE = re.compile(r"%([0-7][0-9A-Fa-f])")


def _param_name(part: str) -> str:
    name = part.split("=", 1)[0]
    return ascii_lower(_ASCII_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), name))


def strip_query(url: str, params: tuple[str, ...]) -> str:
    """`url` without the query parameters named in `params` (lower-case ASCII names)."""
    hash_at = url.find("#")
    head, fragment = (url, "") if hash_at < 0 else (url[:hash_at], url[hash_at:])
    query_at = head.find("?")
    if query_at < 0 or not params:
        return url
    parts = head[query_at + 1:].split("&")
    kept = [part for part in parts if _param_name(part) not in params]
    if len(kept) == len(parts):
        return url
    query = "&".join(kept)
    return head[:query_at] + ("?" + query if query else "") + fragment
