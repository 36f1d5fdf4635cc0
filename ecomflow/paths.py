"""Where things live: the repository, the local state folder, the built jars."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SQL_DIR = REPO_ROOT / "sql"
WAREHOUSE_DDL_DIR = SQL_DIR / "warehouse"
KINESIS_MOCK_DIR = REPO_ROOT / "tools" / "kinesis-mock"
TARGET_DIR = REPO_ROOT / "target"
UBER_JAR = TARGET_DIR / "ecomflow-connectors-0.1.0.jar"
LOCAL_LIB_DIR = TARGET_DIR / "local-lib"
SAMPLE_EVENTS = Path(__file__).resolve().parent / "data" / "sample_events.jsonl.gz"
FX_RATES = Path(__file__).resolve().parent / "data" / "fx_rates.csv"


def state_home() -> Path:
    """The one git-ignored folder that holds all local state (override with ECOMFLOW_HOME)."""
    return Path(os.environ.get("ECOMFLOW_HOME", REPO_ROOT / ".ecomflow")).resolve()


def shown(path: Path) -> str:
    """A path as users should read it: relative to the repository when inside it."""
    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def missing_jar_message() -> str:
    return (f"connector jar missing ({shown(UBER_JAR)}): build it once with "
            "`mvn -q -B package` in the repository root (needs Java 17 and Maven)")
