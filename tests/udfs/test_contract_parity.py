"""The job's contract check (Java, dev.ecomflow.contract.EventContract) against the Python
reference (udfs.contract_check.verdict): the same (reason, field, event_id) on every record.

Here: the bad-input corpus, 100,000+ generated records with every fault kind, the design's
examples and hand-picked edges of JSON as Python reads it. The hypothesis properties feed every
example they draw to both as well (test_contract_properties.check). One JVM answers them all.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ecomflow.synth.spec import MALFORMED_KINDS, TrafficSpec
from ecomflow.synth.traffic import iter_traffic
from tests.support.design_examples import DESIGN_PAGE_VIEW, DESIGN_PRODUCT, DESIGN_PURCHASE
from tests.support.java_probe import JavaProbe, contract_request
from udfs.contract_check import verdict

CORPUS = Path(__file__).resolve().parents[1] / "data" / "bad_input" / "corpus.jsonl"
MAX_BYTES = 1_000_000
MAX_FUTURE = 300
NOW = datetime(2026, 1, 1, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)


@pytest.fixture(scope="module")
def probe() -> Iterator[JavaProbe]:
    with JavaProbe("contract") as running:
        yield running


def differences(probe: JavaProbe, payloads: list[bytes], *, max_bytes: int = MAX_BYTES
                ) -> tuple[list[str], Counter]:
    """Every payload on which the two disagree, and the Python reasons seen."""
    answers = probe.ask_many(contract_request(p, max_bytes=max_bytes, now_ms=NOW_MS,
                                              max_future_s=MAX_FUTURE) for p in payloads)
    found, reasons = [], Counter()
    for payload, java in zip(payloads, answers, strict=True):
        python = verdict(payload, max_bytes, MAX_FUTURE, now=NOW)
        reasons[python[0]] += 1
        if (java["reason"], java["field"], java["event_id"]) != (python[0], python[1],
                                                                 python[3]):
            found.append(f"{payload[:120]!r}: Python {python}, Java {java}")
    return found, reasons


def test_the_bad_input_corpus(probe: JavaProbe) -> None:
    rows = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()]
    found, reasons = differences(probe, [base64.b64decode(r["payload_b64"]) for r in rows])
    assert not found, "\n".join(found)
    assert len(reasons) >= 9  # nearly every reason of the taxonomy is in the corpus


def test_generated_traffic_with_every_fault_kind(probe: JavaProbe) -> None:
    lines, manifest = iter_traffic(TrafficSpec(
        seed=3, n=100_000, malformed_rate=0.2, duplicate_rate=0.02, late_rate=0.01))
    payloads = [line.encode("utf-8") for line in lines]
    assert len(payloads) > 100_000
    assert set(Counter(r["kind"] for r in manifest.malformed)) == set(MALFORMED_KINDS)
    found, reasons = differences(probe, payloads)
    assert not found, "\n".join(found[:20])
    assert reasons[None] > 90_000 and len(reasons) >= 8


def test_the_designs_examples(probe: JavaProbe) -> None:
    payloads = [text.encode("utf-8") for text in (DESIGN_PURCHASE, DESIGN_PAGE_VIEW,
                                                  DESIGN_PRODUCT)]
    found, reasons = differences(probe, payloads)
    assert not found and reasons == Counter({None: 3})


EDGES = [
    b"", b" ", b"\xef\xbb\xbf{}", b"{}", b"[]", b"{} {}", b'{"a": 1}\n', b"nul", b"NaN",
    b'{"event_type": "page_view", "timestamp": "2025-07-16T10:30:00Z", "page_url": "/"}',
    # a timestamp that matches the pattern but is no calendar time, and one before year 1
    b'{"event_type":"page_view","timestamp":"2025-02-30T10:30:00Z","page_url":"/"}',
    b'{"event_type":"page_view","timestamp":"0000-01-01T00:00:00Z","page_url":"/"}',
    # `$` in the timestamp pattern accepts a final newline (Python and Java alike); the
    # calendar check refuses it; a carriage return is refused by the pattern itself
    b'{"event_type":"page_view","timestamp":"2025-07-16T10:30:00Z\\n","page_url":"/"}',
    b'{"event_type":"page_view","timestamp":"2025-07-16T10:30:00Z\\r","page_url":"/"}',
    b'{"event_type":"page_view","timestamp":"2025-07-16T10:30:00.123456789+14:59",'
    b'"page_url":"/"}',
    # duplicate keys: the last one counts
    b'{"event_type":"page_view","timestamp":"x","timestamp":"2025-07-16T10:30:00Z",'
    b'"page_url":"/"}',
    # escaped surrogates: a pair is one character, a lone one is not Unicode
    b'{"event_type":"page_view","timestamp":"2025-07-16T10:30:00Z","page_url":"/\\ud83d\\ude00"}',
    b'{"event_type":"page_view","timestamp":"2025-07-16T10:30:00Z","page_url":"/\\ud83d"}',
    # numbers: integral floats are integers; an int of 4,301 digits Python cannot read
    b'{"event_type":"add_to_cart","timestamp":"2025-07-16T10:30:00Z","product_id":"p",'
    b'"quantity":2.0,"price":1e2}',
    b'{"event_type":"page_view","timestamp":"2025-07-16T10:30:00Z","page_url":"/","n":'
    + b"9" * 4301 + b"}",
    b'{"event_type":"page_view","timestamp":"2025-07-16T10:30:00Z","page_url":"/","n":'
    + b"9" * 1001 + b"}",
    b'{"event_type":"page_view","timestamp":"2025-07-16T10:30:00Z","page_url":"/","n":1e400}',
    # derived event ids: floats in Python's repr, keys in code point order, escapes
    b'{"product_id":"p","name":"n","price":1e16,"currency":"USD","updated_at":'
    b'"2025-07-16T10:30:00Z","x":[0.1,1e-05,0.0001,123456789012345680.0,-0.0,5e-324],'
    b'"\xf0\x9f\x98\x80":1,"\xef\xbf\xbf":2,"ctl":"\\u0001\\u007f\\u2028\\"\\\\"}',
    # text the warehouse cannot hold: 129 two-byte characters are 258 bytes of product_id
    b'{"event_type":"product_view","timestamp":"2025-07-16T10:30:00Z","product_id":"'
    + "é".encode() * 129 + b'"}',
    b'{"event_type":"product_view","timestamp":"2025-07-16T10:30:00Z","product_id":"'
    + "é".encode() * 128 + b'"}',
    # several issues at once: the one named is the first by reason, then field
    b'{"event_type":"purchase","timestamp":"bad","customer_id":5,"currency":"usd",'
    b'"items":[{"product_id":"p","quantity":0,"price":-1}]}',
]


def test_edges_of_json_as_python_reads_it(probe: JavaProbe) -> None:
    found, _ = differences(probe, EDGES)
    assert not found, "\n".join(found)


def test_the_size_limit_counts_bytes(probe: JavaProbe) -> None:
    record = b'{"event_type":"page_view","timestamp":"2025-07-16T10:30:00Z","page_url":"/"}'
    found, reasons = differences(probe, [record], max_bytes=len(record) - 1)
    assert not found and reasons == Counter({"payload_too_large": 1})
