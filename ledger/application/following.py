"""Followers: what the write pipeline keeps up to date inside its own write transaction.

A read model stored in the ledger's own database (the registry's views) can be written in the
transaction that writes the events: then the events and what follows from them commit together,
or neither does, and no reader ever finds the model behind a committed recording. The pipeline
knows nothing of any read model; it offers each batch it writes to the follower it was given
(``Writer.follower``), which lives above it (``projections.in_transaction``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping, Protocol, Sequence

from ledger.application.log import Entry

if TYPE_CHECKING:
    from ledger.domain.events import OrganizationEvent
    from ledger.storage import WriteTransaction


@dataclass(frozen=True)
class Written:
    """One organization event a submission wrote, with the organization's events and positions so far
    (the aggregate's own lists: whoever needs the organization's past takes it from here, not the database)."""

    entry: Entry
    events: Sequence[OrganizationEvent]  # every event of the organization, up to this one at least
    positions: Mapping[int, int]  # version -> position, for the organization's stored events


class Following(Protocol):
    """A follower's part in one write transaction."""

    def take(self, written: Sequence[Written]) -> None:
        """A batch was inserted: follow it, in the same transaction."""

    def finish(self, last_position: int) -> None:
        """The last batch is in (the transaction's last position: ``last_position``) and it is about to commit."""

    def committed(self) -> None:
        """The transaction committed (never called when it rolled back)."""


class TransactionFollower(Protocol):
    def begin(self, tx: WriteTransaction) -> Following | None:
        """Join a write transaction that has just started, or decline it (None: the follower catches up later)."""
