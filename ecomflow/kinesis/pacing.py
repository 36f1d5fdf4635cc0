"""Pacing: the per-shard write budget kept on the client side (ShardRateGuard), and Ctrl-C
held back while a batch is in flight (SigintDeferral)."""


from __future__ import annotations

import bisect
import contextlib
import hashlib
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ecomflow.kinesis.limits import (
    SHARD_BYTES_PER_SECOND,
    SHARD_RECORDS_PER_SECOND,
)
from ecomflow.kinesis.records import (
    Record,
)

log = logging.getLogger(__name__)

class ShardRateGuard:
    """Keeps each shard's write rate within Kinesis' limits before requests are made.

    A record goes to the shard whose hash-key range holds MD5(partition key), exactly as
    Kinesis routes it. Each shard has a virtual schedule per limit (records and bytes, a
    generic cell rate algorithm without burst): a request waits until every shard it writes
    to has paid for its previous writes, then books its own. Requests span shards, so a busy
    shard also delays records for idle ones; throttling that still happens (other writers,
    resharding) is handled by the sender's backoff.
    """

    def __init__(
        self,
        starting_hash_keys: Sequence[int],
        *,
        records_per_second: float = SHARD_RECORDS_PER_SECOND,
        bytes_per_second: float = SHARD_BYTES_PER_SECOND,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Any] = time.sleep,
    ) -> None:
        if not starting_hash_keys:
            raise ValueError("a stream has at least one shard")
        self._starts = sorted(starting_hash_keys)
        self._records_per_second = records_per_second
        self._bytes_per_second = bytes_per_second
        self._clock = clock
        self._sleep = sleep
        n = len(self._starts)
        self._records_due = [float("-inf")] * n
        self._bytes_due = [float("-inf")] * n
        self.waited = 0.0

    @classmethod
    def for_stream(cls, client: Any, stream_name: str, **kwargs: Any) -> ShardRateGuard | None:
        """A guard for the stream's open shards (ListShards), or None if they cannot be
        listed (e.g. a role allowed PutRecords only): throttling then relies on backoff."""
        try:
            starts: list[int] = []
            request: dict[str, Any] = {"StreamName": stream_name}
            while True:
                response = client.list_shards(**request)
                for shard in response.get("Shards", []):
                    if shard.get("SequenceNumberRange", {}).get("EndingSequenceNumber"):
                        continue  # closed by a reshard: takes no writes
                    starts.append(int(shard["HashKeyRange"]["StartingHashKey"]))
                token = response.get("NextToken")
                if not token:
                    break
                request = {"NextToken": token}
        except Exception as exc:  # any failure only means "no guard"
            log.debug("no shard rate guard for %s: %s", stream_name, exc)
            return None
        return cls(starts, **kwargs) if starts else None

    @property
    def shards(self) -> int:
        return len(self._starts)

    def shard_of(self, partition_key: str) -> int:
        """Index of the open shard Kinesis routes this partition key to."""
        point = int(hashlib.md5(partition_key.encode("utf-8")).hexdigest(), 16)
        return max(bisect.bisect_right(self._starts, point) - 1, 0)

    def acquire(self, records: Sequence[Record]) -> float:
        """Sleep until the records may be written without exceeding any shard's limits;
        book them; return the seconds waited."""
        counts: dict[int, list[int]] = {}
        for record in records:
            slot = counts.setdefault(self.shard_of(record.partition_key), [0, 0])
            slot[0] += 1
            slot[1] += record.size
        now = self._clock()
        ready = now
        for shard in counts:
            ready = max(ready, self._records_due[shard], self._bytes_due[shard])
        wait = ready - now
        if wait > 0:
            self._sleep(wait)
            self.waited += wait
        for shard, (n, size) in counts.items():
            self._records_due[shard] = (
                max(self._records_due[shard], ready) + n / self._records_per_second
            )
            self._bytes_due[shard] = (
                max(self._bytes_due[shard], ready) + size / self._bytes_per_second
            )
        return max(wait, 0.0)


class SigintDeferral:
    """While active (main thread, default SIGINT handler only), a first Ctrl-C that arrives
    during a PutRecords call is deferred until the call has returned, so its results are
    counted; ``requested`` tells the caller to stop. Ctrl-C at any other moment, or a second
    one, raises KeyboardInterrupt as usual."""

    def __init__(self) -> None:
        self.requested = False
        self._in_call = False
        self._previous: Any = None
        self._installed = False

    def __enter__(self) -> SigintDeferral:
        if (
            threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler
        ):
            self._previous = signal.signal(signal.SIGINT, self._handler)
            self._installed = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)
            self._installed = False

    def _handler(self, signum: int, frame: Any) -> None:
        if self._in_call and not self.requested:
            self.requested = True
            return
        raise KeyboardInterrupt

    @contextlib.contextmanager
    def call(self) -> Iterator[None]:
        self._in_call = True
        try:
            yield
        finally:
            self._in_call = False
