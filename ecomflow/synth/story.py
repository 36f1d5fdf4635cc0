"""The demo's traffic: fifty minutes of a shop with its product catalog, a few malformed
records, resends and late events, a bot, and a revenue spike, so that every warehouse table,
every dashboard panel and every report chart has something to show (`ecomflow demo`).

Deterministic (one seed): the same file on every machine, written afresh for each demo (a
second or two), so that it always matches this version's generator. The anomalies come after
the detectors' warm-up (30 minutes of history for a KPI flag).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ecomflow.synth.spec import MALFORMED_KINDS, TrafficSpec, _parse_start, parse_anomaly
from ecomflow.synth.traffic import write_traffic

ANOMALIES = ("bot-user:start=1800,end=1860", "revenue-spike:start=2400,end=2580,factor=8")
STORY_FILE = "demo-story.jsonl.gz"


def story_spec() -> TrafficSpec:
    spec = TrafficSpec(
        seed=7, users=200, duration=3000.0, n=None, events_per_second=2.5,
        start=_parse_start("2025-07-16T10:00:00Z"), max_disorder_seconds=2.0,
        duplicate_rate=0.005, late_rate=0.002, late_by_seconds=180.0,
        malformed_rate=0.004, malformed_kinds=MALFORMED_KINDS, include_catalog=True)
    return replace(spec, **dict(parse_anomaly(text, spec.span_seconds) for text in ANOMALIES))


def ensure_story(home: Path) -> Path:
    """The story's file under `home` (and its ground-truth manifest beside it)."""
    path = home / STORY_FILE
    write_traffic(story_spec(), path)
    return path
