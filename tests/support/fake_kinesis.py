"""The tests' in-process Kinesis client: PutRecords only, for exact request shapes and
injected failures without a network (the producer and replay tests; against kinesis-mock,
failures come from `FaultProxy` instead).

It records every call and every accepted entry; a failure plan decides, entry by entry,
which fail and with what. `fail_times` builds one from per-key counts; `by_event_id` and
`by_data` key them on the event's ``event_id`` or on the record's Data bytes.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Hashable, Mapping
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from tests.support.fault_proxy import THROTTLED

Entry = dict[str, Any]  # one PutRecords request entry: Data, PartitionKey, ...
RecordError = tuple[str, str]  # (ErrorCode, ErrorMessage)
FailurePlan = Callable[[Entry], RecordError | None]  # None: accept the entry
K = TypeVar("K", bound=Hashable)
RATE_EXCEEDED = "Rate exceeded"


def fail_times(
    times: Mapping[K, int],
    key: Callable[[Entry], K],
    *,
    code: str = THROTTLED,
    message: str = RATE_EXCEEDED,
) -> FailurePlan:
    """Fail the entries whose ``key`` is in ``times`` that many times (-1: always)."""
    left = dict(times)

    def plan(entry: Entry) -> RecordError | None:
        k = key(entry)
        n = left.get(k, 0)
        if n == 0:
            return None
        if n > 0:
            left[k] = n - 1
        return code, message

    return plan


def by_event_id(
    times: Mapping[str, int], *, code: str = THROTTLED, message: str = RATE_EXCEEDED
) -> FailurePlan:
    """`fail_times` keyed on the JSON event's ``event_id``."""
    return fail_times(times, lambda e: _event_id(e["Data"]), code=code, message=message)


def by_data(
    times: Mapping[bytes, int], *, code: str = THROTTLED, message: str = RATE_EXCEEDED
) -> FailurePlan:
    """`fail_times` keyed on the record's Data bytes."""
    return fail_times(times, lambda e: e["Data"], code=code, message=message)


def _event_id(data: bytes) -> str:
    return json.loads(data)["event_id"]


class FakeKinesis:
    """Thread-safe recording PutRecords: ``throttle_calls`` whole calls fail with
    ``call_error``; then ``fail`` picks the failing entries; ``gate`` holds calls until set."""

    def __init__(
        self,
        fail: FailurePlan | None = None,
        *,
        throttle_calls: int = 0,
        call_error: str = THROTTLED,
        gate: threading.Event | None = None,
    ) -> None:
        self.fail = fail
        self.throttle_calls = throttle_calls
        self.call_error = call_error
        self.gate = gate
        self.calls: list[list[Entry]] = []
        self.accepted: list[Entry] = []
        self.lock = threading.Lock()

    def put_records(self, *, StreamName: str, Records: list[Entry]) -> dict[str, Any]:
        if self.gate is not None:
            assert self.gate.wait(30)
        with self.lock:
            self.calls.append(Records)
            if self.throttle_calls > 0:
                self.throttle_calls -= 1
                raise ClientError(
                    {"Error": {"Code": self.call_error, "Message": "slow down"}}, "PutRecords"
                )
            results: list[dict[str, str]] = []
            for entry in Records:
                error = self.fail(entry) if self.fail is not None else None
                if error is not None:
                    results.append({"ErrorCode": error[0], "ErrorMessage": error[1]})
                else:
                    self.accepted.append(entry)
                    results.append({"SequenceNumber": str(len(self.accepted)), "ShardId": "s-0"})
            failed = sum("ErrorCode" in r for r in results)
            return {"FailedRecordCount": failed, "Records": results}

    def accepted_data(self) -> list[bytes]:
        return [entry["Data"] for entry in self.accepted]

    def accepted_ids(self) -> list[str]:
        return [_event_id(entry["Data"]) for entry in self.accepted]
