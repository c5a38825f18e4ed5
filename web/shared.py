"""The ledger behind the web app: one ``LedgerService`` per worker process, asked one question at a time.

The service keeps the ledger open for the life of the process (its connections, the decoded
timelines of recently asked organizations, the views' store). Requests run on a thread pool,
and the service's lazily opened parts are not made for concurrent use, so every question takes
the process's lock: a worker answers one question at a time, and ``--workers N`` gives N at once.

The lock is taken inside each route's own thread, never held across a dependency's ``yield``:
a waiting request holds only its own thread, so a full thread pool cannot starve the holder.
"""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator, TypeVar

from fastapi import Request

from ledger.errors import LedgerError
from ledger.integrity import heads
from service import LedgerService

T = TypeVar("T")
log = logging.getLogger("certledger.web")

# A position beyond any ledger's last one: ``known_at`` clamps it to the ledger as it is now.
EVERYTHING = 2**62


@dataclass
class CachedHead:
    position: int
    document: dict[str, Any]


class SharedLedger:
    """The worker's service, its lock, and what the server was started with (the head's signing key)."""

    def __init__(self, db: str | None, signing_key: Any = None):
        self.service = LedgerService(db)
        self.signing_key = signing_key
        self._lock = threading.Lock()
        self._head: CachedHead | None = None
        self._seen = 0

    @contextmanager
    def session(self, known_at: str | None = None) -> Iterator[LedgerService]:
        """The service, for one request's questions (asked together, so they see the same ledger).

        A refusal has no answer to take a position from, so it is given the position the question was asked
        at: ``known_at``'s when it names one, else the ledger's last position as it stood when the question was
        asked (the ledger only grows, so what was unknown then, an organization say, was unknown at that
        position too, and nothing committed before the request arrived is left out).
        """
        with self._lock:
            asked_at = current_position(self.service)
            try:
                yield self.service
            except LedgerError as error:
                error.ledger_position = self._asked_at(known_at, asked_at)  # type: ignore[attr-defined]
                raise

    def _asked_at(self, known_at: str | None, last: int) -> int:
        if known_at is None:
            return last
        try:
            named = self.service.ledger(must_exist=True).known_at(known_at).position
        except LedgerError:
            return last  # the refusal is of known_at itself: it names no position
        return min(named, last) if named is not None else last

    def ask(self, question: Callable[[LedgerService], T], known_at: str | None = None) -> T:
        with self.session(known_at) as service:
            return question(service)

    def position(self) -> int:
        """The ledger's last position now: what answers without a position of their own report."""
        with self._lock:
            return current_position(self.service)

    def last_position(self) -> int:
        """The ledger's last position now; the last one read if the ledger cannot be read at the moment."""
        try:
            self._seen = self.position()
        except Exception as error:  # noqa: BLE001 - an error answer still carries a position
            log.warning("cannot read the ledger's position: %s", error)
        return self._seen

    def head(self) -> tuple[dict[str, Any], int]:
        """The chain head document (signed if the server has a key) and its position.

        Producing a head verifies the whole chain, so the document is kept until the ledger moves on.
        """
        with self._lock:
            service = self.service
            position = current_position(service)
            if self._head is None or self._head.position != position:
                head = service.head()
                self._head = CachedHead(head.seq, heads.head_document(head, self.signing_key))
            return self._head.document, self._head.position

    def close(self) -> None:
        with self._lock:
            self.service.close()


def current_position(service: LedgerService) -> int:
    position = service.ledger(must_exist=True).known_at(EVERYTHING).position
    return position or 0


def instant(service: LedgerService, known_at: str | int | None) -> str:
    """``known_at`` as the UTC instant an answer echoes (now, when it is None)."""
    return service.ledger(must_exist=True).known_at(known_at).instant


def shared_ledger(request: Request) -> SharedLedger:
    """The dependency every route takes: this worker's ledger."""
    return request.app.state.ledger  # type: ignore[no-any-return]
