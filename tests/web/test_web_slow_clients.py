"""A client that starts a request and stops sending does not hold its connection for ever: a request head must
arrive whole within ``HEAD_SECONDS`` of its first byte, and each part of a body within ``BODY_SECONDS`` of the
last; a connection that never sends anything is closed after the same wait."""

from __future__ import annotations

import json
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterator

import pytest

from registry_server import Server, serving
from service import LedgerService
from web.guard import BODY_SECONDS
from web.wire import HEAD_SECONDS


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("slow")
    db = str(directory / "ledger.db")
    service = LedgerService(db, "office")
    service.record({"command": "register", "org": "mina", "name": "Mina", "country": "PE", "date": "2019-01-10"})
    service.close()
    with serving(db, directory) as running:
        yield running


def stalled(port: int, raw: bytes) -> tuple[bytes, float]:
    """What the server answers to ``raw`` sent and never completed, and after how many seconds it closed."""
    with socket.create_connection(("127.0.0.1", port), timeout=HEAD_SECONDS + BODY_SECONDS + 20) as connection:
        connection.sendall(raw)
        started, answer = time.monotonic(), b""
        while chunk := connection.recv(65536):
            answer += chunk
        return answer, time.monotonic() - started


def test_stalled_heads_and_bodies_are_answered_408_and_silent_connections_closed(server: Server) -> None:
    cases = {
        "head": b"GET /api/head HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\n",
        "body": b'POST /api/verify HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"certificates": []}',
        "nothing": b"",
    }
    with ThreadPoolExecutor(len(cases)) as pool:  # the three waits run at once
        answers = dict(zip(cases, pool.map(lambda raw: stalled(server.port, raw), cases.values())))
    head, waited = answers["head"]
    assert head.startswith(b"HTTP/1.1 408 Request Timeout\r\n") and HEAD_SECONDS - 1 < waited < HEAD_SECONDS + 10
    assert json.loads(head.partition(b"\r\n\r\n")[2]) == {
        "error": f"the request's head (its request line and headers) did not arrive whole within {HEAD_SECONDS:g} "
                 "seconds"}
    body, waited = answers["body"]
    assert body.startswith(b"HTTP/1.1 408 Request Timeout\r\n") and BODY_SECONDS - 1 < waited < BODY_SECONDS + 10
    assert b"x-ledger-position: 1\r\n" in body and b"connection: close\r\n" in body
    assert json.loads(body.partition(b"\r\n\r\n")[2]) == {
        "error": f"the request body stopped arriving (nothing for {BODY_SECONDS:g} seconds)"}
    nothing, waited = answers["nothing"]
    assert nothing == b"" and HEAD_SECONDS - 1 < waited < HEAD_SECONDS + 10
    assert server.get("/api/head").status_code == 200, "and the server still answers"


def test_a_slow_client_that_keeps_sending_is_answered(server: Server) -> None:
    """The waits bound a silence, not a request: a head sent a piece at a time, within the wait, is read."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as connection:
        for piece in (b"GET /api/head HTTP/1.1\r\n", b"Host: x\r\n", b"Connection: close\r\n\r\n"):
            connection.sendall(piece)
            time.sleep(0.5)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
