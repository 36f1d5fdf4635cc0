"""Which events the latency benchmark measures (no job: the selection alone)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from benchmarks.latency import warehouse_latencies

START = datetime(2026, 12, 8, 10, 0, tzinfo=UTC)


def test_only_windows_the_watermark_closed_are_measured() -> None:
    """Puts from 10:00:00 to 10:02:40, one every 10 s, event time = put time, delay 30 s: the
    watermark reaches 10:02:10, so it closed 10:00 and 10:01 (ends 10:01 and 10:02) but not
    10:02. The drain closed 10:02 (seen 40 s after the last put): it is left out, and so is
    every window when the delay keeps the watermark behind them all."""
    put_at = {f"e{i}": (START.timestamp() + 10 * i, START + timedelta(seconds=10 * i))
              for i in range(17)}
    seen = {(START + timedelta(minutes=m)).replace(tzinfo=None):
            START.timestamp() + 60 * (m + 1) + 31 for m in range(2)}
    seen[(START + timedelta(minutes=2)).replace(tzinfo=None)] = START.timestamp() + 200
    latencies = warehouse_latencies(put_at, seen, delay_s=30)
    # each window's row 91 s after its start: 91, 81, ... 41 s after each of its six puts
    assert sorted(latencies) == sorted([91.0 - 10 * i for i in range(6)] * 2)
    assert warehouse_latencies(put_at, seen, delay_s=130) == []


def test_a_window_never_seen_is_not_measured() -> None:
    put_at = {"a": (START.timestamp(), START),
              "b": (START.timestamp() + 100, START + timedelta(seconds=100))}
    assert warehouse_latencies(put_at, {}, delay_s=30) == []
    seen = {START.replace(tzinfo=None): START.timestamp() + 95}
    assert warehouse_latencies(put_at, seen, delay_s=30) == [95.0]
