"""Shared fixtures: no test depends on the developer's shell; one local stack per session."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from _pytest.mark import deselect_by_keyword, deselect_by_mark  # pytest's -k / -m, pinned <9

from ecomflow.local import stack as local_stack
from ecomflow.local.stack import StackConfig, StackInfo

# Every JVM the tests start through PyFlink (the mini-cluster of a job run, in this process or
# in a CLI run it starts, and the plans and Java helpers) compiles with C1 only. A test job
# reads a few thousand records: C2's optimising compilations would take more CPU than they
# save (in a profile of a 200,000-event run, C2's threads used twice the CPU of the busiest
# task), and the suite runs on two cores. Behaviour is the same; a developer's own JVM_ARGS win.
os.environ.setdefault("JVM_ARGS", "-XX:TieredStopAtLevel=1")


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item], config: pytest.Config) -> None:
    """Under `pytest -n 2 --dist loadgroup` (scripts/dev test): every test that runs Flink goes
    to the same worker, one after the other (never two jobs at once on this machine). The Flink
    tests are the suite's critical path, so when they run, everything else goes to the other
    worker as one group (anything the Flink worker ran beside them would only make the run
    longer), the tests that only plan the job (marked planner) included; without them (`--fast`)
    the rest is shared out a module at a time (module fixtures are built once), the CDK tests as
    one group (they share one synthesis). Each worker has its own local stack."""
    # Whether Flink tests run is decided by -m / -k, which pytest applies after this hook:
    # apply pytest's own deselection first (a second pass finds nothing left to remove), or
    # `--fast` (-m "not flink ...") would put everything on one worker.
    deselect_by_keyword(items, config)
    deselect_by_mark(items, config)
    with_flink = any(item.get_closest_marker("flink") for item in items)
    for item in items:
        if item.get_closest_marker("flink"):
            group = "flink"
        elif with_flink:
            group = "rest"
        elif item.nodeid.startswith("tests/infra/"):
            group = "infra"
        else:
            group = item.nodeid.split("::", 1)[0]
        item.add_marker(pytest.mark.xdist_group(group))
    if not with_flink:
        # scripts/dev runs xdist with --no-loadscope-reorder: it hands the groups out in
        # collection order, each to a worker with at most two tests left. The longest go first,
        # or one of them comes last while the other worker idles (its own order, by number of
        # tests, put the throttling and load tests at the end: --fast took 3:08 to 3:16).
        items.sort(key=_longest_first)


# The groups of --fast that take longest (seconds, `--durations=0` on 2026-12-07), in order. Only
# the order of the run depends on this list: a module missing from it runs after these.
LONGEST_FIRST = (
    "tests/infra/",  # 58: three synths, cfn-lint, cdk-nag
    "tests/udfs/test_contract_properties.py",  # 36
    "tests/ecomflow/test_throttling.py",  # 33, mostly waiting on the shard's budget
    "tests/ecomflow/test_collect.py",  # 24
    "tests/ecomflow/test_producer.py",  # 21
    "tests/udfs/test_contract_parity.py",  # 20
    "tests/ecomflow/test_replay.py",  # 14
    "tests/ecomflow/test_collect_load.py",  # 12
    "tests/ecomflow/test_local_stack.py",  # 12
)


def _longest_first(item: pytest.Item) -> int:
    return next((rank for rank, prefix in enumerate(LONGEST_FIRST)
                 if item.nodeid.startswith(prefix)), len(LONGEST_FIRST))


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """Refuse to run Flink tests on two workers at once: xdist must have grouped them."""
    if session.config.getoption("loadgroup", default=False):
        stray = [item.nodeid for item in session.items
                 if item.get_closest_marker("flink") and not item.nodeid.endswith("@flink")]
        if stray:
            raise pytest.UsageError(
                f"pytest-xdist did not group the Flink tests ({stray[0]}, ...): two jobs "
                "could run at once. Check the pytest / pytest-xdist versions in pyproject.")


@pytest.fixture(scope="session", autouse=True)
def _flink_classpath(tmp_path_factory: pytest.TempPathFactory) -> None:
    """PyFlink's JVM starts once per process, with the classpath it finds then: put the
    uber-jar on it before any test (in any order, on any worker) starts it, as the job's own
    runner does. CLI runs started by the tests inherit the same set-up."""
    from ecomflow.run import runner
    try:
        jars = runner.require_jars()
    except runner.RunError:
        return  # no jar built: the tests that need it say so themselves
    runner.prepare_jvm(jars, tmp_path_factory.mktemp("jvm") / "logs")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("ECOMFLOW"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def stack() -> Iterator[StackInfo]:
    """A real local stack (kinesis-mock, moto S3, PostgreSQL) on free loopback ports."""
    with local_stack.temporary_home() as home:
        with local_stack.running_stack(StackConfig.on_free_ports(home)) as info:
            yield info
