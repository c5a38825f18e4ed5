"""What the organizations' and the accounts' events and aggregates share.

Both are stored in one log and covered by one hash chain, so an event of either kind carries the
same bookkeeping fields, and an aggregate of either kind is the list of its events in recording
order, opened by the first one. Nothing here is stored under its own name: the topics are those
of the concrete classes in ``events`` and ``accounts``.
"""

from __future__ import annotations

import copy
from datetime import date, datetime
from typing import Any, ClassVar, TypeVar
from uuid import UUID

from eventsourcing.domain import BaseAggregate, CanMutateAggregate
from pydantic import BaseModel, ConfigDict

# The fields the ledger sets on every event (ids, times, who recorded it, its key): never shown as the
# event's own fields.
HIDDEN_FIELDS = frozenset({"originator_id", "originator_version", "timestamp", "date", "recorded_by", "key",
                           "originator_topic"})

OpeningEvent = TypeVar("OpeningEvent")


class RecordedEvent(BaseModel, CanMutateAggregate[UUID]):
    """Common fields: the effective ``date`` (valid time), who recorded it, and its key.

    ``timestamp`` is the library's recorded time (system time), set by the ledger.
    """

    # Validators are built when an event type is first used: a query builds only the types it reads.
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    class_version: ClassVar[int] = 1
    command: ClassVar[str] = ""

    originator_id: UUID
    originator_version: int
    timestamp: datetime
    date: date
    recorded_by: str
    key: str

    def apply(self, aggregate: Any) -> None:
        aggregate.accept(self)


class RecordedAggregate(BaseAggregate[UUID]):
    """An aggregate that holds its events in recording order; the first one opened it."""

    def __init__(self) -> None:
        self.events: list[Any] = []

    def accept(self, event: Any) -> None:
        self.events.append(event)

    def copy(self) -> Any:
        """A working copy for one command: it shares the (immutable) events, not their list."""
        twin = copy.copy(self)
        twin.events = list(self.events)
        twin._pending_events = []
        return twin

    def first(self, kind: type[OpeningEvent]) -> OpeningEvent:
        """The event that opened the aggregate, of the kind that opens it."""
        first = self.events[0]
        assert isinstance(first, kind)
        return first
