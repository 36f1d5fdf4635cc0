"""Fixtures of the job tests (helpers: tests/support/jobs.py)."""

from __future__ import annotations

import psycopg2
import pytest

from ecomflow.local.stack import StackInfo, warehouse_dsn
from tests.support.jobs import LOGS


@pytest.fixture
def warehouse(stack: StackInfo) -> str:
    dsn = warehouse_dsn(stack)
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(f"TRUNCATE {', '.join(LOGS)}")
    return dsn
