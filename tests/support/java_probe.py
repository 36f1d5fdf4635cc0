"""The job's per-record Java logic from Python, without Flink: `dev.ecomflow.tools.Probe`.

One JVM per probe answers any number of requests (a JSON line in, a JSON line out), so parity
tests can hold tens of thousands of records against the Python references in seconds.
"""

from __future__ import annotations

import base64
import json
import subprocess
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ecomflow import paths


def classpath() -> str:
    import pyflink

    lib = Path(pyflink.__file__).resolve().parent / "lib"
    # The uber-jar holds our classes and their (relocated) libraries; PyFlink's lib brings
    # what the Flink runtime would provide (SLF4J for the schema validator's logging).
    return f"{paths.UBER_JAR}:{lib}/*"


class JavaProbe:
    """A running `Probe <kind>`: `ask` one request, or `ask_many` a stream of them."""

    def __init__(self, kind: str) -> None:
        self._process = subprocess.Popen(
            ["java", "-cp", classpath(), "dev.ecomflow.tools.Probe", kind],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, encoding="utf-8", bufsize=1)

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        return next(iter(self.ask_many([request])))

    def ask_many(self, requests: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """Answers in order; requests are written from a thread so neither pipe fills up."""
        assert self._process.stdin and self._process.stdout
        pending = [json.dumps(r) + "\n" for r in requests]
        stdin = self._process.stdin

        def write() -> None:
            for line in pending:
                stdin.write(line)
            stdin.flush()

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        for _ in pending:
            line = self._process.stdout.readline()
            if not line:
                raise RuntimeError(f"the Java probe stopped: {self._stderr()}")
            yield json.loads(line)
        writer.join()

    def _stderr(self) -> str:
        self._process.kill()
        assert self._process.stderr
        return self._process.stderr.read()[-3000:]

    def close(self) -> None:
        if self._process.poll() is None:
            assert self._process.stdin
            self._process.stdin.close()
            self._process.wait(timeout=30)

    def __enter__(self) -> JavaProbe:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def contract_request(payload: bytes | None, *, max_bytes: int, now_ms: int,
                     max_future_s: int) -> dict[str, Any]:
    return {"payload_b64": None if payload is None else base64.b64encode(payload).decode(),
            "max_bytes": max_bytes, "now_ms": now_ms, "max_future_s": max_future_s}
