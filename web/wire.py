"""The server's HTTP/1.1 connection: uvicorn's own, except that a request it cannot parse gets the API's error shape,
and a request head that stops arriving is not waited for.

A request line or a header block that is not HTTP never reaches the application, so uvicorn answers it
itself, as a plain-text 400. Programs that read our errors as ``{"error": ...}`` get that shape here too,
and the ``X-Ledger-Position`` header every answer carries.

uvicorn times out a kept-alive connection that stays silent between requests, but not one that has
begun a request head and stops (or that never sends anything): each such client would hold a
connection for ever. A head must arrive whole within ``HEAD_SECONDS`` of its first byte (of the
connection, for the first one): else a started head is answered 408, and a silent connection closed.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Callable

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

MALFORMED = ("the request is not well-formed HTTP/1.1 (its request line, its headers or their size); an address "
             "is ASCII, with any other character %-escaped as UTF-8")
# The ledger's last position, for this process's refusals (set by the process that serves: ``web.serving``).
last_position: Callable[[], int] | None = None
HEAD_SECONDS = 10.0
SLOW_HEAD = "the request's head (its request line and headers) did not arrive whole within %g seconds"


class JsonErrorProtocol(H11Protocol):
    """uvicorn's h11 protocol; its 400 for an unparsable request is JSON, and a head has ``HEAD_SECONDS`` to arrive."""

    head_timer: asyncio.TimerHandle | None = None
    head_started = False  # whether a byte of the awaited head has come

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.head_timer = self.loop.call_later(HEAD_SECONDS, self.head_too_slow)

    def data_received(self, data: bytes) -> None:
        if self.head_timer is None and self.awaiting_head():
            self.head_timer = self.loop.call_later(HEAD_SECONDS, self.head_too_slow)
        self.head_started = True
        super().data_received(data)
        if not self.awaiting_head():
            self.stop_head_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self.head_started = False  # the next head, if any, starts with the next byte (kept alive till then)

    def connection_lost(self, exc: Exception | None) -> None:
        self.stop_head_timer()
        super().connection_lost(exc)

    def awaiting_head(self) -> bool:
        """Whether the client's next request head has not been read whole yet (h11 leaves IDLE with it)."""
        return self.conn.their_state is h11.IDLE and (self.cycle is None or self.cycle.response_complete)

    def stop_head_timer(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def head_too_slow(self) -> None:
        self.head_timer = None
        if self.transport.is_closing() or not self.awaiting_head():
            return
        if self.head_started:
            # h11 cannot answer a request it has not read: the 408 is written as it would have written it.
            self.transport.write(raw_answer(408, b"Request Timeout", SLOW_HEAD % HEAD_SECONDS))
        self.transport.close()

    def send_400_response(self, msg: str) -> None:
        self.stop_head_timer()
        # h11 lets a server answer a request it failed to parse (its state machine allows the 400 then).
        self.transport.write(raw_answer(400, b"Bad Request", MALFORMED))
        self.transport.close()


def raw_answer(status: int, reason: bytes, message: str) -> bytes:
    """A whole JSON error answer, closing the connection, with the ledger position every answer carries."""
    body = json.dumps({"error": message}).encode("utf-8")
    head = [b"HTTP/1.1 %d %s" % (status, reason), b"content-type: application/json",
            b"content-length: %d" % len(body), b"connection: close"]
    if last_position is not None:
        head.append(b"x-ledger-position: %d" % last_position())
    return b"\r\n".join(head) + b"\r\n\r\n" + body
