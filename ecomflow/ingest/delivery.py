"""What a Producer's ``flush``/``close`` reports: ``FlushResult`` (records accepted, records
Kinesis never accepted with their error codes, requests and retries) and ``DeliveryError``,
raised from a result with failures. Kept apart from producer.py, which does the sending; the
names are re-exported there."""


from __future__ import annotations

from dataclasses import dataclass

from ecomflow.kinesis.records import FailedRecord, ProducerError


@dataclass(frozen=True)
class FlushResult:
    """Records that completed since the previous result (``flush`` or ``close``), including
    those the background thread sent meanwhile.

    accepted: records Kinesis accepted. failed: records it never accepted, each with its
    error code, message and the event (``failure.event``). requests/retried: PutRecords calls
    and record re-sends. pending: records still buffered when the result was taken (0 after
    ``flush``/``close`` unless other threads kept sending).
    """

    accepted: int = 0
    failed: tuple[FailedRecord, ...] = ()
    requests: int = 0
    retried: int = 0
    pending: int = 0

    @property
    def ok(self) -> bool:
        return not self.failed

    def raise_for_failures(self) -> FlushResult:
        """Raise DeliveryError if any record was not accepted; return self otherwise."""
        if self.failed:
            raise DeliveryError(self)
        return self


class DeliveryError(ProducerError):
    """Records Kinesis never accepted; ``result.failed`` lists them with their error codes."""

    def __init__(self, result: FlushResult) -> None:
        codes = sorted({f.error_code for f in result.failed})
        super().__init__(
            f"{len(result.failed)} record(s) not accepted by Kinesis ({', '.join(codes)}); "
            f"{result.accepted} accepted"
        )
        self.result = result
