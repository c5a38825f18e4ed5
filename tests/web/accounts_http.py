"""Helpers of the web tests of accounts: tokens, clients from chosen loopback addresses, the worker that
answered a connection, what the ledger holds (read directly, not over HTTP)."""

from __future__ import annotations

import atexit
import os
from pathlib import Path
from typing import Any, Iterable

import httpx

from registry_server import Server
from service import LedgerService

UNAUTHENTICATED = "a valid bearer token is required (Authorization: Bearer TOKEN)"


def open_accounts(db: str, specs: Iterable[tuple[str, str, list[str]]], *,
                  revoke: Iterable[str] = ()) -> dict[str, str]:
    """Open accounts (name, role, orgs) as the registry office; their tokens by name. ``revoke``: then revoke these."""
    service = LedgerService(db, "registry-office")
    try:
        tokens = {name: service.open_account(name, role, orgs)["token"] for name, role, orgs in specs}
        for name in revoke:
            service.revoke_account(name)
    finally:
        service.close()
    return tokens


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def client_from(server: Server, address: str = "127.0.0.1", **kwargs: Any) -> httpx.Client:
    """A client whose connections leave from ``address`` (any of 127.0.0.0/8 reaches the server)."""
    return httpx.Client(base_url=server.url, timeout=30.0, transport=httpx.HTTPTransport(local_address=address),
                        **kwargs)


_readers: dict[str, LedgerService] = {}


def last_position(db: str) -> int:
    """The ledger's last position, read from the database itself (one reader kept per database)."""
    if db not in _readers:
        _readers[db] = LedgerService(db)
        atexit.register(_readers[db].close)
    return _readers[db].ledger(must_exist=True).storage.max_position() or 0


def local_port(response: httpx.Response) -> int:
    stream = response.extensions["network_stream"]
    return int(stream.get_extra_info("socket").getsockname()[1])


def worker_serving(server: Server, response: httpx.Response) -> int:
    """The pid of the server process that holds the server side of ``response``'s connection (Linux /proc)."""
    client_port = local_port(response)
    inode = None
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote = fields[1], fields[2]
            if int(local.rsplit(":", 1)[1], 16) == server.port and int(remote.rsplit(":", 1)[1], 16) == client_port:
                inode = fields[9]
    assert inode is not None, "the connection is not in /proc/net/tcp"
    for pid in [server.process.pid, *descendants(server.process.pid)]:
        try:
            links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
        except OSError:
            continue
        if f"socket:[{inode}]" in links:
            return pid
    raise AssertionError("no server process holds the connection")


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                status = Path(f"/proc/{entry}/status").read_text()
            except OSError:
                continue
            parent = int(next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:")))
            children.setdefault(parent, []).append(int(entry))
    found, frontier = [], [pid]
    while frontier:
        below = children.get(frontier.pop(), [])
        found += below
        frontier += below
    return found
