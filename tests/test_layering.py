"""Who may import whom, checked on every module's imports (the role import-linter would play,
as one test with no extra dependency).

    flink_jobs   the job: imports nothing of this project's tooling, functions or tests
    udfs         the job's Python functions: of the project, only the reference contract
    infra        the CDK app: of the tooling, only the shared names (aws_names) and the
                 package's layout (package.run_options); of the job, only the declared
                 properties (flink_jobs.property_keys, a leaf)
    ecomflow     tooling: never infra, never tests; benchmarks only behind `ecomflow bench`
    tests        no test module imports another (shared code: tests/support, conftest.py)
"""

from __future__ import annotations

import ast
import graphlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from ecomflow import paths

ROOT = paths.REPO_ROOT
PROJECT = ("flink_jobs", "udfs", "ecomflow", "benchmarks", "infra", "ecomflow_infra", "tests")


def _modules(folder: str) -> Iterator[Path]:
    for path in (ROOT / folder).rglob("*.py"):
        if not {"node_modules", "cdk.out", "__pycache__"} & set(path.parts):
            yield path


def _imports(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from ecomflow import aws_names` imports ecomflow.aws.names: name it so.
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def _within(module: str, allowed: tuple[str, ...]) -> bool:
    return any(module == a or module.startswith(f"{a}.") for a in allowed)


def _project_imports(folder: str) -> set[tuple[str, str]]:
    """(importing file, imported module) for imports of another top-level package."""
    own = {folder, "ecomflow_infra"} if folder == "infra" else {folder}
    return {(str(path.relative_to(ROOT)), module)
            for path in _modules(folder) for module in _imports(path)
            if module.split(".")[0] in PROJECT and module.split(".")[0] not in own}


@pytest.mark.parametrize(("folder", "allowed"), [
    ("flink_jobs", ()),
    ("udfs", ("flink_jobs.contract",)),
    ("infra", ("ecomflow.aws.names", "ecomflow.aws.package", "flink_jobs.property_keys")),
])
def test_the_job_and_the_cdk_app_import_only_what_their_layer_allows(
        folder: str, allowed: tuple[str, ...]) -> None:
    found = _project_imports(folder)
    assert {(f, m) for f, m in found if not _within(m, allowed)} == set()


def test_tooling_imports_neither_infra_nor_tests_and_benchmarks_only_for_bench() -> None:
    found = _project_imports("ecomflow")
    assert {m for _, m in found if m.split(".")[0] in ("infra", "ecomflow_infra", "tests")} == set()
    assert {f for f, m in found if m.startswith("benchmarks")} == {"ecomflow/cli/__init__.py"}


def test_no_test_module_imports_another() -> None:
    offenders = {(str(path.relative_to(ROOT)), module)
                 for path in _modules("tests") for module in _imports(path)
                 if module.split(".")[0] == "tests"
                 and any(part.startswith("test_") for part in module.split(".")[1:])}
    assert offenders == set()


def test_only_the_cli_imports_click() -> None:
    found = {str(path.relative_to(ROOT)) for path in _modules("ecomflow")
             if any(module.split(".")[0] == "click" for module in _imports(path))}
    assert found and all(f.startswith("ecomflow/cli/") for f in found), found


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_no_import_cycle_in_the_tooling() -> None:
    """Counting imports inside functions too: a cycle hidden in a function is still one."""
    modules = {_module_name(path): path for path in _modules("ecomflow")}
    graph = {}
    for name, path in modules.items():
        targets = set()
        for module in _imports(path):
            # `from ecomflow.x import y` names ecomflow.x.y: the module itself, or its parent.
            while module and module not in modules:
                module = module.rpartition(".")[0]
            if module and module != name and module != "ecomflow":
                targets.add(module)
        graph[name] = targets
    graphlib.TopologicalSorter(graph).prepare()  # raises CycleError naming the cycle
