"""The bad-input corpus mixed into valid traffic, through the real job on Kinesis.

The valid traffic is the clean-stream case (tests/jobs/clean_case.py: every path of the clean
stream, its own dead letters, duplicates, late events, FX and catalog), without its oversized
record (this run keeps the production size limit, 1,000,000 bytes). The corpus
(tests/data/bad_input/, loaded by tests/jobs/bad_corpus.py) is interleaved with it
deterministically so that no corpus record moves the watermark: the valid traffic's outcomes
are exactly clean_oracle's. Every record goes on a fresh one-shard kinesis-mock stream as its
exact bytes (PutRecords, one record per request, so nothing overtakes anything), and the job
reads it with ``ecomflow run --from TRIM_HORIZON --idle-timeout 10 --parallelism 1``.

Then: the job ran to the end without failing or restarting (its live counters saw every
record once); every corpus dead letter is in ``dead_letter/`` with its reason and field; every
record the corpus calls valid is in ``events/`` unchanged; the valid traffic is in ``events/``,
``dead_letter/`` and ``late_events/`` exactly as clean_oracle says; pipeline_health's identity
holds in every minute and its totals are the expected ones.

One run for the whole corpus (a Flink start-up plus the idle timeout, about a minute on two
cores). The corpus's groups (``bad_corpus.JOB_RISKS``: entries once suspected to crash the job
or land wrong) used to run one job each, so that a crash in one could not hide the others;
they all pass now, no two entries share an event id, and every problem found names its entry.
Should a group crash the job again, run its entries apart to isolate it (``corpus_entries``
below takes the groups).
"""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from ecomflow.dashboard.server import running_dashboard
from ecomflow.kinesis.client import kinesis_client
from ecomflow.kinesis.pacing import ShardRateGuard
from ecomflow.kinesis.records import PutRecordsError, Record
from ecomflow.kinesis.sender import PutRecordsSender
from ecomflow.local.stack import StackInfo
from flink_jobs.contract import canonical_type, derive_event_id
from tests.jobs import bad_corpus, clean_case, clean_oracle
from tests.jobs.bad_corpus import BadRecord
from tests.jobs.lake_reader import JobLake, fresh_lake
from tests.jobs.privacy_view import private_text
from tests.kinesis_reader import create_active_stream
from tests.support.dashboard import assert_page_shows_the_warehouse, watching
from tests.support.jobs import COMPARED, as_stored, query, run_cli

pytestmark = [pytest.mark.flink, pytest.mark.stack]

SEED = 20250716
GROUPS = ["main", *(risk for risk in bad_corpus.JOB_RISKS if risk != "over_kinesis_limit")]
# The columns compared for a corpus record that must land in events/ unchanged.
CORPUS_COLUMNS = ("event_id", "event_type", "event_time", "user_id", "session_id", "page_url",
                  "product_id", "quantity", "payload")


def group_of(record: BadRecord) -> str:
    return record.job_risk or "main"


def corpus_entries(groups: list[str]) -> list[BadRecord]:
    return [r for r in bad_corpus.load() if group_of(r) in groups and r.fits_kinesis]


def clean_lines() -> list[clean_case.Line]:
    """The clean-stream case at the production size limit: without its oversized record,
    which is only oversized for the 4,096-byte limit test_clean_stream sets."""
    return [line for line in clean_case.build() if line.reason != "payload_too_large"]


# --------------------------------------------------------------------------- helpers


def put_in_order(client: Any, stream: str, payloads: list[bytes]) -> list[int]:
    """Put each payload as one record, one record per request (a retried record can never
    land behind a later one), within the shard's rate limits. Returns the indexes of the
    payloads the stream refused."""
    sender = PutRecordsSender(client, stream, guard=ShardRateGuard.for_stream(client, stream))
    refused = []
    for index, data in enumerate(payloads):
        try:
            outcome = sender.put([Record(data, "bad-input")])
        except PutRecordsError:  # a validation error for the whole call
            refused.append(index)
            continue
        if outcome.failed or len(outcome.accepted) != 1:
            refused.append(index)
    return refused


def read_rows(lake: JobLake, dataset: str) -> list[dict[str, Any]]:
    """Every row of a lake table, with ``payload`` as bytes: a payload that is not UTF-8 is
    stored as it came, and would not convert to str."""
    table = lake.scan(dataset)
    if "payload" in table.column_names:
        index = table.column_names.index("payload")
        table = table.set_column(index, "payload", table.column("payload").cast(pa.binary()))
    rows = table.to_pylist()
    for row in rows:
        for key, value in row.items():
            if isinstance(value, datetime):
                row[key] = value.replace(tzinfo=None)
    return rows


def _json(payload: bytes) -> Any:
    try:
        return json.loads(payload)
    except ValueError:
        return None


def as_seen(payload: bytes) -> bytes:
    """A payload as the job stores it (invalid UTF-8 as U+FFFD), re-encoded. Java and Python
    replace some invalid sequences with a different number of U+FFFD, so runs count as one."""
    text = payload.decode("utf-8", errors="replace")
    return re.sub("\ufffd+", "\ufffd", text).encode("utf-8")


def expected_event(record: BadRecord, private: Callable[[str], str]) -> dict[str, Any]:
    """The events/ row of a corpus record the job must pass unchanged (but pseudonymised)."""
    stored = private(record.text)
    parsed = json.loads(stored)
    own = parsed.get("event_id")
    moment = bad_corpus.job_event_time(record.text)
    assert moment is not None
    moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000, tzinfo=None)
    quantity = parsed.get("quantity")
    return {
        "event_id": own if isinstance(own, str) and own else derive_event_id(parsed),
        "event_type": canonical_type(parsed),
        "event_time": moment,
        "user_id": parsed.get("user_id") or parsed.get("customer_id"),
        "session_id": parsed.get("session_id"),
        "page_url": parsed.get("page_url"),
        "product_id": parsed.get("product_id"),
        "quantity": int(quantity) if isinstance(quantity, int | float) else None,
        "payload": stored.encode("utf-8"),
    }


# --------------------------------------------------------------------------- the test


@pytest.fixture(scope="module")
def rates_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bad-input") / "fx_rates.csv"
    path.write_text(clean_case.FX_RATES_CSV, encoding="utf-8")
    return path


def test_bad_input_in_valid_traffic(stack: StackInfo, warehouse: str,
                                    rates_file: Path, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    records = corpus_entries(GROUPS)
    assert {group_of(r) for r in records} == set(GROUPS)  # every group has entries
    raw_lines = clean_lines()
    # What the sinks hold: pseudonymised records (README "Privacy"); dead letters as received.
    private = private_text(stack.home)
    lines = as_stored(raw_lines, stack.home)
    want = clean_oracle.expected(lines, rates_csv=clean_case.FX_RATES_CSV)
    assert want.outcomes == [line.label for line in lines]  # the valid traffic is as built
    slots = bad_corpus.interleave([line.text for line in raw_lines], SEED, records)

    client = kinesis_client(stack.kinesis_endpoint, stack.region, stack.access_key,
                            stack.secret_key)
    stream = f"bad-input-{uuid.uuid4().hex[:8]}"
    create_active_stream(client, stream, shards=1)  # fresh, one shard: the order is kept
    lake = fresh_lake(stack, "bad_input")
    monkeypatch.setenv("ECOMFLOW__KinesisSource__stream.name", stream)
    monkeypatch.setenv("ECOMFLOW__CleanStream__fx.rates.url", rates_file.as_uri())
    # A record that fails the job fails it again after every restart: fail fast.
    monkeypatch.setenv("ECOMFLOW__Job__restart.attempts", "1")
    # The dashboard is open in a real browser while the records are put on the stream and
    # the job reads them (issue: watch it happen); the puts run beside the job's start.
    with running_dashboard(warehouse) as board, \
            watching(board.url + "?range=all&refresh=2", tmp_path) as page, \
            ThreadPoolExecutor(1) as putter:
        putting = putter.submit(put_in_order, client, stream, [slot.data for slot in slots])
        out = run_cli(stack, "run", *lake.args, "--idle-timeout", "10", "--from",
                      "TRIM_HORIZON", "--parallelism", "1")
        refused = putting.result()
    assert "stopped after idle timeout" in out, out[-3000:]
    assert_page_shows_the_warehouse(page, warehouse)
    # Kinesis allows empty records (0 to 1 MiB); should kinesis-mock refuse one, it never
    # reaches the job and is left out of what is expected.
    assert all(slots[i].data == b"" for i in refused), [slots[i].data[:80] for i in refused]
    on_stream = [slot for i, slot in enumerate(slots) if i not in set(refused)]
    corpus = [slot.record for slot in on_stream if slot.record is not None]

    problems: list[str] = []

    # ---- dead letters: the valid traffic's (clean_oracle) and the corpus's
    dead = read_rows(lake, "dead_letter")
    got_dead = Counter((as_seen(r["payload"]), r["reason"], r["field"]) for r in dead)
    want_dead = Counter((text.encode("utf-8"), reason, field)
                        for text, reason, field in want.dead_letters)
    # A missing_fx_rate dead letter is found after pseudonymisation; the contract's keep the
    # record as received.
    want_dead.update((private(r.text).encode("utf-8") if r.reason == "missing_fx_rate"
                      else as_seen(r.raw), r.reason, r.field) for r in corpus if not r.valid)
    for key in (got_dead - want_dead) + (want_dead - got_dead):
        what = "unexpected" if got_dead[key] > want_dead[key] else "missing"
        problems.append(f"dead letter {what}: reason={key[1]} field={key[2]} "
                        f"payload={key[0][:120]!r}")
    verdict_given = {as_seen(r.raw) for r in corpus if not r.valid and r.verdict_reason}
    for row in dead:
        if as_seen(row["payload"]) in verdict_given and not row["detail"]:
            problems.append(f"dead letter without detail: {row['payload'][:80]!r}")

    # ---- events: the valid traffic exactly as the oracle says, the corpus's valid unchanged
    events = read_rows(lake, "events")
    by_payload: dict[bytes, list[dict[str, Any]]] = {}
    for row in events:
        by_payload.setdefault(as_seen(row["payload"]), []).append(row)
    clean_payloads = {line.text.encode("utf-8") for line in lines}
    got_clean = sorted(({k: (r[k].decode("utf-8") if k == "payload" else r[k]) for k in COMPARED}
                        for r in events if r["payload"] in clean_payloads),
                       key=lambda r: r["payload"])
    want_clean = [{k: e[k] for k in COMPARED} for e in want.events]
    if got_clean != want_clean:
        first = next(((g, w) for g, w in zip(got_clean, want_clean, strict=False) if g != w),
                     None)
        problems.append(f"valid traffic in events/ differs from clean_oracle: {len(got_clean)} "
                        f"rows, {len(want_clean)} expected; first difference (got, wanted): "
                        f"{first!r:.1200}")
    explained: set[bytes] = set()
    for record in corpus:
        if not record.valid:
            if by_payload.get(as_seen(record.raw)):
                problems.append(f"{record.kind} ({group_of(record)}): expected {record.reason}, "
                            "found in events/")
            continue
        # Java and Python escape some characters differently (U+2028, DEL, ...): the stored
        # payload is compared as JSON.
        stored = json.loads(private(record.text))
        rows = [r for r in events if _json(r["payload"]) == stored]
        explained.update(as_seen(r["payload"]) for r in rows)
        wanted = expected_event(record, private) | {"payload": stored}
        got = [{k: r[k] for k in CORPUS_COLUMNS} | {"payload": _json(r["payload"])}
               for r in rows]
        if got != [wanted]:
            problems.append(f"{record.kind} ({group_of(record)}): events/ has {got!r:.600}, "
                            f"expected {wanted!r:.600}")
    unexplained = set(by_payload) - clean_payloads - explained
    problems.extend(f"unexpected row in events/: {p[:120]!r}" for p in unexplained)

    # ---- late events: only the valid traffic's
    late = read_rows(lake, "late_events")
    got_late = sorted((r["event_id"], r["payload"], r["arrival_watermark"]) for r in late)
    want_late = [(event_id, payload.encode("utf-8"), watermark.replace(tzinfo=None))
                 for event_id, payload, watermark in want.late]
    if got_late != want_late:
        problems.append(f"late_events/ differs: {got_late!r:.600} != {want_late!r:.600}")

    # ---- accounting: every minute's identity, and the totals
    health = query(warehouse, "SELECT window_start, records_in, valid, dead_letter, "
                              "duplicates, late FROM pipeline_health ORDER BY window_start")
    problems.extend(f"pipeline_health identity broken: {row}" for row in health
                    if row[1] != sum(row[2:]))
    totals = [sum(row[i] for row in health) for i in range(1, 6)]
    clean_totals = [sum(c[term] for c in want.health.values())
                    for term in ("records_in", "valid", "dead_letter", "duplicates", "late")]
    n_valid = sum(r.valid for r in corpus)
    expected_totals = [clean_totals[0] + len(corpus), clean_totals[1] + n_valid,
                       clean_totals[2] + len(corpus) - n_valid, clean_totals[3], clean_totals[4]]
    assert expected_totals[0] == len(on_stream)
    if totals != expected_totals:
        problems.append(f"pipeline_health totals (records_in, valid, dead_letter, duplicates, "
                        f"late) {totals} != {expected_totals}")
    # The live counters saw every record exactly once: no restart replayed any.
    counters = ("accounting (Flink counters): records_in={} valid={} dead_letter={} "
                "duplicates={} late={}".format(*expected_totals))
    if counters not in out:
        problems.append(f"counters: expected {counters!r}; output: {out[-1500:]}")

    assert not problems, f"{len(problems)} problem(s):\n" + "\n".join(problems)
