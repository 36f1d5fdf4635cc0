"""The Flink cluster of docker-compose.yml, configured as `ecomflow run --package` configures
its local one (the Dockerfile's `package` stage runs `python -m ecomflow.local.compose CONF_DIR`).

Compose runs the zip `ecomflow package` builds, on PyFlink's own Flink distribution (the
version the tests run), with Python as MSF gives it: the image's interpreter with apache-flink
and nothing of this project. JobManager and TaskManager keep checkpoints and savepoints on one
shared volume, so a restarted container (or a replaced TaskManager) finds them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ecomflow.aws.package import run_options
from ecomflow.run.package_run import KPU_MEMORY, job_cluster_options, write_configuration

# Paths inside the images (Dockerfile) and volumes (docker-compose.yml); tests check all three.
STATE_DIR = "/var/lib/flink-state"
MSF_PYTHON = "/usr/local/bin/python3.11"
CHECKPOINT_INTERVAL_MS = 10_000
SLOTS = 2
RUN_OPTIONS_FILE = "msf-run-options.json"


def cluster_configuration() -> dict[str, str]:
    # Inside the compose network: each container binds its own interfaces (the published REST
    # port is bound to the host's loopback in docker-compose.yml); names are service names.
    return {
        "jobmanager.rpc.address": "jobmanager",
        "jobmanager.bind-host": "0.0.0.0",  # noqa: S104 (the container's network only)
        "jobmanager.memory.process.size": "1024m",
        "taskmanager.bind-host": "0.0.0.0",  # noqa: S104
        # as `ecomflow run --package` gives its TaskManager: a KPU's memory
        "taskmanager.memory.process.size": KPU_MEMORY,
        "taskmanager.numberOfTaskSlots": str(SLOTS),
        "rest.address": "jobmanager",
        "rest.bind-address": "0.0.0.0",  # noqa: S104
        "parallelism.default": str(SLOTS),
        **job_cluster_options(checkpoint_interval_ms=CHECKPOINT_INTERVAL_MS,
                              state_uri=f"file://{STATE_DIR}", python=MSF_PYTHON),
        # The lake on the compose S3 server (the job's filesystem options, as locally).
        "s3.endpoint": "http://s3:4569",
        "s3.path.style.access": "true",
        "s3.access-key": "test",
        "s3.secret-key": "test",
    }


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m ecomflow.local.compose CONF_DIR", file=sys.stderr)
        return 2
    conf = Path(argv[0])
    write_configuration(conf, cluster_configuration())
    # docker/submit-job.sh submits the zip with the run options MSF would pass.
    (conf / RUN_OPTIONS_FILE).write_text(json.dumps(run_options(), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
