"""The ground-truth manifest of a traffic file (``Manifest``: what was emitted and injected,
and its JSON form), where it is written (``manifest_path``: next to the file) and the summary
``ecomflow generate`` prints from it (``_summary``). Kept apart from traffic.py, which produces
the lines and fills the manifest in as it goes."""


from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from ecomflow.synth.encoding import format_ts
from ecomflow.synth.spec import EVENT_TYPES, MALFORMED_KINDS, TrafficSpec

MANIFEST_FORMAT = "ecomflow.synth.traffic-manifest/1"


@dataclass
class Manifest:
    """Ground truth for one traffic file; filled in while its lines are produced.

    ``to_dict()`` is the JSON written next to the file (it raises until every line has been
    produced). Valid events are the simulation's unique events: on time, out of order or late.
    """

    spec: TrafficSpec
    complete: bool = False
    total_lines: int = 0
    catalog_lines: int = 0
    event_counts: Counter[str] = field(default_factory=Counter)
    first_ms: int | None = None
    last_ms: int | None = None
    purchase_revenue: dict[str, Decimal] = field(default_factory=dict)
    out_of_order: int = 0
    max_lag_ms: int = 0
    duplicates: list[dict[str, Any]] = field(default_factory=list)
    late: list[dict[str, Any]] = field(default_factory=list)
    malformed: list[dict[str, Any]] = field(default_factory=list)
    anomalies: list[dict[str, Any]] = field(default_factory=list)
    file: dict[str, Any] | None = None

    @property
    def valid_events(self) -> int:
        return sum(self.event_counts.values())

    def to_dict(self) -> dict[str, Any]:
        if not self.complete:
            raise RuntimeError("manifest is incomplete: consume every line first")
        by_kind = Counter(r["kind"] for r in self.malformed)
        out: dict[str, Any] = {"format": MANIFEST_FORMAT}
        if self.file is not None:
            out["file"] = self.file
        out |= {
            "spec": self.spec.to_dict(),
            "lines": {
                "total": self.total_lines,
                "catalog": self.catalog_lines,
                "events": self.valid_events,
                "duplicates": len(self.duplicates),
                "malformed": len(self.malformed),
            },
            "events": {
                "count": self.valid_events,
                "by_type": {t: self.event_counts[t] for t in sorted({*EVENT_TYPES,
                                                                     *self.event_counts})},
                "first_timestamp": None if self.first_ms is None else format_ts(self.first_ms),
                "last_timestamp": None if self.last_ms is None else format_ts(self.last_ms),
                "purchase_revenue": {c: str(v) for c, v in sorted(self.purchase_revenue.items())},
            },
            "out_of_order": {
                "max_disorder_seconds": self.spec.max_disorder_seconds,
                "events": self.out_of_order,
                "max_lag_ms": self.max_lag_ms,
            },
            "duplicates": {"count": len(self.duplicates), "records": self.duplicates},
            "late": {
                "late_by_seconds": self.spec.late_by_seconds,
                "count": len(self.late),
                "records": self.late,
            },
            "malformed": {
                "count": len(self.malformed),
                "by_kind": {k: by_kind[k] for k in MALFORMED_KINDS},
                "dead_letters": sum(1 for r in self.malformed if r["dead_letter_reason"]),
                "records": self.malformed,
            },
            "anomalies": self.anomalies,
        }
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"


def manifest_path(out_path: str | Path) -> Path:
    out_path = Path(out_path)
    return out_path.with_name(out_path.name + ".manifest.json")


def _summary(manifest: Manifest, out_path: Path) -> list[str]:
    data = manifest.to_dict()
    lines = data["lines"]
    extra = [f"{lines[k]:,} {k}" for k in ("duplicates", "malformed", "catalog") if lines[k]]
    rows = [f"wrote {lines['total']:,} lines to {out_path}: {lines['events']:,} events"
            + "".join(f", {e}" for e in extra)]
    rows.append("events: " + ", ".join(f"{t}={n:,}" for t, n in data["events"]["by_type"].items()))
    ooo = data["out_of_order"]
    rows.append(f"out of order: {ooo['events']:,} (max lag {ooo['max_lag_ms'] / 1000:.3f} s); "
                f"late: {data['late']['count']:,} (> {data['late']['late_by_seconds']:g} s)")
    if data["malformed"]["count"]:
        rows.append("malformed: " + ", ".join(
            f"{k}={n:,}" for k, n in data["malformed"]["by_kind"].items() if n))
    for anomaly in data["anomalies"]:
        window = f"{anomaly['window']['start']} .. {anomaly['window']['end']}"
        if anomaly["type"] == "revenue_spike":
            what = f"x{anomaly['factor']:g} on {anomaly['purchases']} purchases"
        elif anomaly["type"] == "traffic_drop":
            what = (f"x{anomaly['factor']:g}: {anomaly['sessions_dropped']} sessions, "
                    f"{anomaly['events_dropped']} events dropped")
        else:
            what = (f"{anomaly['user_id']} at {anomaly['events_per_second']:g}/s: "
                    f"{anomaly['events']} events")
        rows.append(f"anomaly {anomaly['type']} {window}: {what}")
    rows.append(f"manifest: {manifest_path(out_path)}")
    return rows
