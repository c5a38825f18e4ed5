"""Bulk import and export: many recording commands in one atomic, streaming, idempotent pass.

Import reads JSON Lines or CSV line by line, validates each line, resolves it against the
organization's timeline (the ledger plus the earlier lines of the file), and writes the
events in batches inside ONE write transaction: a bad line anywhere rolls back the whole
file. Memory stays bounded whatever the file size: lines are never all held at once, and
only a bounded working set of organizations is kept (evicted ones are reloaded from the
open transaction, which sees its own uncommitted rows).

A line's import key is the key of the event it resolves to (see ``command_key``), with
the occurrence counted over the earlier lines of the file for that organization; a line
whose key is already stored is skipped, so importing a file twice, or an export into the
ledger it came from, records nothing new. See docs/import-export.md.
"""

from __future__ import annotations

import gc
import hashlib
import sqlite3
import sys
import time
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, Callable, Iterable, Iterator
from uuid import UUID

from eventsourcing.persistence import PersistenceError

from ledger.domain import commands as cmd
from ledger.errors import (
    AlreadyRegistered,
    DuplicateCertificate,
    InvalidInput,
    LedgerError,
    RuleViolation,
    StorageError,
    UnknownOrganization,
)
from ledger.domain.events import CertificationGranted, EntryRetracted, OrganizationEvent, Recertified
from ledger.import_stores import ImportStore, import_transaction
from ledger.line_files import format_of, read_lines
from ledger.domain.organization import Organization, organization_id
from ledger.persistence import EventExtras, format_instant
from ledger.storage import failure_message

if TYPE_CHECKING:
    from ledger.application import CertificationLedger

BATCH_SIZE = 1000
MAX_CACHED_EVENTS = 20_000


@dataclass(frozen=True)
class ImportSummary:
    source: str
    recorded: int
    skipped: int
    seconds: float
    first_position: int | None
    last_position: int | None

    def describe(self) -> str:
        return (f"Imported {self.recorded} events ({self.skipped} skipped as already present) "
                f"from {self.source} in {self.seconds:.1f} s")

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "recorded": self.recorded, "skipped": self.skipped,
                "seconds": round(self.seconds, 3), "first_position": self.first_position,
                "last_position": self.last_position}


class _Member:
    """An organization in the importer's working set, with its line occurrences so far in the file."""

    __slots__ = ("org", "aggregate", "occurrences")

    def __init__(self, org: str, aggregate: Organization, occurrences: dict[bytes, int]):
        self.org = org
        self.aggregate = aggregate
        self.occurrences = occurrences


class Importer:
    """Records the commands of one file atomically: everything, or (on any bad line) nothing."""

    def __init__(self, ledger: CertificationLedger, *, by: str | None = None,
                 batch_size: int | None = None, max_cached_events: int | None = None):
        from ledger.application import current_user

        self.ledger = ledger
        self.mapper = ledger.mapper
        self.recorded_by = current_user(by)
        self.batch_size = batch_size or BATCH_SIZE
        self.max_cached_events = max_cached_events or MAX_CACHED_EVENTS

    def run(self, lines: Iterable[tuple[int, Any]], *, source: str = "-",
            progress: Callable[[], None] | None = None) -> ImportSummary:
        started = time.perf_counter()
        with fewer_collections():
            summary = self._run(lines, source, progress, started)
        return summary

    def _run(self, lines: Iterable[tuple[int, Any]], source: str, progress: Callable[[], None] | None,
             started: float) -> ImportSummary:
        self.recorded = self.skipped = 0
        self.first_position: int | None = None
        self.last_position: int | None = None
        self._members: OrderedDict[str, _Member] = OrderedDict()
        self._cached_events = 0
        self._pending: list[tuple[Organization, OrganizationEvent, EventExtras]] = []
        self._claims: dict[str, tuple[UUID, int] | None] = {}
        self._progress = progress
        try:
            with import_transaction(self.ledger) as store:
                self.store: ImportStore = store
                self._ledger_was_empty = store.max_position() == 0
                for number, value in lines:
                    self._import_line(number, value)
                self._flush()
        except (PersistenceError, sqlite3.Error, *_driver_errors()) as error:
            raise StorageError(failure_message(self.ledger.db, error, "import into")) from None
        finally:
            self._members.clear()
        return ImportSummary(source, self.recorded, self.skipped, time.perf_counter() - started,
                             self.first_position, self.last_position)

    def _import_line(self, number: int, value: Any) -> None:
        try:
            command = value if isinstance(value, cmd.Command) else cmd.parse_command(value)
            self._record(command)
        except LedgerError as error:
            raise type(error)(f"line {number}: {error}") from None

    def _record(self, command: cmd.Command) -> None:
        member = self._member(command.org)
        if isinstance(command, cmd.Register):
            self._register(command, member)
            return
        if member is None:
            raise UnknownOrganization(f"unknown organization {command.org} (register it first)")
        aggregate = member.aggregate
        try:
            candidate = aggregate.decide(command, self.recorded_by)
        except RuleViolation:
            if self._already_recorded(member, command):
                return
            raise
        key = self._key(member, candidate)
        if self._is_stored(key):
            self.skipped += 1
            return
        event = aggregate.record(candidate, key)
        self._add(aggregate, event, self._extras(aggregate, event))

    def _register(self, command: cmd.Register, member: _Member | None) -> None:
        probe = Organization.register(command, self.recorded_by, key="")
        fields = key_fields(command.org, probe.events[0])
        occurrences: dict[bytes, int] = member.occurrences if member is not None else {}
        key = _next_key(occurrences, fields)
        if self._is_stored(key):
            self.skipped += 1
            return
        if member is not None:
            raise AlreadyRegistered(f"organization {command.org} is already registered")
        aggregate = Organization.register(command, self.recorded_by, key=key)
        self._members[command.org] = _Member(command.org, aggregate, occurrences)
        event = aggregate.events[0]
        self._add(aggregate, event, EventExtras(key=key, recorded_at=format_instant(event.timestamp)))

    def _already_recorded(self, member: _Member, command: cmd.Command) -> bool:
        """A renewal that no longer resolves (e.g. its grant was retracted since) but was recorded from this line.

        Its resolved fields cannot be derived from today's timeline, so look for a stored renewal
        that the line could have produced, with the occurrence this line would have had.
        """
        if not isinstance(command, cmd.Recertify):
            return False
        for event in member.aggregate.events:
            if (isinstance(event, Recertified) and event.date == command.date and event.audit == command.audit
                    and command.standard in (None, event.standard)
                    and command.valid_until in (None, event.valid_until)):
                trial = dict(member.occurrences)
                if self._is_stored(_next_key(trial, key_fields(member.org, event))):
                    member.occurrences = trial
                    self.skipped += 1
                    return True
        return False

    def _key(self, member: _Member, event: OrganizationEvent) -> str:
        return _next_key(member.occurrences, key_fields(member.org, event))

    def _is_stored(self, key: str) -> bool:
        # An import into an empty ledger can meet no stored key: keys within one file never repeat.
        return not self._ledger_was_empty and self.store.has_key(key)

    def _extras(self, aggregate: Organization, event: OrganizationEvent) -> EventExtras:
        claim = release = None
        if isinstance(event, CertificationGranted) and event.certificate:
            holder = self._holder(event.certificate)
            if holder is not None:
                raise DuplicateCertificate(
                    f"certify on {event.date} refused: certificate {event.certificate} is already held by "
                    f"{self._slug(holder[0])} (version {holder[1]}); certificate numbers are unique in the ledger")
            claim = event.certificate
            self._claims[claim] = (event.originator_id, event.originator_version)
        if isinstance(event, EntryRetracted):
            target = aggregate.event(event.target)
            if isinstance(target, CertificationGranted) and target.certificate:
                release = target.certificate
                self._claims[release] = None
        return EventExtras(key=event.key, recorded_at=format_instant(event.timestamp),
                           certificate_claim=claim, certificate_release=release)

    def _holder(self, certificate: str) -> tuple[UUID, int] | None:
        if certificate in self._claims:
            return self._claims[certificate]
        return self.store.certificate_holder(certificate)

    def _slug(self, originator_id: UUID) -> str:
        for member in self._members.values():
            if member.aggregate.id == originator_id:
                return member.org
        rows = self.store.org_rows(originator_id)
        return self.mapper.to_domain_event(rows[0]).org if rows else str(originator_id)

    # The working set: organizations recently touched, reloaded from the transaction when evicted.

    def _member(self, org: str) -> _Member | None:
        member = self._members.get(org)
        if member is not None:
            self._members.move_to_end(org)
            return member
        rows = self.store.org_rows(organization_id(org))
        if not rows:
            return None
        aggregate: Organization | None = None
        for row in rows:
            aggregate = self.mapper.to_domain_event(row).mutate(aggregate)
        assert aggregate is not None
        member = _Member(org, aggregate, self._occurrences_so_far(org, aggregate))
        self._members[org] = member
        self._cached_events += len(rows)
        self._evict()
        return member

    def _occurrences_so_far(self, org: str, aggregate: Organization) -> dict[bytes, int]:
        if self._ledger_was_empty:
            # Every event of the organization comes from an earlier line of this file (none was skipped).
            occurrences: dict[bytes, int] = {}
            for event in aggregate.events:
                _count(occurrences, cmd.canonical_json(key_fields(org, event)))
            return occurrences
        return self.store.recall_occurrences(org)

    def _evict(self) -> None:
        spill: list[tuple[str, bytes, int]] = []
        while self._cached_events > self.max_cached_events and len(self._members) > 1:
            org, member = next(iter(self._members.items()))
            if member.aggregate.pending_events:
                break  # not written yet: it leaves after the next batch is written
            del self._members[org]
            self._cached_events -= len(member.aggregate.events)
            if not self._ledger_was_empty:
                spill.extend((org, digest, count) for digest, count in member.occurrences.items())
        if spill:
            self.store.spill_occurrences(spill)

    # Writing: events go to the database in batches, all inside the one transaction.

    def _add(self, aggregate: Organization, event: OrganizationEvent, extras: EventExtras) -> None:
        self._pending.append((aggregate, event, extras))
        self._cached_events += 1
        if len(self._pending) >= self.batch_size:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            stored = [self.mapper.to_stored_event(event) for _, event, _ in self._pending]
            extras = {(event.originator_id, event.originator_version): extra for _, event, extra in self._pending}
            positions = self.store.insert(stored, extras)
            if self.first_position is None:
                self.first_position = positions[0]
            self.last_position = positions[-1]
            self.recorded += len(positions)
            for aggregate in {id(a): a for a, _, _ in self._pending}.values():
                aggregate.collect_events()
            self._pending.clear()
            self._claims.clear()
        self._evict()
        if self._progress is not None:
            self._progress()


def _driver_errors() -> tuple[type[Exception], ...]:
    try:
        import psycopg
    except ImportError:  # pragma: no cover - the postgres extra is not installed
        return ()
    return (psycopg.Error,)


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Collect the young generation less often while importing.

    Each line makes many short-lived objects; at the default thresholds the collector
    runs every few lines and keeps rescanning the working set of organizations, which
    costs about a fifth of the import's time. Nothing in the import makes reference
    cycles, so collecting less often does not hold memory longer.
    """
    previous = gc.get_threshold()
    gc.set_threshold(10_000, 10, 10)
    try:
        yield
    finally:
        gc.set_threshold(*previous)


def key_fields(org: str, event: OrganizationEvent) -> dict[str, Any]:
    return {"org": org, **event.command_fields()}


def _next_key(occurrences: dict[bytes, int], fields: dict[str, Any]) -> str:
    """The key of a line, counting it among the earlier lines of the file with the same resolved fields."""
    canonical = cmd.canonical_json(fields)
    return cmd.canonical_key(canonical, _count(occurrences, canonical))


def _count(occurrences: dict[bytes, int], canonical: str) -> int:
    """Count one more line with this resolved command; return how many came before it."""
    digest = hashlib.blake2b(canonical.encode(), digest_size=16).digest()
    occurrence = occurrences.get(digest, 0)
    occurrences[digest] = occurrence + 1
    return occurrence


def import_file(ledger: CertificationLedger, path: str, *, fmt: str | None = None, by: str | None = None,
                progress: Callable[[int], None] | None = None) -> ImportSummary:
    """Import a JSON Lines or CSV file (``-``: standard input) atomically; see ``Importer``."""
    fmt = format_of(path, fmt)
    with _open_source(path) as stream:
        reader, lines = read_lines(stream, fmt)
        report = (lambda: progress(reader.bytes_read)) if progress is not None else None
        return Importer(ledger, by=by).run(lines, source="stdin" if path == "-" else path, progress=report)


@contextmanager
def _open_source(path: str) -> Iterator[IO[bytes]]:
    if path == "-":
        yield sys.stdin.buffer
        return
    try:
        stream = open(path, "rb")
    except OSError as error:
        raise InvalidInput(f"cannot read {path}: {error.strerror}") from None
    with stream:
        yield stream
