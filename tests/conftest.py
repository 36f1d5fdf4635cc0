"""Shared fixtures: no test depends on the developer's shell; one local stack per session."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from ecomflow import local_stack
from ecomflow.local_stack import StackConfig, StackInfo


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
