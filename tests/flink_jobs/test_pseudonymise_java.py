"""The job's Java `pseudonymise` against the Python reference (ecomflow.privacy), called through
Flink SQL exactly as the job calls it: the same payloads must give the same JSON (compared
parsed: the two JSON writers escape some characters differently), NULL for the same ones."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from ecomflow import runner
from ecomflow.privacy import hash_id, pseudonymise
from flink_jobs.privacy_rules import PrivacyRules
from flink_jobs.sql_files import load_sql
from tests.privacy_cases import KEY, PAYLOADS

pytestmark = pytest.mark.flink


@pytest.fixture(scope="module")
def t_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    runner.prepare_jvm(runner.require_jars(), tmp_path_factory.mktemp("logs"))
    from pyflink.table import EnvironmentSettings, TableEnvironment

    env = TableEnvironment.create(EnvironmentSettings.in_batch_mode())
    env.get_config().set("parallelism.default", "1")
    env.execute_sql(load_sql("fn_pseudonymise"))
    yield env


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def java(t_env, payloads: list[str], key: str, spec: str) -> list[str | None]:  # noqa: ANN001
    # One row per payload with its position, so the order of the answer does not matter.
    values = ", ".join(f"({i}, {_literal(p)})" for i, p in enumerate(payloads))
    sql = (f"SELECT i, pseudonymise(payload, {_literal(key)}, {_literal(spec)}) "
           f"FROM (VALUES {values}) AS v(i, payload)")
    with t_env.execute_sql(sql).collect() as rows:
        got = {row[0]: row[1] for row in rows}
    return [got[i] for i in range(len(payloads))]


def parsed(text: str | None) -> object:
    return None if text is None else json.loads(text)


@pytest.mark.parametrize("rules", [
    PrivacyRules(),
    PrivacyRules(hash_fields=("user_id", "session_id"), region_fields=("postal_code", "city"),
                 region_chars=3, url_fields=("page_url",), strip_params=("step", "A")),
    PrivacyRules(hash_fields=(), region_fields=(), url_fields=(), strip_params=()),
], ids=["defaults", "custom", "nothing"])
def test_java_matches_the_python_reference(t_env, rules: PrivacyRules) -> None:  # noqa: ANN001
    expected = [pseudonymise(p, rules, KEY) for p in PAYLOADS]
    got = java(t_env, PAYLOADS, KEY, rules.spec())
    mismatches = [(p, e, g) for p, e, g in zip(PAYLOADS, expected, got, strict=True)
                  if parsed(e) != parsed(g)]
    assert mismatches == []
    # Not vacuous: the design's page view's user id was replaced (or kept, with no rules).
    assert (hash_id(KEY, "user_12345") in got[0]) == ("user_id" in rules.hash_fields)


def test_another_key_gives_other_hashes(t_env) -> None:  # noqa: ANN001
    payload = '{"user_id":"u1"}'
    spec = PrivacyRules().spec()
    first, second = java(t_env, [payload], KEY, spec), java(t_env, [payload], "other", spec)
    assert parsed(first[0]) == parsed(pseudonymise(payload, PrivacyRules(), KEY))
    assert parsed(second[0]) == parsed(pseudonymise(payload, PrivacyRules(), "other"))
    assert first != second
