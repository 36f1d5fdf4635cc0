"""ecomflow.synth.traffic: the manifest is exact ground truth, checked against an independent
recount.

The recount below parses every line with its own rules (it does not use the generator's
helpers), so a manifest that drifts from the file fails here.
"""

from __future__ import annotations

import gzip
import json
import math
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ecomflow.cli.generate import generate_command
from ecomflow.synth.encoding import dumps
from ecomflow.synth.faults import dead_letter_reason
from ecomflow.synth.generate import DEFAULT_START, generate_events, generate_products
from ecomflow.synth.manifest import manifest_path
from ecomflow.synth.spec import (
    MALFORMED_KINDS,
    BotUser,
    RevenueSpike,
    TrafficDrop,
    TrafficSpec,
    parse_anomaly,
)
from ecomflow.synth.traffic import generate_traffic, iter_traffic, write_traffic

# -- an independent recount -------------------------------------------------------------------

BASE = {"event_id": str, "event_type": str, "timestamp": str, "user_id": str, "session_id": str}
USER = BASE | {"page_url": str, "referrer": str, "user_agent": str, "device_type": str}
PRODUCT = USER | {"product_id": str, "product_name": str, "category": str, "price": float}
SCHEMAS = {
    "page_view": USER,
    "product_view": PRODUCT,
    "add_to_cart": PRODUCT | {"quantity": int},
    "remove_from_cart": PRODUCT | {"quantity": int},
    "purchase": BASE | {"transaction_id": str, "customer_id": str, "items": list,
                        "total_amount": float, "currency": str, "payment_method": str,
                        "shipping_address": dict},
}


def ts_of(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    assert parsed.tzinfo is not None
    return parsed


def classify(line: str) -> tuple[str, dict[str, Any] | None]:
    """("valid", event) or (malformed kind, None), from the line alone."""
    try:
        record = json.loads(line)
    except ValueError:
        return "bad_json", None
    if not isinstance(record, dict):
        return "bad_json", None
    event_type = record.get("event_type")
    schema = SCHEMAS.get(event_type, BASE) if isinstance(event_type, str) else BASE
    if any(name not in record for name in schema):
        return "missing_field", None
    if any(type(record[name]) is not typ for name, typ in schema.items()):
        return "wrong_type", None
    if event_type not in SCHEMAS:
        return "unknown_event_type", None
    if datetime.fromisoformat(record["timestamp"]).tzinfo is None:
        return "zone_less_timestamp", None
    amounts = [record.get("price", 0), record.get("total_amount", 0)]
    amounts += [item["unit_price"] for item in record.get("items", [])]
    if any(a < 0 for a in amounts):
        return "negative_amount", None
    if event_type == "purchase":
        expected = round(sum(i["quantity"] * i["unit_price"] for i in record["items"]), 2)
        if record["total_amount"] != expected:
            return "total_mismatch", None
    return "valid", record


def recount(lines: list[str], catalog: int, late_by_seconds: float) -> dict[str, Any]:
    first_seen: dict[str, tuple[int, str]] = {}
    counts: Counter[str] = Counter()
    duplicates: dict[int, int] = {}
    malformed: dict[int, str] = {}
    late: set[int] = set()
    on_time_lag = timedelta(0)
    newest: datetime | None = None
    late_by = timedelta(seconds=late_by_seconds)
    for number, line in enumerate(lines, 1):
        if number <= catalog:
            assert "event_type" not in json.loads(line)
            continue
        kind, event = classify(line)
        if event is None:
            malformed[number] = kind
            continue
        ts = ts_of(event["timestamp"])
        if event["event_id"] in first_seen:
            original, original_line = first_seen[event["event_id"]]
            assert line == original_line, "a duplicate must be a byte-identical resend"
            duplicates[number] = original
        else:
            first_seen[event["event_id"]] = (number, line)
            counts[event["event_type"]] += 1
            if newest is not None and ts < newest - late_by:
                late.add(number)
            elif newest is not None:
                on_time_lag = max(on_time_lag, newest - ts)
        newest = ts if newest is None else max(newest, ts)
    return {"counts": counts, "duplicates": duplicates, "malformed": malformed, "late": late,
            "on_time_lag": on_time_lag, "events": [json.loads(line) for _, line in
                                                  sorted(first_seen.values())]}


def seconds_in(event: dict[str, Any], spec: TrafficSpec) -> float:
    return (ts_of(event["timestamp"]) - spec.start).total_seconds()


# -- fixtures ---------------------------------------------------------------------------------

FAULTY = TrafficSpec(
    seed=11,
    duration=900,
    users=150,
    duplicate_rate=0.03,
    late_rate=0.02,
    malformed_rate=0.04,
    include_catalog=True,
    traffic_drop=TrafficDrop(200, 320, factor=0.1),
    revenue_spike=RevenueSpike(400, 520, factor=4),
    bot_user=BotUser(600, 660, events_per_second=15),
)


@pytest.fixture(scope="module")
def faulty() -> tuple[list[str], dict[str, Any], dict[str, Any]]:
    lines, manifest = generate_traffic(FAULTY)
    data = json.loads(manifest.to_json())
    return lines, data, recount(lines, data["lines"]["catalog"], FAULTY.late_by_seconds)


@pytest.fixture(scope="module")
def baseline() -> list[dict[str, Any]]:
    """FAULTY without anomalies or faults: the same simulation."""
    plain = TrafficSpec(seed=11, duration=900, users=150)
    return [json.loads(line) for line in generate_traffic(plain)[0]]


# -- tests ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs", [{}, {"seed": 3, "users": 5, "include_catalog": True,
                                         "max_disorder_seconds": 0}])
def test_defaults_are_exactly_generate_events(kwargs: dict[str, Any]) -> None:
    lines, manifest = generate_traffic(TrafficSpec(n=3000, **kwargs))
    assert lines == [dumps(e) for e in generate_events(3000, **kwargs)]
    data = manifest.to_dict()
    assert data["lines"]["total"] == len(lines)
    assert data["lines"]["events"] == 3000
    assert data["duplicates"]["count"] == data["late"]["count"] == data["malformed"]["count"] == 0
    assert data["anomalies"] == []


def test_neither_n_nor_duration_is_the_sample() -> None:
    lines, manifest = generate_traffic(TrafficSpec())
    assert lines == [dumps(e) for e in generate_events(5000)]
    assert manifest.valid_events == 5000


def test_same_spec_same_bytes_including_manifest(tmp_path: Path) -> None:
    spec = replace(FAULTY, duration=300, traffic_drop=None, revenue_spike=RevenueSpike(100, 160),
                   bot_user=BotUser(200, 220))
    out_a, out_b = tmp_path / "a" / "t.jsonl.gz", tmp_path / "b" / "t.jsonl.gz"
    write_traffic(spec, out_a)
    write_traffic(spec, out_b)
    assert out_a.read_bytes() == out_b.read_bytes()
    assert manifest_path(out_a).read_bytes() == manifest_path(out_b).read_bytes()
    other = tmp_path / "c" / "t.jsonl.gz"
    write_traffic(replace(spec, seed=12), other)
    assert gzip.decompress(other.read_bytes()) != gzip.decompress(out_a.read_bytes())
    # The plain file holds the same lines; the manifest is the one generate_traffic returns.
    plain = tmp_path / "t.jsonl"
    manifest = write_traffic(spec, plain)
    lines, again = generate_traffic(spec)
    assert plain.read_text().splitlines() == lines
    assert gzip.decompress(out_a.read_bytes()) == plain.read_bytes()
    assert {k: v for k, v in manifest.to_dict().items() if k != "file"} == again.to_dict()
    on_disk = json.loads(manifest_path(plain).read_text())
    assert on_disk["file"]["name"] == "t.jsonl"
    assert TrafficSpec.from_dict(on_disk["spec"]) == spec


def test_manifest_counts_match_an_independent_recount(faulty: Any) -> None:
    lines, data, found = faulty
    assert data["lines"]["total"] == len(lines)
    assert data["lines"]["catalog"] == len(generate_products(FAULTY.seed)) == 40
    assert data["events"]["by_type"] == {t: found["counts"][t] for t in data["events"]["by_type"]}
    assert data["events"]["count"] == data["lines"]["events"] == sum(found["counts"].values())
    assert {r["line"]: r["original_line"] for r in data["duplicates"]["records"]} == \
        found["duplicates"]
    assert {r["line"]: r["kind"] for r in data["malformed"]["records"]} == found["malformed"]
    assert data["malformed"]["by_kind"] == {k: Counter(found["malformed"].values())[k]
                                            for k in MALFORMED_KINDS}
    assert {r["line"] for r in data["late"]["records"]} == found["late"]
    total = data["lines"]
    assert total["total"] == total["catalog"] + total["events"] + total["duplicates"] + \
        total["malformed"]
    # Every fault actually happened, at roughly its rate.
    events = data["events"]["count"]
    assert 0.015 * events < len(found["duplicates"]) < 0.045 * events
    assert 0.01 * events < len(found["late"]) < 0.03 * events
    assert 0.025 * events < len(found["malformed"]) < 0.055 * events
    assert set(found["malformed"].values()) == set(MALFORMED_KINDS)
    revenue: defaultdict[str, Decimal] = defaultdict(Decimal)
    for event in found["events"]:
        if event["event_type"] == "purchase":
            revenue[event["currency"]] += Decimal(str(event["total_amount"]))
    assert data["events"]["purchase_revenue"] == {c: str(v) for c, v in sorted(revenue.items())}
    stamps = sorted(e["timestamp"] for e in found["events"])
    assert (data["events"]["first_timestamp"], data["events"]["last_timestamp"]) == \
        (stamps[0], stamps[-1])


def test_late_events_are_later_than_late_by_and_others_are_not(faulty: Any) -> None:
    lines, data, found = faulty
    assert found["late"], "the spec injects late events"
    # Late: older than (newest timestamp before them - late_by); on time: within the bound.
    assert found["on_time_lag"] < timedelta(seconds=FAULTY.max_disorder_seconds)
    newest: datetime | None = None
    lateness = {}
    for number, line in enumerate(lines, 1):
        kind, event = classify(line)
        if event is None or "event_type" not in event:
            continue
        ts = ts_of(event["timestamp"])
        if number in found["late"]:
            lateness[number] = round((newest - ts).total_seconds() * 1000)
        newest = ts if newest is None else max(newest, ts)
    for record in data["late"]["records"]:
        assert record["lateness_ms"] == lateness[record["line"]] > 120_000
        assert json.loads(lines[record["line"] - 1])["event_id"] == record["event_id"]


def test_duplicates_are_exact_resends_a_few_seconds_later(faulty: Any) -> None:
    lines, data, found = faulty
    newest_at: list[datetime | None] = [None]
    newest: datetime | None = None
    for line in lines:
        kind, event = classify(line)
        if event is not None and "event_type" in event:
            ts = ts_of(event["timestamp"])
            newest = ts if newest is None else max(newest, ts)
        newest_at.append(newest)
    last_unique = max(n for n, line in enumerate(lines, 1)
                      if n not in found["duplicates"] and n not in found["malformed"])
    for record in data["duplicates"]["records"]:
        assert lines[record["line"] - 1] == lines[record["original_line"] - 1]
        assert json.loads(lines[record["line"] - 1])["event_id"] == record["event_id"]
        assert record["original_line"] < record["line"]
        gap = newest_at[record["line"]] - newest_at[record["original_line"]]
        assert gap <= timedelta(seconds=6)
        if record["line"] < last_unique:  # resends at the very end follow sooner
            assert gap >= timedelta(seconds=1)


def test_malformed_records(faulty: Any) -> None:
    lines, data, found = faulty
    records = data["malformed"]["records"]
    valid_ids = {e["event_id"] for e in found["events"]}
    for record in records:
        line = lines[record["line"] - 1]
        assert record["dead_letter_reason"] == dead_letter_reason(line)
        if record["kind"] == "bad_json":
            with pytest.raises(ValueError):
                json.loads(line)
            assert record["dead_letter_reason"] == "missing_event_type"
            continue
        parsed = json.loads(line)
        # A fresh event_id: a malformed record is never mistaken for a duplicate.
        assert parsed.get("event_id") not in valid_ids
        if record["kind"] == "zone_less_timestamp":
            assert record["dead_letter_reason"] == "bad_timestamp"
        if record["kind"] == "missing_field":
            assert record["detail"]["field"] not in parsed
        if record["kind"] in {"negative_amount", "total_mismatch", "unknown_event_type"}:
            assert record["dead_letter_reason"] is None  # the job lands these as events
    assert data["malformed"]["dead_letters"] == sum(1 for r in records if r["dead_letter_reason"])


def test_only_the_chosen_malformed_kinds() -> None:
    spec = TrafficSpec(n=2000, malformed_rate=0.05, malformed_kinds=("bad_json", "wrong_type"))
    lines, manifest = generate_traffic(spec)
    found = recount(lines, 0, spec.late_by_seconds)
    assert set(found["malformed"].values()) == {"bad_json", "wrong_type"}
    assert manifest.valid_events == 2000


def test_valid_events_look_like_a_shop(faulty: Any) -> None:
    _, data, found = faulty
    counts = found["counts"]
    assert counts["page_view"] > counts["product_view"] > counts["add_to_cart"] > \
        counts["purchase"] > 0
    purchases = [e for e in found["events"] if e["event_type"] == "purchase"]
    assert {p["currency"] for p in purchases} == {"USD", "EUR", "GBP"}
    assert len(data["events"]["purchase_revenue"]) == 3


def test_revenue_spike_is_visible(faulty: Any, baseline: list[dict[str, Any]]) -> None:
    _, data, found = faulty
    (spike,) = [a for a in data["anomalies"] if a["type"] == "revenue_spike"]
    lo, hi = FAULTY.revenue_spike.start_seconds, FAULTY.revenue_spike.end_seconds

    def window_purchases(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [e for e in events if e["event_type"] == "purchase" and
                lo <= seconds_in(e, FAULTY) < hi]

    spiked, before = window_purchases(found["events"]), window_purchases(baseline)
    assert spiked and {e["event_id"] for e in spiked} == {e["event_id"] for e in before} == \
        set(spike["event_ids"])
    for currency in {e["currency"] for e in before}:
        now = sum(Decimal(str(e["total_amount"])) for e in spiked if e["currency"] == currency)
        base = sum(Decimal(str(e["total_amount"])) for e in before if e["currency"] == currency)
        assert now >= FAULTY.revenue_spike.factor * base - Decimal("0.05") * len(spiked)
        assert spike["revenue"][currency] == str(now)
        assert spike["baseline_revenue"][currency] == str(base)
    # Per minute, the window's revenue (USD-equivalent) is far above the rest of the run.
    fx = {"USD": 1.0, "EUR": 0.92, "GBP": 0.79}
    per_minute: defaultdict[int, float] = defaultdict(float)
    for e in found["events"]:
        if e["event_type"] == "purchase":
            per_minute[int(seconds_in(e, FAULTY) // 60)] += e["total_amount"] / fx[e["currency"]]
    inside = [per_minute[m] for m in range(int(lo // 60), int(hi // 60))]
    outside = sorted(per_minute[m] for m in range(15) if not lo // 60 - 1 <= m <= hi // 60)
    assert min(inside) > 2 * outside[len(outside) // 2]


def test_traffic_drop_is_visible(faulty: Any, baseline: list[dict[str, Any]]) -> None:
    _, data, found = faulty
    (drop,) = [a for a in data["anomalies"] if a["type"] == "traffic_drop"]
    lo, hi = FAULTY.traffic_drop.start_seconds, FAULTY.traffic_drop.end_seconds
    events = [e for e in found["events"] if e["user_id"] != FAULTY.bot_user.user_id]
    inside = [e for e in events if lo <= seconds_in(e, FAULTY) < hi]
    before = [e for e in baseline if lo <= seconds_in(e, FAULTY) < hi]
    assert len(inside) < 0.2 * len(before)
    # Only events inside the window went missing, and the manifest says how many.
    assert len(baseline) - len(events) == drop["events_dropped"] == len(before) - len(inside)
    assert {e["event_id"] for e in events} <= {e["event_id"] for e in baseline}
    assert drop["window"] == {"start": "2025-07-16T10:03:20.000Z",
                              "end": "2025-07-16T10:05:20.000Z"}


def test_bot_user_is_visible(faulty: Any) -> None:
    _, data, found = faulty
    bot = FAULTY.bot_user
    (info,) = [a for a in data["anomalies"] if a["type"] == "bot_user"]
    events = [e for e in found["events"] if e["user_id"] == bot.user_id]
    expected = math.ceil((bot.end_seconds - bot.start_seconds) * bot.events_per_second)
    assert len(events) == info["events"] == expected
    assert info["by_type"] == dict(Counter(e["event_type"] for e in events))
    assert all(bot.start_seconds <= seconds_in(e, FAULTY) < bot.end_seconds for e in events)
    assert {e["session_id"] for e in events} == {info["session_id"]}
    per_second = Counter(int(seconds_in(e, FAULTY)) for e in events)
    assert min(per_second.values()) >= bot.events_per_second - 1
    # Per minute the bot outpaces every human several times over. (Per second it need not:
    # activity is Pareto-distributed and seed 11 has one shopper with ~16 % of all sessions,
    # some of them concurrent, who reaches 11 events in one second.)
    humans = Counter((e["user_id"], int(seconds_in(e, FAULTY) // 60)) for e in found["events"]
                     if e["user_id"] != bot.user_id)
    assert max(humans.values()) * 2 < len(events)


def test_duration_runs_cover_exactly_the_duration() -> None:
    spec = TrafficSpec(duration=120, events_per_second=50, late_rate=0.05, late_by_seconds=30)
    lines, manifest = generate_traffic(spec)
    found = recount(lines, 0, spec.late_by_seconds)
    seconds = [seconds_in(e, spec) for e in found["events"]]
    assert 0 <= min(seconds) < 1 and 119 < max(seconds) < 120
    assert manifest.valid_events == len(found["events"])
    assert {r["line"] for r in manifest.late} == found["late"] != set()


def test_late_events_near_the_end_stay_on_time() -> None:
    # Less than 120 s of traffic cannot hold an event that is 120 s late: none is marked late
    # (chosen ones are only held back when the rest of the stream is long enough).
    spec = TrafficSpec(n=1500, late_rate=0.5)
    lines, manifest = generate_traffic(spec)
    data = manifest.to_dict()["events"]
    assert ts_of(data["last_timestamp"]) - ts_of(data["first_timestamp"]) < timedelta(minutes=2)
    assert manifest.late == []
    assert recount(lines, 0, 120)["late"] == set()
    assert sorted(lines) == sorted(dumps(e) for e in generate_events(1500))


def test_iter_traffic_fills_the_manifest_as_lines_are_consumed() -> None:
    lines, manifest = iter_traffic(TrafficSpec(n=100))
    with pytest.raises(RuntimeError):
        manifest.to_dict()
    assert len(list(lines)) == 100
    assert manifest.complete and manifest.to_dict()["lines"]["total"] == 100


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n": 10, "duration": 10},
        {"duplicate_rate": 1.5},
        {"late_rate": 0.1, "late_by_seconds": 1},
        {"malformed_kinds": ("bad_json", "nope")},
        {"start": datetime(2025, 7, 16)},
        {"users": 0},
    ],
)
def test_invalid_specs(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        TrafficSpec(**kwargs)


def test_invalid_anomalies() -> None:
    with pytest.raises(ValueError):
        RevenueSpike(10, 5)
    with pytest.raises(ValueError):
        TrafficDrop(0, 10, factor=1.5)
    with pytest.raises(ValueError):
        BotUser(0, 10, user_id="user_00001")  # would be mixed up with a real user


def test_parse_anomaly() -> None:
    assert parse_anomaly("revenue-spike", 600) == ("revenue_spike", RevenueSpike(300, 360, 5.0))
    assert parse_anomaly("traffic-drop:factor=0.2", 600) == (
        "traffic_drop", TrafficDrop(150, 210, 0.2))
    assert parse_anomaly("bot-user:start=10,end=20,rate=3,user=user_crawler", 600) == (
        "bot_user", BotUser(10, 20, 3.0, "user_crawler"))
    for bad in ("flash-sale", "bot-user:speed=3", "revenue-spike:factor"):
        with pytest.raises(ValueError):
            parse_anomaly(bad, 600)


def test_cli_writes_events_and_manifest(tmp_path: Path) -> None:
    out = tmp_path / "events.jsonl.gz"
    result = CliRunner().invoke(generate_command, [
        "--seed", "5", "--users", "50", "--duration", "240", "--events-per-second", "10",
        "--out", str(out), "--duplicates", "0.02", "--late", "0.02", "--late-by", "40",
        "--malformed", "0.03", "--catalog", "--anomaly", "revenue-spike",
        "--anomaly", "bot-user:rate=5", "--start", "2025-08-01T00:00:00Z"])
    assert result.exit_code == 0, result.output
    manifest = json.loads(manifest_path(out).read_text())
    lines = gzip.decompress(out.read_bytes()).decode().splitlines()
    assert manifest["lines"]["total"] == len(lines)
    assert manifest["file"]["name"] == "events.jsonl.gz"
    spec = TrafficSpec.from_dict(manifest["spec"])
    assert spec.seed == 5 and spec.duration == 240 and spec.include_catalog
    assert spec.start == datetime(2025, 8, 1, tzinfo=UTC)
    assert spec.revenue_spike == RevenueSpike(120, 144) and spec.bot_user == BotUser(168, 192, 5)
    assert [a["type"] for a in manifest["anomalies"]] == ["revenue_spike", "bot_user"]
    assert f"wrote {len(lines):,} lines to {out}" in result.output
    assert str(manifest_path(out)) in result.output
    found = recount(lines, 40, 40)
    assert manifest["events"]["count"] == sum(found["counts"].values())
    assert len(found["late"]) == manifest["late"]["count"] > 0


def test_cli_defaults_to_the_sample_and_rejects_bad_input(tmp_path: Path) -> None:
    out = tmp_path / "sample.jsonl"
    result = CliRunner().invoke(generate_command, ["--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text().splitlines() == [dumps(e) for e in generate_events(5000)]
    rejected = (
        ["--anomaly", "flash-sale"],
        ["--anomaly", "bot-user", "--anomaly", "bot-user"],
        ["--duplicates", "2"],
        ["-n", "5", "--duration", "5"],
        ["--start", "2025-07-16T10:00:00"],
    )
    for args in rejected:
        result = CliRunner().invoke(generate_command, ["--out", str(out), *args])
        assert result.exit_code == 2, (args, result.output)


def test_default_start_is_the_generators() -> None:
    assert TrafficSpec().start == DEFAULT_START
