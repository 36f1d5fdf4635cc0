"""The control event `erasure_request` (ecomflow forget): in the contract with only a hashed user
id, accepted by the job's check, and refused by the HTTP collector."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from flink_jobs.contract import CONTROL_TYPES, canonical_type, is_control, schema, validate

NOW = datetime(2025, 7, 17, tzinfo=UTC)
HASHED = "0123456789abcdef" * 4
REQUEST = {"event_type": "erasure_request", "timestamp": "2025-07-16T10:30:00Z",
           "user_id": HASHED, "request_id": "erasure-1f2e3d"}


def test_a_request_with_a_hashed_id_is_valid() -> None:
    assert CONTROL_TYPES == ("erasure_request",)
    assert canonical_type(REQUEST) == "erasure_request" and is_control(REQUEST)
    assert validate(REQUEST, now=NOW) == []
    # expires_at lies in the future by design; only the request's own time is checked
    assert validate({**REQUEST, "expires_at": "2099-01-01T00:00:00Z"}, now=NOW) == []
    assert validate({**REQUEST, "expires_at": None}, now=NOW) == []
    assert schema("erasure_request")["properties"]["user_id"]["pattern"] == "^[0-9a-f]{64}$"


@pytest.mark.parametrize(("change", "reason", "field"), [
    ({"user_id": "user_12345"}, "out_of_range", "user_id"),  # a raw id is never accepted
    ({"user_id": HASHED.upper()}, "out_of_range", "user_id"),
    ({"user_id": HASHED + "0"}, "out_of_range", "user_id"),
    ({"user_id": None}, "wrong_type", "user_id"),
    ({"request_id": None}, "wrong_type", "request_id"),
    ({"expires_at": "tomorrow"}, "bad_timestamp", "expires_at"),
    ({"timestamp": "2099-01-01T00:00:00Z"}, "future_timestamp", "timestamp"),
])
def test_malformed_requests_are_dead_letters(change: dict, reason: str, field: str) -> None:
    issues = validate({**REQUEST, **change}, now=NOW)
    assert (issues[0].reason, issues[0].field) == (reason, field)


@pytest.mark.parametrize("missing", ["user_id", "request_id", "timestamp"])
def test_required_fields(missing: str) -> None:
    record = {k: v for k, v in REQUEST.items() if k != missing}
    assert [(i.reason, i.field) for i in validate(record, now=NOW)] == [
        ("missing_field", missing)]


def test_the_jobs_check_accepts_it_with_a_derived_event_id() -> None:
    import json

    from udfs.contract_check import verdict

    reason, field, detail, event_id = verdict(json.dumps(REQUEST), 1_000_000, 10**10)
    assert (reason, field, detail) == (None, None, None)
    assert event_id is not None and len(event_id) == 36


def test_events_are_not_control_events() -> None:
    assert not is_control({"event_type": "page_view"})
    assert not is_control(["erasure_request"])
