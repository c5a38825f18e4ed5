"""The narrow view of the ledger that the read models are given: the log, decoded, and system time.

Projections (``projections/``) keep their views from this and nothing else: positions, each
organization's decoded events with their positions and recorded-at instants, and ``--known-at``
resolution. They never see the write pipeline or the storage queries behind it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator, Sequence
from uuid import UUID

from eventsourcing.persistence import Mapper

from ledger.application import system_time
from ledger.application.system_time import KnownAt, KnownAtValue
from ledger.domain.names import ACCOUNT_TOPICS, REGISTRATION_TOPICS
from ledger.storage import LedgerStorage, StoredRow

if TYPE_CHECKING:  # the classes are loaded when the first event is decoded (``ledger.storage.mapper``)
    from ledger.domain.events import OrganizationEvent


@dataclass(frozen=True)
class Entry:
    """One stored event of an organization, with its ledger position and recorded-at instant."""

    position: int
    recorded_at: str | None
    event: OrganizationEvent


class EventLog:
    """The ledger's log as the read side sees it."""

    def __init__(self, storage: LedgerStorage, mapper: Mapper, db: str, *, owner: Any = None):
        self._owner = owner  # kept alive: the library closes the connections when the application goes
        self._storage = storage
        self._mapper = mapper
        self.db = db

    @property
    def datastore(self) -> Any:
        """The database behind the log: the views keep their own tables in it."""
        return self._storage.datastore  # type: ignore[attr-defined]

    def max_position(self) -> int:
        return self._storage.max_position()

    def known_at(self, value: KnownAtValue) -> KnownAt:
        return system_time.resolve(self._storage, value)

    def originators_after(self, position: int, limit: int) -> tuple[list[UUID], int, bool]:
        """The organizations with events after ``position`` (at most ``limit`` events), the last position read,
        and whether more events may follow it (the limit was reached)."""
        notifications = self._storage.select_notifications(start=position, limit=limit, inclusive_of_start=False)
        if not notifications:
            return [], position, False
        originators = list(dict.fromkeys(UUID(str(n.originator_id)) for n in notifications
                                         if n.topic not in ACCOUNT_TOPICS))
        return originators, notifications[-1].id, len(notifications) >= limit

    def organization_ids(self) -> list[UUID]:
        """Every organization, in registration order."""
        return self._storage.registration_ids(REGISTRATION_TOPICS)

    def entries(self, originator_ids: Sequence[UUID], upto: int | None, *, with_recorded_at: bool = True
                ) -> list[list[Entry]]:
        """Each organization's events up to position ``upto``, in version order, read with one query."""
        grouped: list[list[StoredRow]] = []
        for row in self._storage.select_orgs_rows(originator_ids, upto):
            if not grouped or grouped[-1][0].originator_id != row.originator_id:
                grouped.append([])
            grouped[-1].append(row)
        stamps = self.recorded_at([row.position for rows in grouped for row in rows]) if with_recorded_at else {}
        return [[Entry(row.position, stamps.get(row.position), self._mapper.to_domain_event(row.stored_event()))
                 for row in rows] for rows in grouped]

    def entries_after(self, originator_id: UUID, version: int, upto: int | None) -> list[Entry]:
        """One organization's events after ``version``, up to position ``upto``."""
        rows = self._storage.select_org_rows(originator_id, upto, after_version=version)
        stamps = self.recorded_at([row.position for row in rows])
        return [Entry(row.position, stamps.get(row.position), self._mapper.to_domain_event(row.stored_event()))
                for row in rows]

    def recorded_at(self, positions: Sequence[int]) -> dict[int, str]:
        return self._storage.recorded_at(positions)

    def subscribe(self, gt: int) -> Iterator[Any]:
        """Notifications as they are committed (PostgreSQL only: SQLite cannot be subscribed to)."""
        return self._storage.subscribe(gt=gt)  # type: ignore[attr-defined,no-any-return]

    @property
    def can_subscribe(self) -> bool:
        return self._storage.dialect.name == "postgresql"
