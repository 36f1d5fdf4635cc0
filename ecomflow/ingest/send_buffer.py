"""The Producer's buffer: the records waiting for a PutRecords request, oldest first, with
their sequence numbers and total size; when the next request is due (a full batch, or the
oldest record has lingered long enough) and which records it takes (at most one per partition
key when order per key must hold). Kept apart from producer.py, which owns the settings, the
lock, the background thread and the sending; not thread-safe: call it with that lock held."""


from __future__ import annotations

import time
from collections import deque

from ecomflow.kinesis.limits import MAX_BATCH_BYTES, MAX_BATCH_RECORDS
from ecomflow.kinesis.records import Record


class _Buffered:
    __slots__ = ("record", "seq", "since")

    def __init__(self, record: Record, seq: int, since: float) -> None:
        self.record = record
        self.seq = seq
        self.since = since


class SendBuffer:
    """Buffered records in send order. ``seq`` numbers the records added (a flush sends up to
    the number it saw); ``bytes`` is their total size (data + partition key)."""

    def __init__(self) -> None:
        self.items: deque[_Buffered] = deque()
        self.bytes = 0
        self.seq = 0

    def __len__(self) -> int:
        return len(self.items)

    def fits(self, record: Record, max_records: int, max_bytes: int) -> bool:
        """Room for ``record`` within the bounds; an empty buffer takes any record."""
        if not self.items:
            return True
        return len(self.items) < max_records and self.bytes + record.size <= max_bytes

    def add(self, record: Record) -> None:
        self.seq += 1
        self.items.append(_Buffered(record, self.seq, time.monotonic()))
        self.bytes += record.size

    def put_back(self, records: list[Record]) -> None:
        """Return records to the front, in their order (sequence 0: the next flush sends them)."""
        for record in reversed(records):
            self.items.appendleft(_Buffered(record, 0, time.monotonic()))
            self.bytes += record.size

    def holds_upto(self, upto: int) -> bool:
        """Whether a record added up to sequence ``upto`` is still buffered."""
        return bool(self.items) and self.items[0].seq <= upto

    def due_in(self, batch_records: int, batch_bytes: int, linger_seconds: float) -> float | None:
        """0 when a request should go now (``batch_records`` or ``batch_bytes`` buffered);
        seconds until the oldest record's linger ends; None when the buffer is empty."""
        if not self.items:
            return None
        if len(self.items) >= batch_records or self.bytes >= batch_bytes:
            return 0.0
        return max(0.0, self.items[0].since + linger_seconds - time.monotonic())

    def take_batch(
        self, upto: int | None, max_batch_records: int, preserve_key_order: bool
    ) -> list[Record]:
        """Take the next request's records (added up to sequence ``upto``; None: any). With
        ``preserve_key_order``, at most one record per key: later ones wait their turn."""
        batch: list[Record] = []
        size = 0
        keys: set[str] = set()
        skipped: list[_Buffered] = []
        scanned = 0
        buffer = self.items
        while buffer and len(batch) < max_batch_records and scanned < 4 * MAX_BATCH_RECORDS:
            item = buffer[0]
            if upto is not None and item.seq > upto:
                break
            record = item.record
            if size + record.size > MAX_BATCH_BYTES:
                break
            buffer.popleft()
            scanned += 1
            if preserve_key_order and record.partition_key in keys:
                skipped.append(item)
                continue
            keys.add(record.partition_key)
            batch.append(record)
            size += record.size
            self.bytes -= record.size
        buffer.extendleft(reversed(skipped))
        return batch
