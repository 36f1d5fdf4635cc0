"""Run the MSF zip as Managed Service for Apache Flink runs it, on this machine.

`ecomflow run` builds the job from the source tree inside one process (Flink's mini-cluster).
This module runs what `ecomflow deploy` uploads instead:

- the zip `ecomflow package` builds, unpacked as it is;
- a Flink cluster of the PyFlink version installed here, with a JobManager and a TaskManager in
  processes of their own (a TaskManager can die and be replaced, as on MSF), listening on
  127.0.0.1, checkpointing to a local folder, S3 through the `flink-s3-fs-hadoop` plugin (MSF
  brings its own S3 filesystem too);
- the job submitted with the zip's run options (`python`, `jarfile`, `pyFiles`) and the
  property groups in MSF's file format, read by the zip's own `main.py`;
- Python as MSF gives it: apache-flink and its dependencies, nothing of this project's
  virtualenv (no boto3, no editable `flink_jobs`), so a module the zip forgot fails here too.

Every process is started here and stopped here (`PackageCluster` is a context manager).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement

from ecomflow import paths
from ecomflow.aws import package
from ecomflow.errors import EcomflowError
from ecomflow.run import runner
from flink_jobs.properties import PROPERTIES_PATH_VARIABLE, PropertyGroups, to_document
from flink_jobs.settings import JobSettings

PYFLINK_HOME = Path(str(metadata.distribution("apache-flink").locate_file("pyflink")))


class PackageRunError(EcomflowError, RuntimeError):
    """The package could not run; the message says why and where the logs are."""


# -- Python as MSF gives it --------------------------------------------------------------------

def _name(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def _closure(root: str) -> list[metadata.Distribution]:
    """`root` and every distribution it needs here (markers evaluated, no extras)."""
    environment = {**default_environment(), "extra": ""}
    seen: dict[str, metadata.Distribution] = {}
    todo = [root]
    while todo:
        name = _name(todo.pop())
        if name in seen:
            continue
        seen[name] = metadata.distribution(name)
        for text in seen[name].requires or ():
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate(environment):
                todo.append(requirement.name)
    return list(seen.values())


def msf_python(home: Path) -> Path:
    """An interpreter that sees apache-flink's dependency closure and the standard library only.

    This project's interpreter, started with -S (no site-packages, no .pth files, so none of
    the editable installs) and a folder of links to exactly those distributions' files.
    """
    version = metadata.version("apache-flink")
    base = home / "msf-python" / version
    wrapper = base / "python"
    if wrapper.exists():
        return wrapper
    site = base / "site-packages"
    staging = base.with_name(f".{version}.{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "site-packages").mkdir(parents=True)
    for distribution in _closure("apache-flink"):
        for top in {Path(str(f)).parts[0] for f in distribution.files or ()}:
            source = Path(str(distribution.locate_file(top)))
            link = staging / "site-packages" / top
            if (top not in ("..", "__pycache__", "bin") and source.exists()
                    and not link.exists()):
                link.symlink_to(source)
    (staging / "python").write_text(
        "#!/bin/sh\n# Python as MSF gives it (ecomflow/run/package_run.py).\n"
        f'PYTHONPATH="${{PYTHONPATH:+$PYTHONPATH:}}{site}" exec "{sys.executable}" -S "$@"\n')
    (staging / "python").chmod(0o755)
    if base.exists():
        shutil.rmtree(staging)
    else:
        staging.rename(base)
    return wrapper


# -- the cluster --------------------------------------------------------------------------------

def _java_options() -> str:
    """PyFlink's own JVM options for Java 17 (the --add-opens list), from its config.yaml."""
    text = (PYFLINK_HOME / "conf" / "config.yaml").read_text()
    found = re.search(r"^\s+all:\s*(--add-.*)$", text, re.M)
    if found is None:
        raise PackageRunError(f"no env.java.opts.all in {PYFLINK_HOME / 'conf' / 'config.yaml'}")
    return found.group(1).strip()


def job_cluster_options(*, checkpoint_interval_ms: int, state_uri: str,
                        python: str) -> dict[str, str]:
    """What every cluster that runs the package sets, here and in docker-compose: PyFlink's
    JVM options, exactly-once checkpoints kept on cancel (MSF's snapshots), a bounded restart
    back-off, and the interpreter MSF gives the job."""
    return {
        "env.java.opts.all": _java_options(),
        "execution.checkpointing.interval": f"{checkpoint_interval_ms}ms",
        "execution.checkpointing.mode": "EXACTLY_ONCE",
        "execution.checkpointing.externalized-checkpoint-retention": "RETAIN_ON_CANCELLATION",
        "state.checkpoints.dir": f"{state_uri.rstrip('/')}/checkpoints",
        "state.savepoints.dir": f"{state_uri.rstrip('/')}/savepoints",
        "restart-strategy.type": "exponential-delay",
        "restart-strategy.exponential-delay.initial-backoff": "1s",
        "restart-strategy.exponential-delay.max-backoff": "10s",
        "python.client.executable": python,
        "python.executable": python,
    }


# A TaskManager gets a KPU's memory (MSF: 1 vCPU and 4 GB per KPU). With 2 GB (a 666 MB heap)
# the heap state of a million events' dedup horizon ran the full pipeline at 5,603 events/s, at
# 4 GB 6,583 to 7,392 (benchmarks/README.md).
KPU_MEMORY = "4096m"


def cluster_configuration(settings: JobSettings, folder: Path, rest_port: int, rpc_port: int,
                          python: Path, slots: int) -> dict[str, str]:
    """The cluster's config.yaml: loopback only, checkpoints as a local run takes them (MSF
    configures its own), and the S3 endpoint of the lake (MSF's filesystem needs none)."""
    return {
        "jobmanager.rpc.address": "127.0.0.1",
        "jobmanager.rpc.port": str(rpc_port),
        "jobmanager.bind-host": "127.0.0.1",
        "jobmanager.memory.process.size": "1024m",
        "taskmanager.host": "127.0.0.1",
        "taskmanager.bind-host": "127.0.0.1",
        "taskmanager.memory.process.size": KPU_MEMORY,
        "taskmanager.numberOfTaskSlots": str(slots),
        "rest.address": "127.0.0.1",
        "rest.bind-address": "127.0.0.1",
        "rest.port": str(rest_port),
        "metrics.fetcher.update-interval": "1000",  # idle runs noticed within a second
        "parallelism.default": str(slots),
        **job_cluster_options(checkpoint_interval_ms=settings.checkpoint_interval_ms,
                              state_uri=folder.as_uri(), python=str(python)),
        **settings.lake.filesystem_config(),
    }


def write_configuration(conf: Path, configuration: dict[str, str]) -> None:
    """A Flink conf folder: config.yaml with flat keys, and PyFlink's own log4j files."""
    conf.mkdir(parents=True, exist_ok=True)
    (conf / "config.yaml").write_text("".join(
        f"{key}: {json.dumps(value)}\n" for key, value in configuration.items()))
    for name in ("log4j-console.properties", "log4j-cli.properties"):
        shutil.copy(PYFLINK_HOME / "conf" / name, conf / name)


_NOT_INHERITED = frozenset({"HADOOP_CLASSPATH", "HADOOP_CONF_DIR", "JVM_ARGS", "LOG4J_PROPERTIES",
                            "PYTHONPATH", "PYTHONHOME", "_ECOMFLOW_JVM_PREPARED"})


@dataclass
class PackageCluster:
    """A JobManager and TaskManagers of PyFlink's Flink, each in its own process group."""

    folder: Path
    configuration: dict[str, str]
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def rest_port(self) -> int:
        return int(self.configuration["rest.port"])

    def _environment(self) -> dict[str, str]:
        # Nothing of this process's own Flink set-up (runner.prepare_jvm puts the uber-jar and
        # the S3 filesystem on HADOOP_CLASSPATH, which Flink's scripts add to every classpath)
        # or Python path reaches the cluster: it sees the zip and its own configuration only.
        inherited = {key: value for key, value in os.environ.items()
                     if key not in _NOT_INHERITED and not key.startswith("FLINK_")}
        return {**inherited, "FLINK_CONF_DIR": str(self.folder / "conf"),
                "FLINK_LOG_DIR": str(self.folder / "log"),
                "FLINK_PLUGINS_DIR": str(self.folder / "plugins")}

    def write(self) -> None:
        write_configuration(self.folder / "conf", self.configuration)
        plugin = self.folder / "plugins" / "s3-fs-hadoop"
        plugin.mkdir(parents=True, exist_ok=True)
        for jar in paths.LOCAL_LIB_DIR.glob("flink-s3-fs-hadoop-*.jar"):
            shutil.copy(jar, plugin / jar.name)
        (self.folder / "log").mkdir(exist_ok=True)

    def _start(self, name: str, script: str) -> None:
        log = (self.folder / "log" / f"{name}.out").open("ab")
        self.processes[name] = subprocess.Popen(
            [str(PYFLINK_HOME / "bin" / script), "start-foreground"],
            env=self._environment(), stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True)

    def start(self) -> None:
        self.write()
        self._start("jobmanager", "jobmanager.sh")
        self.start_taskmanager()
        deadline = time.monotonic() + 120
        while not self._slots_available():
            self.check_alive()
            if time.monotonic() > deadline:
                raise PackageRunError(f"the local cluster did not start: {self.folder / 'log'}")
            time.sleep(0.5)

    def start_taskmanager(self, name: str = "taskmanager") -> None:
        self._start(name, "taskmanager.sh")

    def kill(self, name: str) -> None:
        """SIGKILL one process (and its children), as a machine that dies."""
        process = self.processes.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def _slots_available(self) -> bool:
        try:
            overview = self.rest("/overview")
        except OSError:
            return False
        return int(overview.get("slots-available", 0)) > 0  # type: ignore[union-attr]

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise PackageRunError(
                    f"the local cluster's {name} exited ({process.returncode}): "
                    f"{self.folder / 'log'}")

    def rest(self, path: str, body: dict[str, object] | None = None) -> dict[str, object]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.rest_port}{path}",
            data=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
            return json.load(response)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)
        self.processes.clear()


@contextmanager
def package_cluster(folder: Path, configuration: dict[str, str]) -> Iterator[PackageCluster]:
    cluster = PackageCluster(folder, configuration)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


# -- submitting and watching the job ------------------------------------------------------------

def unpack(zip_path: Path, folder: Path) -> tuple[Path, dict[str, str]]:
    """The unpacked application and the run options it was built with."""
    app = folder / "app"
    shutil.rmtree(app, ignore_errors=True)
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(app)
    options = package.run_options()
    missing = [value for value in (options["python"], options["jarfile"],
                                   *options["pyFiles"].split(","))
               if not (app / value).exists()]
    if missing:
        raise PackageRunError(f"{zip_path} is not an MSF package of this version: "
                              f"no {', '.join(missing)}")
    return app, options


def submit(cluster: PackageCluster, app: Path, options: dict[str, str],
           groups: PropertyGroups, python: Path) -> str:
    """Submit the zip's entry file as MSF does; the job id."""
    properties = cluster.folder / "application_properties.json"
    properties.write_text(json.dumps(to_document({**groups, package.RUN_OPTIONS_GROUP: options}),
                                     indent=2))
    command = [str(PYFLINK_HOME / "bin" / "flink"), "run", "--detached",
               "--python", str(app / options["python"]),
               "--jarfile", str(app / options["jarfile"]),
               "--pyFiles", ",".join(str(app / f.rstrip("/")) for f in
                                     options["pyFiles"].split(",")),
               "--pyClientExecutable", str(python)]
    done = subprocess.run(
        command, cwd=app, capture_output=True, text=True, timeout=300,
        env={**cluster._environment(), PROPERTIES_PATH_VARIABLE: str(properties)})
    (cluster.folder / "log" / "submit.out").write_text(done.stdout + done.stderr)
    found = re.search(r"JobID ([0-9a-f]{32})", done.stdout + done.stderr)
    if done.returncode != 0 or found is None:
        raise PackageRunError("submitting the package failed:\n"
                              + (done.stdout + done.stderr)[-3000:])
    return found.group(1)


def job_state(cluster: PackageCluster, job_id: str) -> str:
    return str(cluster.rest(f"/jobs/{job_id}")["state"])


def wait_for(cluster: PackageCluster, job_id: str, states: tuple[str, ...],
             timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while True:
        cluster.check_alive()
        state = job_state(cluster, job_id)
        if state in states:
            return state
        if state in ("FAILED", "CANCELED"):
            failure = cluster.rest(f"/jobs/{job_id}/exceptions")
            raise PackageRunError(f"job {job_id} {state.lower()}: "
                                  f"{str(failure.get('root-exception'))[:3000]}")
        if time.monotonic() > deadline:
            raise PackageRunError(f"job {job_id} still {state} after {timeout:.0f} s")
        time.sleep(0.5)


def _stop_with_savepoint(cluster: PackageCluster, job_id: str) -> str | None:
    """One stop-with-savepoint attempt: None when it was taken, else why not."""
    trigger = cluster.rest(f"/jobs/{job_id}/stop", {
        "drain": True, "targetDirectory": (cluster.folder / "savepoints").as_uri()})
    deadline = time.monotonic() + 300
    while True:
        status = cluster.rest(f"/jobs/{job_id}/savepoints/{trigger['request-id']}")
        if status["status"]["id"] == "COMPLETED":  # type: ignore[index]
            failure = (status.get("operation") or {}).get("failure-cause")  # type: ignore[union-attr]
            if not failure:
                return None
            causes = re.findall(r"(?:^|Caused by: )([\w.$]+(?:Exception|Error)[^\n]*)",
                                str(failure.get("stack-trace", "")), re.M)
            return causes[-1] if causes else str(failure)[:2000]
        if time.monotonic() > deadline:
            return "no savepoint after 300 s"
        time.sleep(0.5)


def drain(cluster: PackageCluster, job_id: str) -> None:
    """Stop with a savepoint and --drain: every window fires, every lake file commits."""
    deadline = time.monotonic() + 300
    while not runner.all_tasks_running(cluster.rest_port, job_id):
        if time.monotonic() > deadline:
            raise PackageRunError(f"job {job_id}: not every task running after 300 s")
        time.sleep(0.5)
    why = _stop_with_savepoint(cluster, job_id)
    if why is not None:
        raise PackageRunError(f"stopping job {job_id} with a savepoint failed: {why}")
    wait_for(cluster, job_id, ("FINISHED",), timeout=300)


def wait_until_idle(cluster: PackageCluster, job_id: str, idle_timeout: float) -> None:
    """Until no record has arrived for `idle_timeout` seconds (see runner)."""
    last, quiet_since = -1, time.monotonic()
    while True:
        cluster.check_alive()
        # While the job fails over (a TaskManager lost), a pause in records means nothing.
        if not runner.all_tasks_running(cluster.rest_port, job_id):
            wait_for(cluster, job_id, ("RUNNING",), timeout=300)
            last, quiet_since = -1, time.monotonic()
            time.sleep(1)
            continue
        seen = runner.records_read(cluster.rest_port, job_id)
        if seen != last:
            last, quiet_since = seen, time.monotonic()
        elif runner.idle_for_long_enough(seen, time.monotonic() - quiet_since, idle_timeout):
            return
        time.sleep(1)


@dataclass(frozen=True)
class Prepared:
    """An unpacked package with everything needed to start its cluster and submit it."""

    app: Path
    options: dict[str, str]
    groups: PropertyGroups
    settings: JobSettings
    python: Path
    folder: Path
    configuration: dict[str, str]


def prepare(zip_path: Path, groups: PropertyGroups, *, home: Path) -> Prepared:
    runner.require_jars()
    settings = JobSettings.from_property_groups(groups, local=True)
    (home / "package-runs").mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=time.strftime("%Y%m%dT%H%M%S-"),
                                   dir=home / "package-runs"))
    app, options = unpack(zip_path, folder)
    python = msf_python(home)
    configuration = cluster_configuration(settings, folder, runner.free_port(),
                                          runner.free_port(), python,
                                          slots=settings.parallelism or 1)
    if os.environ.get("JVM_ARGS"):
        # The JVM options PyFlink's own JVM takes (JIT, profiling) reach the cluster's
        # processes too, after PyFlink's own; nothing else of this process's set-up does.
        configuration["env.java.opts.all"] += " " + os.environ["JVM_ARGS"]
    return Prepared(app, options, groups, settings, python, folder, configuration)


def run_package(zip_path: Path, groups: PropertyGroups, *, home: Path,
                idle_timeout: float | None) -> runner.RunResult:
    """Run the zip on a fresh local cluster until a bounded run finishes, or a stream run has
    been idle for `idle_timeout` seconds (then drain it); the cluster is stopped either way."""
    started = time.monotonic()
    run = prepare(zip_path, groups, home=home)
    with package_cluster(run.folder, run.configuration) as cluster:
        job_id = submit(cluster, run.app, run.options, run.groups, run.python)
        if run.settings.bounded:
            state = wait_for(cluster, job_id, ("FINISHED",), timeout=1800)
            return runner.RunResult(job_id, state, time.monotonic() - started)
        wait_for(cluster, job_id, ("RUNNING",), timeout=300)
        try:
            wait_until_idle(cluster, job_id, idle_timeout or float("inf"))
            counts, idle = runner.wait_until_classified(cluster.rest_port, job_id), True
        except KeyboardInterrupt:
            # Ctrl-C: the counters as they stand, then drain, as `ecomflow run` does.
            counts, idle = runner.accounting(cluster.rest_port, job_id), False
        drain(cluster, job_id)
        return runner.RunResult(job_id, "FINISHED", time.monotonic() - started,
                                stopped_on_idle=idle, accounting=counts)
