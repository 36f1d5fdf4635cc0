"""`ecomflow bench`: throughput, scaling, latency and cost in one run, results as JSON.

Default sizes fit in about 15 minutes on a 2-core machine; `--quick` is a smoke run. A private
local stack (free loopback ports, a temporary folder) is started for the run and stopped after.
"""

from __future__ import annotations

import json
import platform
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import cost, latency, throughput
from ecomflow import paths
from ecomflow.local import stack as local_stack

RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True, kw_only=True)
class BenchPlan:
    events: int = 1_000_000
    scaling_sizes: tuple[int, ...] = (100_000, 1_000_000, 5_000_000)
    latency_seconds: float = 150.0
    latency_rate: float = 50.0
    blackhole_sinks: bool = False
    skip_latency: bool = False

    @classmethod
    def quick(cls, **overrides: object) -> BenchPlan:
        return cls(**{"events": 20_000, "scaling_sizes": (5_000, 20_000),
                      "latency_seconds": 75.0, **overrides})  # type: ignore[arg-type]


def _versions() -> dict[str, str]:
    import pyflink

    java = subprocess.run(["java", "-version"], capture_output=True, text=True, check=False)
    return {"python": platform.python_version(), "pyflink": pyflink.__version__ if hasattr(
        pyflink, "__version__") else "1.20", "java": java.stderr.splitlines()[0],
        "uber_jar_bytes": str(paths.UBER_JAR.stat().st_size)}


def _machine() -> dict[str, object]:
    import os

    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    memory = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
    return {"cores": os.cpu_count(), "cpu": cpu, "memory_gib": round(memory / 2**20, 1),
            "platform": platform.platform()}


def run(plan: BenchPlan, *, report: Callable[[str], None] = print) -> Path:
    started = time.monotonic()
    with local_stack.temporary_home(prefix="ecomflow-bench-") as home:
        with local_stack.running_stack(local_stack.StackConfig.on_free_ports(home)) as stack:
            workspace = throughput.Workspace(
                root=home / "bench", warehouse_url=f"{stack.warehouse_url}?user={stack.user}",
                catalog_url=f"{stack.catalog_url}?user={stack.user}")
            workspace.root.mkdir()
            report(f"throughput: {plan.events:,} events, parallelism 1 then 2")
            rows = throughput.throughput(workspace, plan.events,
                                         blackhole_sinks=plan.blackhole_sinks, report=report)
            report("scaling: full pipeline, parallelism 2")
            known = {r["events"]: r for r in rows
                     if r["pipeline"] == "full" and r["parallelism"] == 2}
            scaling_rows = []
            for size in plan.scaling_sizes:
                if size in known:
                    scaling_rows.append(known[size])
                    report(throughput.format_row(known[size]) + "  (from the throughput run)")
                else:
                    scaling_rows += throughput.scaling(workspace, (size,), report=report)
            latency_result = None
            if not plan.skip_latency:
                report(f"latency: {plan.latency_rate:.0f} events/s for "
                       f"{plan.latency_seconds:.0f} s through kinesis-mock")
                latency_result = latency.latency(stack, rate=plan.latency_rate,
                                                 seconds=plan.latency_seconds, report=report)
            event_bytes = throughput.input_file(workspace, plan.events).stat().st_size / plan.events
    full_p1 = next(r for r in rows if r["pipeline"] == "full" and r["parallelism"] == 1)
    per_core = full_p1["events_per_s"]
    estimates = cost.estimates(per_core, event_bytes)
    report(f"cost on paper (full pipeline at {per_core:,.0f} events/s per core, "
           f"{event_bytes:.0f} B/event):")
    for e in estimates:
        report(f"  {e['events_per_s']:>6,} ev/s: {e['kpus']} KPU + {e['shards']} shards = "
               f"${e['total_usd_month']:,.0f}/month (${e['usd_per_million_events']}/M events)")
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"), "plan": plan.__dict__,
        "machine": _machine(), "versions": _versions(), "throughput": rows,
        "scaling": scaling_rows, "latency": latency_result,
        "cost": {"prices": cost.PRICES, "events_per_s_per_core": per_core,
                 "avg_event_bytes": round(event_bytes, 1), "estimates": estimates},
        "bench_seconds": round(time.monotonic() - started, 1),
    }
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / f"bench-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    report(f"results: {out} ({result['bench_seconds']:.0f} s)")
    return out
