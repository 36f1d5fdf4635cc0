"""The bad-input corpus (tests/data/bad_input/) through the job's contract check, in plain Python.

Every entry must get exactly its recorded reason and field from ``udfs.contract_check.verdict``
(on the text the job sees: UTF-8 with U+FFFD for invalid bytes), and from the model of the
whole job (``bad_corpus.job_result``: verdict, then the job's event-time and FX steps). No
Flink here; tests/jobs/test_bad_input.py puts the same corpus through the real job.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from flink_jobs.contract import REASONS, canonical_type, derive_event_id
from tests.jobs import bad_corpus, clean_case
from tests.jobs.bad_corpus import BadRecord
from udfs.contract_check import DETAIL_LIMIT, verdict

MAX_BYTES = bad_corpus.MAX_PAYLOAD_BYTES
MAX_FUTURE = bad_corpus.MAX_FUTURE_SECONDS
RECORDS = bad_corpus.load()
BY_KIND = {record.kind: record for record in RECORDS}
RATES = bad_corpus.parse_rates(clean_case.FX_RATES_CSV)
UUID8 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")

#: Entries whose current outcome is not what the contract (docs/event-contract.md) says, by
#: kind; see tests/data/bad_input/README.md, "Known discrepancies". Fixing one changes its
#: entry (reason, field) and removes it from here.
KNOWN_DISCREPANCIES = {
    # 1e400 (inf) in an unknown field: not_json without an event_id, valid with one
    "overflow_1e400_unknown_field_own_id",
    # a valid total compared in binary floating point at 10^16
    "absurd_amounts_integer_total",
    # timestamps at or before the epoch: no lower bound in the contract, bad_timestamp in the job
    "timestamp_epoch_zero",
    "timestamp_1900",
    "timestamp_year_0001_offset",
    "timestamp_just_before_epoch",
}


def _ids(records: list[BadRecord]) -> list[str]:
    return [record.kind for record in records]


# --------------------------------------------------------------------------- the corpus itself


def test_corpus_has_the_issues_kinds() -> None:
    assert len(RECORDS) >= 22
    assert len({record.kind for record in RECORDS}) == len(RECORDS) >= 20
    assert {record.category for record in RECORDS} == set(bad_corpus.CATEGORIES)
    assert {record.job_risk for record in RECORDS} - {None} <= set(bad_corpus.JOB_RISKS)
    counts = Counter(record.category for record in RECORDS)
    # hostile but valid records: valid records must come through unaffected
    assert counts["hostile_valid"] >= 10
    assert sum(record.valid for record in RECORDS) >= 20


def test_every_reason_appears() -> None:
    """Every dead-letter reason of the taxonomy, and the FX step's, on records that can reach
    the job (within Kinesis' record limit)."""
    reasons = {record.reason for record in RECORDS if record.fits_kinesis}
    assert reasons == set(REASONS) | {"missing_fx_rate", None}


def test_the_known_discrepancies() -> None:
    assert {record.kind for record in RECORDS if record.contract_differs} == KNOWN_DISCREPANCIES
    for kind in KNOWN_DISCREPANCIES:
        record = BY_KIND[kind]
        assert (record.contract_reason, record.contract_field) != (record.reason, record.field)
        assert record.note, kind


def test_repeat_expands_to_the_exact_size() -> None:
    sizes = {
        "payload_too_large_ascii": 1_040_000,
        "payload_too_large_by_one": 1_000_001,
        "payload_too_large_multibyte": 1_040_000,
        "payload_too_large_invalid_json": 1_040_000,
        "payload_over_kinesis_limit": 1_100_000,
        "payload_at_limit_valid": 1_000_000,
    }
    for kind, size in sizes.items():
        assert len(BY_KIND[kind].raw) == size, kind
    multibyte = BY_KIND["payload_too_large_multibyte"].text
    assert len(multibyte) < MAX_BYTES < len(multibyte.encode("utf-8"))
    assert not BY_KIND["payload_over_kinesis_limit"].fits_kinesis
    assert all(record.fits_kinesis for record in RECORDS
               if record.job_risk != "over_kinesis_limit")
    # deterministic, and the same on every load
    assert bad_corpus.load()[0] is RECORDS[0] or bad_corpus.load() == RECORDS


def test_expand_rejects_what_it_cannot_do() -> None:
    assert bad_corpus.expand(b'{"a":"@"}', None) == b'{"a":"@"}'
    assert bad_corpus.expand(b'{"a":"@"}', {"placeholder": "@", "unit": "ab",
                                           "total_bytes": 12}) == b'{"a":"abab"}'
    with pytest.raises(ValueError):  # 11 bytes cannot be made of 2-byte units
        bad_corpus.expand(b'{"a":"@"}', {"placeholder": "@", "unit": "ab", "total_bytes": 11})
    with pytest.raises(ValueError):  # the placeholder must occur exactly once
        bad_corpus.expand(b'{"@":"@"}', {"placeholder": "@", "unit": "a", "total_bytes": 20})


def test_text_is_what_the_job_sees() -> None:
    for record in RECORDS:
        assert record.text == record.raw.decode("utf-8", errors="replace")
        assert record.utf8 == (record.text.encode("utf-8") == record.raw)
    assert {r.kind for r in RECORDS if not r.utf8} == {
        r.kind for r in RECORDS if r.job_risk == "non_utf8"}


# --------------------------------------------------------------------------- verdicts


@pytest.mark.parametrize("record", RECORDS, ids=_ids(RECORDS))
def test_verdict(record: BadRecord) -> None:
    """The job's contract check gives the entry its recorded reason and field."""
    reason, field, detail, event_id = verdict(record.text, MAX_BYTES, MAX_FUTURE)
    assert (reason, field) == (record.verdict_reason, record.verdict_field), detail
    if reason is not None:
        assert reason in REASONS
        assert detail and len(detail) <= DETAIL_LIMIT
    else:
        assert field is None and detail is None and event_id


@pytest.mark.parametrize("record", RECORDS, ids=_ids(RECORDS))
def test_the_whole_job(record: BadRecord) -> None:
    """The job's reason: the verdict, then a usable event time, then an FX rate."""
    assert bad_corpus.job_result(record.text, rates=RATES, raw=record.raw) == (
        record.reason, record.field)


@pytest.mark.parametrize("record", RECORDS, ids=_ids(RECORDS))
def test_raw_bytes_as_the_contract_reads_them(record: BadRecord) -> None:
    """The contract on the record's bytes: the same verdict as on the text for UTF-8, and
    not_json for anything else (what the job should say, see KNOWN_DISCREPANCIES)."""
    by_bytes = verdict(record.raw, MAX_BYTES, MAX_FUTURE)  # type: ignore[arg-type]
    if record.utf8:
        by_text = verdict(record.text, MAX_BYTES, MAX_FUTURE)
        assert (by_bytes[0], by_bytes[1], by_bytes[3]) == (by_text[0], by_text[1], by_text[3])
    elif len(record.raw) <= MAX_BYTES:
        assert by_bytes[:2] == ("not_json", "$")
        assert by_bytes[:2] == (record.contract_reason, record.contract_field)


VALID = [record for record in RECORDS if record.verdict_reason is None]


@pytest.mark.parametrize("record", VALID, ids=_ids(VALID))
def test_records_the_contract_accepts_pass_unchanged(record: BadRecord) -> None:
    reason, _, _, event_id = verdict(record.text, MAX_BYTES, MAX_FUTURE)
    assert reason is None
    parsed = json.loads(record.text)
    assert isinstance(parsed, dict) and canonical_type(parsed) is not None
    own = parsed.get("event_id")
    assert event_id == (own if isinstance(own, str) and own else derive_event_id(parsed))
    if not own:
        assert UUID8.match(event_id)
    # the same again: nothing about the check depends on an earlier call
    assert verdict(record.text, MAX_BYTES, MAX_FUTURE) == (None, None, None, event_id)


HOSTILE = re.compile(
    r"DROP TABLE|<script>|<img|<b>|=HYPERLINK|=1\+1|cmd\||\$\{jndi:|\$\{7\*7\}|\{\{7\*7\}\}"
    r"|\.\./|\.\.\\|\\\\|%2e%2e|javascript:|file:///|\{\"event_type\"|\"\},\{|\u202e|\u0007")
EVENT_TEXT = {"user_id", "session_id", "page_url", "referrer", "user_agent", "device_type"}
PRODUCT_TEXT = EVENT_TEXT | {"product_id", "product_name", "category"}
TEXT_FIELDS = {
    "page_view": EVENT_TEXT,
    "product_view": PRODUCT_TEXT,
    "add_to_cart": PRODUCT_TEXT,
    "remove_from_cart": PRODUCT_TEXT,
    "purchase": {"customer_id", "user_id", "transaction_id", "payment_method",
                 "items[].product_id", "items[].category", "shipping_address.country",
                 "shipping_address.city", "shipping_address.postal_code"},
    "product": {"product_id", "name", "brand", "category"},
}


def _hostile_fields(value: object, path: str = "") -> set[str]:
    if isinstance(value, str):
        return {path} if HOSTILE.search(value) else set()
    if isinstance(value, dict):
        return set().union(*(_hostile_fields(v, f"{path}.{k}" if path else k)
                             for k, v in value.items()))
    if isinstance(value, list):
        return set().union(*(_hostile_fields(v, f"{path}[]") for v in value))
    return set()


def test_hostile_but_valid_records_span_every_text_field() -> None:
    """SQL, HTML/script, spreadsheet formulas, JSON-in-string, Log4Shell/templates, path
    traversal and control characters reach every free-text field of every record type among
    the records the job must pass unchanged (kept within the warehouse's column widths: the
    long ones are the job_risk entries)."""
    covered: dict[str, set[str]] = {}
    for record in RECORDS:
        if record.category == "hostile_valid" and record.job_risk is None:
            parsed = json.loads(record.text)
            covered.setdefault(canonical_type(parsed), set()).update(_hostile_fields(parsed))
    for kind, fields in TEXT_FIELDS.items():
        assert fields <= covered.get(kind, set()), (kind, fields - covered.get(kind, set()))


# --------------------------------------------------------------------------- fixed crashes


def test_nesting_at_the_parsers_limit_never_raises() -> None:
    """Nesting just under json's recursion limit parses, then overflowed a later step (the
    lone-surrogate check re-serialises the record one frame deeper): the verdict raised
    RecursionError for exactly one depth, which depends on the caller's stack. Every depth
    around the limit, from this stack, now gets a verdict."""
    template = json.dumps({"event_type": "page_view", "timestamp": "2025-07-16T10:30:00Z",
                           "user_id": "u", "page_url": "/", "x": 0, "emoji": "E"})
    for escape in ("\\ud83d\\ude00", "\\ud800"):
        base = template.replace('"E"', f'"{escape}"')
        for depth in range(1, 1100):
            payload = base.replace('"x": 0', '"x": ' + "[" * depth + "]" * depth)
            reason = verdict(payload, MAX_BYTES, MAX_FUTURE)[0]
            assert reason in ((None, "not_json") if "de00" in escape else ("not_json",))


def test_non_finite_number_without_event_id_is_not_json() -> None:
    """1e400 parses as inf; deriving the event id re-serialises the record, which inf cannot
    be: the verdict raised ValueError (the job would have failed). Now it is not_json."""
    reason, field, detail, event_id = verdict(BY_KIND["overflow_1e400_unknown_field"].text,
                                              MAX_BYTES, MAX_FUTURE)
    assert (reason, field, event_id) == ("not_json", "$", None)
    assert "event id" in detail and len(detail) <= DETAIL_LIMIT


# --------------------------------------------------------------------------- the job's reading


def test_event_time_is_read_from_accepted_records_only() -> None:
    at = bad_corpus.job_event_time
    # a duplicated key: the last, as the contract reads it
    assert at('{"event_type":"page_view","user_id":"u","page_url":"/",'
              '"timestamp":"2025-07-16T10:00:00Z","timestamp":"2025-07-16T11:00:00Z"}') == (
        datetime(2025, 7, 16, 11, tzinfo=UTC))
    # catalog records: updated_at when there is no timestamp (or it is null)
    catalog = {"product_id": "p", "name": "x", "price": 1, "currency": "USD",
               "updated_at": "2025-07-16T10:00:00+02:00"}
    assert at(json.dumps(catalog)) == datetime(2025, 7, 16, 8, tzinfo=UTC)
    assert at(json.dumps({**catalog, "timestamp": None})) == datetime(2025, 7, 16, 8, tzinfo=UTC)
    # a rejected record has none, whatever its timestamp says: it moves no watermark
    assert at('{"event_type":"page_flip","timestamp":"2025-07-16T10:00:00Z"}') is None
    assert at('{"timestamp":"2025-07-16T10:00:00Z","user_id":"u') is None
    assert at("[1]") is None and at("") is None
    soon = (datetime.now(UTC) + timedelta(minutes=10)).isoformat()
    page = {"event_type": "page_view", "user_id": "u", "page_url": "/"}
    assert at(json.dumps({**page, "timestamp": soon})) is None
    assert at(json.dumps({**page, "timestamp": soon}), max_future_seconds=3600) is not None


def test_every_valid_record_has_an_event_time() -> None:
    for record in VALID:
        if record.reason == "bad_timestamp":  # at or before the epoch
            assert record.contract_differs, record.kind
            continue
        assert bad_corpus.job_event_time(record.text) is not None, record.kind


# --------------------------------------------------------------------------- mixed traffic


def _clean_lines() -> list[str]:
    return [line.text for line in clean_case.build() if line.reason != "payload_too_large"]


def test_mixed_traffic_is_deterministic_and_complete() -> None:
    lines = _clean_lines()
    first = bad_corpus.mixed_traffic(lines, seed=7)
    assert first == bad_corpus.mixed_traffic(lines, seed=7)
    assert first != bad_corpus.mixed_traffic(lines, seed=8)
    assert len(first) == len(lines) + len(RECORDS)
    assert Counter(first) == Counter([line.encode() for line in lines]
                                     + [record.raw for record in RECORDS])
    # the valid lines keep their order
    slots = bad_corpus.interleave(lines, seed=7)
    assert [s.valid_index for s in slots if s.valid_index is not None] == list(range(len(lines)))
    assert slots[0].valid_index == 0  # a corpus record never comes first
    assert [s.data for s in slots] == first


def _newest_before_each_line(slots: list[bad_corpus.Slot]) -> list[datetime | None]:
    newest: datetime | None = None
    seen: list[datetime | None] = []
    for slot in slots:
        if slot.valid_index is not None:
            seen.append(newest)
        moment = bad_corpus.job_event_time(slot.data.decode("utf-8", errors="replace"))
        if moment is not None:
            newest = moment if newest is None else max(newest, moment)
    return seen


def test_mixed_traffic_leaves_the_watermark_alone() -> None:
    """The newest event time (hence the watermark) each valid line meets is the same with and
    without the corpus: the valid traffic's late and on-time outcomes do not change."""
    lines = _clean_lines()
    alone = [bad_corpus.Slot(line.encode(), valid_index=i) for i, line in enumerate(lines)]
    for seed in (1, 7, 2025):
        assert _newest_before_each_line(bad_corpus.interleave(lines, seed)) == (
            _newest_before_each_line(alone))


def test_records_with_a_time_meet_a_watermark_they_are_on_time_for() -> None:
    lines = _clean_lines()
    newest: datetime | None = None
    for slot in bad_corpus.interleave(lines, seed=7):
        moment = bad_corpus.job_event_time(slot.data.decode("utf-8", errors="replace"))
        if slot.record is not None and slot.record.valid:
            assert moment is not None and newest is not None
            assert moment >= newest - timedelta(seconds=30), slot.record.kind
        if moment is not None:
            newest = moment if newest is None else max(newest, moment)
