"""A fault-injecting HTTP proxy in front of kinesis-mock (shared by the producer, replay and
throttling tests)."""

from __future__ import annotations

import base64
import http.client
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

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
