"""The job's graph, declared once.

- `SINKS`: every output of the job: where it lands (a lake dataset, or a warehouse log table
  and the view analysts read), and what `ecomflow forget` must touch. The job's inserts and
  sink options, the demo summary, `forget` and the tests all read this list; a new output is
  one entry here plus its two files (sql/50_sinks/snk_<name>.sql, sql/60_inserts/ins_<name>.sql)
  and its warehouse migration.
- `statement_order()`: the order the job declares its relations in, derived from sql/'s stage
  folders and the relations each file reads, not from a hand-kept list. The Java steps take
  their place by what they read (`JavaStepSpec`).

No Flink import: the tooling (summary, forget) reads this module too.
"""

from __future__ import annotations

import heapq
import re
from dataclasses import dataclass
from pathlib import Path

from flink_jobs.sql_files import SQL_DIR

# Stage folders whose files declare relations (functions, sources, reference data, views,
# sinks), in the order the job declares them. Inserts (60_inserts) come after all of them.
DECLARING_STAGES = ("05_functions", "10_sources", "15_reference", "30_intermediate",
                    "40_marts", "50_sinks")


@dataclass(frozen=True)
class Sink:
    """One output of the job.

    `name` is `<lake|warehouse>__<what>`: its files are `snk_<name>.sql` (the sink table, whose
    connector options are the placeholder `${<NAME>_OPTIONS}`) and `ins_<name>.sql`.
    `target`: the lake dataset, or the warehouse's append-only log table.
    `view`: the warehouse view over the log that analysts query (newest delivery per key).
    `erase_text`: for `forget`, columns that name the user in text rather than in an id
    column.
    `lake_erase`: `forget` deletes the user's rows from this lake table (not from the dead
    letter, which keeps records as received, on short retention: README "Privacy").
    `lake_time`: the timestamp column whose hour partitions a lake dataset as an Iceberg table
    (hidden partitioning, `hour(<column>)`).
    """

    name: str
    target: str
    view: str | None = None
    erase_text: tuple[str, ...] = ()
    lake_erase: bool = False
    lake_time: str | None = None

    @property
    def kind(self) -> str:
        return self.name.split("__", 1)[0]

    @property
    def sink_file(self) -> str:
        return f"snk_{self.name}"

    @property
    def insert_file(self) -> str:
        return f"ins_{self.name}"

    @property
    def placeholder(self) -> str:
        return f"{self.name.upper().replace('__', '_')}_OPTIONS"


def _lake(name: str, time: str, erase: bool = True) -> Sink:
    return Sink(f"lake__{name}", name, lake_erase=erase, lake_time=time)


def _warehouse(name: str, view: str | None = None, text: tuple[str, ...] = ()) -> Sink:
    return Sink(f"warehouse__{name}", f"{name}_log", view or name, erase_text=text)


# In the order of the job's inserts (which fixes the operators' ids: keep it when adding).
SINKS: tuple[Sink, ...] = (
    _lake("events", "event_time"),
    _lake("dead_letter", "received_at", erase=False),
    _lake("late_events", "event_time"),
    _warehouse("event_counts_minute"),
    _warehouse("pipeline_health"),
    _warehouse("dead_letter_counts_minute"),
    _warehouse("funnel_minute"),
    _warehouse("funnel_hourly"),
    _lake("sessions", "session_start"),
    _warehouse("sessions"),
    _warehouse("cart_abandoned"),
    _warehouse("top_products_minute"),
    _warehouse("anomalies", text=("segment", "explanation")),
    _warehouse("rfm", view="rfm_scores"),
    _warehouse("transactions"),
    _warehouse("products"),
    _warehouse("trending_products"),
    _warehouse("funnel_steps_hourly"),
)

INSERTS = tuple(sink.insert_file for sink in SINKS)
LAKE_DATASETS = tuple(sink.target for sink in SINKS if sink.kind == "lake")
WAREHOUSE_LOGS = tuple(sink.target for sink in SINKS if sink.kind == "warehouse")
WAREHOUSE_VIEWS = tuple(sink.view for sink in SINKS if sink.view is not None)


# -- statement order ------------------------------------------------------------------------------

@dataclass(frozen=True)
class JavaStepSpec:
    """Where a Java step sits in the graph: the relations it reads and the one it declares."""

    reads: tuple[str, ...]
    declares: str


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _reads(path: Path, known: set[str]) -> set[str]:
    """The known relations a SQL file names outside its comments (its upstreams)."""
    body = "\n".join(line.split("--", 1)[0] for line in path.read_text().splitlines())
    return {word for word in _WORD.findall(body) if word in known} - {path.stem}


def statement_order(java_steps: tuple[JavaStepSpec, ...], *,
                    absent: frozenset[str] = frozenset()) -> list[str | JavaStepSpec]:
    """Every declaring statement (file stem) and Java step, each after what it reads: stage by
    stage and by name as far as the reads allow, a Java step as soon as its inputs exist.
    `absent`: files switched off (a Java step that reads one runs without it)."""
    files = {path.stem: path for stage in DECLARING_STAGES
             for path in sorted((SQL_DIR / stage).glob("*.sql")) if path.stem not in absent}
    by_declared = {step.declares: step for step in java_steps}
    known = set(files) | set(by_declared)
    rank = {stem: (DECLARING_STAGES.index(path.parent.name), stem)
            for stem, path in files.items()}
    # What each statement still waits for: the relations it reads that are not declared yet.
    waiting = {stem: _reads(path, known) for stem, path in files.items()}
    for step in java_steps:
        waiting[step.declares] = {name for name in step.reads if name in known}
    for stem in by_declared:  # a Java step runs as soon as what it reads is declared
        rank[stem] = (-1, stem)
    # Kahn's algorithm, always taking the lowest-ranked statement whose upstreams are declared.
    ready = [rank[stem] for stem, reads in waiting.items() if not reads]
    heapq.heapify(ready)
    order: list[str | JavaStepSpec] = []
    while ready:
        _, stem = heapq.heappop(ready)
        order.append(by_declared.get(stem, stem))
        for other, reads in waiting.items():
            if stem in reads:
                reads.discard(stem)
                if not reads:
                    heapq.heappush(ready, rank[other])
    if len(order) != len(waiting):
        cycle = sorted(stem for stem, reads in waiting.items() if reads)
        raise ValueError(f"sql/: these statements read each other in a cycle: {cycle}")
    return order
