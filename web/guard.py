"""The outermost layer of every request: bounds, security headers, the ledger position, no 5xx.

- A request target in absolute form (``GET http://host/path``, which HTTP/1.1 servers must accept) is
  read as its path, and its authority as the Host; any other target that is not a path (``*``,
  ``api/head``) is refused (400).
- An address whose %-escapes are not UTF-8 is refused (400).
- Bounds: a query string over ``MAX_QUERY`` bytes is refused (400), header fields over
  ``MAX_HEADERS`` bytes in all too (431), and a body over ``MAX_BODY`` bytes (413), whether its
  length is announced or not. A body that stops arriving (no part of it for ``BODY_SECONDS``) is
  answered 408; a head that stops arriving is the connection's to time out (``web.wire``).
- Static files are served whole (a ``Range`` header is ignored, as HTTP allows), and only their
  successful answers may be kept by caches.
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
from urllib.parse import unquote, unquote_to_bytes, urlsplit

import anyio
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from web.errors import error_response, under_api
from web.shared import SharedLedger

log = logging.getLogger("certledger.web")

MAX_QUERY = 4096
MAX_PATH = 2048
MAX_BODY = 2 * 1024 * 1024
BODY_SECONDS = 10.0  # the longest wait for the next part of a request body
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
STATIC_CACHING = "public, max-age=3600"  # for a file served, never for a refusal on those paths
RANGE_HEADERS = (b"range", b"if-range")
# Every answer to a write, a refusal as much as a 201, is about that one request: nothing may keep it.
WRITES = ("/api/commands",)

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class BodyTooLarge(Exception):
    pass


class BodyTooSlow(Exception):
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
                await self.complete(MutableHeaders(scope=message), scope, message["status"])
            elif message["type"] == "http.response.body" and head_only:
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b""}
            await send(message)

        scope, not_a_path = origin_form(scope)
        if not_a_path is not None:  # as a request that is not HTTP (``web.wire``): no page to answer it with
            await JSONResponse({"error": not_a_path}, status_code=400)(scope, receive, send_guarded)
            return
        refusal = too_long(scope) or badly_encoded(scope)
        if refusal is not None:
            await error_response(Request(scope), *refusal)(scope, receive, send_guarded)
            return
        if is_preflight(scope):
            await Response(status_code=204, headers=PREFLIGHT_HEADERS)(scope, receive, send_guarded)
            return
        if scope.get("path", "").startswith(STATIC):
            scope = {**scope, "headers": [(n, v) for n, v in scope.get("headers", ()) if n not in RANGE_HEADERS]}
        try:
            await self.app(scope, bounded(scope, receive), send_guarded)
        except BodyTooLarge:
            if not started:
                await error_response(Request(scope), 413, f"the request body is larger than {MAX_BODY} bytes")(
                    scope, receive, send_guarded)
        except BodyTooSlow:
            if not started:
                message = f"the request body stopped arriving (nothing for {BODY_SECONDS:g} seconds)"
                await error_response(Request(scope), 408, message, {"Connection": "close"})(
                    scope, receive, send_guarded)
        except Exception as error:  # noqa: BLE001 - the promise is: no 5xx, no stack trace, ever
            log.exception("unexpected failure on %s %s", scope["method"], scope.get("path"))
            if not started:
                message = f"unexpected failure ({type(error).__name__}); the server's log has the details"
                await error_response(Request(scope), 400, message)(scope, receive, send_guarded)

    async def complete(self, headers: MutableHeaders, scope: Scope, status: int) -> None:
        for name, value in SECURITY_HEADERS.items():
            if name not in headers:
                headers[name] = value
        path = scope.get("path", "")
        if under_api(path):
            headers.update(API_HEADERS)
        static = path.startswith(STATIC)
        if static and "accept-ranges" in headers:
            del headers["accept-ranges"]  # files are served whole: Range is ignored
        if "cache-control" not in headers:
            # A refusal on a file's path is about one request, not about the file: only files served are kept.
            headers["cache-control"] = (STATIC_CACHING if static and status in (200, 304) else
                                        "no-store" if path in WRITES else "no-cache")
        if POSITION not in headers:
            headers[POSITION] = str(await anyio.to_thread.run_sync(self.ledger.last_position))


def is_preflight(scope: Scope) -> bool:
    return scope["method"] == "OPTIONS" and under_api(scope.get("path", "")) and any(
        name == b"access-control-request-method" for name, _ in scope.get("headers", ()))


def origin_form(scope: Scope) -> tuple[Scope, str | None]:
    """The request with its target as a path: an absolute-form target (``http://host/path``) becomes its path,
    and its authority the Host (RFC 9112, section 3.2.2); a target that is neither is refused."""
    raw_path = scope.get("raw_path") or scope.get("path", "").encode()
    if raw_path.startswith(b"/"):
        return scope, None
    if raw_path[:8].lower().startswith((b"http://", b"https://")):
        target = urlsplit(raw_path.decode("ascii", "replace"))
        path = (target.path or "/").encode("ascii", "replace")
        headers = [(name, value) for name, value in scope.get("headers", ()) if name != b"host"]
        headers.append((b"host", target.netloc.rpartition("@")[2].encode("ascii", "replace")))
        return {**scope, "raw_path": path, "path": unquote(path.decode("ascii")), "headers": headers}, None
    return scope, "the request target is not a path (it must start with /)"


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
    """``receive``, refusing a body that grows past ``MAX_BODY`` (one sent without a length, in chunks), or whose
    next part does not come within ``BODY_SECONDS`` (a client that announced more than it sends would otherwise
    hold its connection, and the request's worker, for ever)."""
    seen = 0
    body_done = False  # once the body is whole, a receive waits for the client to leave (a response streaming a
    # file listens so): that wait is not bounded

    async def receive_bounded() -> Message:
        nonlocal seen, body_done
        if body_done:
            return await receive()
        try:
            with anyio.fail_after(BODY_SECONDS):
                message = await receive()
        except TimeoutError:
            raise BodyTooSlow() from None
        body_done = message["type"] != "http.request" or not message.get("more_body", False)
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > MAX_BODY:
                raise BodyTooLarge()
        return message

    return receive_bounded
