"""The zip MSF deploys: code at the root, SQL beside it, the one uber-jar under lib/.

    main.py                      <- flink_jobs/msf_main.py (run option `python`)
    flink_jobs/ udfs/            Python packages (run option `pyFiles`)
    sql/                         every statement the job runs
    lib/ecomflow-connectors.jar  the uber-jar (run option `jarfile`)

Tooling (this package, tests, infra) stays out.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from ecomflow import paths

JAR_IN_ZIP = "lib/ecomflow-connectors.jar"
PACKAGES = ("flink_jobs", "udfs")


class PackageError(RuntimeError):
    pass


def run_options() -> dict[str, str]:
    """The `kinesis.analytics.flink.run.options` property group for this zip."""
    return {"python": "main.py", "jarfile": JAR_IN_ZIP, "pyFiles": ",".join(
        f"{p}/" for p in PACKAGES)}


def _source_files() -> list[tuple[Path, str]]:
    files = [(paths.REPO_ROOT / "flink_jobs" / "msf_main.py", "main.py")]
    for package in PACKAGES:
        for path in sorted((paths.REPO_ROOT / package).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix in (
                    ".py", ".json"):
                files.append((path, str(path.relative_to(paths.REPO_ROOT))))
    for path in sorted(paths.SQL_DIR.rglob("*.sql")):
        files.append((path, str(path.relative_to(paths.REPO_ROOT))))
    return files


def build_zip(out: Path) -> Path:
    if not paths.UBER_JAR.is_file():
        raise PackageError(paths.missing_jar_message())
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, name in _source_files():
            archive.write(path, name)
        # The jar is already compressed; storing it keeps packaging fast.
        archive.write(paths.UBER_JAR, JAR_IN_ZIP, compress_type=zipfile.ZIP_STORED)
    return out
