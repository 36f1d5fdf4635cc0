"""The bad-input corpus (tests/data/bad_input/corpus.jsonl): loader, traffic mixer, job model.

Each corpus line is one record a producer might put on the stream, as exact bytes (base64),
with the outcome the whole events job gives it: a dead-letter ``reason`` and ``field``, or
``reason`` null for a record that must pass unchanged into ``events/``. See
tests/data/bad_input/README.md for the entries and the format.

Plain Python (no Flink, no JVM): the pure tests (tests/udfs/test_bad_corpus.py) and the job
test (tests/jobs/test_bad_input.py) share it.

What the job sees: the Kinesis source hands the record's bytes to the clean stream's Java
head, which checks them against the contract (the Java twin of ``udfs.contract_check.verdict``,
held to it by tests/udfs/test_contract_parity.py); ``BadRecord.text`` is the record as text
(``raw.decode("utf-8", errors="replace")``: what a dead letter of it stores). The job's outcome
is modelled by ``job_result``: the contract's verdict on the bytes, then the two steps the job
adds after it: an event time after the epoch (``job_event_time``: the accepted record's
``timestamp``, or a catalog record's ``updated_at``; at or before 1970 it is ``bad_timestamp``)
and the FX step (``missing_fx_rate``). Only accepted records have an event time: a rejected
record moves no watermark.
"""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from flink_jobs.contract import CONTROL_TYPES, canonical_type
from udfs.contract_check import verdict

CORPUS_PATH = Path(__file__).resolve().parents[1] / "data" / "bad_input" / "corpus.jsonl"

#: The job's defaults (CleanStream.max.payload.bytes, CleanStream.max.future.seconds).
MAX_PAYLOAD_BYTES = 1_000_000
MAX_FUTURE_SECONDS = 300
#: Kinesis' own limit on one record (data + partition key): larger records never reach a job.
KINESIS_MAX_RECORD_BYTES = 1024 * 1024

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

#: The issue's list of kinds of bad input; every one has entries (``BadRecord.category``).
CATEGORIES: tuple[str, ...] = (
    "empty_record",
    "whitespace_only",
    "json_array",
    "json_scalar",
    "truncated_json",
    "invalid_json",
    "wrong_encoding",
    "huge_payload",
    "deep_nesting",
    "nulls",
    "numbers_as_strings",
    "nan_infinity",
    "bad_amounts",
    "bad_timestamp",
    "unknown_event_type",
    "duplicate_keys",
    "injection",
    "contract_shape",
    "hostile_valid",
)

#: Values of ``job_risk``: records the current job is suspected to mishandle (crash, or land
#: wrong), kept apart in the job test so one failure cannot hide the others.
JOB_RISKS: Mapping[str, str] = {
    "non_utf8": "bytes that are not UTF-8: the raw format keeps them as they are, and the Python "
    "function's input decoder is strict UTF-8",
    "nul_in_valid_text": "a valid record with U+0000 in a text field that reaches PostgreSQL, "
    "whose text type cannot hold it",
    "long_text_in_bounded_columns": "a valid record with free text longer than the warehouse "
    "column it ends up in (device_class VARCHAR(32), country VARCHAR(8), category and brand "
    "VARCHAR(256))",
    "java_parser_limits": "a valid record beyond the Java JSON parser's limits (a number of more "
    "than 1,000 characters, a field name of more than 50,000): parse_event returns NULL",
    "float_quantities": "a valid integral quantity written as a float (2.0, 1e7): parse_event "
    "reads no INT, JSON_VALUE renders 1.0E7",
    "over_kinesis_limit": "larger than Kinesis accepts: never reaches a job",
}


@dataclass(frozen=True)
class BadRecord:
    """One corpus entry, expanded.

    ``reason``/``field``: what the whole job gives the record (None, None: valid, it lands in
    ``events/`` unchanged). ``verdict_reason``/``verdict_field``: what the contract check
    (``udfs.contract_check.verdict``) alone gives it; they differ from ``reason``/``field``
    only for the job's own steps (unusable event time, missing FX rate). ``contract_reason``/
    ``contract_field``: what the contract (docs/event-contract.md) says is right, when that
    differs from the job's current outcome (``contract_differs``): a known discrepancy.
    """

    kind: str
    category: str
    reason: str | None
    field: str | None
    raw: bytes
    verdict_reason: str | None
    verdict_field: str | None
    contract_reason: str | None
    contract_field: str | None
    contract_differs: bool
    job_risk: str | None
    note: str

    @property
    def text(self) -> str:
        """The payload as the job's functions see it: UTF-8, invalid bytes as U+FFFD."""
        return self.raw.decode("utf-8", errors="replace")

    @property
    def utf8(self) -> bool:
        """Whether the raw bytes are valid UTF-8 (then ``text`` is exactly them)."""
        try:
            self.raw.decode("utf-8")
        except UnicodeDecodeError:
            return False
        return True

    @property
    def valid(self) -> bool:
        """A record the job must pass unchanged into ``events/``."""
        return self.reason is None

    @property
    def fits_kinesis(self) -> bool:
        return len(self.raw) + 1 <= KINESIS_MAX_RECORD_BYTES  # +1: a one-character key


# --------------------------------------------------------------------------- loading


def expand(template: bytes, repeat: Mapping[str, Any] | None) -> bytes:
    """The record bytes of an entry: ``template`` as is, or with its ``repeat`` applied.

    ``repeat`` = {"placeholder": P, "unit": U, "total_bytes": N}: the one occurrence of the
    UTF-8 bytes of P in the template is replaced by U (UTF-8) repeated as often as it takes
    for the record to be exactly N bytes. Deterministic; large records stay small on disk.
    """
    if not repeat:
        return template
    placeholder = str(repeat["placeholder"]).encode("utf-8")
    unit = str(repeat["unit"]).encode("utf-8")
    total = int(repeat["total_bytes"])
    if template.count(placeholder) != 1:
        raise ValueError(f"placeholder {placeholder!r} must occur exactly once")
    room = total - (len(template) - len(placeholder))
    count, rest = divmod(room, len(unit))
    if room < 0 or rest:
        raise ValueError(f"{total} bytes cannot be reached with units of {len(unit)} bytes")
    out = template.replace(placeholder, unit * count)
    assert len(out) == total
    return out


def _record(entry: Mapping[str, Any]) -> BadRecord:
    reason, fld = entry["reason"], entry["field"]
    verdict = entry.get("verdict") or {"reason": reason, "field": fld}
    contract = entry.get("contract")
    return BadRecord(
        kind=entry["kind"],
        category=entry["category"],
        reason=reason,
        field=fld,
        raw=expand(base64.b64decode(entry["payload_b64"]), entry.get("repeat")),
        verdict_reason=verdict["reason"],
        verdict_field=verdict["field"],
        contract_reason=contract["reason"] if contract else reason,
        contract_field=contract["field"] if contract else fld,
        contract_differs=contract is not None,
        job_risk=entry.get("job_risk"),
        note=entry.get("note", ""),
    )


@cache
def _load(path: Path) -> tuple[BadRecord, ...]:
    records = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    records.append(_record(json.loads(line)))
                except (KeyError, ValueError) as exc:
                    raise ValueError(f"{path.name}:{number}: {exc}") from exc
    kinds = [r.kind for r in records]
    if len(set(kinds)) != len(kinds):
        raise ValueError(f"{path.name}: duplicate kinds")
    return tuple(records)


def load(path: Path = CORPUS_PATH) -> list[BadRecord]:
    """Every corpus entry, expanded, in file order."""
    return list(_load(path))


# --------------------------------------------------------------------------- the job's reading


def job_event_time(text: str | None, *, now: datetime | None = None,
                   max_future_seconds: int = MAX_FUTURE_SECONDS) -> datetime | None:
    """The event time the job gives a payload (dev.ecomflow.contract.EventContract): only a
    record the contract accepts has one (a rejected record moves no watermark, whatever its
    timestamp says), a control record neither (it carries wall-clock time). It is the record's
    ``timestamp`` (a duplicated key: the last, as the contract reads it), or a catalog
    record's ``updated_at`` when its optional timestamp is not a string."""
    if text is None:
        return None
    reason, _, _, _ = verdict(text, MAX_PAYLOAD_BYTES, max_future_seconds, now=now)
    if reason is not None:
        return None
    record = json.loads(text)
    kind = canonical_type(record)
    stamp = record.get("timestamp")
    if not isinstance(stamp, str):
        stamp = record.get("updated_at") if kind == "product" else None
    if kind in CONTROL_TYPES or not isinstance(stamp, str):
        return None
    try:
        return datetime.fromisoformat(stamp).astimezone(UTC)
    except OverflowError:  # before 0001-01-01 UTC: long before the epoch
        return datetime.min.replace(tzinfo=UTC)


def parse_rates(csv: str) -> dict[str, list[tuple[datetime, Decimal]]]:
    """``currency,rate_to_usd,valid_from`` rows (as the job's FX file) by currency."""
    rates: dict[str, list[tuple[datetime, Decimal]]] = {}
    for row in csv.splitlines():
        if row.strip() and not row.startswith("#"):
            currency, rate, valid_from = row.split(",")
            since = datetime.strptime(valid_from, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
            rates.setdefault(currency, []).append((since, Decimal(rate)))
    return {c: sorted(v) for c, v in rates.items()}


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def fx_missing(record: Mapping[str, Any], moment: datetime,
               rates: Mapping[str, Sequence[tuple[datetime, Decimal]]]) -> bool:
    """The FX step's dead letter (sql/30_intermediate/int_events__fx.sql): a price or a
    total_amount (as parse_event reads them: numbers only; ``amount`` is not read) in a
    currency other than USD that has no rate at the event time."""
    code = str(record.get("currency") or "USD").upper()
    has_amount = _number(record.get("price")) or _number(record.get("total_amount"))
    if not has_amount or code == "USD":
        return False
    return not any(since <= moment for since, _ in rates.get(code, ()))


def job_result(text: str | None, *, rates: Mapping[str, Sequence[tuple[datetime, Decimal]]],
               now: datetime | None = None, raw: bytes | None = None
               ) -> tuple[str | None, str | None]:
    """(reason, field) the events job gives a payload; (None, None) when it is valid and
    reaches ``events/`` (or ``late_events/``, depending on when it arrives). ``raw``: the
    record's bytes, when known (the job checks bytes: not UTF-8 is not_json)."""
    reason, fld, _, _ = verdict(raw if raw is not None else text, MAX_PAYLOAD_BYTES,
                                MAX_FUTURE_SECONDS, now=now)
    if reason is not None:
        return reason, fld
    moment = job_event_time(text, now=now)
    if moment is None or moment <= EPOCH:
        return "bad_timestamp", "timestamp"
    record = json.loads(text or "")
    if fx_missing(record, moment, rates):
        return "missing_fx_rate", "currency"
    return None, None


# --------------------------------------------------------------------------- traffic


@dataclass(frozen=True)
class Slot:
    """One record of mixed traffic: its bytes and where it came from."""

    data: bytes
    record: BadRecord | None = None  # a corpus entry
    valid_index: int | None = None  # else: the index of the valid line


@dataclass
class _Placement:
    after: int  # number of valid lines before it
    order: tuple[int, float] = field(default=(0, 0.0))


def interleave(valid_lines: Sequence[str], seed: int,
               records: Iterable[BadRecord] | None = None) -> list[Slot]:
    """``valid_lines`` in their order, with every corpus record (``records``: default the whole
    corpus) inserted once, deterministically for a given ``seed``.

    The job reads an event time from the records the contract accepts, and the watermark
    follows the newest. So an accepted record whose event time (``job_event_time``) is later
    than the earliest valid line's goes right after the first valid line at or after its time:
    it is on time and never moves the watermark, and the valid traffic's outcomes stay what
    they would be without the corpus. Any other record (rejected, or an earlier time) goes at
    a seeded random position after the first valid line.
    """
    if not valid_lines:
        raise ValueError("interleave needs at least one valid line")
    records = load() if records is None else list(records)
    rng = random.Random(seed)
    times = [job_event_time(line) for line in valid_lines]
    known = [t for t in times if t is not None]
    earliest = min(known) if known else None
    placements: list[tuple[_Placement, BadRecord]] = []
    for number, record in enumerate(records):
        moment = job_event_time(record.text)
        if moment is not None and earliest is not None and moment > earliest:
            first = next((i for i, t in enumerate(times) if t is not None and t >= moment),
                         len(valid_lines) - 1)
            placement = _Placement(first + 1, (0, number))
        else:
            placement = _Placement(rng.randint(1, len(valid_lines)), (1, rng.random()))
        placements.append((placement, record))
    placements.sort(key=lambda p: (p[0].after, p[0].order))
    out: list[Slot] = []
    pending = iter(placements)
    upcoming = next(pending, None)
    for index in range(len(valid_lines) + 1):
        while upcoming is not None and upcoming[0].after == index:
            out.append(Slot(upcoming[1].raw, record=upcoming[1]))
            upcoming = next(pending, None)
        if index < len(valid_lines):
            out.append(Slot(valid_lines[index].encode("utf-8"), valid_index=index))
    return out


def mixed_traffic(valid_lines: list[str], seed: int,
                  records: Iterable[BadRecord] | None = None) -> list[bytes]:
    """The bytes of ``interleave(valid_lines, seed, records)``: valid traffic with the corpus
    mixed in, ready to be put on a stream record by record."""
    return [slot.data for slot in interleave(valid_lines, seed, records)]


__all__ = [
    "CATEGORIES",
    "CORPUS_PATH",
    "EPOCH",
    "JOB_RISKS",
    "KINESIS_MAX_RECORD_BYTES",
    "MAX_FUTURE_SECONDS",
    "MAX_PAYLOAD_BYTES",
    "BadRecord",
    "Slot",
    "expand",
    "fx_missing",
    "interleave",
    "job_event_time",
    "job_result",
    "load",
    "mixed_traffic",
    "parse_rates",
]
