"""Tokens: made once, shown once, kept only as a slow salted hash; checked in constant time.

A token reads ``cl1_<account id, 32 hex digits>_<secret>``: the id names the one account whose hash
is checked, so each request costs one hash at most. A token whose id names no account is checked
against a dummy hash all the same, so an unknown token and a wrong one take the same path and the
same time; a revoked account is refused from the next request on, because its events are read
fresh for every request. A token that verified once is remembered in memory by its SHA-256 (never
written anywhere), so a busy client pays the slow hash once per process, not per request.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from dataclasses import dataclass
from functools import cache
from typing import Any, Callable
from uuid import UUID

from ledger.domain.accounts import Account, account_id
from ledger.errors import NotAuthenticated

PREFIX = "cl1"
SECRET_BYTES = 32  # 256 random bits
REMEMBERED = 10_000
UNAUTHENTICATED = "a valid bearer token is required (Authorization: Bearer TOKEN)"
# What a token looks like inside any text (a log line, say), well-formed or not quite.
TOKEN_SHAPE = re.compile(rf"{PREFIX}_[0-9A-Fa-f]{{32}}_[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class NewToken:
    """A token just made: the text to hand over once, and the hash to record."""

    token: str
    token_hash: str


@cache
def hasher() -> Any:
    """argon2id at the OWASP minimum (19 MiB, two passes, one lane); imported and built on first use only."""
    from argon2 import PasswordHasher

    return PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


@cache
def dummy_hash() -> str:
    return hasher().hash("not a token of this ledger")


def new_token(name: str) -> NewToken:
    secret = secrets.token_urlsafe(SECRET_BYTES)
    token = f"{PREFIX}_{account_id(name).hex}_{secret}"
    return NewToken(token, hasher().hash(secret))


def parse(token: str) -> tuple[UUID, str] | None:
    """The account id and the secret of a well-formed token; None otherwise."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX or len(parts[1]) != 32 or not parts[2]:
        return None
    try:
        return UUID(hex=parts[1]), parts[2]
    except ValueError:
        return None


class TokenChecker:
    """Who a bearer token belongs to, with the account read fresh each time (revocations take effect at once)."""

    def __init__(self, load: Callable[[UUID], Account | None]):
        self.load = load
        self._verified: dict[bytes, UUID] = {}
        self._lock = threading.Lock()

    def account(self, token: str | None) -> Account:
        """The active account holding ``token``; NotAuthenticated (one message for every reason) otherwise."""
        known = self.remembered(token)
        if known is not None:
            return known
        parsed = parse(token) if token else None
        account = self.load(parsed[0]) if parsed is not None else None
        stored_hash = account.opened.token_hash if account is not None else dummy_hash()
        if not _verifies(stored_hash, parsed[1] if parsed is not None else (token or "")) or account is None \
                or not account.active:
            raise NotAuthenticated(UNAUTHENTICATED)
        with self._lock:
            if len(self._verified) >= REMEMBERED:
                self._verified.clear()
            self._verified[_digest(token or "")] = account.id
        return account

    def remembered(self, token: str | None) -> Account | None:
        """The account of a token that verified before in this process, checked without the slow hash: None if
        the token never verified here; NotAuthenticated if its account is no longer active."""
        parsed = parse(token) if token else None
        if parsed is None or token is None:
            return None
        with self._lock:
            remembered = self._verified.get(_digest(token))
        if remembered is None or not hmac.compare_digest(remembered.bytes, parsed[0].bytes):
            return None
        account = self.load(parsed[0])
        if account is not None and account.active:
            return account
        raise NotAuthenticated(UNAUTHENTICATED)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def _verifies(stored_hash: str, secret: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return bool(hasher().verify(stored_hash, secret))
    except (VerificationError, InvalidHashError):  # a mismatch is a VerificationError too
        return False


def describe_new(account: Account, token: NewToken) -> dict[str, Any]:
    """What ``accounts add --json`` prints: the only place the token ever appears."""
    return {"name": account.name, "role": account.role, "orgs": list(account.orgs), "token": token.token}
