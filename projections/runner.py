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
from typing import Callable, Iterator

from eventsourcing.persistence import IntegrityError

from ledger.application.log import EventLog
from projections.rows import OrganizationRows, organization_rows
from projections.store import ViewStore

BATCH_SIZE = 500
REPLAY_ORGANIZATIONS = 100  # organizations read, decoded and folded together during a replay
REPLAY_FROM_EMPTY = 20_000  # a backlog this long, onto views that hold nothing yet, is replayed instead


ReplayProgress = Callable[[int, int], None]


@dataclass(frozen=True)
class Progress:
    """One committed batch: how many notifications it applied and the position it reached."""

    applied: int
    position: int


def catch_up(log: EventLog, store: ViewStore, batch_size: int = BATCH_SIZE,
             on_batch: Callable[[Progress], None] | None = None, replay_from_empty: int = REPLAY_FROM_EMPTY) -> int:
    """Apply every notification after the tracked position; return how many were applied."""
    applied = 0
    if store.tracked_position() == 0:
        upto = log.max_position()
        if upto >= replay_from_empty:
            store.replace_all((rows for batch in replay_batches(log, upto) for rows in batch), upto)
            if on_batch is not None:
                on_batch(Progress(upto, upto))
            return upto
    while True:
        tracked = store.tracked_position()
        originators, position = log.originators_after(tracked, batch_size)
        if position == tracked:
            return applied  # nothing new (a batch of accounts' events only moves the position on)
        batch = [organization_rows(entries) for entries in log.entries(originators, position)] if originators else []
        try:
            store.apply_batch(batch, position)
        except IntegrityError:
            if store.tracked_position() >= position:
                continue  # another process applied this batch first; carry on from where it got to
            raise
        applied += position - tracked
        if on_batch is not None:
            on_batch(Progress(position - tracked, position))


def replay(log: EventLog, upto: int, with_feed: bool = True, progress: ReplayProgress | None = None
           ) -> list[OrganizationRows]:
    """Every organization's rows from the log up to position ``upto``."""
    return [rows for batch in replay_batches(log, upto, with_feed, progress=progress) for rows in batch]


def replay_batches(log: EventLog, upto: int, with_feed: bool = True,
                   organizations: int = REPLAY_ORGANIZATIONS, progress: ReplayProgress | None = None
                   ) -> Iterator[list[OrganizationRows]]:
    """Every organization's rows from the log up to position ``upto``, a few organizations at a time.

    Each batch of organizations is read with one query (their rows, in version order), so only
    one batch is ever held in memory, whatever the size of the log. ``progress(done, total)``
    counts organizations.
    """
    originators = log.organization_ids()
    for start in range(0, len(originators), organizations):
        batch = log.entries(originators[start:start + organizations], upto, with_recorded_at=with_feed)
        if batch:
            yield [organization_rows(entries, with_feed) for entries in batch]
        if progress is not None:
            progress(min(start + organizations, len(originators)), len(originators))
