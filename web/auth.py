"""Who is asking: bearer tokens over HTTP (SPEC section 11), a limit on failed attempts, the private registry.

- ``Authenticator.authenticate(token, address)`` gives the active account holding a token. The token
  is checked by ``ledger.application.accounts.TokenChecker`` (one slow hash at most, a dummy one for
  unknown ids, verified tokens remembered in memory by their SHA-256); the account is read fresh for
  every request, so a revocation counts from the next request on, in every worker. Only the read
  takes the worker's ledger lock: the slow hash runs beside other requests.
- Every refusal for want of an account is 401 with one message, whatever the reason (missing,
  unknown, malformed, wrong or revoked token), and ``WWW-Authenticate: Bearer``.
- ``FailureLimiter``: failed attempts are limited per client address (a token bucket per address, in
  a fixed-size LRU table, per worker process). An address that has used up its bucket gets 429 with
  ``Retry-After`` for every request that needs an account, unless its token is one this process has
  verified before (checked from memory, no slow hash): checking any other would cost the slow hash the
  limit is there to save, and would tell a guesser which of its guesses was right. A request with no
  token at all is 401 (nothing guessed). Other addresses are not affected.
- ``Gate``: with ``certledger serve --private``, every request (pages, API, description, feed,
  static files) needs an account; ``reader`` is enough.

Tokens are read from the ``Authorization`` header only (never from the URL, which access logs
record) and are never logged, stored or echoed.
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections import OrderedDict
from typing import Any, Awaitable, Callable
from uuid import UUID

import anyio
from fastapi import Request
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException

from ledger.application.accounts import UNAUTHENTICATED, TokenChecker
from ledger.domain.accounts import Account
from ledger.errors import LedgerError, NotAuthenticated
from web.errors import error_response, status_for
from web.guard import STATIC, STATIC_CACHING
from web.shared import SharedLedger

CHALLENGE = 'Bearer realm="certledger"'
ACCOUNT = "certledger.account"  # the scope key of the request's account, once authenticated

BURST = 30  # failed attempts an address may make at once ...
REFILL_SECONDS = 2.0  # ... and one more every this many seconds (thirty a minute)
ADDRESSES = 10_000  # addresses remembered per worker process (least recently failing forgotten first)

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class FailureLimiter:
    """A token bucket of failed attempts per client address, in a table of bounded size.

    ``wait(key)`` is how long the address must wait before its next attempt (0: it may try now);
    ``failed(key)`` takes one from its bucket. A bucket may go into debt (concurrent failures that were
    all let in before the first was counted), which lengthens the wait. A full bucket is the same as
    none: an address that never failed takes no room, and one whose bucket has refilled is forgotten
    when it comes back; when the table is full, the address whose last failure is oldest (usually
    the one whose bucket is the fullest) is forgotten first.
    """

    def __init__(self, burst: int = BURST, refill_seconds: float = REFILL_SECONDS, size: int = ADDRESSES,
                 clock: Callable[[], float] = time.monotonic):
        self.burst = float(burst)
        self.rate = 1.0 / refill_seconds
        self.size = size
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, as of when)
        self._lock = threading.Lock()

    def _tokens(self, key: str, now: float) -> float:
        tokens, since = self._buckets.get(key, (self.burst, now))
        return min(self.burst, tokens + (now - since) * self.rate)

    def wait(self, key: str) -> float:
        with self._lock:
            tokens = self._tokens(key, self.clock())
            if tokens >= self.burst:
                self._buckets.pop(key, None)  # refilled: the same as never having failed
        return 0.0 if tokens >= 1 else (1 - tokens) / self.rate

    def failed(self, key: str) -> None:
        with self._lock:
            now = self.clock()
            tokens = max(self._tokens(key, now) - 1, -self.burst)
            self._buckets[key] = (tokens, now)
            self._buckets.move_to_end(key)
            while len(self._buckets) > self.size:
                self._buckets.popitem(last=False)

    def __len__(self) -> int:
        return len(self._buckets)


def client_key(scope: Scope) -> str:
    """The client's address as the limit counts it: an IPv6 client by its /64 (one site's whole block).

    Behind a proxy, uvicorn has already put the forwarded client address here when the proxy's own
    address is trusted (``--forwarded-allow-ips``; 127.0.0.1 by default).
    """
    client = scope.get("client")
    host = client[0] if client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def bearer_token(headers: Headers) -> str | None:
    """The token of an ``Authorization: Bearer TOKEN`` header (None without one)."""
    value = headers.get("authorization")
    if value is None:
        return None
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer":
        return ""  # a header of another kind: a wrong token, not a missing one
    return token.strip()


def unauthenticated() -> HTTPException:
    return HTTPException(401, UNAUTHENTICATED, headers={"WWW-Authenticate": CHALLENGE})


def too_many_failures(wait: float) -> HTTPException:
    seconds = max(1, math.ceil(wait))
    return HTTPException(429, f"too many failed authentications from this address: try again in {seconds} s",
                         headers={"Retry-After": str(seconds)})


class Authenticator:
    """This worker's token checker and failure limiter."""

    def __init__(self, ledger: SharedLedger, limiter: FailureLimiter | None = None):
        self.ledger = ledger
        self.limiter = limiter or FailureLimiter()
        self.checker = TokenChecker(self.load)

    def load(self, account_id: UUID) -> Account | None:
        """The account as stored now (under the worker's lock: the ledger is not for concurrent use)."""
        return self.ledger.ask(lambda service: service.ledger(must_exist=True).reader.account(account_id))

    def authenticate(self, token: str | None, address: str) -> Account:
        """The active account holding ``token``; HTTPException 401 (or 429 while ``address`` is limited)."""
        if token is None:
            raise unauthenticated()  # no token: nothing was guessed, and no hash is checked
        try:
            wait = self.limiter.wait(address)
            if wait > 0:
                # Only a token this process verified before is still taken: that costs no slow hash, and tells
                # a guesser nothing (none of its guesses was ever verified), while the address's own clients
                # (one office behind one NAT) keep working.
                known = self.checker.remembered(token)
                if known is None:
                    raise too_many_failures(wait)
                return known
            return self.checker.account(token)
        except NotAuthenticated:
            self.limiter.failed(address)
            raise unauthenticated() from None


def account(request: Request) -> Account:
    """The dependency of the routes that need an account: the one the request authenticated as."""
    known = request.scope.get(ACCOUNT)
    if known is not None:
        return known  # type: ignore[no-any-return]
    authenticator: Authenticator = request.app.state.authenticator
    found = authenticator.authenticate(bearer_token(request.headers), client_key(request.scope))
    request.scope[ACCOUNT] = found
    return found


class Gate:
    """``serve --private``: every request needs an account; answers are marked private for caches."""

    def __init__(self, app: Callable[..., Awaitable[None]], authenticator: Authenticator):
        self.app = app
        self.authenticator = authenticator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token, address = bearer_token(Headers(scope=scope)), client_key(scope)
        try:
            scope[ACCOUNT] = await anyio.to_thread.run_sync(self.authenticator.authenticate, token, address)
        except HTTPException as refusal:
            await self.refuse(scope, receive, send, refusal.status_code, refusal.detail, refusal.headers)
            return
        except LedgerError as error:  # the ledger could not be read: answered as every route answers it
            await self.refuse(scope, receive, send, status_for(error), str(error), None)
            return

        async def send_private(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                cache = headers.get("cache-control") or (STATIC_CACHING if scope["path"].startswith(STATIC) else "")
                if "public" in cache:  # a shared cache must not hand what one account may see to anyone else
                    headers["cache-control"] = cache.replace("public", "private")
            await send(message)

        await self.app(scope, receive, send_private)

    async def refuse(self, scope: Scope, receive: Receive, send: Send, status: int, message: str,
                     headers: dict[str, str] | None) -> None:
        """A refusal that tells nothing of the ledger but its last position (as every response does)."""
        response = error_response(Request(scope), status, message, {**(headers or {}), "Cache-Control": "no-store"})
        await response(scope, receive, send)
