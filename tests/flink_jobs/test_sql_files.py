from __future__ import annotations

import re

import pytest

from flink_jobs.events_job import (
    INSERTS,
    JAVA_STEPS,
    Barrier,
    JavaCleanStream,
    rendered_statements,
    statement_files,
)
from flink_jobs.graph import SINKS, WAREHOUSE_LOGS, WAREHOUSE_VIEWS, statement_order
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
        for item in statement_files(settings())]
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
    lake_sink = dict(statements)["snk_lake__events"]
    assert "'connector' = 'iceberg'" in lake_sink and "'catalog-table' = 'events'" in lake_sink


def test_blackhole_sinks_replace_every_sink_connector() -> None:
    statements = dict(rendered_statements(settings(), blackhole_sinks=True))
    statements = {name: sql for name, sql in statements.items()
                  if not name.startswith(("barrier", "java:"))}
    sinks = [name for name in statements if name.startswith("snk_")]
    # Every sink of the registry, and row declarations other sinks are declared LIKE
    # (snk_row__*: never written to, their connector always discards).
    assert {name for name in sinks if not name.startswith("snk_row__")} == {
        sink.sink_file for sink in SINKS}
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
        stem = path.stem
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
    bound = [name for name in aws if name.startswith(("src_", "snk_"))
             and not name.startswith("snk_row__")]
    assert len(bound) == len(INSERTS) + 2  # every sink, the stream and the FX rates
    for name in aws:
        if name not in bound:
            assert aws[name] == here[name], name


def test_funnels_file_becomes_the_operator_spec(tmp_path) -> None:  # noqa: ANN001
    from flink_jobs.events_job import funnel_specs
    from flink_jobs.property_keys import DEFAULT_FUNNELS

    assert funnel_specs(str(DEFAULT_FUNNELS)) == (
        "purchase_path|sequential|60|page_view,product_view,add_to_cart,purchase;"
        "direct_buy|strict|30|product_view,add_to_cart,purchase")
    bad = tmp_path / "funnels.json"
    bad.write_text('{"funnels": [{"name": "x", "steps": ["a"], "order": "any", '
                   '"conversion_window_minutes": 5}]}')
    with pytest.raises(ValueError, match="sequential or strict"):
        funnel_specs(str(bad))


def test_statements_come_after_what_they_read() -> None:
    """The declaration order is derived (flink_jobs/graph.py): every file and Java step comes
    after each relation it reads, every file of the stage folders is declared once, and a
    switched-off source leaves the step that reads it in place."""
    order = statement_files(settings())
    rendered = dict(rendered_statements(settings()))
    names = [item.target if isinstance(item, Barrier | JavaCleanStream) else item
             for item in order]
    assert len(names) == len(set(names))
    files = {path.stem for path in SQL_DIR.glob("[0-9][0-9]_*/*.sql")
             if not path.parent.name.startswith(("60_", "90_"))}
    assert files <= set(names)
    for position, item in enumerate(order):
        if isinstance(item, Barrier | JavaCleanStream):
            reads = set(item.spec.reads)
        elif item in files:
            body = "\n".join(line.split("--", 1)[0] for line in rendered[item].splitlines())
            reads = {name for name in names if re.search(rf"\b{name}\b", body)} - {item}
        else:
            continue
        assert reads <= set(names[:position]), (item, reads - set(names[:position]))
    without_fx = JobSettings.from_property_groups({
        "KinesisSource": {"stream.name": "events", "aws.region": "us-east-1"},
        "Lake": {"url": "s3://lake"}, "Warehouse": {"jdbc.url": "jdbc:postgresql://h/db"},
        "CleanStream": {"enrich.fx": "false"}, "Privacy": {"hash.key": "k"}}, local=False)
    off = statement_files(without_fx)
    assert "src_reference__fx_rates" not in off and JAVA_STEPS[0] in off


def test_a_cycle_in_sql_is_reported(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    from flink_jobs import graph

    for stage in graph.DECLARING_STAGES:
        (tmp_path / stage).mkdir()
    for name, other in (("a", "b"), ("b", "a")):
        (tmp_path / "30_intermediate" / f"{name}.sql").write_text(
            f"CREATE TEMPORARY VIEW {name} AS SELECT * FROM {other}")
    monkeypatch.setattr(graph, "SQL_DIR", tmp_path)
    with pytest.raises(ValueError, match=r"cycle: \['a', 'b'\]"):
        statement_order(())


def test_every_sink_has_its_files_and_its_warehouse_relations() -> None:
    """One entry per output (flink_jobs/graph.py): its sink and insert files exist, the sink
    file takes its options from the entry's placeholder, and every warehouse log and view is
    created by a migration."""
    migrations = "\n".join(path.read_text() for path in (SQL_DIR / "warehouse").glob("V*.sql"))
    for sink in SINKS:
        sink_sql = (SQL_DIR / "50_sinks" / f"{sink.sink_file}.sql").read_text()
        assert "${" + sink.placeholder + "}" in sink_sql, sink.name
        assert (SQL_DIR / "60_inserts" / f"{sink.insert_file}.sql").exists(), sink.name
    assert INSERTS == tuple(sink.insert_file for sink in SINKS)
    for log in WAREHOUSE_LOGS:
        assert re.search(rf"CREATE TABLE (IF NOT EXISTS )?{log}\b", migrations), log
    for view in WAREHOUSE_VIEWS:
        assert re.search(rf"CREATE (OR REPLACE )?VIEW {view}\b", migrations), view
    inserts = {path.stem for path in (SQL_DIR / "60_inserts").glob("*.sql")}
    assert inserts == set(INSERTS), "an insert file without its entry in SINKS"


def test_one_output_one_stem_from_mart_to_view() -> None:
    """An output keeps one name through its layers: the marts its insert reads are
    agg_<...><stem>, its files snk_/ins_<kind>__<stem>, its log <stem>_log and its view <stem>
    (rfm's view is rfm_scores, the design's name)."""
    marts = {path.stem for path in (SQL_DIR / "40_marts").glob("*.sql")}
    reading_marts = 0
    for sink in SINKS:
        stem = sink.name.split("__", 1)[1]
        insert = (SQL_DIR / "60_inserts" / f"{sink.insert_file}.sql").read_text()
        read = {word for word in re.findall(r"\b\w+\b", insert) if word in marts}
        assert all(mart.startswith("agg_") and mart.endswith(stem) for mart in read), (
            sink.name, read)
        reading_marts += bool(read)
    assert reading_marts >= 10  # the others read intermediate views directly
    named = {sink.name.split("__", 1)[1]: sink for sink in SINKS if sink.kind == "warehouse"}
    assert {stem: (s.target, s.view) for stem, s in named.items()
            if (s.target, s.view) != (f"{stem}_log", stem)} == {"rfm": ("rfm_log", "rfm_scores")}
