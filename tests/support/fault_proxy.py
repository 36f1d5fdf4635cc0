"""The tests' one Kinesis fake: an HTTP proxy in front of kinesis-mock that injects failures
(`FaultProxy`: refused calls and records, used by the producer, replay and collector tests) or
enforces Kinesis' per-shard write limits (`ShardThrottle`, a FaultProxy: the throttling tests;
kinesis-mock itself never throttles)."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from ecomflow.kinesis.client import kinesis_client
from ecomflow.kinesis.limits import SHARD_BYTES_PER_SECOND, SHARD_RECORDS_PER_SECOND
from ecomflow.local.stack import StackInfo

THROTTLED = "ProvisionedThroughputExceededException"


class FaultProxy:
    """An HTTP proxy on 127.0.0.1 in front of kinesis-mock's plain endpoint.

    PutRecords calls are rewritten: ``throttle_calls`` whole calls are answered with a 400
    ProvisionedThroughputExceededException; records whose Data contains a key of
    ``fail_times`` are withheld from kinesis-mock and marked failed in the response
    (``n`` times, or always for -1). Everything else is forwarded unchanged. boto3 speaks
    JSON 1.1 to Kinesis (no CBOR), so bodies can be rewritten.
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = urlsplit(upstream)
        self.fail_times: dict[bytes, int] = {}
        self.throttle_calls = 0
        self.put_calls = 0
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                target = self.headers.get("X-Amz-Target", "")
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() not in ("host", "content-length", "connection")
                }
                if target.endswith(".PutRecords"):
                    status, reply = proxy._put_records(body, headers)
                else:
                    status, reply = proxy._forward(body, headers)
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FaultProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _forward(self, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=30)
        try:
            conn.request("POST", "/", body=body, headers=headers)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def _put_records(self, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        with self.lock:
            self.put_calls += 1
            if self.throttle_calls > 0:
                self.throttle_calls -= 1
                error = {"__type": THROTTLED, "message": "Rate exceeded for stream (injected)"}
                return 400, json.dumps(error).encode()
            request = json.loads(body)
            fail: list[bool] = []
            for record in request["Records"]:
                data = base64.b64decode(record["Data"])
                hit = next((k for k, n in self.fail_times.items() if n != 0 and k in data), None)
                if hit is not None and self.fail_times[hit] > 0:
                    self.fail_times[hit] -= 1
                fail.append(hit is not None)
        passing = [r for r, f in zip(request["Records"], fail, strict=True) if not f]
        upstream: list[dict[str, Any]] = []
        if passing:
            status, reply = self._forward(
                json.dumps({**request, "Records": passing}).encode(), headers
            )
            if status != 200:
                return status, reply
            upstream = json.loads(reply)["Records"]
        results, it = [], iter(upstream)
        for failed in fail:
            results.append(
                {"ErrorCode": THROTTLED, "ErrorMessage": "Rate exceeded for shard (injected)"}
                if failed
                else next(it)
            )
        count = sum("ErrorCode" in r for r in results)
        return 200, json.dumps({"FailedRecordCount": count, "Records": results}).encode()


class _Bucket:
    """A token bucket: ``rate`` per second, at most ``capacity`` saved up."""

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.rate, self.capacity = rate, capacity
        self.tokens, self.last = capacity, now

    def refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
        self.last = now


class ShardThrottle(FaultProxy):
    """A proxy on 127.0.0.1 in front of kinesis-mock that throttles PutRecords per shard.

    Each open shard has Kinesis' write budget as two token buckets (records and bytes =
    data + partition key), each holding at most one second's worth. A PutRecords entry
    passes when both buckets of its shard (MD5 of the partition key against the shards'
    hash-key ranges) can pay for it; otherwise it is answered with
    ProvisionedThroughputExceededException and never reaches kinesis-mock. Lower budgets
    stand for a shard other writers already use.

    ``log`` keeps, per PutRecords request in arrival order, each entry's Data and whether it
    passed.
    """

    def __init__(
        self,
        upstream: str,
        stack: StackInfo,
        *,
        records_per_second: float = SHARD_RECORDS_PER_SECOND,
        bytes_per_second: float = SHARD_BYTES_PER_SECOND,
    ) -> None:
        super().__init__(upstream)
        self.records_per_second = records_per_second
        self.bytes_per_second = bytes_per_second
        self._lister = kinesis_client(upstream, stack.region, stack.access_key, stack.secret_key)
        self._shards: dict[str, list[tuple[int, int, str]]] = {}
        self._buckets: dict[tuple[str, str], tuple[_Bucket, _Bucket]] = {}
        self.log: list[list[tuple[bytes, bool]]] = []
        self.throttled = 0

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        self._lister.close()

    def _shard_of(self, stream: str, key: str, explicit: str | None) -> str:
        if stream not in self._shards:
            shards = self._lister.list_shards(StreamName=stream)["Shards"]
            self._shards[stream] = [
                (
                    int(s["HashKeyRange"]["StartingHashKey"]),
                    int(s["HashKeyRange"]["EndingHashKey"]),
                    s["ShardId"],
                )
                for s in shards
                if not s["SequenceNumberRange"].get("EndingSequenceNumber")
            ]
        point = int(explicit) if explicit else int(hashlib.md5(key.encode()).hexdigest(), 16)
        return next(sid for lo, hi, sid in self._shards[stream] if lo <= point <= hi)

    def _put_records(self, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        request = json.loads(body)
        stream = request.get("StreamName") or request["StreamARN"].rsplit("/", 1)[-1]
        passed: list[bool] = []
        errors: list[dict[str, str]] = []
        with self.lock:  # the budget is decided in arrival order, one request at a time
            self.put_calls += 1
            entry_log: list[tuple[bytes, bool]] = []
            now = time.monotonic()
            for record in request["Records"]:
                data = base64.b64decode(record["Data"])
                key = record["PartitionKey"]
                shard = self._shard_of(stream, key, record.get("ExplicitHashKey"))
                if (stream, shard) not in self._buckets:
                    self._buckets[stream, shard] = (
                        _Bucket(self.records_per_second, self.records_per_second, now),
                        _Bucket(self.bytes_per_second, self.bytes_per_second, now),
                    )
                records, size = self._buckets[stream, shard]
                records.refill(now)
                size.refill(now)
                cost = len(data) + len(key.encode())
                ok = records.tokens >= 1 and size.tokens >= cost
                if ok:
                    records.tokens -= 1
                    size.tokens -= cost
                else:
                    self.throttled += 1
                    errors.append(
                        {
                            "ErrorCode": THROTTLED,
                            "ErrorMessage": f"Rate exceeded for shard {shard} in stream "
                            f"{stream} under account 000000000000.",
                        }
                    )
                passed.append(ok)
                entry_log.append((data, ok))
            self.log.append(entry_log)
            forward = [r for r, ok in zip(request["Records"], passed, strict=True) if ok]
            # Forwarded under the lock: what passed first lands first.
            upstream: list[dict[str, Any]] = []
            if forward:
                status, reply = self._forward(
                    json.dumps({**request, "Records": forward}).encode(), headers
                )
                if status != 200:
                    return status, reply
                upstream = json.loads(reply)["Records"]
        accepted, refused = iter(upstream), iter(errors)
        results = [next(accepted) if ok else next(refused) for ok in passed]
        count = sum("ErrorCode" in r for r in results)
        return 200, json.dumps({"FailedRecordCount": count, "Records": results}).encode()
