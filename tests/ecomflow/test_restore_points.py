"""`ecomflow run --resume` picks the newest complete checkpoint or resumable savepoint."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ecomflow.run import restore_points
from ecomflow.run.restore_points import NothingToResume


def _point(folder: Path, mtime: float, *, complete: bool = True) -> Path:
    folder.mkdir(parents=True)
    if complete:
        (folder / "_metadata").write_bytes(b"meta")
        os.utime(folder / "_metadata", (mtime, mtime))
    return folder


def test_newest_complete_checkpoint_of_any_job_wins(tmp_path: Path) -> None:
    checkpoints, savepoints = tmp_path / "checkpoints", tmp_path / "savepoints"
    _point(checkpoints / "job-a" / "chk-7", 100)
    newest = _point(checkpoints / "job-b" / "chk-3", 300)
    _point(checkpoints / "job-b" / "chk-4", 400, complete=False)  # killed while writing it
    _point(savepoints / "savepoint-aa-1", 200)
    point = restore_points.latest(checkpoints, savepoints)
    assert point is not None and (point.path, point.kind) == (newest, "checkpoint")


def test_a_kept_state_savepoint_newer_than_the_checkpoints_wins(tmp_path: Path) -> None:
    _point(tmp_path / "checkpoints" / "job-a" / "chk-7", 100)
    savepoint = _point(tmp_path / "savepoints" / "savepoint-aa-1", 200)
    point = restore_points.latest(tmp_path / "checkpoints", tmp_path / "savepoints")
    assert point is not None and (point.path, point.kind) == (savepoint, "savepoint")


def test_a_drained_savepoint_is_refused_with_a_reason(tmp_path: Path) -> None:
    _point(tmp_path / "checkpoints" / "job-a" / "chk-7", 100)
    savepoint = _point(tmp_path / "savepoints" / "savepoint-aa-1", 200)
    restore_points.mark_drained("file:" + str(savepoint))
    with pytest.raises(NothingToResume, match="draining stop"):
        restore_points.latest(tmp_path / "checkpoints", tmp_path / "savepoints")


def test_nothing_to_resume_is_none(tmp_path: Path) -> None:
    assert restore_points.latest(tmp_path / "missing", None) is None
    _point(tmp_path / "checkpoints" / "job-a" / "chk-1", 100, complete=False)
    assert restore_points.latest(tmp_path / "checkpoints", tmp_path / "savepoints") is None
