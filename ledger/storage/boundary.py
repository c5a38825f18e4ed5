"""The storage boundary: what the ledger needs from a database, whichever it is.

``LedgerStorage`` is implemented once, in ``ledger.storage.queries`` (each statement written
once, through a ``Dialect``), on top of the library's SQLite and PostgreSQL application
recorders; ``ledger.storage.sqlite`` and ``ledger.storage.postgres`` hold only what differs.
Everything above this package (the application, integrity, transfer, projections) talks to
storage through these names and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, ContextManager, Protocol, Sequence
from uuid import UUID

from eventsourcing.persistence import Notification, StoredEvent

from ledger.storage.chain import ChainEntry
from ledger.storage.dialect import Dialect


@dataclass(frozen=True)
class StoredRow:
    """An event row with its ledger position."""

    position: int
    originator_id: UUID
    originator_version: int
    topic: str
    state: bytes

    def stored_event(self) -> StoredEvent:
        return StoredEvent(originator_id=self.originator_id, originator_version=self.originator_version,
                           topic=self.topic, state=self.state)


@dataclass(frozen=True)
class EventExtras:
    """What the ledger writes beside one event row, in the same transaction: its import key, its
    recorded_at, and the certificate number it claims or releases (as ``certificate_key`` folds it)."""

    key: str
    recorded_at: str
    certificate_claim: str | None = None
    certificate_release: str | None = None


Extras = dict[tuple[UUID, int], EventExtras]


class WriteTransaction(Protocol):
    """One write transaction, holding the ledger's write lock from its start to its commit.

    Reads see the transaction's own uncommitted rows; nobody else writes meanwhile, so what
    the pipeline decides on is what it stores on.
    """

    def max_position(self) -> int: ...

    def org_rows(self, originator_id: UUID, after_version: int = 0) -> list[StoredRow]: ...

    def has_key(self, key: str) -> bool: ...

    def certificate_holder(self, certificate: str) -> tuple[UUID, int] | None: ...

    def insert(self, stored: Sequence[StoredEvent], extras: Extras) -> Sequence[int]: ...

    def spill_occurrences(self, rows: list[tuple[str, bytes, int]]) -> None: ...

    def recall_occurrences(self, org: str) -> dict[bytes, int]: ...

    def recorded_at(self, positions: Sequence[int]) -> dict[int, str]: ...

    @property
    def cursor(self) -> Any:
        """The transaction's own cursor (rows as tuples), for a follower whose tables live in the same database
        and are written in this transaction (``ledger.application.following``)."""


class LedgerStorage(Protocol):
    """Reads and writes of the event log, its hash chain, import keys and certificate claims."""

    dialect: Dialect

    def write(self, on_wait: Callable[[], None] | None = None) -> ContextManager[WriteTransaction]: ...

    def has_tables(self) -> bool:
        """Whether the ledger's tables exist (a PostgreSQL ledger makes them in its first write transaction)."""

    def insert_copied(self, rows: Sequence[StoredRow], extras: Extras) -> None: ...

    def max_position(self) -> int: ...

    def chain_head(self) -> ChainEntry | None: ...

    def select_org_rows(self, originator_id: UUID, upto_position: int | None = None, *,
                        after_version: int = 0) -> list[StoredRow]: ...

    def select_orgs_rows(self, originator_ids: Sequence[UUID], upto_position: int | None = None
                         ) -> list[StoredRow]: ...

    def select_rows(self, after: int, limit: int, upto: int | None = None) -> list[StoredRow]: ...

    def select_notifications(self, start: int | None, limit: int, stop: int | None = None,
                             topics: Sequence[str] = (), *, inclusive_of_start: bool = True
                             ) -> Sequence[Notification]: ...

    def recorded_at(self, positions: Sequence[int]) -> dict[int, str]: ...

    def first_entry_hash(self) -> bytes | None:
        """The hash of the chain's first entry (None before any): it names the ledger for good, wherever it is
        served from (a copy keeps it)."""

    def position_at(self, instant: str) -> int: ...

    def registration_ids(self, topics: Sequence[str]) -> list[UUID]: ...

    def select_registration_rows(self, topics: Sequence[str]) -> list[StoredRow]: ...

    def certificate_holder(self, certificate: str) -> tuple[UUID, int] | None: ...

    def select_chain_and_events(self, after_seq: int, limit: int) -> list[Sequence[Any]]: ...

    def select_unchained_events(self, limit: int) -> list[Sequence[Any]]: ...

    def chain_seq_before(self, position: int) -> int: ...

    def key_positions(self, keys: Sequence[str]) -> dict[str, int]: ...

    def key_count(self) -> int: ...

    def select_claim_rows(self) -> list[tuple[str, UUID, int]]: ...
