"""Where a local stream run can resume from: the newest retained checkpoint or savepoint.

Flink keeps the latest completed checkpoint of a job that failed or was killed
(`RETAIN_ON_CANCELLATION`), as `<checkpoint dir>/<job id>/chk-<n>/_metadata`; a stream run
stopped on purpose leaves a savepoint in `<savepoint dir>/savepoint-*/`. A checkpoint or
savepoint is complete only once its `_metadata` file exists: a directory without one was being
written when the process died, and is skipped.

A savepoint taken while draining (the default stop, which fires every open window so that the
results are complete) must not be resumed: its windows have been emitted already, and events
still to come for them would emit them again, incomplete, replacing the full rows. Such
savepoints carry a marker file and `latest()` refuses them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ecomflow.errors import EcomflowError

DRAINED_MARKER = "ECOMFLOW_DRAINED"


class NothingToResume(EcomflowError, RuntimeError):
    """No usable restore point; the message says why and what to do."""


@dataclass(frozen=True)
class RestorePoint:
    path: Path
    kind: str  # "checkpoint" or "savepoint"
    drained: bool = False

    @property
    def modified(self) -> float:
        return (self.path / "_metadata").stat().st_mtime


def candidates(checkpoint_dir: Path | None, savepoint_dir: Path | None) -> list[RestorePoint]:
    """Every complete checkpoint and savepoint, oldest first."""
    found: list[RestorePoint] = []
    if checkpoint_dir is not None and checkpoint_dir.is_dir():
        found += [RestorePoint(meta.parent, "checkpoint")
                  for meta in checkpoint_dir.glob("*/chk-*/_metadata")]
    if savepoint_dir is not None and savepoint_dir.is_dir():
        found += [RestorePoint(meta.parent, "savepoint",
                               drained=(meta.parent / DRAINED_MARKER).exists())
                  for meta in savepoint_dir.glob("savepoint-*/_metadata")]
    return sorted(found, key=lambda point: point.modified)


def latest(checkpoint_dir: Path | None, savepoint_dir: Path | None) -> RestorePoint | None:
    """The newest restore point, None if there is none, or NothingToResume if it was drained."""
    found = candidates(checkpoint_dir, savepoint_dir)
    if not found:
        return None
    newest = found[-1]
    if newest.drained:
        raise NothingToResume(
            f"the last run ended with a draining stop ({newest.path}): every window was "
            "emitted, so its state cannot continue. Start a new run instead, or stop runs "
            "with --keep-state to be able to resume them")
    return newest


def mark_drained(savepoint: str) -> None:
    """Label a savepoint taken with drain (`savepoint` as Flink returns it: a path or URI)."""
    path = Path(savepoint.removeprefix("file:"))
    if path.is_dir():
        (path / DRAINED_MARKER).write_text("taken with --drain: not resumable\n")
