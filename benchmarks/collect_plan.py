"""The planned requests of the `ecomflow collect` load test, each with the answer it must get.

Kept apart from benchmarks/collect_load.py (which runs the collector, sends the load and sums
up the figures) because the plan is pure data: from a seed, a list of ``PlannedRequest``s
mixing single valid events, arrays of 2-20 events (about one in ten invalid), single invalid
events, bodies that are not JSON, and requests with a wrong or no API key. It starts nothing
and sends nothing; tests/ecomflow/test_collect_load.py uses it (through collect_load) too.
"""

from __future__ import annotations

import dataclasses
import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ecomflow.synth.generate import generate_events

API_KEY = "load-test-key"
WRONG_KEY = "not-the-key"

# Share of each kind of request (the rest are single valid events).
DEFAULT_MIX: dict[str, float] = {
    "array": 0.15,
    "invalid": 0.12,  # one invalid event
    "malformed": 0.03,
    "wrong_key": 0.06,
    "missing_key": 0.04,
}
_EXPECTED_STATUS = {
    "single": 200,
    "array": 200,
    "invalid": 400,
    "malformed": 400,
    "wrong_key": 403,
    "missing_key": 401,
}


@dataclass(frozen=True)
class PlannedRequest:
    """One request and the answer it must get.

    ``status``: the HTTP status. ``refusal``: the reason of a request refused as a whole
    (401, 403, or 400 for a body that is not JSON / not an object). Otherwise ``valid``: the
    event ids that must be accepted, in order, and ``invalid``: (index in the body, reason)
    of each event that must be rejected. ``event_ids``: every id in the body, for the stream
    check (refused events must not reach the stream).
    """

    kind: str
    body: bytes
    key: str | None
    status: int
    refusal: str | None = None
    valid: tuple[str, ...] = ()
    invalid: tuple[tuple[int, str], ...] = ()
    event_ids: tuple[str, ...] = ()


def _break(event: dict[str, Any], rng: random.Random) -> tuple[Any, str]:
    """``event`` made invalid one of five ways: (what is sent, the reason it must get)."""
    way = rng.randrange(5)
    if way == 0:
        return {**event, "event_type": "teleport"}, "unknown_event_type"
    if way == 1:
        return {**event, "timestamp": "2025-07-16T10:30:00"}, "bad_timestamp"  # no zone
    if way == 2:
        ahead = datetime.now(UTC) + timedelta(days=1)
        return {**event, "timestamp": ahead.strftime("%Y-%m-%dT%H:%M:%S.000Z")}, (
            "future_timestamp"
        )
    if way == 3 and event["event_type"] == "page_view":
        return {k: v for k, v in event.items() if k != "page_url"}, "missing_field"
    return "not an event", "not_an_object"


def _kind(draw: float, mix: dict[str, float]) -> str:
    total = 0.0
    for kind, share in mix.items():
        total += share
        if draw < total:
            return kind
    return "single"


def plan_requests(
    requests: int, *, seed: int = 11, mix: dict[str, float] | None = None
) -> list[PlannedRequest]:
    """``requests`` requests of the mix (deterministic for a seed, apart from the
    future timestamps, which follow the clock)."""
    rng = random.Random(seed)
    mix = DEFAULT_MIX if mix is None else mix
    supply = iter(generate_events(requests * 12 + 100, seed=seed))  # ample, unique ids
    planned: list[PlannedRequest] = []
    for _ in range(requests):
        kind = _kind(rng.random(), mix)
        status = _EXPECTED_STATUS[kind]
        if kind == "array":
            events: list[Any] = []
            valid: list[str] = []
            invalid: list[tuple[int, str]] = []
            ids: list[str] = []
            for index in range(rng.randint(2, 20)):
                event = next(supply)
                ids.append(event["event_id"])
                if index > 0 and rng.random() < 0.1:
                    broken, reason = _break(event, rng)
                    events.append(broken)
                    invalid.append((index, reason))
                else:
                    events.append(event)
                    valid.append(event["event_id"])
            planned.append(
                PlannedRequest(
                    kind,
                    _json(events),
                    API_KEY,
                    status,
                    None,
                    tuple(valid),
                    tuple(invalid),
                    tuple(ids),
                )
            )
            continue
        event = next(supply)
        ids = [event["event_id"]]
        if kind == "single":
            request = PlannedRequest(kind, _json(event), API_KEY, status, valid=tuple(ids))
        elif kind == "invalid":
            broken, reason = _break(event, rng)
            if isinstance(broken, dict):
                request = PlannedRequest(
                    kind, _json(broken), API_KEY, status, invalid=((0, reason),)
                )
            else:  # a body that is one JSON string: refused as a whole
                request = PlannedRequest(kind, _json(broken), API_KEY, status, reason)
        elif kind == "malformed":
            request = PlannedRequest(kind, _json(event)[:-7], API_KEY, status, "not_json")
        elif kind == "wrong_key":
            request = PlannedRequest(kind, _json(event), WRONG_KEY, status, "invalid_api_key")
        else:
            request = PlannedRequest(kind, _json(event), None, status, "missing_api_key")
        planned.append(dataclasses.replace(request, event_ids=tuple(ids)))
    return planned


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()
