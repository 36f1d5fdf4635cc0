"""The zip MSF deploys: code at the root, SQL beside it, the one uber-jar under lib/.

    main.py                      <- flink_jobs/msf_main.py (run option `python`)
    flink_jobs/ udfs/            Python packages (run option `pyFiles`)
    lib/python/                  the pure-Python libraries the UDFs import (run option `pyFiles`)
    sql/                         every statement the job runs
    lib/ecomflow-connectors.jar  the uber-jar (run option `jarfile`)

MSF cannot pip install at start-up, so the libraries the UDFs need are copied from the
distributions installed here (importlib.metadata: the exact versions the tests ran with) into
lib/python/, a directory Flink puts on the Python workers' and the client's PYTHONPATH. Only
their importable code and licence files go in: no __pycache__, tests, command-line entry points
or other .dist-info files. Tooling (this package, tests, infra) and its data (exchange rates:
the job reads them from S3 on AWS) stay out.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path, PurePosixPath

from ecomflow import paths

JAR_IN_ZIP = "lib/ecomflow-connectors.jar"
PACKAGES = ("flink_jobs", "udfs")
VENDOR_DIR = "lib/python"


@dataclass(frozen=True)
class Vendored:
    """One installed distribution copied into the zip: its top-level packages' code."""

    distribution: str
    packages: tuple[str, ...]
    # Package files the job never imports (paths relative to site-packages).
    exclude: frozenset[str] = frozenset()


# What udfs/ and flink_jobs/contract import at run time, and what those import in turn:
# - fastjsonschema (the contract's validators; pure Python, no dependencies);
# - ua_parser, which loads its rules lazily from ua_parser_builtins: `matchers` by default,
#   `lazy` when a faster regex engine (re2, ua-parser-rs) is importable. `regexes` only feeds
#   the deprecated `ua_parser.user_agent_parser` API, which udfs/user_agent.py does not use.
#   ua_parser's optional extras (PyYAML, google-re2, ua-parser-rs) are not needed.
VENDORED = (
    Vendored("fastjsonschema", ("fastjsonschema",)),
    Vendored("ua-parser", ("ua_parser",)),
    Vendored("ua-parser-builtins", ("ua_parser_builtins",),
             exclude=frozenset({"ua_parser_builtins/regexes.py"})),
)
_CODE_SUFFIXES = (".py",)
_CODE_NAMES = ("py.typed",)
_LICENSE_PREFIXES = ("LICENSE", "LICENCE", "COPYING", "NOTICE", "AUTHORS")


class PackageError(RuntimeError):
    pass


def run_options() -> dict[str, str]:
    """The `kinesis.analytics.flink.run.options` property group for this zip."""
    return {"python": "main.py", "jarfile": JAR_IN_ZIP, "pyFiles": ",".join(
        (*(f"{p}/" for p in PACKAGES), f"{VENDOR_DIR}/"))}


def _vendored_file(vendored: Vendored, file: PurePosixPath) -> bool:
    parts = file.parts
    if not parts or parts[0] == ".." or "__pycache__" in parts:
        return False
    if parts[0].endswith(".dist-info"):
        return file.name.upper().startswith(_LICENSE_PREFIXES)
    if parts[0] not in vendored.packages or str(file) in vendored.exclude:
        return False
    if any(part in ("tests", "test") for part in parts[1:-1]) or file.name == "__main__.py":
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
                               f"{VENDOR_DIR}/{relative}"))
        missing = [p for p in vendored.packages
                   if not any(name == f"{VENDOR_DIR}/{p}/__init__.py" for _, name in chosen)]
        if missing:
            raise PackageError(
                f"{vendored.distribution} installs no {', '.join(missing)}/__init__.py")
        files.extend(sorted(chosen, key=lambda pair: pair[1]))
    return files


def _source_files() -> list[tuple[Path, str]]:
    files = [(paths.REPO_ROOT / "flink_jobs" / "msf_main.py", "main.py")]
    for package in PACKAGES:
        for path in sorted((paths.REPO_ROOT / package).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix in (
                    ".py", ".json"):
                files.append((path, str(path.relative_to(paths.REPO_ROOT))))
    for path in sorted(paths.SQL_DIR.rglob("*.sql")):
        files.append((path, str(path.relative_to(paths.REPO_ROOT))))
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
