"""The views kept in the recording's own write transaction.

When the views are at the ledger's last position as a write transaction starts, each batch the
pipeline inserts is projected at once: the rows it closes and opens are written with the
events, and the tracked position moves to the transaction's last position, all in one commit. A
recording then costs one transaction instead of two, an import projects its lines from the events
it has just decided (no second reading and decoding of them), and no reader ever sees a
committed event that the views do not hold. A kill -9 or a refused line rolls back the events and
their rows together.

When the views are behind (events recorded by a process that did not follow them) or another
writer of the views has the turn (a replay under way), the transaction goes on without them and the
usual catch-up (``projections.runner``) brings them up after its commit.

An organization's projector comes from those this follower kept after earlier commits (never one
that took events of a transaction that did not commit), else it is made from the organization's
events, which the pipeline holds decoded already; either way it is first brought up to the events
before the new one without writing anything (their rows are in the views already).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence
from uuid import UUID

from ledger.application.following import Written
from ledger.application.log import Entry
from ledger.application.recent import Recent
from projections.store import ViewStore

if TYPE_CHECKING:
    from ledger.storage import WriteTransaction
    from projections.rows import OrganizationProjector

KEPT_EVENTS = 20_000  # events of the projectors kept between transactions (and within an import)


class ViewsFollower:
    """Joins write transactions to keep the views in them (``ledger.application.following.TransactionFollower``)."""

    def __init__(self, store: ViewStore, kept_events: int = KEPT_EVENTS):
        self.store = store
        self.kept: Recent[OrganizationProjector] = Recent(kept_events)
        self.followed_to = 0  # the last position whose rows a transaction of this follower committed

    def begin(self, tx: WriteTransaction) -> ViewsFollowing | None:
        tracked = self.store.join(tx.cursor)
        if tracked is None or tracked != tx.max_position():
            return None
        return ViewsFollowing(self, tx)


class ViewsFollowing:
    """The views' part in one write transaction."""

    def __init__(self, follower: ViewsFollower, tx: WriteTransaction):
        self.follower = follower
        self.tx = tx
        self.position = 0
        self.projectors: Recent[OrganizationProjector] = Recent(follower.kept.max_events)

    def take(self, written: Sequence[Written]) -> None:
        from projections.rows import Versions

        book = Versions()
        for item in written:
            originator_id = item.entry.event.originator_id
            projector = self._projector(originator_id, item)
            book.take(projector.advance(item.entry))
            self.projectors.put(originator_id, projector, len(projector.entries))
        self.follower.store.write_in(self.tx.cursor, book.closes, book.made())

    def finish(self, last_position: int) -> None:
        self.position = last_position
        self.follower.store.track_in(self.tx.cursor, last_position)

    def committed(self) -> None:
        for originator_id, projector in self.projectors.items():
            self.follower.kept.put(originator_id, projector, len(projector.entries))
        self.follower.followed_to = max(self.follower.followed_to, self.position)

    def _projector(self, originator_id: UUID, item: Written) -> OrganizationProjector:
        """The organization's projector, having taken every event before ``item``'s."""
        from projections.rows import OrganizationProjector

        version = item.entry.event.originator_version
        projector = self.projectors.get(originator_id)
        if projector is None:
            # Taken out: it is about to take events that are not committed yet.
            projector = self.follower.kept.take(originator_id)
        if projector is None or projector.version >= version:
            projector = OrganizationProjector()
        earlier = item.events[projector.version:version - 1]
        if earlier:
            positions = [item.positions[event.originator_version] for event in earlier]
            stamps = self.tx.recorded_at(positions)
            for event, position in zip(earlier, positions):
                projector.advance(Entry(position, stamps.get(position), event))
        return projector
