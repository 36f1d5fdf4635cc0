"""`ecomflow generate`: deterministic synthetic traffic and its ground-truth manifest
(ecomflow/synth/traffic.py)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from ecomflow.synth.manifest import _summary
from ecomflow.synth.spec import MALFORMED_KINDS, TrafficSpec, _parse_start, parse_anomaly
from ecomflow.synth.traffic import write_traffic

RATE = click.FloatRange(0, 1)


@click.command("generate")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Output .jsonl or .jsonl.gz; the manifest goes to OUT.manifest.json.")
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--users", type=click.IntRange(min=1), default=200, show_default=True)
@click.option("--duration", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Seconds of event time to generate (default: -n 5000).")
@click.option("-n", "--events", "n", type=click.IntRange(min=0), default=None,
              help="Number of events instead of a duration.")
@click.option("--events-per-second", type=click.FloatRange(min=0, min_open=True), default=20.0,
              show_default=True, help="Long-run rate of the simulated shop (event time).")
@click.option("--start", default="2025-07-16T10:00:00Z", show_default=True,
              help="Event time of the first session (ISO 8601 with zone).")
@click.option("--max-disorder", type=click.FloatRange(min=0), default=2.0, show_default=True,
              help="Out-of-order bound in seconds (0: sorted).")
@click.option("--duplicates", type=RATE, default=0.0, show_default=True,
              help="Rate of exact resends of an earlier line.")
@click.option("--late", type=RATE, default=0.0, show_default=True,
              help="Rate of events held back past --late-by.")
@click.option("--late-by", type=click.FloatRange(min=0, min_open=True), default=120.0,
              show_default=True, help="Seconds a late event lags the stream by (at least).")
@click.option("--malformed", type=RATE, default=0.0, show_default=True,
              help="Rate of malformed records, split evenly across --malformed-kind.")
@click.option("--malformed-kind", "malformed_kinds", multiple=True,
              type=click.Choice(MALFORMED_KINDS), help="Repeatable (default: all kinds).")
@click.option("--catalog/--no-catalog", default=False, show_default=True,
              help="Start with the product catalog records.")
@click.option("--anomaly", "--anomalies", "anomalies", multiple=True,
              metavar="NAME[:key=value,...]",
              help="revenue-spike[:start=S,end=S,factor=F] | traffic-drop[:start,end,factor] | "
                   "bot-user[:start,end,rate,user]; repeatable; windows default to a slice "
                   "of the run.")
def generate_command(out_path: Path, seed: int, users: int, duration: float | None,
                     n: int | None, events_per_second: float, start: str, max_disorder: float,
                     duplicates: float, late: float, late_by: float, malformed: float,
                     malformed_kinds: tuple[str, ...], catalog: bool,
                     anomalies: tuple[str, ...]) -> None:
    """Write deterministic synthetic traffic and its ground-truth manifest."""
    try:
        spec = TrafficSpec(
            seed=seed, users=users, duration=duration, n=n, events_per_second=events_per_second,
            start=_parse_start(start), max_disorder_seconds=max_disorder,
            duplicate_rate=duplicates, late_rate=late, late_by_seconds=late_by,
            malformed_rate=malformed, malformed_kinds=malformed_kinds or MALFORMED_KINDS,
            include_catalog=catalog)
        chosen: dict[str, Any] = {}
        for text in anomalies:
            name, anomaly = parse_anomaly(text, spec.span_seconds)
            if name in chosen:
                raise ValueError(f"--anomaly {name.replace('_', '-')} given twice")
            chosen[name] = anomaly
        spec = replace(spec, **chosen)
    except (TypeError, ValueError) as exc:
        raise click.UsageError(str(exc)) from exc
    manifest = write_traffic(spec, out_path)
    for row in _summary(manifest, out_path):
        click.echo(row)
