"""Text the warehouse can store: the contract's limits (flink_jobs/contract/v1/text_limits.json)
are the widths of the VARCHAR columns the text lands in, in UTF-8 bytes, because Amazon Redshift
counts a VARCHAR's length in bytes. Derived here from the warehouse DDL, so the two cannot drift;
and held by the Python contract and the job's Java check alike."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ecomflow import paths
from flink_jobs.contract import CONTRACT_VERSION, text_limits, validate
from tests.support.java_probe import JavaProbe, contract_request

LIMITS_FILE = (Path(__file__).resolve().parents[2] / "flink_jobs" / "contract"
               / CONTRACT_VERSION / "text_limits.json")
VALID = {"event_type": "page_view", "timestamp": "2025-07-16T10:30:00Z", "user_id": "u",
         "page_url": "/"}


def varchar_widths() -> dict[str, int]:
    """table.column -> n of its VARCHAR(n), after every migration in order."""
    widths: dict[str, int] = {}
    for path in sorted((paths.SQL_DIR / "warehouse").glob("V*.sql")):
        sql = re.sub(r"--[^\n]*", "", path.read_text(encoding="utf-8"))
        for table, body in re.findall(
                r"CREATE TABLE(?: IF NOT EXISTS)?\s+(\w+)\s*\((.*?)\)\s*;", sql, re.S | re.I):
            for column, width in re.findall(r"^\s*(\w+)\s+VARCHAR\((\d+)\)", body, re.M | re.I):
                widths[f"{table}.{column}"] = int(width)
        for table, column, width in re.findall(
                r"ALTER TABLE\s+(\w+)\s+(?:ADD COLUMN|ALTER COLUMN)\s+(\w+)\s+(?:TYPE\s+)?"
                r"VARCHAR\((\d+)\)", sql, re.I):
            widths[f"{table}.{column}"] = int(width)
    return widths


def test_every_limit_is_the_width_of_its_columns() -> None:
    widths = varchar_widths()
    fields = json.loads(LIMITS_FILE.read_text(encoding="utf-8"))["fields"]
    assert set(fields) == set(text_limits())
    for name, spec in fields.items():
        assert spec["columns"], name
        for column in spec["columns"]:
            assert column in widths, f"{name}: {column} is no VARCHAR column of the warehouse"
        # the narrowest column the text lands in
        assert spec["utf8_bytes"] == min(widths[c] for c in spec["columns"]), name


def cases() -> list[tuple[str, dict, str | None]]:
    """(field, record, expected reason): at the limit in two-byte characters, one byte over."""
    out = []
    for name, limit in text_limits().items():
        fits = "é" * (limit // 2) + "a" * (limit % 2)
        over = fits + "a"
        for text, reason in ((fits, None), (over, "out_of_range")):
            # under a name the schemas do not type: only the byte limit can reject it
            out.append((name, {**VALID, "extra": {name: text}}, reason))
    return out


@pytest.mark.parametrize("name, record, reason", cases(),
                         ids=[f"{c[0]}-{c[2] or 'fits'}" for c in cases()])
def test_the_contract_counts_bytes(name: str, record: dict, reason: str | None) -> None:
    issues = validate(record)
    assert [(i.reason, i.field) for i in issues] == (
        [] if reason is None else [(reason, f"extra.{name}")])


def test_the_jobs_check_counts_bytes_too() -> None:
    """256 'é' in a product_id: 512 bytes, accepted by PostgreSQL's VARCHAR(256) but not by
    Redshift's: the job dead-letters it instead of failing the insert forever."""
    product = {"event_type": "product_view", "timestamp": "2025-07-16T10:30:00Z",
               "user_id": "u", "product_id": "é" * 256}
    records = [record for _, record, _ in cases()] + [product]
    with JavaProbe("contract") as probe:
        answers = list(probe.ask_many(contract_request(
            json.dumps(r, ensure_ascii=False).encode(), max_bytes=1_000_000,
            now_ms=1_800_000_000_000, max_future_s=300) for r in records))
    expected = [(reason, None if reason is None else f"extra.{name}")
                for name, _, reason in cases()] + [("out_of_range", "product_id")]
    assert [(a["reason"], a["field"]) for a in answers] == expected
    assert validate(product)[0].reason == "out_of_range"
