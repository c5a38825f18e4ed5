"""CertificationLedger: the application service. Commands follow load -> decide -> record -> save."""

from __future__ import annotations

import getpass
import os
import random
import sqlite3
import threading
import time
from bisect import bisect_right
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, datetime, time as clock, timezone
from typing import Any, Iterable, Sequence
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import (
    IntegrityError,
    Mapper,
    PersistenceError,
    Transcoder,
)
from eventsourcing.utils import Environment

from ledger.domain import commands as cmd
from ledger.domain import timeline
from ledger.errors import (
    AlreadyRegistered,
    ConcurrencyConflict,
    DuplicateCertificate,
    InvalidInput,
    LedgerError,
    StorageError,
    UnknownOrganization,
)
from ledger.domain.events import CertificationGranted, EntryRetracted, OrganizationEvent, OrganizationRegistered
from ledger.domain.organization import Organization, organization_id, project_organization
from ledger.persistence import EventExtras, PlainJSONTranscoder, PydanticMapper, StoredRow, format_instant
from ledger.storage import DEFAULT_DB, describe, environment, failure_message, is_transient
from ledger.domain.values import check_text, parse_date, today_utc

MAX_ATTEMPTS = 25
# How many events of recently used organizations a ledger object keeps decoded in memory.
RECENT_EVENTS = 20_000
BEFORE_ANYTHING = "1970-01-01T00:00:00.000000Z"


@dataclass(frozen=True)
class Recorded:
    """The outcome of a recording command."""

    org: str
    position: int
    event: OrganizationEvent

    @property
    def version(self) -> int:
        return self.event.originator_version

    @property
    def type(self) -> str:
        return type(self.event).__name__


@dataclass(frozen=True)
class KnownAt:
    """A system-time point: the ledger position it resolves to, and the instant it echoes."""

    position: int | None
    instant: str


def current_user(by: str | None = None) -> str:
    for source, candidate in (("--by", by), ("CERTLEDGER_USER", os.environ.get("CERTLEDGER_USER"))):
        if candidate is not None and candidate.strip():
            try:
                return check_text(candidate)
            except ValueError as error:
                raise InvalidInput(f"{source}: {error}") from None
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        return "unknown"


class Recent:
    """Organizations this ledger object used lately, at most about ``max_events`` events in all.

    Only a speed-up: whoever takes an entry out reads the organization's newer rows first, so
    an entry is never trusted beyond the version it holds.
    """

    def __init__(self, max_events: int = RECENT_EVENTS):
        self.max_events = max_events
        self._entries: OrderedDict[UUID, tuple[int, Any]] = OrderedDict()
        self._events = 0
        self._lock = threading.Lock()

    def get(self, key: UUID) -> Any:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: UUID, value: Any, size: int) -> None:
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._events -= old[0]
            self._entries[key] = (size, value)
            self._events += size
            while self._events > self.max_events and len(self._entries) > 1:
                _, (evicted, _) = self._entries.popitem(last=False)
                self._events -= evicted


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


class CertificationLedger(Application):
    """The ledger of one scheme: SQLite file or PostgreSQL database named by ``db``."""

    name = "certledger"
    max_attempts = MAX_ATTEMPTS

    def __init__(self, db: str | None = None, *, must_exist: bool = False) -> None:
        self.db = db or os.environ.get("CERTLEDGER_DB") or DEFAULT_DB
        self._ledger_env = environment(self.db, must_exist=must_exist)
        try:
            super().__init__()
        except LedgerError:
            raise
        except (PersistenceError, sqlite3.Error, OSError, ImportError) as error:
            raise StorageError(f"cannot open database {describe(self.db)}: {error}") from None
        self._recent_aggregates = Recent()
        self._recent_timelines = Recent()

    def construct_env(self, name: str, env: Any = None) -> Environment:
        # Only the ledger's own settings: library variables in the user's shell must not redirect it.
        # Table names follow the ledger's name, never a subclass's (the library derives them from it).
        return Environment(CertificationLedger.name, dict(self._ledger_env))

    def construct_mapper(self) -> Mapper:
        return PydanticMapper(transcoder=self.construct_transcoder())

    def construct_transcoder(self) -> Transcoder:
        return PlainJSONTranscoder()

    # ------------------------------------------------------------------ recording

    def record(self, command: cmd.Command | dict[str, Any], *, by: str | None = None) -> Recorded:
        """Record one command (a validated model, or a mapping in the import format).

        When another writer changed the organization (or took the id, key or certificate number)
        between loading and saving, the command is reloaded and decided again on the fresh state,
        a bounded number of times with jittered back-off.
        """
        if isinstance(command, dict):
            command = cmd.parse_command(command)
        recorded_by = current_user(by)
        delay = 0.005
        for _ in range(self.max_attempts):
            try:
                return self._record_once(command, recorded_by)
            except IntegrityError:
                pass  # another writer got there first: reload, re-validate, try again
            except PersistenceError as error:
                if not is_transient(error):
                    raise StorageError(failure_message(self.db, error, "write to")) from None
            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 0.25)
        raise ConcurrencyConflict(
            f"{command.command} for {command.org} gave up after {self.max_attempts} attempts: other writers kept "
            "changing this organization; try again")

    def _record_once(self, command: cmd.Command, recorded_by: str) -> Recorded:
        if isinstance(command, cmd.Register):
            if self._find(command.org) is not None:
                raise AlreadyRegistered(f"organization {command.org} is already registered")
            probe = Organization.register(command, recorded_by, key="")
            fields = probe.events[0].command_fields()
            org = Organization.register(command, recorded_by, key=cmd.command_key(fields, 0))
            event = org.events[0]
        else:
            org = self._load(command.org)
            candidate = org.decide(command, recorded_by)
            fields = self.key_fields(command.org, candidate)
            occurrence = sum(1 for e in org.events if type(e) is type(candidate) and e.date == candidate.date
                             and self.key_fields(command.org, e) == fields)
            event = org.record(candidate, cmd.command_key(fields, occurrence))
        extras = {(event.originator_id, event.originator_version): self.extras_for(org, event)}
        recordings = self.save(org, extras=extras)
        self._recent_aggregates.put(org.id, org, len(org.events))
        return Recorded(command.org, recordings[-1].notification.id, event)

    @staticmethod
    def key_fields(org: str, event: OrganizationEvent) -> dict[str, Any]:
        return {"org": org, **event.command_fields()}

    def extras_for(self, org: Organization, event: OrganizationEvent) -> EventExtras:
        claim = release = None
        if isinstance(event, CertificationGranted) and event.certificate:
            holder = self.recorder.certificate_holder(event.certificate)
            if holder is not None:
                raise DuplicateCertificate(
                    f"certify on {event.date} refused: certificate {event.certificate} is already held by "
                    f"{self._slug(holder[0])} (version {holder[1]}); certificate numbers are unique in the ledger")
            claim = event.certificate
        if isinstance(event, EntryRetracted):
            target = org.event(event.target)
            if isinstance(target, CertificationGranted) and target.certificate:
                release = target.certificate
        return EventExtras(key=event.key, recorded_at=format_instant(event.timestamp),
                           certificate_claim=claim, certificate_release=release)

    def _find(self, org: str) -> Organization | None:
        """The organization's aggregate as stored now: a recent one brought up to date, or read whole."""
        originator_id = organization_id(org)
        recent: Organization | None = self._recent_aggregates.get(originator_id)
        newer = self.events.get(originator_id, gt=recent.version if recent else None)
        return project_organization(recent.copy() if recent else None, newer)

    def _load(self, org: str) -> Organization:
        found = self._find(org)
        if found is None:
            raise UnknownOrganization(f"unknown organization {org} (register it first)")
        return found

    def _slug(self, originator_id: UUID) -> str:
        rows = self.recorder.select_org_rows(originator_id)
        if not rows:
            return str(originator_id)
        return self.mapper.to_domain_event(_stored(rows[0])).org

    # Convenience methods: one per recording command, for Python callers.

    def register(self, org: str, *, name: str, country: str, date: date | str, region: str | None = None,
                 legal_form: str = "other", deposit: str | None = None, by: str | None = None) -> Recorded:
        return self.record(_drop_none(command="register", org=org, name=name, country=country, date=date,
                                      region=region, legal_form=legal_form, deposit=deposit), by=by)

    def audit(self, org: str, *, date: date | str, body: str, kind: str, reference: str | None = None,
              findings: Sequence[str] = (), by: str | None = None) -> Recorded:
        return self.record(_drop_none(command="audit", org=org, date=date, body=body, kind=kind,
                                      reference=reference, finding=list(findings)), by=by)

    def certify(self, org: str, *, date: date | str, standard: str, certificate: str | None = None,
                valid_until: date | str | None = None, audit: str | None = None, by: str | None = None) -> Recorded:
        return self.record(_drop_none(command="certify", org=org, date=date, standard=standard,
                                      certificate=certificate, valid_until=valid_until, audit=audit), by=by)

    def recertify(self, org: str, *, date: date | str, standard: str | None = None,
                  valid_until: date | str | None = None, audit: str | None = None, by: str | None = None) -> Recorded:
        return self.record(_drop_none(command="recertify", org=org, date=date, standard=standard,
                                      valid_until=valid_until, audit=audit), by=by)

    def deny(self, org: str, *, date: date | str, reason_category: str, reason: str, by: str | None = None
             ) -> Recorded:
        return self.record(_drop_none(command="deny", org=org, date=date, reason_category=reason_category,
                                      reason=reason), by=by)

    def suspend(self, org: str, *, date: date | str, reason: str, resolve_by: date | str | None = None,
                by: str | None = None) -> Recorded:
        return self.record(_drop_none(command="suspend", org=org, date=date, reason=reason,
                                      resolve_by=resolve_by), by=by)

    def reinstate(self, org: str, *, date: date | str, by: str | None = None) -> Recorded:
        return self.record(_drop_none(command="reinstate", org=org, date=date), by=by)

    def extend(self, org: str, *, date: date | str, until: date | str, reason: str, by: str | None = None
               ) -> Recorded:
        return self.record(_drop_none(command="extend", org=org, date=date, until=until, reason=reason), by=by)

    def withdraw(self, org: str, *, date: date | str, mode: str, reason: str, by: str | None = None) -> Recorded:
        return self.record(_drop_none(command="withdraw", org=org, date=date, mode=mode, reason=reason), by=by)

    def retract(self, org: str, target: int, *, date: date | str, reason: str, by: str | None = None) -> Recorded:
        return self.record(_drop_none(command="retract", org=org, target=target, date=date, reason=reason), by=by)

    # ------------------------------------------------------------------ system time

    def known_at(self, value: str | int | datetime | None = None) -> KnownAt:
        """Resolve ``--known-at``: a ledger position (all digits) or an ISO-8601 instant."""
        if value is None:
            return KnownAt(None, format_instant(datetime.now(timezone.utc)))
        if isinstance(value, int) and not isinstance(value, bool):
            return self._known_at_position(value)
        if isinstance(value, datetime):
            instant = format_instant(value if value.tzinfo else value.replace(tzinfo=timezone.utc))
            return KnownAt(self.recorder.position_at(instant), instant)
        text = str(value).strip()
        if text.isdigit():
            return self._known_at_position(int(text))
        try:
            instant = format_instant(parse_instant(text))
        except OverflowError:
            raise InvalidInput(f"--known-at: {text!r} is out of range") from None
        return KnownAt(self.recorder.position_at(instant), instant)

    def _known_at_position(self, position: int) -> KnownAt:
        """Position 0 is the empty ledger; a position beyond the last one is the ledger as it is now."""
        latest = self.recorder.max_position()
        if position > latest:
            # Clamped, which also keeps numbers too big for SQL out of the queries.
            return KnownAt(latest, format_instant(datetime.now(timezone.utc)))
        stamp = self.recorder.recorded_at([position]).get(position) if position > 0 else BEFORE_ANYTHING
        if stamp is None:
            if position < self.recorder.max_position():
                raise InvalidInput(f"--known-at: there is no ledger position {position}")
            stamp = format_instant(datetime.now(timezone.utc))
        return KnownAt(position, stamp)

    # ------------------------------------------------------------------ queries

    def events_of(self, org: str, known_at: KnownAt | None = None) -> list[tuple[StoredRow, OrganizationEvent]]:
        """One organization's events (recording order) as known at ``known_at``; reads only its rows."""
        position = known_at.position if known_at else None
        rows = self.recorder.select_org_rows(organization_id(org), position)
        if not rows:
            raise UnknownOrganization(f"unknown organization {org}")
        return [(row, self.mapper.to_domain_event(_stored(row))) for row in rows]

    def state_at(self, org: str, as_of: date | str | None = None,
                 known_at: str | int | datetime | KnownAt | None = None) -> dict[str, Any]:
        """The status record of SPEC section 8 for ``org`` on ``as_of`` as the ledger knew it at ``known_at``."""
        day = as_of_date(as_of)
        seen = known_at if isinstance(known_at, KnownAt) else self.known_at(known_at)
        known = self.timeline_of(org)
        events = known.upto(seen.position)
        if not events:
            raise UnknownOrganization(f"unknown organization {org}")
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

    def timeline_of(self, org: str) -> KnownTimeline:
        """``org``'s stored events: those decoded before, plus its rows recorded since (reads only its rows)."""
        originator_id = organization_id(org)
        known: KnownTimeline = self._recent_timelines.get(originator_id) or KnownTimeline([], [])
        rows = self.recorder.select_org_rows(originator_id, after_version=known.version)
        if rows:
            known = known.extended(rows, [self.mapper.to_domain_event(_stored(row)) for row in rows])
            self._recent_timelines.put(originator_id, known, len(known.events))
        return known

    def history(self, org: str, known_at: str | int | datetime | KnownAt | None = None) -> list[dict[str, Any]]:
        """Every event of ``org`` in position order, retracted ones marked; no query-time fields."""
        seen = known_at if isinstance(known_at, KnownAt) else self.known_at(known_at)
        pairs = self.events_of(org, seen)
        stamps = self.recorder.recorded_at([row.position for row, _ in pairs])
        retracted_by = {e.target: e.originator_version for _, e in pairs if isinstance(e, EntryRetracted)}
        return [history_entry(row, event, stamps.get(row.position), retracted_by.get(event.originator_version))
                for row, event in pairs]

    def organizations(self, known_at: KnownAt | None = None) -> list[str]:
        """Every organization id in the ledger (as known at ``known_at``), sorted."""
        slugs = []
        for originator_id in self.recorder.registration_ids():
            rows = self.recorder.select_org_rows(originator_id, known_at.position if known_at else None)
            if rows:
                slugs.append(self.mapper.to_domain_event(_stored(rows[0])).org)
        return sorted(slugs)

    def statuses(self, as_of: date | str | None = None, known_at: str | int | datetime | None = None
                 ) -> list[dict[str, Any]]:
        """The status of every organization registered by ``as_of``, sorted by organization id."""
        day = as_of_date(as_of)
        seen = self.known_at(known_at)
        result = []
        for org in self.organizations(seen):
            try:
                result.append(self.state_at(org, day, seen))
            except UnknownOrganization:
                continue
        return result


def history_entry(row: StoredRow, event: OrganizationEvent, recorded_at: str | None,
                  retracted_by: int | None) -> dict[str, Any]:
    fields = event.model_dump(mode="json", exclude={"originator_id", "originator_version", "timestamp", "date",
                                                    "recorded_by", "key", "originator_topic"})
    return {
        "position": row.position,
        "version": event.originator_version,
        "recorded_at": recorded_at,
        "recorded_by": event.recorded_by,
        "type": type(event).__name__,
        "date": event.date.isoformat(),
        "fields": fields,
        "retracted": retracted_by is not None,
        "retracted_by": retracted_by,
    }


def _stored(row: StoredRow) -> Any:
    from eventsourcing.persistence import StoredEvent

    return StoredEvent(originator_id=row.originator_id, originator_version=row.originator_version,
                       topic=row.topic, state=row.state)


def _drop_none(**fields: Any) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in fields.items() if v is not None}


def as_of_date(value: date | str | None) -> date:
    if value is None:
        return today_utc()
    try:
        return parse_date(value)
    except ValueError as error:
        raise InvalidInput(f"--as-of: {error}") from None


def parse_instant(text: str) -> datetime:
    """ISO-8601 date-time (no offset means UTC) or a bare date (the end of that day, UTC)."""
    try:
        if len(text) == 10:
            return datetime.combine(parse_date(text), clock.max, tzinfo=timezone.utc)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        raise InvalidInput(f"--known-at: {text!r} is neither a ledger position nor an ISO-8601 date-time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def iter_chunks(items: Iterable[Any], size: int) -> Iterable[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
