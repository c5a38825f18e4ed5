"""One organization's view rows, event by event: which rows each event closes and which it opens (no I/O).

The views are bitemporal. Every row holds one organization's answer for a stretch of valid time
(a status segment, a certification period, a feed entry) and also the range of ledger positions
in which it was the ledger's answer: ``known_from`` (the position of the event that made it) and
``known_until`` (the position of the event that replaced it; NULL while it is current). A query
"as known at position K" reads the rows alive at K; a current query reads the rows alive now.

``OrganizationProjector`` takes an organization's events in version order and says, for each,
which rows stop being the answer and which start. An event recorded in date order touches only
the rows from its date on (``SegmentBuilder``), usually one or two; a back-dated event or a
retraction can change the organization's past, and then its rows are compared whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Iterable, Iterator, Sequence

from ledger.application.log import Entry
from ledger.domain import timeline
from ledger.domain.events import (
    CertificationDenied,
    CertificationGranted,
    CertificationSuspended,
    CertificationWithdrawn,
    EntryRetracted,
    OrganizationEvent,
    OrganizationRegistered,
    Recertified,
    ValidityExtended,
)
from ledger.domain.values import certificate_key
from projections.jsontext import to_json

ONE_DAY = timedelta(days=1)
# The events that can change a certification period's row when they arrive in date order (a retraction or
# a back-dated event changes the organization's whole timeline, and every row is compared then).
PERIOD_EVENTS = (CertificationGranted, Recertified, ValidityExtended, CertificationWithdrawn)
SEGMENTS, PERIODS, FEED = "status_segments", "certification_periods", "event_feed"
KEY_WIDTH = {SEGMENTS: 2, PERIODS: 3, FEED: 1}  # a row's leading columns that name it among the rows alive


def key_of(table: str, row: tuple[Any, ...]) -> tuple[Any, ...]:
    return row[:KEY_WIDTH[table]]


@dataclass
class Change:
    """What one event did to the views: rows no longer the answer (by key), and rows that now are."""

    position: int
    closed: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    opened: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)


@dataclass
class Version:
    """One row of a view table with the range of positions in which it was the answer."""

    table: str
    row: tuple[Any, ...]
    known_from: int
    known_until: int | None = None

    def stored(self) -> tuple[Any, ...]:
        return (*self.row, self.known_from, self.known_until)

    def __reduce__(self) -> tuple[Any, ...]:
        # Sent back by replay workers (``projections.folding``) by the hundred thousand: as a plain tuple.
        return Version, (self.table, self.row, self.known_from, self.known_until)


class OrganizationProjector:
    """One organization's rows, kept current event by event."""

    def __init__(self) -> None:
        self.builder = timeline.SegmentBuilder()
        self.entries: list[Entry] = []
        self.org: str | None = None
        self.segment_rows: list[tuple[Any, ...]] = []
        self.row_segments: list[timeline.Segment] = []  # the segment each of segment_rows was made from
        self.period_rows: list[tuple[Any, ...]] = []
        self.feed_rows: dict[int, tuple[Any, ...]] = {}
        # Kept as the events arrive, so that each step costs what it changes, not the whole history:
        self.positions: dict[int, int] = {}  # version -> position
        self.by_day: dict[Any, list[Entry]] = {}  # effective date -> its entries
        self.retraction_of: dict[int, Entry] = {}  # retracted version -> its retraction

    @property
    def version(self) -> int:
        return self.entries[-1].event.originator_version if self.entries else 0

    @property
    def position(self) -> int:
        return self.entries[-1].position if self.entries else 0

    def current(self) -> Iterator[tuple[str, tuple[Any, ...]]]:
        """Every row that is the answer now."""
        yield from ((SEGMENTS, row) for row in self.segment_rows)
        yield from ((PERIODS, row) for row in self.period_rows)
        yield from ((FEED, row) for row in self.feed_rows.values())

    def advance(self, entry: Entry) -> Change:
        """Take the organization's next event; say which rows it closes and which it opens."""
        event = entry.event
        if self.org is None:
            if not isinstance(event, OrganizationRegistered):
                raise ValueError("an organization's events start with its registration")
            self.org = event.org
        self.entries.append(entry)
        self.positions[event.originator_version] = entry.position
        self.by_day.setdefault(event.date, []).append(entry)
        if isinstance(event, EntryRetracted):
            self.retraction_of[event.target] = entry
        first = self.builder.add(event)
        whole = self.builder.replayed
        change = Change(entry.position)
        self._segments(first, change)
        if whole or isinstance(event, PERIOD_EVENTS):
            self._periods(change, whole)
        self._feed(entry, whole or isinstance(event, EntryRetracted), change)
        return change

    def _segments(self, first: int, change: Change) -> None:
        segs = self.builder.segments
        # A segment the builder kept (the one before the event's date, whose end moves) has the row it had:
        # only the segments made anew are encoded.
        kept = first
        while kept < min(len(segs), len(self.row_segments)) and segs[kept] is self.row_segments[kept]:
            kept += 1
        fresh = self.segment_rows[first:kept] + segment_rows(self.org or "", segs, kept)
        _compare(SEGMENTS, self.segment_rows[first:], fresh, change)
        self.segment_rows[first:] = fresh
        self.row_segments[first:] = segs[first:]

    def _periods(self, change: Change, whole: bool) -> None:
        # An event in date order changes the latest chain only (or starts one): earlier chains keep their rows.
        first = 1 if whole else max(len(self.builder.state.chains), 1)
        kept = [row for row in self.period_rows if row[1] < first]
        fresh = period_rows(self.org or "", self.builder.state, self.positions, first)
        _compare(PERIODS, self.period_rows[len(kept):], fresh, change)
        self.period_rows = kept + fresh

    def _feed(self, entry: Entry, whole: bool, change: Change) -> None:
        """The new event's entry; and entries whose report item or retraction mark it may change: the same
        day's renewals (a same-day event can change a renewal's streak), or every one after a back-dated
        event or a retraction."""
        # Of the same day's entries only a renewal's can change (its report item counts the streak that day).
        touched = self.entries if whole else [e for e in self.by_day[entry.event.date]
                                              if e is entry or isinstance(e.event, Recertified)]
        fresh = [feed_row(self.org or "", e, self.retraction_of.get(e.event.originator_version),
                          self.builder.segments) for e in touched]
        old = [self.feed_rows[e.position] for e in touched if e.position in self.feed_rows]
        _compare(FEED, old, fresh, change)
        for row in fresh:
            self.feed_rows[row[0]] = row


def _compare(table: str, old: list[tuple[Any, ...]], fresh: list[tuple[Any, ...]], change: Change) -> None:
    if old == fresh:
        return
    if fresh[:len(old)] == old:  # the usual step: rows appended after those that stay
        change.opened += [(table, row) for row in fresh[len(old):]]
        return
    kept = set(old) & set(fresh)
    change.closed += [(table, key_of(table, row)) for row in old if row not in kept]
    change.opened += [(table, row) for row in fresh if row not in kept]


class Versions:
    """The versions that changes make, in order: rows opened here (closed again if a later change did),
    and closes of rows opened before (``closes``: table, key, position), for views that hold them."""

    def __init__(self) -> None:
        self.alive: dict[tuple[str, tuple[Any, ...]], Version] = {}
        self.finished: list[Version] = []
        self.closes: list[tuple[str, tuple[Any, ...], int]] = []

    def take(self, change: Change) -> None:
        for table, key in change.closed:
            version = self.alive.pop((table, key), None)
            if version is None:
                self.closes.append((table, key, change.position))
            else:
                version.known_until = change.position
                self.finished.append(version)
        for table, row in change.opened:
            self.alive[(table, key_of(table, row))] = Version(table, row, change.position)

    def made(self) -> list[Version]:
        return self.finished + list(self.alive.values())


def versions(entries: Sequence[Entry]) -> list[Version]:
    """Every row the organization's events ever made, each with the positions in which it was the answer
    (a rebuild, or a replay, of one organization)."""
    projector, book = OrganizationProjector(), Versions()
    for entry in entries:
        book.take(projector.advance(entry))
    return book.made()


def projector_at(entries: Iterable[Entry]) -> OrganizationProjector:
    """A projector that has taken ``entries`` (its rows are then the current ones)."""
    projector = OrganizationProjector()
    for entry in entries:
        projector.advance(entry)
    return projector


def segment_rows(org: str, segs: Sequence[timeline.Segment], first: int = 0) -> list[tuple[Any, ...]]:
    """Rows of ``segs[first:]``: (org, start_day, opening, status, country, standard, certified_since,
    consecutive_years, record, region, search, expiring_on).

    A segment holds from its start to the next one's (which is why no row stores its end: appending a
    segment then changes no row before it). ``opening`` is 1 for the organization's first segment. ``region`` and ``search`` are folded (letter case and accents
    aside); ``expiring_on`` is the end of a certified period that no renewal follows.
    """
    rows = []
    for at in range(first, len(segs)):
        seg = segs[at]
        record, index = seg.record, seg.index
        rows.append((org, seg.start.isoformat(), 1 if at == 0 else 0, record["status"], record["country"],
                     record["standard"], record["certified_since"], record["consecutive_years"], to_json(record),
                     index.get("region"), index.get("search"), index.get("expiring_on")))
    return rows


def period_rows(org: str, state: timeline.OrganizationState, positions: dict[int, int] | None = None,
                first: int = 1) -> list[tuple[Any, ...]]:
    """(org, chain, period, standard, certificate, valid_from, valid_until, decided_on, version, ended_on, end_reason,
    certificate_key, position).

    ``valid_until`` is after extensions. ``ended_on`` is the first day the period no longer
    covers because its chain ended: the withdrawal date, or (for the chain's last period)
    valid_until + 1 day, the first expired day, which may still lie ahead. A period followed
    by its renewal has neither. ``certificate_key`` is the number as it is looked up (letter case aside);
    ``position`` the ledger position of the decision, so that the first holder of a number is known.
    Rows of chains numbered from ``first`` on.
    """
    positions = positions or {}
    rows = []
    for chain_no, chain in enumerate(state.chains[first - 1:], start=first):
        for period_no, period in enumerate(chain.periods, start=1):
            ended_on = end_reason = None
            if chain.withdrawn is not None and period.valid_until >= chain.withdrawn.date:
                ended_on, end_reason = chain.withdrawn.date.isoformat(), "withdrawn"
            elif chain.withdrawn is None and period is chain.latest:
                ended_on, end_reason = (period.valid_until + ONE_DAY).isoformat(), "expired"
            rows.append((org, chain_no, period_no, period.standard, period.certificate,
                         period.valid_from.isoformat(), period.valid_until.isoformat(),
                         period.decided_on.isoformat(), period.version, ended_on, end_reason,
                         certificate_key(period.certificate) if period.certificate else None,
                         positions.get(period.version)))
    return rows


def feed_row(org: str, entry: Entry, retraction: Entry | None, segs: Sequence[timeline.Segment]
             ) -> tuple[Any, ...]:
    """(position, org, version, type, date, recorded_at, recorded_by, fields, retracted_by, in_effect, report).

    Every stored event, retracted or not. ``report`` is the event's entry in the yearly report, for
    events that take part in valid time.
    """
    event = entry.event
    in_effect = retraction is None and not isinstance(event, EntryRetracted)
    report = report_item(org, event, segs) if in_effect else None
    return (entry.position, org, event.originator_version, type(event).__name__, event.date.isoformat(),
            entry.recorded_at, event.recorded_by, to_json(event.shown_fields()),
            retraction.event.originator_version if retraction else None, 1 if in_effect else 0,
            to_json(report) if report is not None else None)


def report_item(org: str, event: OrganizationEvent, segs: Sequence[timeline.Segment]) -> dict[str, Any] | None:
    """The event as the yearly report lists it (SPEC section 8), or None if the report leaves it out."""
    day = event.date.isoformat()
    if isinstance(event, CertificationGranted):
        return {"org": org, "date": day, "standard": event.standard}
    if isinstance(event, Recertified):
        seg = timeline.segment_on(segs, event.date)
        years = seg.record["consecutive_years"] if seg is not None else 0
        return {"org": org, "date": day, "standard": event.standard, "consecutive_years": years}
    if isinstance(event, CertificationDenied):
        return {"org": org, "date": day, "stage": event.stage, "reason_category": event.reason_category,
                "reason": event.reason}
    if isinstance(event, CertificationSuspended):
        return {"org": org, "date": day, "reason": event.reason,
                "resolve_by": event.resolve_by.isoformat() if event.resolve_by else None}
    if isinstance(event, CertificationWithdrawn):
        return {"org": org, "date": day, "mode": event.mode, "reason": event.reason}
    return None
