"""The Managed Flink application's lifecycle: status, snapshots, start and stop.

Works on a boto3 `kinesisanalyticsv2` client. Snapshots are enabled on the application (infra),
so stopping takes one and starting restores the latest: the job's state survives every stop,
start and update. `app_group` is the `ecomflow app status|stop|start` command.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ecomflow.errors import EcomflowError

RUNNING_STATES = {"RUNNING", "UPDATING", "AUTOSCALING", "STARTING", "MAINTENANCE"}
SETTLED_STATES = {"READY", "RUNNING"}
RESTORE_LATEST = "RESTORE_FROM_LATEST_SNAPSHOT"
RESTORE_NAMED = "RESTORE_FROM_CUSTOM_SNAPSHOT"
SKIP_RESTORE = "SKIP_RESTORE_FROM_SNAPSHOT"


class AppError(EcomflowError, RuntimeError):
    pass


@dataclass(frozen=True, kw_only=True)
class AppState:
    name: str
    status: str
    version: int
    runtime: str
    code_key: str | None
    parallelism: int | None
    autoscaling: bool | None


@dataclass(frozen=True, kw_only=True)
class Snapshot:
    name: str
    status: str
    version: int
    created: datetime | None


def describe(client: Any, name: str) -> AppState | None:
    """The application's state, or None when it does not exist (yet)."""
    try:
        detail = client.describe_application(ApplicationName=name)["ApplicationDetail"]
    except client.exceptions.ResourceNotFoundException:
        return None
    config = detail.get("ApplicationConfigurationDescription", {})
    code = (config.get("ApplicationCodeConfigurationDescription", {})
            .get("CodeContentDescription", {}).get("S3ApplicationCodeLocationDescription", {}))
    parallelism = (config.get("FlinkApplicationConfigurationDescription", {})
                   .get("ParallelismConfigurationDescription", {}))
    return AppState(name=detail["ApplicationName"], status=detail["ApplicationStatus"],
                    version=detail["ApplicationVersionId"],
                    runtime=detail["RuntimeEnvironment"], code_key=code.get("FileKey"),
                    parallelism=parallelism.get("CurrentParallelism"),
                    autoscaling=parallelism.get("AutoScalingEnabled"))


def snapshots(client: Any, name: str) -> list[Snapshot]:
    """Newest first."""
    found: list[Snapshot] = []
    kwargs: dict[str, Any] = {"ApplicationName": name, "Limit": 50}
    while True:
        page = client.list_application_snapshots(**kwargs)
        for s in page.get("SnapshotSummaries", []):
            found.append(Snapshot(name=s["SnapshotName"], status=s["SnapshotStatus"],
                                  version=s["ApplicationVersionId"],
                                  created=s.get("SnapshotCreationTimestamp")))
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    epoch = datetime.min.replace(tzinfo=UTC)
    return sorted(found, key=lambda s: s.created or epoch, reverse=True)


def wait_for(client: Any, name: str, wanted: set[str], *, timeout_s: float = 900.0,
             poll_s: float = 10.0, sleep: Callable[[float], None] = time.sleep) -> AppState:
    waited = 0.0
    while True:
        state = describe(client, name)
        if state is None:
            raise AppError(f"application {name} does not exist")
        if state.status in wanted:
            return state
        if waited >= timeout_s:
            raise AppError(f"application {name} still {state.status} after {timeout_s:.0f} s "
                           f"(wanted {'/'.join(sorted(wanted))})")
        sleep(poll_s)
        waited += poll_s


def take_snapshot(client: Any, name: str, snapshot_name: str | None = None, *,
                  timeout_s: float = 900.0, poll_s: float = 10.0,
                  sleep: Callable[[float], None] = time.sleep) -> str:
    """Snapshot a running application and wait until the snapshot is READY."""
    snapshot_name = snapshot_name or f"ecomflow-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    client.create_application_snapshot(ApplicationName=name, SnapshotName=snapshot_name)
    waited = 0.0
    while True:
        status = client.describe_application_snapshot(
            ApplicationName=name, SnapshotName=snapshot_name)["SnapshotDetails"]["SnapshotStatus"]
        if status == "READY":
            return snapshot_name
        if status == "FAILED":
            raise AppError(f"snapshot {snapshot_name} of {name} failed")
        if waited >= timeout_s:
            raise AppError(f"snapshot {snapshot_name} still {status} after {timeout_s:.0f} s")
        sleep(poll_s)
        waited += poll_s


def start(client: Any, name: str, *, snapshot: str | None = None,
          restore: bool = True) -> str:
    """Start a READY application: from `snapshot`, else the latest one if any, else fresh.

    Returns the restore type used."""
    if snapshot:
        restore_config = {"ApplicationRestoreType": RESTORE_NAMED, "SnapshotName": snapshot}
    elif restore and any(s.status == "READY" for s in snapshots(client, name)):
        restore_config = {"ApplicationRestoreType": RESTORE_LATEST}
    else:
        restore_config = {"ApplicationRestoreType": SKIP_RESTORE}
    client.start_application(ApplicationName=name, RunConfiguration={
        "ApplicationRestoreConfiguration": restore_config,
        # A snapshot the new job graph cannot fully map must stop the start, not drop state.
        "FlinkRunConfiguration": {"AllowNonRestoredState": False},
    })
    return restore_config["ApplicationRestoreType"]


def stop(client: Any, name: str, *, force: bool = False) -> None:
    """Stop; without force MSF takes a snapshot first (snapshots are enabled)."""
    client.stop_application(ApplicationName=name, Force=force)
