"""Fixtures of the job tests (helpers: tests/support/jobs.py)."""

from __future__ import annotations

import pytest

from ecomflow.local.stack import StackInfo, warehouse_dsn
from tests.support.jobs import truncate_logs


@pytest.fixture
def warehouse(stack: StackInfo) -> str:
    dsn = warehouse_dsn(stack)
    truncate_logs(dsn)
    return dsn
