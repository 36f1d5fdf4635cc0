"""The zip MSF deploys: the entry file at the root, one folder of Python, the one uber-jar.

    main.py                      <- flink_jobs/msf_main.py (run option `python`)
    python/                      run option `pyFiles`: the one folder on Python's path
      flink_jobs/                the job's plumbing (not its Python reference contract)
      sql/                       every statement the job runs (found beside flink_jobs/)
      boto3/ botocore/ ...       what flink_jobs.secrets needs to read Secrets Manager
    lib/ecomflow-connectors.jar  the uber-jar (run option `jarfile`)

MSF puts each `pyFiles` entry itself on Python's path, so it names one folder that CONTAINS
the packages: listing `flink_jobs/` would make its modules top-level names (its `secrets.py`
would hide the standard library's). Per record only JVM code runs, so nothing else is needed:
not `udfs/` (Python references for the tests), not the contract's Python validators.

MSF cannot pip install at start-up and nothing says its Python has boto3, so boto3 and its
dependencies are copied from the distributions installed here (importlib.metadata: the exact
versions the tests ran with): their importable code and licence files, and of botocore's
service models only the files a Secrets Manager client loads. Tooling (this package, tests,
infra) and its data (exchange rates: the job reads them from S3 on AWS) stay out.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path, PurePosixPath

from ecomflow import paths
from ecomflow.errors import EcomflowError

JAR_IN_ZIP = "lib/ecomflow-connectors.jar"
PYTHON_DIR = "python"
# Python the job never imports on its way to submitting the plan (see the docstring).
LEFT_OUT = ("flink_jobs/contract/",)


@dataclass(frozen=True)
class Vendored:
    """One installed distribution copied into the zip: its top-level packages' code."""

    distribution: str
    packages: tuple[str, ...]
    # Data files (paths relative to site-packages) the code loads at run time.
    data: frozenset[str] = frozenset()


# boto3.client("secretsmanager") and what it imports. botocore's data holds a model for every
# AWS service (29 MB); a client needs only the shared endpoint, partition, retry and default
# configuration files and its own service's model. cacert.pem: TLS without certifi.
_BOTOCORE_DATA = frozenset({
    "botocore/cacert.pem",
    "botocore/data/_retry.json",
    "botocore/data/endpoints.json",
    "botocore/data/partitions.json",
    "botocore/data/sdk-default-configuration.json",
})
SECRETS_MANAGER_MODEL = "botocore/data/secretsmanager/"
VENDORED = (
    Vendored("boto3", ("boto3",)),
    Vendored("botocore", ("botocore",), data=_BOTOCORE_DATA),
    Vendored("s3transfer", ("s3transfer",)),
    Vendored("jmespath", ("jmespath",)),
    Vendored("python-dateutil", ("dateutil",)),
    Vendored("six", ("six",)),
    Vendored("urllib3", ("urllib3",)),
)
_CODE_SUFFIXES = (".py",)
_CODE_NAMES = ("py.typed",)
_LICENSE_PREFIXES = ("LICENSE", "LICENCE", "COPYING", "NOTICE", "AUTHORS")


class PackageError(EcomflowError, RuntimeError):
    pass


# The property group MSF reads the zip's entry point from (the CDK app and `run --package`).
RUN_OPTIONS_GROUP = "kinesis.analytics.flink.run.options"


def run_options() -> dict[str, str]:
    """The RUN_OPTIONS_GROUP property group for this zip."""
    return {"python": "main.py", "jarfile": JAR_IN_ZIP, "pyFiles": f"{PYTHON_DIR}/"}


def _vendored_file(vendored: Vendored, file: PurePosixPath) -> bool:
    parts = file.parts
    if not parts or parts[0] == ".." or "__pycache__" in parts:
        return False
    if parts[0].endswith(".dist-info"):
        return file.name.upper().startswith(_LICENSE_PREFIXES)
    if str(file) in vendored.data or str(file).startswith(SECRETS_MANAGER_MODEL):
        return True
    # A package folder, or a single-module distribution (six.py).
    if parts[0] not in vendored.packages and file.name not in (
            f"{p}.py" for p in vendored.packages):
        return False
    if any(part in ("tests", "test", "data") for part in parts[1:-1]):
        return False
    if file.name == "__main__.py":
        return False
    return file.suffix in _CODE_SUFFIXES or file.name in _CODE_NAMES


def vendored_files() -> list[tuple[Path, str]]:
    """(installed file, name in the zip) for every vendored distribution, sorted."""
    files: list[tuple[Path, str]] = []
    for vendored in VENDORED:
        try:
            distribution = metadata.distribution(vendored.distribution)
        except metadata.PackageNotFoundError:
            raise PackageError(
                f"{vendored.distribution} is not installed here; the MSF zip ships it "
                f"(pip install -e '.[dev]')") from None
        chosen = []
        for file in distribution.files or ():
            relative = PurePosixPath(str(file))
            if _vendored_file(vendored, relative):
                chosen.append((Path(str(distribution.locate_file(file))),
                               f"{PYTHON_DIR}/{relative}"))
        names = {name for _, name in chosen}
        missing = [p for p in vendored.packages
                   if f"{PYTHON_DIR}/{p}/__init__.py" not in names
                   and f"{PYTHON_DIR}/{p}.py" not in names]
        if missing:
            raise PackageError(f"{vendored.distribution} installs no {', '.join(missing)}")
        files.extend(sorted(chosen, key=lambda pair: pair[1]))
    return files


def _source_files() -> list[tuple[Path, str]]:
    files = [(paths.REPO_ROOT / "flink_jobs" / "msf_main.py", "main.py")]
    for path in sorted((paths.REPO_ROOT / "flink_jobs").rglob("*")):
        name = str(path.relative_to(paths.REPO_ROOT))
        if (path.is_file() and "__pycache__" not in path.parts
                and path.suffix in (".py", ".json") and not name.startswith(LEFT_OUT)):
            files.append((path, f"{PYTHON_DIR}/{name}"))
    for path in sorted(paths.SQL_DIR.rglob("*.sql")):
        files.append((path, f"{PYTHON_DIR}/{path.relative_to(paths.REPO_ROOT)}"))
    files.extend(vendored_files())
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
