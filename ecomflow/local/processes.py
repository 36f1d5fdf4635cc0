"""Processes and ports of the local stack: free loopback ports, process groups started and
stopped, liveness read from /proc."""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import subprocess
import time
from pathlib import Path

from ecomflow.local.config import (
    LOOPBACK,
    StackError,
)

# Popen objects of services started by this process: polling them reaps exited children,
# which would otherwise linger as zombies that still have a /proc entry.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def _proc_stat_state(pid: int) -> str | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[-1].split()[0]


def _pid_alive(pid: int) -> bool:
    child = _CHILDREN.get(pid)
    if child is not None:
        if child.poll() is None:
            return True
        del _CHILDREN[pid]
        return False
    state = _proc_stat_state(pid)
    if state is None:
        return False
    if state in ("Z", "X"):
        # A zombie child of ours that no Popen tracks: reap it; either way it is gone.
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)
        return False
    return True


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _cwd(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return None


def _port_in_use(port: int) -> bool:
    # SO_REUSEADDR like the servers themselves, so sockets in TIME_WAIT do not count as taken.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return True
    return False


def _tcp_answers(port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((LOOPBACK, port), timeout=timeout):
            return True
    except OSError:
        return False


def _tls_answers(port: int, timeout: float = 2.0) -> None:
    """Complete a TLS handshake: kinesis-mock wedges its shutdown on a bare connect+close."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # kinesis-mock's certificate is self-signed
    with socket.create_connection((LOOPBACK, port), timeout=timeout) as raw:
        with context.wrap_socket(raw):
            pass


def _ensure_ports_free(ports: dict[str, int]) -> None:
    for setting, port in ports.items():
        if _port_in_use(port):
            raise StackError(
                f"port {port} on 127.0.0.1 is already in use by another process: stop it "
                f"(see `ss -ltnp 'sport = :{port}'`) or choose another port "
                f"(StackConfig.{setting})"
            )


def _spawn(cmd: list[str], log: Path, cwd: Path, env: dict[str, str] | None = None) -> int:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            start_new_session=True,  # survives the caller and its terminal's Ctrl-C
        )
    _CHILDREN[proc.pid] = proc
    return proc.pid


def _run_logged(cmd: list[str], log: Path, cwd: Path, *, start_new_session: bool = False
                ) -> subprocess.CompletedProcess[bytes]:
    """Run a setup command to completion, its output appended to the service's log."""
    with open(log, "ab") as out:
        return subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=out,
                              stderr=subprocess.STDOUT, cwd=cwd, check=False,
                              start_new_session=start_new_session)


def _signal_group(pid: int, sig: int) -> None:
    """Signal the service's whole session (we started it as its own group leader)."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _wait_gone(pids: list[int], timeout: float) -> list[int]:
    """Wait until the pids exit; return those still alive after `timeout`."""
    deadline = time.monotonic() + timeout
    alive = [pid for pid in pids if _pid_alive(pid)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = [pid for pid in alive if _pid_alive(pid)]
    return alive
