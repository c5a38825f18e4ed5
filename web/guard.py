"""The outermost layer of every request: bounds, security headers, the ledger position, no 5xx.

- An address whose %-escapes are not UTF-8 is refused (400).
- Bounds: a query string over ``MAX_QUERY`` bytes is refused (400), header fields over
  ``MAX_HEADERS`` bytes in all too (431), and a body over ``MAX_BODY`` bytes (413), whether its
  length is announced or not.
- Every response gets the security headers, and ``X-Ledger-Position``: routes set it from the
  answer they used; anything else (an error, a static file, a private server's refusal) reports the
  ledger's last position.
- HEAD is answered as GET without the body.
- Anything unexpected is logged with its traceback and answered 400 with a short message: a
  public server shows no stack trace and never answers 5xx.
"""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable
from urllib.parse import unquote_to_bytes

import anyio
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response

from web.errors import error_response, under_api
from web.shared import SharedLedger

log = logging.getLogger("certledger.web")

MAX_QUERY = 4096
MAX_PATH = 2048
MAX_BODY = 2 * 1024 * 1024
# The request's header fields, names and values together. uvicorn bounds only what it buffers while a head is
# incomplete, so a head that arrives in one read may be far larger.
MAX_HEADERS = 16 * 1024

PAGE_POLICY = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
               "frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = {
    "content-security-policy": PAGE_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}
API_HEADERS = {
    # Public, read-only data without credentials: any site's scripts may read it.
    "access-control-allow-origin": "*",
    "access-control-expose-headers": "X-Ledger-Position",
}
# A browser asks before a script on another site sends JSON or a token (a CORS preflight): the API says yes.
PREFLIGHT_HEADERS = {
    "access-control-allow-methods": "GET, HEAD, POST",
    "access-control-allow-headers": "Authorization, Content-Type",
    "access-control-max-age": "86400",
}
POSITION = "x-ledger-position"
STATIC = ("/static/", "/api/docs/assets/")
STATIC_CACHING = "public, max-age=3600"
# Every answer to a write, a refusal as much as a 201, is about that one request: nothing may keep it.
WRITES = ("/api/commands",)

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class BodyTooLarge(Exception):
    pass


class Guard:
    def __init__(self, app: Callable[..., Awaitable[None]], ledger: SharedLedger):
        self.app = app
        self.ledger = ledger

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        head_only = scope["method"] == "HEAD"
        if head_only:
            scope = {**scope, "method": "GET"}
        started = False

        async def send_guarded(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                await self.complete(MutableHeaders(scope=message), scope)
            elif message["type"] == "http.response.body" and head_only:
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b""}
            await send(message)

        refusal = too_long(scope) or badly_encoded(scope)
        if refusal is not None:
            await error_response(Request(scope), *refusal)(scope, receive, send_guarded)
            return
        if is_preflight(scope):
            await Response(status_code=204, headers=PREFLIGHT_HEADERS)(scope, receive, send_guarded)
            return
        try:
            await self.app(scope, bounded(scope, receive), send_guarded)
        except BodyTooLarge:
            if not started:
                await error_response(Request(scope), 413, f"the request body is larger than {MAX_BODY} bytes")(
                    scope, receive, send_guarded)
        except Exception as error:  # noqa: BLE001 - the promise is: no 5xx, no stack trace, ever
            log.exception("unexpected failure on %s %s", scope["method"], scope.get("path"))
            if not started:
                message = f"unexpected failure ({type(error).__name__}); the server's log has the details"
                await error_response(Request(scope), 400, message)(scope, receive, send_guarded)

    async def complete(self, headers: MutableHeaders, scope: Scope) -> None:
        for name, value in SECURITY_HEADERS.items():
            if name not in headers:
                headers[name] = value
        path = scope.get("path", "")
        if under_api(path):
            headers.update(API_HEADERS)
        if "cache-control" not in headers:
            headers["cache-control"] = (STATIC_CACHING if path.startswith(STATIC) else
                                        "no-store" if path in WRITES else "no-cache")
        if POSITION not in headers:
            headers[POSITION] = str(await anyio.to_thread.run_sync(self.ledger.last_position))


def is_preflight(scope: Scope) -> bool:
    return scope["method"] == "OPTIONS" and under_api(scope.get("path", "")) and any(
        name == b"access-control-request-method" for name, _ in scope.get("headers", ()))


def too_long(scope: Scope) -> tuple[int, str] | None:
    if len(scope.get("query_string", b"")) > MAX_QUERY:
        return 400, f"the query string is longer than {MAX_QUERY} bytes"
    if len(scope.get("raw_path") or scope.get("path", "").encode()) > MAX_PATH:
        return 400, f"the path is longer than {MAX_PATH} bytes"
    headers = scope.get("headers", ())
    if sum(len(name) + len(value) for name, value in headers) > MAX_HEADERS:
        return 431, f"the request's header fields are longer than {MAX_HEADERS} bytes in all"
    for name, value in headers:
        if name == b"content-length":
            try:
                announced = int(value)
            except ValueError:
                return 400, "the Content-Length header is not a number"
            if announced > MAX_BODY:
                return 413, f"the request body is larger than {MAX_BODY} bytes"
    return None


def badly_encoded(scope: Scope) -> tuple[int, str] | None:
    """An address whose percent-escapes do not decode to UTF-8 text: refused, not read with U+FFFD in place
    of the bytes (which would look up, say, a certificate number nobody typed)."""
    raw_path = scope.get("raw_path") or scope.get("path", "").encode()
    for part, name in ((raw_path, "path"), (scope.get("query_string", b"").replace(b"+", b" "), "query string")):
        try:
            unquote_to_bytes(part).decode("utf-8")
        except UnicodeDecodeError:
            return 400, f"the {name} is not UTF-8 text once its %-escapes are decoded"
    return None


def bounded(scope: Scope, receive: Receive) -> Receive:
    """``receive``, refusing a body that grows past ``MAX_BODY`` (one sent without a length, in chunks)."""
    seen = 0

    async def receive_bounded() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > MAX_BODY:
                raise BodyTooLarge()
        return message

    return receive_bounded
