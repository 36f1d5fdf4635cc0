"""The browser SDK's events against the Python contract (no stack, no browser).

``clients/js/e2e/sample-events.mjs`` runs the SDK under Node through every track* call and
argument shape and prints what it would send; each event must pass
``flink_jobs.contract.validate`` (the collector's and the Flink job's check), not only the
Node tests' own reading of the schema files.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from flink_jobs import contract

JS = Path(__file__).resolve().parents[2] / "clients" / "js"


def test_every_sdk_event_is_valid() -> None:
    node = shutil.which("node")
    assert node, "Node.js is needed for the browser SDK's tests (scripts/dev installs it)"
    out = subprocess.run(
        [node, str(JS / "e2e" / "sample-events.mjs")],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    events = [json.loads(line) for line in out.splitlines()]
    assert [e["event_type"] for e in events] == [
        "page_view",
        "page_view",
        "product_view",
        "product_view",
        "product_view",
        "add_to_cart",
        "add_to_cart",
        "purchase",
        "page_view",
        "purchase",
        "purchase",
    ]
    for event in events:
        assert contract.validate(event) == [], event
        assert event["user_id"] and event["session_id"] and event["event_id"]
    assert events[3]["product_id"] == "42"
    assert events[7]["total_amount"] == 25.3
    assert events[9]["customer_id"] == "cust_9" and events[9]["user_id"] == "user_42"
