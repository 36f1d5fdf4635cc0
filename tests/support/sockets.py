"""Which addresses a process tree listens on, read from /proc (Linux): every server a test or
the local stack starts must listen on 127.0.0.1 only."""

from __future__ import annotations

import ipaddress
import os
import socket
import struct
from pathlib import Path


def descendants(pid: int) -> set[int]:
    """`pid` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        current = todo.pop()
        found.add(current)
        todo += children.get(current, [])
    return found


def _socket_inodes(pids: set[int]) -> set[str]:
    inodes = set()
    for pid in pids:
        try:
            links = [os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()]
        except OSError:
            continue
        inodes |= {link[8:-1] for link in links if link.startswith("socket:[")}
    return inodes


def _address(hex_address: str, family: int) -> str:
    raw = bytes.fromhex(hex_address)
    if family == socket.AF_INET:
        return str(ipaddress.IPv4Address(struct.pack("<I", *struct.unpack(">I", raw))))
    words = struct.unpack(">4I", raw)
    return str(ipaddress.IPv6Address(b"".join(struct.pack("<I", w) for w in words)))


def listen_sockets() -> list[tuple[str, int, str]]:
    """(address, port, inode) of every TCP socket in LISTEN state on this machine."""
    found = []
    for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        with open(table) as handle:
            next(handle)
            for line in handle:
                fields = line.split()
                address, port = fields[1].split(":")
                if fields[3] == "0A":
                    found.append((_address(address, family), int(port, 16), fields[9]))
    return found


def listening(pid: int) -> list[tuple[str, int]]:
    """(address, port) of every TCP socket in LISTEN state held by `pid` or its descendants."""
    inodes = _socket_inodes(descendants(pid))
    return [(address, port) for address, port, inode in listen_sockets() if inode in inodes]


def off_loopback(pid: int) -> list[tuple[str, int]]:
    """The listeners of `pid`'s tree that are not on a loopback address."""
    return [(address, port) for address, port in listening(pid) if not _is_loopback(address)]


def _is_loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    mapped = getattr(ip, "ipv4_mapped", None)  # ::ffff:127.0.0.1, a Java socket on 127.0.0.1
    return (mapped or ip).is_loopback
