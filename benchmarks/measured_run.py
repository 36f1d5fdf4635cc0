"""One measured run of the job on a bounded file, in its own process (a fresh JVM).

    python -m benchmarks.measured_run --input F --pipeline full --parallelism 2 \
        --lake DIR --warehouse-url JDBC [--blackhole-sinks] [--package ZIP]

Prints one JSON object: events, Flink's net runtime, events/s, CPU seconds of this process and
its JVM, and the largest checkpoint seen. Used by `benchmarks.throughput`; one run at a time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import threading
import time
import urllib.request
from pathlib import Path

from ecomflow import paths
from ecomflow.local import stack as local_stack
from ecomflow.run import runner
from ecomflow.run.local_run import build_local_settings
from flink_jobs.events_job import BENCH_DDL, BENCH_PASSTHROUGH, INSERTS

# passthrough: read each record and its event time, discard (sql/90_benchmarks). clean: the
# clean stream alone (the lake's events, dead letters and late events, and the accounting).
# full: the whole job (clean stream, every sink).
CLEAN = ("ins_lake__events", "ins_lake__dead_letter", "ins_lake__late_events",
         "ins_warehouse__pipeline_health", "ins_warehouse__dead_letter_counts_minute")
PIPELINES = {"passthrough": BENCH_PASSTHROUGH, "clean": CLEAN, "full": INSERTS}


def _cpu_seconds_of(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_seconds_with_children() -> float:
    """This process plus its live children (PyFlink's gateway JVM is one)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    total = own.ru_utime + own.ru_stime
    me = str(os.getpid())
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if stat.read_text().rsplit(")", 1)[1].split()[1] == me:
                total += _cpu_seconds_of(int(stat.parent.name))
        except (OSError, IndexError):
            continue
    return total


class CheckpointWatcher(threading.Thread):
    """Polls the mini-cluster's REST API for the largest completed checkpoint."""

    def __init__(self, rest_port: int) -> None:
        super().__init__(daemon=True)
        self.rest_port, self.job_id = rest_port, ""
        self.max_state_bytes = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(1.0):
            if not self.job_id:
                continue
            try:
                url = f"http://127.0.0.1:{self.rest_port}/jobs/{self.job_id}/checkpoints"
                with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
                    latest = (json.load(response).get("latest") or {}).get("completed") or {}
                self.max_state_bytes = max(self.max_state_bytes,
                                           int(latest.get("state_size", 0)))
            except (OSError, ValueError):
                continue


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--input", type=Path, required=True)
    parser.add_argument("--events", type=int, required=True, help="records in the input")
    parser.add_argument("--pipeline", choices=sorted(PIPELINES), required=True)
    parser.add_argument("--parallelism", type=int, required=True)
    parser.add_argument("--lake", required=True)
    parser.add_argument("--warehouse-url", required=True)
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--blackhole-sinks", action="store_true")
    parser.add_argument("--catalog-url", required=True,
                        help="JDBC URL of the lake's Iceberg catalog database")
    parser.add_argument("--add-inserts", default="",
                        help="comma-separated inserts (sql/60_inserts) run beside the "
                             "pipeline's: what one result costs on top of the clean stream")
    parser.add_argument("--no-pseudonymise", action="store_true",
                        help="Privacy.pseudonymise=false: what pseudonymisation costs")
    parser.add_argument("--stack", action="store_true",
                        help="take the running local stack's S3 endpoint and keys (for an "
                             "s3:// --lake on its emulator: a --package run's lake must be on S3)")
    parser.add_argument("--package", type=Path,
                        help="run this MSF zip (`ecomflow package`) as `ecomflow run --package` "
                             "does, on a local cluster: the full pipeline with real sinks, "
                             "planned by the JobManager, the TaskManager's JVM running nothing "
                             "else (as on MSF)")
    args = parser.parse_args()
    environ = dict(os.environ)
    if args.no_pseudonymise:
        environ["ECOMFLOW__Privacy__pseudonymise"] = "false"
    environ.update({"ECOMFLOW__Lake__catalog": "jdbc",
                    "ECOMFLOW__Lake__catalog.uri": args.catalog_url,
                    # a database per run: each run creates its tables afresh
                    "ECOMFLOW__Lake__catalog.database": f"bench_{os.getpid()}_{time.time_ns()}"})

    stack = None
    if args.stack:
        stack = local_stack.running(paths.state_home())
        if stack is None:
            parser.error("--stack: no local stack is running (`ecomflow local up`)")
    if args.package:
        if args.pipeline != "full" or args.blackhole_sinks or args.add_inserts:
            parser.error("--package runs the job as deployed: --pipeline full, real sinks")
        print(json.dumps(_package_run(args, environ, stack)))
        return

    rest_port = runner.free_port()
    settings = build_local_settings(
        home=args.home, stack=stack, environ=environ,
        input_file=args.input, lake=args.lake,
        warehouse_url=args.warehouse_url, parallelism=args.parallelism, rest_port=rest_port)
    runner.prepare_jvm(runner.require_jars(), args.home / "logs" / "flink")

    from flink_jobs.environment import create_table_environment
    from flink_jobs.events_job import build

    watcher = CheckpointWatcher(rest_port)
    watcher.start()
    started = time.monotonic()
    t_env = create_table_environment(settings)
    blackhole = args.blackhole_sinks or args.pipeline == "passthrough"
    extra = tuple(name for name in args.add_inserts.split(",") if name)
    result = build(t_env, settings, inserts=PIPELINES[args.pipeline] + extra,
                   blackhole_sinks=blackhole, extra_ddl=BENCH_DDL).execute()
    client = result.get_job_client()
    watcher.job_id = str(client.get_job_id())
    net_ms = client.get_job_execution_result().result().get_net_runtime()
    wall = time.monotonic() - started
    cpu = cpu_seconds_with_children()
    watcher.stopped.set()
    print(json.dumps({
        "pipeline": args.pipeline, "parallelism": args.parallelism, "events": args.events,
        "sinks": "blackhole" if blackhole else "real",
        "pseudonymise": not args.no_pseudonymise,
        "net_runtime_s": net_ms / 1000, "wall_s": wall,
        "events_per_s": args.events / (net_ms / 1000),
        "cpu_s": cpu, "cpu_s_per_million": cpu / (args.events / 1e6),
        "max_checkpoint_bytes": watcher.max_state_bytes,
        "uber_jar": str(paths.UBER_JAR.name),
    }))


def _package_run(args: argparse.Namespace, environ: dict[str, str],
                 stack: local_stack.StackInfo | None) -> dict[str, object]:
    """The zip on a local JobManager and TaskManager; the rate from the job's own duration."""
    from ecomflow.run import package_run
    from ecomflow.run.local_run import local_property_groups

    groups = local_property_groups(
        home=args.home, stack=stack, environ=environ, input_file=args.input, lake=args.lake,
        warehouse_url=args.warehouse_url, parallelism=args.parallelism)
    run = package_run.prepare(args.package, groups, home=args.home)
    started = time.monotonic()
    with package_run.package_cluster(run.folder, run.configuration) as cluster:
        job_id = package_run.submit(cluster, run.app, run.options, run.groups, run.python)
        package_run.wait_for(cluster, job_id, ("FINISHED",), timeout=3600)
        job = cluster.rest(f"/jobs/{job_id}")
    net_s = (job["end-time"] - job["start-time"]) / 1000
    return {
        "pipeline": "full (package)", "parallelism": args.parallelism, "events": args.events,
        "sinks": "real", "pseudonymise": not args.no_pseudonymise,
        "net_runtime_s": net_s, "wall_s": time.monotonic() - started,
        "events_per_s": args.events / net_s, "uber_jar": str(paths.UBER_JAR.name),
    }


if __name__ == "__main__":
    main()
