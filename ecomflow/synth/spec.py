"""What traffic to make: the spec (sizes, rates of duplicates, late and malformed records) and the
anomalies to inject, as the `ecomflow generate` options describe them."""


from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any

from ecomflow.synth.encoding import _epoch_ms, format_ts
from ecomflow.synth.generate import DEFAULT_START

EVENT_TYPES = ("add_to_cart", "page_view", "product_view", "purchase", "remove_from_cart")
MALFORMED_KINDS = (
    "bad_json",
    "missing_field",
    "wrong_type",
    "negative_amount",
    "total_mismatch",
    "zone_less_timestamp",
    "unknown_event_type",
)
DEFAULT_N = 5000  # events when a spec sets neither n nor duration (the sample's size)
DUPLICATE_DELAY_MS = (1_000, 5_000)  # a resend follows its original by 1-5 s of stream time
BOT_USER_AGENT = "Mozilla/5.0 (compatible; ShopScraper/2.1; +https://scraper.example/bot)"


# -- the spec ---------------------------------------------------------------------------------


def _check_window(name: str, start: float, end: float) -> None:
    if not 0 <= start < end:
        raise ValueError(f"{name}: need 0 <= start_seconds < end_seconds, got {start}, {end}")


@dataclass(frozen=True)
class RevenueSpike:
    """Bulk orders in [start, end) seconds after the spec's start: quantities x factor."""

    start_seconds: float
    end_seconds: float
    factor: float = 5.0

    def __post_init__(self) -> None:
        _check_window("revenue_spike", self.start_seconds, self.end_seconds)
        if not self.factor > 1:
            raise ValueError("revenue_spike.factor must be > 1")


@dataclass(frozen=True)
class TrafficDrop:
    """In [start, end) only a share ``factor`` of the sessions is seen (0.1: 90 % fewer)."""

    start_seconds: float
    end_seconds: float
    factor: float = 0.1

    def __post_init__(self) -> None:
        _check_window("traffic_drop", self.start_seconds, self.end_seconds)
        if not 0 <= self.factor < 1:
            raise ValueError("traffic_drop.factor must be in [0, 1)")


@dataclass(frozen=True)
class BotUser:
    """One user emitting page_view/product_view pairs at a fixed rate in [start, end)."""

    start_seconds: float
    end_seconds: float
    events_per_second: float = 10.0
    user_id: str = "user_bot_001"

    def __post_init__(self) -> None:
        _check_window("bot_user", self.start_seconds, self.end_seconds)
        if not self.events_per_second > 0:
            raise ValueError("bot_user.events_per_second must be > 0")
        if not self.user_id or self.user_id[5:].isdigit():
            raise ValueError("bot_user.user_id must not look like a generated user (user_00042)")


_ANOMALY_TYPES = {"revenue_spike": RevenueSpike, "traffic_drop": TrafficDrop, "bot_user": BotUser}


@dataclass(frozen=True)
class TrafficSpec:
    """Everything that determines a traffic file. All fault rates are 0 and anomalies off.

    The run is either the first ``n`` events or every event in ``duration`` seconds of event
    time from ``start``; neither means ``n = 5000``. Rates are per valid event: about
    ``rate * events`` duplicates, late events and malformed records are injected.
    """

    seed: int = 7
    users: int = 200
    duration: float | None = None
    n: int | None = None
    events_per_second: float = 20.0
    start: datetime = DEFAULT_START
    max_disorder_seconds: float = 2.0
    duplicate_rate: float = 0.0
    late_rate: float = 0.0
    late_by_seconds: float = 120.0
    malformed_rate: float = 0.0
    malformed_kinds: tuple[str, ...] = MALFORMED_KINDS
    include_catalog: bool = False
    revenue_spike: RevenueSpike | None = None
    traffic_drop: TrafficDrop | None = None
    bot_user: BotUser | None = None

    def __post_init__(self) -> None:
        if self.n is not None and self.duration is not None:
            raise ValueError("set n or duration, not both")
        if self.n is not None and self.n < 0:
            raise ValueError("n must be >= 0")
        if self.duration is not None and not self.duration > 0:
            raise ValueError("duration must be > 0 seconds")
        if self.users < 1:
            raise ValueError("users must be >= 1")
        if not self.events_per_second > 0:
            raise ValueError("events_per_second must be > 0")
        if self.max_disorder_seconds < 0:
            raise ValueError("max_disorder_seconds must be >= 0")
        if self.start.tzinfo is None:
            raise ValueError("start must be timezone-aware (UTC)")
        for name in ("duplicate_rate", "late_rate", "malformed_rate"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in [0, 1]")
        if self.late_rate > 0 and not self.late_by_seconds > self.max_disorder_seconds:
            # Otherwise an on-time event could lag as much as a late one.
            raise ValueError("late_by_seconds must be > max_disorder_seconds")
        if not self.malformed_kinds or set(self.malformed_kinds) - set(MALFORMED_KINDS):
            raise ValueError(f"malformed_kinds must be a non-empty subset of {MALFORMED_KINDS}")
        if not isinstance(self.malformed_kinds, tuple):
            object.__setattr__(self, "malformed_kinds", tuple(self.malformed_kinds))

    @property
    def start_ms(self) -> int:
        return _epoch_ms(self.start)

    @property
    def end_ms(self) -> int | None:
        """Exclusive end of event time for duration runs."""
        return None if self.duration is None else self.start_ms + round(self.duration * 1000)

    @property
    def span_seconds(self) -> float:
        """The run's length in event time (estimated from the rate for n runs)."""
        if self.duration is not None:
            return self.duration
        return (DEFAULT_N if self.n is None else self.n) / self.events_per_second

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["start"] = format_ts(self.start_ms)
        out["malformed_kinds"] = list(self.malformed_kinds)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrafficSpec:
        """Inverse of ``to_dict`` (the manifest's ``spec``): regenerate a file from its manifest."""
        kwargs = dict(data)
        kwargs["start"] = datetime.fromisoformat(kwargs["start"].replace("Z", "+00:00"))
        kwargs["malformed_kinds"] = tuple(kwargs["malformed_kinds"])
        for name, typ in _ANOMALY_TYPES.items():
            if kwargs.get(name) is not None:
                kwargs[name] = typ(**kwargs[name])
        unknown = set(kwargs) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown spec fields: {sorted(unknown)}")
        return cls(**kwargs)


# -- CLI --------------------------------------------------------------------------------------

_ANOMALY_DEFAULT_WINDOWS = {  # fractions of the run's span
    "traffic_drop": (0.25, 0.35),
    "revenue_spike": (0.50, 0.60),
    "bot_user": (0.70, 0.80),
}
_ANOMALY_KEYS = {
    "revenue_spike": {"start": "start_seconds", "end": "end_seconds", "factor": "factor"},
    "traffic_drop": {"start": "start_seconds", "end": "end_seconds", "factor": "factor"},
    "bot_user": {"start": "start_seconds", "end": "end_seconds", "rate": "events_per_second",
                 "user": "user_id"},
}


def parse_anomaly(text: str, span_seconds: float) -> tuple[str, Any]:
    """``NAME[:key=value,...]`` -> (spec field, anomaly). Windows default to a slice of the span.

    Names: revenue-spike (keys start, end, factor), traffic-drop (start, end, factor),
    bot-user (start, end, rate, user). start/end are seconds after the run's start.
    """
    name, _, params = text.partition(":")
    name = name.strip().replace("-", "_")
    if name not in _ANOMALY_TYPES:
        raise ValueError(f"unknown anomaly {text!r}: use revenue-spike, traffic-drop or bot-user")
    lo, hi = _ANOMALY_DEFAULT_WINDOWS[name]
    kwargs: dict[str, Any] = {"start_seconds": float(math.floor(span_seconds * lo)),
                              "end_seconds": float(max(math.floor(span_seconds * hi),
                                                       math.floor(span_seconds * lo) + 1))}
    for pair in filter(None, (p.strip() for p in params.split(","))):
        key, sep, value = pair.partition("=")
        if not sep or key.strip() not in _ANOMALY_KEYS[name]:
            raise ValueError(f"{text!r}: expected key=value with key in "
                             f"{sorted(_ANOMALY_KEYS[name])}")
        target = _ANOMALY_KEYS[name][key.strip()]
        kwargs[target] = value.strip() if target == "user_id" else float(value)
    return name, _ANOMALY_TYPES[name](**kwargs)


def _parse_start(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("--start needs a timezone, e.g. 2025-07-16T10:00:00Z")
    return parsed
