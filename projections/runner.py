"""Keeping the views up: incremental catch-up after the tracked position, and replay.

Catch-up reads only the notifications after the tracked position, in batches. Each batch's
organizations are recomputed from their timelines up to the batch's last position, and the
rows plus the new position are committed together. A process killed at any point leaves
the views exactly at the last committed position; the next catch-up resumes from there.

Views that have applied nothing yet, facing a long log (a fresh import), are filled by a
replay instead, like a rebuild: one transaction, organization after organization, so memory
stays bounded and each organization's events are read and decoded once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Sequence
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from ledger.application import CertificationLedger
from ledger.persistence import StoredRow
from projections.rows import Entry, OrganizationRows, organization_rows
from projections.store import ViewStore

BATCH_SIZE = 500
REPLAY_ORGANIZATIONS = 100  # organizations read, decoded and folded together during a replay
REPLAY_FROM_EMPTY = 20_000  # a backlog this long, onto views that hold nothing yet, is replayed instead
LOOKUP_CHUNK = 500


@dataclass(frozen=True)
class Progress:
    """One committed batch: how many notifications it applied and the position it reached."""

    applied: int
    position: int


def catch_up(ledger: CertificationLedger, store: ViewStore, batch_size: int = BATCH_SIZE,
             on_batch: Callable[[Progress], None] | None = None, replay_from_empty: int = REPLAY_FROM_EMPTY) -> int:
    """Apply every notification after the tracked position; return how many were applied."""
    applied = 0
    if store.tracked_position() == 0:
        upto = ledger.recorder.max_position()
        if upto >= replay_from_empty:
            store.replace_all((rows for batch in replay_batches(ledger, upto) for rows in batch), upto)
            if on_batch is not None:
                on_batch(Progress(upto, upto))
            return upto
    while True:
        tracked = store.tracked_position()
        notifications = ledger.recorder.select_notifications(start=tracked, limit=batch_size,
                                                             inclusive_of_start=False)
        if not notifications:
            return applied
        position = notifications[-1].id
        originators = list(dict.fromkeys(n.originator_id for n in notifications))
        batch = [organization_rows(entries) for entries in organization_entries(ledger, originators, position)]
        try:
            store.apply_batch(batch, position)
        except IntegrityError:
            if store.tracked_position() >= position:
                continue  # another process applied this batch first; carry on from where it got to
            raise
        applied += len(notifications)
        if on_batch is not None:
            on_batch(Progress(len(notifications), position))


def organization_entries(ledger: CertificationLedger, originators: Sequence[UUID], upto: int
                         ) -> list[list[Entry]]:
    """Each organization's events up to position ``upto``, with positions and recorded-at instants."""
    stored = [ledger.recorder.select_org_rows(UUID(str(oid)), upto) for oid in originators]
    stamps = recorded_at(ledger, [row.position for rows in stored for row in rows])
    return [entries_of(ledger, rows, stamps) for rows in stored if rows]


def replay(ledger: CertificationLedger, upto: int, with_feed: bool = True) -> list[OrganizationRows]:
    """Every organization's rows from the log up to position ``upto``."""
    return [rows for batch in replay_batches(ledger, upto, with_feed) for rows in batch]


def replay_batches(ledger: CertificationLedger, upto: int, with_feed: bool = True,
                   organizations: int = REPLAY_ORGANIZATIONS) -> Iterator[list[OrganizationRows]]:
    """Every organization's rows from the log up to position ``upto``, a few organizations at a time.

    Each batch of organizations is read with one query (their rows, in version order), so only
    one batch is ever held in memory, whatever the size of the log.
    """
    originators = ledger.recorder.registration_ids()
    for start in range(0, len(originators), organizations):
        stored: list[list[StoredRow]] = []
        for row in ledger.recorder.select_orgs_rows(originators[start:start + organizations], upto):
            if not stored or stored[-1][0].originator_id != row.originator_id:
                stored.append([])
            stored[-1].append(row)
        if stored:
            yield organization_batch(ledger, stored, with_feed)


def organization_batch(ledger: CertificationLedger, stored: list[list[StoredRow]], with_feed: bool
                       ) -> list[OrganizationRows]:
    stamps = recorded_at(ledger, [row.position for rows in stored for row in rows]) if with_feed else {}
    return [organization_rows(entries_of(ledger, rows, stamps), with_feed) for rows in stored]


def entries_of(ledger: CertificationLedger, rows: Iterable[StoredRow], stamps: dict[int, str]) -> list[Entry]:
    return [Entry(row.position, stamps.get(row.position), ledger.mapper.to_domain_event(stored_event(row)))
            for row in rows]


def recorded_at(ledger: CertificationLedger, positions: Sequence[int]) -> dict[int, str]:
    stamps: dict[int, str] = {}
    for start in range(0, len(positions), LOOKUP_CHUNK):
        stamps.update(ledger.recorder.recorded_at(list(positions[start:start + LOOKUP_CHUNK])))
    return stamps


def stored_event(row: StoredRow) -> Any:
    from eventsourcing.persistence import StoredEvent

    return StoredEvent(originator_id=row.originator_id, originator_version=row.originator_version,
                       topic=row.topic, state=row.state)
