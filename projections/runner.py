"""Keeping the views up: incremental catch-up after the tracked position, and replay.

A recording through the service keeps the views in its own transaction when they are current
(``projections.in_transaction``); catch-up brings them up after any other writer (the Python API, an
earlier release, a transaction the follower declined), and fills a new ledger's views.

Catch-up reads only the notifications after the tracked position, in batches. For each
organization a batch touches, a projector takes that organization's events: those up to the
tracked position silently (its current rows are then what the views hold), then each new one,
saying which rows it closes and which it opens at its position. The closes, the new rows and the
new position are committed together. A process killed at any point leaves the views exactly at
the last committed position; the next catch-up resumes from there. A batch computed from a position
that another process has moved the views on from meanwhile cannot commit (its rows collide with
those of the other process, which it would repeat): it is computed again from the new position.

A process keeps the projectors of organizations it used lately (``Recent``), so the next batch
reads only their newer events. A projector depends only on its organization's events, which are
never changed, so one made by this process serves whatever process moved the views meanwhile.

Views that have applied nothing yet, facing a long log (a fresh import), are filled by a replay
instead, like a rebuild: one transaction, organization after organization, so memory stays
bounded and each organization's events are read and decoded once (by worker processes, when the log
is long and the machine has processors to spare: ``projections.folding``).

The projectors (``projections.rows``, and the event classes they fold) are imported where events are
applied, not with this module: a question asked of views that are up to date loads neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence
from uuid import UUID

from ledger.application.log import Entry, EventLog
from ledger.application.recent import Recent
from projections.folding import REPLAY_ORGANIZATIONS, ReplayProgress, folded_batches
from projections.store import ViewsMovedOn, ViewStore

if TYPE_CHECKING:
    from projections.rows import OrganizationProjector, Version
    from projections.tables import TableRows

BATCH_SIZE = 500
REPLAY_FROM_EMPTY = 20_000  # a backlog this long, onto views that hold nothing yet, is replayed instead
RECENT_EVENTS = 50_000  # events of recently projected organizations a process keeps


@dataclass(frozen=True)
class Progress:
    """One committed batch: how many notifications it applied and the position it reached."""

    applied: int
    position: int


def catch_up(log: EventLog, store: ViewStore, batch_size: int = BATCH_SIZE,
             on_batch: Callable[[Progress], None] | None = None, replay_from_empty: int = REPLAY_FROM_EMPTY,
             projectors: Recent[OrganizationProjector] | None = None) -> int:
    """Apply every notification after the tracked position; return how many were applied."""
    applied = 0
    tracked = store.tracked_position()
    if tracked == 0:
        upto = log.max_position()
        if upto >= replay_from_empty:
            store.replace_all(replay_rows(log, upto), upto)
            if on_batch is not None:
                on_batch(Progress(upto, upto))
            return upto
    projectors = projectors if projectors is not None else Recent(RECENT_EVENTS)
    while True:
        originators, position, more = log.originators_after(tracked, batch_size)
        if position == tracked:
            return applied  # nothing new (a batch of accounts' events only moves the position on)
        closes, opened = batch_changes(log, originators, tracked, position, projectors)
        try:
            store.apply_batch(closes, opened, position, tracked)
        except ViewsMovedOn:
            tracked = store.tracked_position()
            continue  # another process moved the views on first: carry on from where it got to
        applied += position - tracked
        if on_batch is not None:
            on_batch(Progress(position - tracked, position))
        if not more:
            return applied  # every event recorded when the batch was read is applied; later ones, next time
        tracked = position  # where this batch moved the views (a writer that moved them further: ViewsMovedOn)


def batch_changes(log: EventLog, originators: Sequence[UUID], tracked: int, position: int,
                  projectors: Recent[OrganizationProjector]
                  ) -> tuple[list[tuple[str, tuple[Any, ...], int]], list[Version]]:
    """What the events at positions tracked+1..position do to the views: rows the views hold that close
    (table, key, position), and the rows opened (closed again already if a later event of the batch did)."""
    from projections.rows import Versions

    book = Versions()
    for originator_id, projector, entries in organization_entries(log, originators, tracked, position, projectors):
        for entry in entries:
            change = projector.advance(entry)
            if entry.position > tracked:  # else already in the views: this brings the projector to them
                book.take(change)
        projectors.put(originator_id, projector, len(projector.entries))
    return book.closes, book.made()


def organization_entries(log: EventLog, originators: Sequence[UUID], tracked: int, upto: int,
                         projectors: Recent[OrganizationProjector]
                         ) -> Iterator[tuple[UUID, OrganizationProjector, list[Entry]]]:
    """Each organization's projector and the events it has yet to take up to ``upto``: a kept projector (one
    no further than the views) takes only the newer events, a new one all of them."""
    from projections.rows import OrganizationProjector

    fresh = []
    for originator_id in originators:
        projector = projectors.get(originator_id)
        if projector is None or projector.position > tracked:
            fresh.append(originator_id)
            continue
        yield originator_id, projector, log.entries_after(originator_id, projector.version, upto)
    for entries in log.entries(fresh, upto) if fresh else []:
        yield entries[0].event.originator_id, OrganizationProjector(), entries


def replay(log: EventLog, upto: int, progress: ReplayProgress | None = None) -> list[Version]:
    """Every organization's rows, with the positions in which each was the answer, up to position ``upto``."""
    from projections.rows import Version

    return [Version(name, row[:-2], row[-2], row[-1]) for part in replay_rows(log, upto, progress=progress)
            for name, rows in part.items() for row in rows]


def replay_rows(log: EventLog, upto: int, organizations: int = REPLAY_ORGANIZATIONS,
                progress: ReplayProgress | None = None) -> Iterator[TableRows]:
    """Every organization's rows from the log up to position ``upto`` as the tables store them, an organization
    at a time (folded in worker processes when the log is long: ``projections.folding``)."""
    for batch in folded_batches(log, upto, organizations, progress):
        for folded in batch:
            yield folded.rows
