"""Throughput and scaling: events/s of the pass-through and the full pipeline, side by side.

Every measurement is a separate process (`benchmarks.measured_run`, a fresh JVM), run one
after the other, on the same generated input. Speeds are reported as ratios to the
pass-through measured in the same run, because machines are noisy.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ecomflow.synth.encoding import write_jsonl
from ecomflow.synth.generate import generate_events

# (pipeline, sinks discarded, pseudonymisation on) at parallelism 1; at 2 only the first and
# the full pipeline. Each is a ratio of the pass-through measured just before it.
VARIANTS_P1 = (("passthrough", True, True), ("clean", False, True), ("full", False, True),
               ("full", True, True), ("full", False, False))
VARIANTS_P2 = (("passthrough", True, True), ("full", False, True))


@dataclass(frozen=True)
class Workspace:
    """Where a benchmark run keeps its inputs and outputs, and the warehouse it writes to."""

    root: Path
    warehouse_url: str
    catalog_url: str  # the Iceberg lake's JDBC catalog database


def input_file(workspace: Workspace, events: int, seed: int = 11) -> Path:
    """N deterministic events as plain JSONL (splittable, no decompression in the figure)."""
    path = workspace.root / f"events-{events}-seed{seed}.jsonl"
    if not path.exists():
        partial = path.with_suffix(".partial")
        write_jsonl(generate_events(events, seed=seed, users=max(200, events // 500)), partial)
        partial.rename(path)
    return path


def measure(workspace: Workspace, path: Path, events: int, pipeline: str, parallelism: int,
            *, blackhole_sinks: bool = False, pseudonymise: bool = True) -> dict:
    lake = workspace.root / f"lake-{pipeline}-p{parallelism}-{events}-{time.time_ns()}"
    command = [
        sys.executable, "-m", "benchmarks.measured_run", "--input", str(path),
        "--events", str(events), "--pipeline", pipeline, "--parallelism", str(parallelism),
        "--lake", str(lake), "--warehouse-url", workspace.warehouse_url,
        "--home", str(workspace.root / "home"), "--catalog-url", workspace.catalog_url,
    ]
    if blackhole_sinks:
        command.append("--blackhole-sinks")
    if not pseudonymise:
        command.append("--no-pseudonymise")
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"{pipeline} p={parallelism} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    # The tables' data files (metadata and Hadoop's checksum files not counted).
    result["lake_files"] = sum(1 for p in lake.rglob("*.parquet") if p.is_file()
                               and "/data/" in str(p) and not p.name.startswith("."))
    return result


def throughput(workspace: Workspace, events: int, *, parallelisms: tuple[int, ...] = (1, 2),
               blackhole_sinks: bool = False,
               report: Callable[[str], None] = print) -> list[dict]:
    """`blackhole_sinks`: discard every sink's output in every variant (the job alone)."""
    path = input_file(workspace, events)
    rows = []
    for parallelism in parallelisms:
        baseline = None
        for pipeline, discard, pseudonymise in (VARIANTS_P1 if parallelism == 1
                                                else VARIANTS_P2):
            row = measure(workspace, path, events, pipeline, parallelism,
                          blackhole_sinks=discard or blackhole_sinks, pseudonymise=pseudonymise)
            baseline = baseline or row["events_per_s"]
            row["ratio_to_passthrough"] = row["events_per_s"] / baseline
            row["events_per_s_per_core"] = row["events_per_s"] / parallelism
            rows.append(row)
            report(format_row(row))
    return rows


def scaling(workspace: Workspace, sizes: tuple[int, ...], parallelism: int = 2, *,
            report: Callable[[str], None] = print) -> list[dict]:
    rows = []
    for events in sizes:
        row = measure(workspace, input_file(workspace, events), events, "full", parallelism)
        rows.append(row)
        report(format_row(row))
    return rows


def format_row(row: dict) -> str:
    ratio = row.get("ratio_to_passthrough")
    label = row["pipeline"] + ("" if row["pipeline"] == "passthrough" or row["sinks"] == "real"
                               else ", sinks discarded")
    label += "" if row.get("pseudonymise", True) else ", no pseudonymisation"
    return (f"  {label:<34} p={row['parallelism']}  {row['events']:>9,} events  "
            f"{row['events_per_s']:>9,.0f} ev/s"
            + (f"  x{ratio:.2f} of pass-through" if ratio is not None else "")
            + f"  {row['cpu_s_per_million']:>6.1f} CPU s/M events"
            + f"  state {row['max_checkpoint_bytes'] / 1024:,.0f} KiB")
