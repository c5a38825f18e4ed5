"""The server's HTTP/1.1 connection: uvicorn's own, except that a request it cannot parse gets the API's error shape.

A request line or a header block that is not HTTP never reaches the application, so uvicorn answers it
itself, as a plain-text 400. Programs that read our errors as ``{"error": ...}`` get that shape here too,
and the ``X-Ledger-Position`` header every answer carries.
"""

from __future__ import annotations

import json
from typing import Callable

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

MALFORMED = ("the request is not well-formed HTTP/1.1 (its request line, its headers or their size); an address "
             "is ASCII, with any other character %-escaped as UTF-8")
# The ledger's last position, for this process's refusals (set by the process that serves: ``web.serving``).
last_position: Callable[[], int] | None = None



class JsonErrorProtocol(H11Protocol):
    """uvicorn's h11 protocol; its 400 for an unparsable request is JSON."""

    def send_400_response(self, msg: str) -> None:
        body = json.dumps({"error": MALFORMED}).encode("utf-8")
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode("ascii")),
                   (b"connection", b"close")]
        if last_position is not None:
            headers.append((b"x-ledger-position", str(last_position()).encode("ascii")))
        # h11 lets a server answer a request it failed to parse (its state machine allows the 400 then).
        self.transport.write(self.conn.send(h11.Response(status_code=400, headers=headers, reason=b"Bad Request")))
        self.transport.write(self.conn.send(h11.Data(data=body)))
        self.transport.write(self.conn.send(h11.EndOfMessage()))
        self.transport.close()
