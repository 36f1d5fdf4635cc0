from __future__ import annotations

import re

import pytest

from flink_jobs.events_job import DDL, INSERTS, Barrier, JavaCleanStream, rendered_statements
from flink_jobs.settings import JobSettings
from flink_jobs.sql_files import SQL_DIR, SqlFileError, SqlTemplate, load_sql, render_options


def settings() -> JobSettings:
    return JobSettings.from_property_groups({
        "KinesisSource": {"stream.name": "events", "aws.region": "us-east-1"},
        "Lake": {"url": "s3://lake"},
        "Warehouse": {"jdbc.url": "jdbc:postgresql://h/db", "username": "u",
                      "password": "it's"},
        "CleanStream": {"fx.rates.url": "s3://lake/reference/fx_rates.csv"},
        "Privacy": {"hash.key": "k"},
    }, local=False)


def test_only_braced_names_are_placeholders() -> None:
    text = "SELECT JSON_VALUE(p, '$.a'), '$$' FROM t WHERE x = ${X}"
    assert SqlTemplate(text).substitute(X="1") == (
        "SELECT JSON_VALUE(p, '$.a'), '$$' FROM t WHERE x = 1")


def test_missing_placeholder_value_names_file_and_key() -> None:
    with pytest.raises(SqlFileError, match=r"src_stream__raw_events.sql needs a value for \$\{"):
        load_sql("src_stream__raw_events")


def test_unknown_statement_is_reported() -> None:
    with pytest.raises(SqlFileError, match="found none"):
        load_sql("no_such_statement")


def test_render_options_escapes_quotes() -> None:
    assert render_options({"a": "it's", "b": "2"}, indent="") == "'a' = 'it''s',\n'b' = '2'"


def test_every_statement_renders_completely() -> None:
    statements = rendered_statements(settings())
    assert [name for name, _ in statements] == [
        item.name if isinstance(item, Barrier | JavaCleanStream) else item
        for item in (*DDL, *INSERTS)]
    for name, sql in statements:
        assert "${" not in sql, name
    source = dict(statements)["src_stream__raw_events"]
    assert "'connector' = 'kinesis'" in source
    # No event time and no watermark at the source: only records the contract accepts get
    # them, in the clean stream's head (dev.ecomflow.stream.CleanStream).
    assert "payload BYTES" in source and "WATERMARK" not in source
    rates = dict(statements)["src_reference__fx_rates"]
    assert "'path' = 's3://lake/reference/fx_rates.csv'" in rates
    warehouse_sink = dict(statements)["snk_warehouse__event_counts_minute"]
    assert "'password' = 'it''s'" in warehouse_sink
    assert "'table-name' = 'event_counts_minute_log'" in warehouse_sink
    assert "'path' = 's3://lake/events'" in dict(statements)["snk_lake__events"]


def test_blackhole_sinks_replace_every_sink_connector() -> None:
    statements = dict(rendered_statements(settings(), blackhole_sinks=True))
    statements = {name: sql for name, sql in statements.items()
                  if not name.startswith(("barrier", "java:"))}
    sinks = [name for name in statements if name.startswith("snk_")]
    assert len(sinks) == len(INSERTS)
    for name in sinks:
        assert "'connector' = 'blackhole'" in statements[name]
        assert "jdbc" not in statements[name] and "s3://" not in statements[name]
    assert "'connector' = 'kinesis'" in statements["src_stream__raw_events"]


def test_one_statement_per_file_and_file_name_is_object_name() -> None:
    for path in SQL_DIR.glob("[0-9][0-9]_*/*.sql"):
        body = "\n".join(
            line for line in path.read_text().splitlines() if not line.startswith("--"))
        assert body.count(";") == 0, f"{path.name}: one statement, no trailing ';'"
        match = re.search(r"(?:TABLE|VIEW|FUNCTION(?: IF NOT EXISTS)?|INSERT INTO)\s+(\w+)", body)
        assert match, path
        # A switched-off variant (`<name>__off.sql`) defines the same object as `<name>.sql`.
        stem = path.stem.removesuffix("__off")
        expected = stem if not stem.startswith(("ins_", "fn_")) else None
        if expected:
            assert match.group(1) == expected, path.name
        if path.stem.startswith("ins_"):
            assert match.group(1) == "snk_" + path.stem[len("ins_"):], path.name


def test_analytics_do_not_differ_between_environments() -> None:
    local = JobSettings.from_property_groups({
        "FileSource": {"path": "/tmp/x.jsonl"},
        "Lake": {"url": "file:///tmp/lake"},
        "Warehouse": {"jdbc.url": "jdbc:postgresql://127.0.0.1/db"},
        "CleanStream": {"fx.rates.url": "file:///tmp/fx_rates.csv"},
        "Privacy": {"hash.key": "k"},
    }, local=True)
    aws = dict(rendered_statements(settings()))
    here = dict(rendered_statements(local))
    bound = [name for name in aws if name.startswith(("src_", "snk_"))]
    assert len(bound) == len(INSERTS) + 2  # every sink, the stream and the FX rates
    for name in aws:
        if name not in bound:
            assert aws[name] == here[name], name


def test_funnels_file_becomes_the_operator_spec(tmp_path) -> None:  # noqa: ANN001
    from flink_jobs.events_job import funnel_specs
    from flink_jobs.settings import DEFAULT_FUNNELS

    assert funnel_specs(str(DEFAULT_FUNNELS)) == (
        "purchase_path|sequential|60|page_view,product_view,add_to_cart,purchase;"
        "direct_buy|strict|30|product_view,add_to_cart,purchase")
    bad = tmp_path / "funnels.json"
    bad.write_text('{"funnels": [{"name": "x", "steps": ["a"], "order": "any", '
                   '"conversion_window_minutes": 5}]}')
    with pytest.raises(ValueError, match="sequential or strict"):
        funnel_specs(str(bad))
