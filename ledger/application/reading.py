"""Questions about one organization, answered from its own events: status on a date, history.

Reads only that organization's rows; decoded events of recently asked organizations are kept
(``Recent``) and brought up to date by reading only their newer rows.
"""

from __future__ import annotations

import difflib
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.persistence import Mapper

from ledger.application import system_time
from ledger.application.recent import Recent
from ledger.application.system_time import KnownAt, KnownAtValue
from ledger.domain import certificates, timeline
from ledger.domain.events import EntryRetracted, OrganizationEvent, OrganizationRegistered
from ledger.domain.names import ACCOUNT_TOPICS, OPENING_TOPICS, REGISTRATION_TOPICS, organization_id
from ledger.domain.values import CONTROL_CHARACTER, LONE_SURROGATE, certificate_key
from ledger.errors import UnknownOrganization
from ledger.storage import LedgerStorage, StoredRow

if TYPE_CHECKING:
    from ledger.domain.accounts import Account

@dataclass
class KnownTimeline:
    """One organization's stored events in version order, decoded once, with valid-time segments."""

    rows: list[StoredRow]
    events: list[OrganizationEvent]
    _segments: list[timeline.Segment] | None = field(default=None, repr=False)
    _starts: list[date] = field(default_factory=list, repr=False)

    @property
    def version(self) -> int:
        return self.rows[-1].originator_version if self.rows else 0

    def extended(self, rows: list[StoredRow], events: list[OrganizationEvent]) -> KnownTimeline:
        return KnownTimeline(self.rows + rows, self.events + events) if rows else self

    def upto(self, position: int | None) -> list[OrganizationEvent]:
        if position is None:
            return self.events
        return [event for row, event in zip(self.rows, self.events) if row.position <= position]

    def record_on(self, day: date) -> dict[str, Any] | None:
        """The status record on ``day`` from the segments of the whole timeline (None: not registered)."""
        if self._segments is None:
            self._segments = timeline.segments(self.events)
            self._starts = [segment.start for segment in self._segments]
        at = bisect_right(self._starts, day)
        return self._segments[at - 1].record if at else None


class OrganizationReader:
    """Status and history of single organizations, as known at any ledger position."""

    def __init__(self, storage: LedgerStorage, mapper: Mapper):
        self.storage = storage
        self.mapper = mapper
        self.timelines: Recent[KnownTimeline] = Recent()

    def known_at(self, value: KnownAtValue) -> KnownAt:
        return system_time.resolve(self.storage, value)

    def events_of(self, org: str, known_at: KnownAt | None = None, asked: KnownAtValue = None
                  ) -> list[tuple[StoredRow, OrganizationEvent]]:
        """One organization's events (recording order) as known at ``known_at``; reads only its rows."""
        position = known_at.position if known_at else None
        rows = self.storage.select_org_rows(organization_id(org), position)
        if not rows:
            raise self.not_known(org, known_at, asked)
        return [(row, self.mapper.to_domain_event(row.stored_event())) for row in rows]

    def not_known(self, org: str, seen: KnownAt | None, asked: KnownAtValue = None) -> UnknownOrganization:
        """Why ``org`` has no events as known at ``seen``: recorded only later, or never (with close ids)."""
        if seen is not None and seen.position is not None:
            first = self.storage.select_org_rows(organization_id(org))[:1]
            if first:
                stamp = self.storage.recorded_at([first[0].position]).get(first[0].position)
                return UnknownOrganization(f"{org} was not yet recorded at {system_time.describe(asked, seen)} "
                                           f"(first recorded at position {first[0].position}, {stamp})")
        holder = self.certificate_holder(org)
        if holder is not None:  # a certificate number typed where an organization id goes
            return UnknownOrganization(f"unknown organization {org} ({org} is a certificate number, held by {holder}: "
                                       "look it up as a certificate)")
        scored = [(difflib.SequenceMatcher(None, org, slug).ratio(), slug) for slug in self.organization_slugs()]
        close = [slug for score, slug in sorted(scored, key=lambda pair: (-pair[0], pair[1])) if score >= 0.6][:3]
        if not close:
            return UnknownOrganization(f"unknown organization {org}")
        named = close[0] if len(close) == 1 else f"{', '.join(close[:-1])} or {close[-1]}"
        return UnknownOrganization(f"unknown organization {org} (did you mean {named}?)")

    def certificate_holder(self, number: str) -> str | None:
        """The organization that holds ``number`` (letter case aside), or None."""
        if CONTROL_CHARACTER.search(number) or LONE_SURROGATE.search(number):
            return None  # no number holds these, and a database may not even take them as a parameter
        claim = self.storage.certificate_holder(certificate_key(number))
        rows = self.storage.select_org_rows(claim[0])[:1] if claim is not None else []
        return self.mapper.to_domain_event(rows[0].stored_event()).org if rows else None

    def organization_slugs(self) -> list[str]:
        """Every organization id in the ledger now, sorted (one query: the registrations)."""
        return sorted(self.mapper.to_domain_event(row.stored_event()).org
                      for row in self.storage.select_registration_rows(REGISTRATION_TOPICS))

    def state_at(self, org: str, as_of: date | str | None = None, known_at: KnownAtValue = None) -> dict[str, Any]:
        """The status record of SPEC section 8 for ``org`` on ``as_of`` as the ledger knew it at ``known_at``."""
        day = system_time.as_of_date(as_of)
        seen = self.known_at(known_at)
        known = self.timeline_of(org)
        events = known.upto(seen.position)
        if not events:
            raise self.not_known(org, seen, known_at)
        if len(events) == len(known.events):
            record = known.record_on(day)
        else:
            state = timeline.state_on(events, day)
            record = state.describe(day) if state.registration is not None else None
        if record is None:
            registered = next((e for e in events if isinstance(e, OrganizationRegistered)), None)
            since = f" (registered on {registered.date})" if registered else ""
            raise UnknownOrganization(f"{org} is not registered on {day}{since}")
        denial = record["last_denial"]
        return {**record, "last_denial": dict(denial) if denial else None, "as_of": day.isoformat(),
                "known_at": seen.instant}

    def findings(self, org: str, as_of: date | str | None = None, known_at: KnownAtValue = None,
                 only_open: bool = False) -> list[dict[str, Any]]:
        """``org``'s audit findings on ``as_of`` (audits and closures dated up to it) as known at ``known_at``."""
        day = system_time.as_of_date(as_of)
        seen = self.known_at(known_at)
        events = self.timeline_of(org).upto(seen.position)
        registered = next((e for e in events if isinstance(e, OrganizationRegistered)), None)
        if registered is None:  # as status and history word it: never recorded, or not yet at known_at
            raise self.not_known(org, seen, known_at)
        if registered.date > day:
            raise UnknownOrganization(f"{org} is not registered on {day} (registered on {registered.date})")
        return certificates.findings(events, day, only_open)

    def timeline_of(self, org: str) -> KnownTimeline:
        """``org``'s stored events: those decoded before, plus its rows recorded since (reads only its rows)."""
        originator_id = organization_id(org)
        known = self.timelines.get(originator_id) or KnownTimeline([], [])
        rows = self.storage.select_org_rows(originator_id, after_version=known.version)
        if rows:
            known = known.extended(rows, [self.mapper.to_domain_event(row.stored_event()) for row in rows])
            self.timelines.put(originator_id, known, len(known.events))
        return known

    def history(self, org: str, known_at: KnownAtValue = None) -> list[dict[str, Any]]:
        """Every event of ``org`` in position order, retracted ones marked; no query-time fields."""
        pairs = self.events_of(org, self.known_at(known_at), known_at)
        stamps = self.storage.recorded_at([row.position for row, _ in pairs])
        retracted_by = {e.target: e.originator_version for _, e in pairs if isinstance(e, EntryRetracted)}
        return [history_entry(row.position, event, stamps.get(row.position), retracted_by.get(event.originator_version))
                for row, event in pairs]

    def organizations(self, known_at: KnownAt | None = None) -> list[str]:
        """Every organization id in the ledger (as known at ``known_at``), sorted."""
        slugs = []
        for originator_id in self.storage.registration_ids(REGISTRATION_TOPICS):
            rows = self.storage.select_org_rows(originator_id, known_at.position if known_at else None)
            if rows:
                slugs.append(self.mapper.to_domain_event(rows[0].stored_event()).org)
        return sorted(slugs)

    def account(self, originator_id: UUID) -> Account | None:
        """An account as stored now (read fresh: a revocation counts from the next request on)."""
        rows = self.storage.select_org_rows(originator_id)
        if not rows or rows[0].topic not in ACCOUNT_TOPICS:
            return None
        aggregate: Account | None = None
        for row in rows:
            aggregate = self.mapper.to_domain_event(row.stored_event()).mutate(aggregate)
        return aggregate

    def account_feed(self, since: int, limit: int, upto: int | None) -> list[dict[str, Any]]:
        """The accounts' events after position ``since`` (and up to ``upto``), as feed entries (``org`` null)."""
        notifications = self.storage.select_notifications(since, limit, stop=upto, topics=sorted(ACCOUNT_TOPICS),
                                                          inclusive_of_start=False)
        stamps = self.storage.recorded_at([n.id for n in notifications])
        entries = []
        for notification in notifications:
            event = self.mapper.to_domain_event(notification)
            entry = history_entry(notification.id, event, stamps.get(notification.id), None)
            entries.append({"position": entry.pop("position"), "org": None, **entry})
        return entries

    def accounts(self) -> list[Account]:
        """Every account, in the order they were opened."""
        found = [self.account(originator_id) for originator_id in self.storage.registration_ids(OPENING_TOPICS)]
        return [account for account in found if account is not None]

    def statuses(self, as_of: date | str | None = None, known_at: KnownAtValue = None) -> list[dict[str, Any]]:
        """The status of every organization registered by ``as_of``, by organization id, each from its own
        events (the views answer the same question faster; this is what they are checked against)."""
        day = system_time.as_of_date(as_of)
        seen = self.known_at(known_at)
        result = []
        for org in self.organizations(seen):
            try:
                result.append(self.state_at(org, day, seen))
            except UnknownOrganization:
                continue
        return result


def history_entry(position: int, event: OrganizationEvent, recorded_at: str | None,
                  retracted_by: int | None) -> dict[str, Any]:
    """An event as ``history`` shows it: position, version, who and when, type, date, fields."""
    fields = event.shown_fields()
    return {
        "position": position,
        "version": event.originator_version,
        "recorded_at": recorded_at,
        "recorded_by": event.recorded_by,
        "type": type(event).__name__,
        "date": event.date.isoformat(),
        "fields": fields,
        "retracted": retracted_by is not None,
        "retracted_by": retracted_by,
    }
