"""The one write pipeline: decide -> keys -> claims -> chain extras -> store.

Every recording goes through it: a command from the command line or the Python API, the lines
of an import file, a list of commands over HTTP. A submission is one write transaction that
holds the ledger's write lock from its first read to its commit, so what it decides on is what
it stores on; a single command is a submission of one line, an import is the same pipeline in
batches. Per command:

1. **decide** — the organization's aggregate resolves the command into an event and checks that
   every prefix of its timeline stays legal (``ledger.domain.organization``);
2. **keys** — the event's import key: the SHA-256 of the command's canonical JSON with the number
   of earlier identical commands (``ledger.domain.commands.command_key``). Lines of a file count
   the earlier lines of that file, and a line whose key is stored is skipped; a single command
   counts the events already stored, and an identical one is refused unless ``again``;
3. **claims** — a registration claims its organization id (by its deterministic aggregate id);
   a period decision claims its certificate number, letter case aside, and a retraction
   releases what its target claimed;
4. **chain extras** — the key, the recorded-at instant and the claim go with the event;
5. **store** — events and their extras are written in batches (the chain entries, keys and
   claims in the same transaction, by ``ledger.storage``); all or nothing;
6. **follow** — each batch written is offered to the writer's follower, if it was given one and
   joined the transaction (``ledger.application.following``: the views), which writes what follows
   from it in the same transaction.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import random
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Callable, Iterable
from uuid import UUID

from eventsourcing.persistence import Mapper, PersistenceError

from ledger.domain import commands as cmd
from ledger.domain.accounts import Account, AccountCommand, OpenAccount, account_id
from ledger.domain.events import EntryRetracted, OrganizationEvent, Recertified
from ledger.domain.organization import Organization, claimed_number, organization_id
from ledger.domain.values import certificate_key, check_text
from ledger.errors import (
    AlreadyRegistered,
    ConcurrencyConflict,
    DuplicateCertificate,
    DuplicateCommand,
    Interrupted,
    InvalidInput,
    LedgerError,
    RuleViolation,
    StorageError,
    UnknownAccount,
    UnknownOrganization,
)
from ledger.application.following import Following, TransactionFollower, Written
from ledger.application.log import Entry
from ledger.application.recent import Recent
from ledger.garbage import fewer_collections
from ledger.storage import EventExtras, LedgerStorage, WriteTransaction, database_errors, failure_message, is_transient
from ledger.storage.chain import format_instant

BATCH_SIZE = 1000
MAX_CACHED_EVENTS = 20_000
MAX_ATTEMPTS = 25
KEPT_ERRORS = 100


def current_user(by: str | None = None) -> str:
    """Who records: ``--by``, else ``CERTLEDGER_USER``, else the login name. A ``--by`` given blank is refused (a
    script's unset variable must not record under the login name); a blank variable is unset."""
    for source, candidate in (("--by", by), ("CERTLEDGER_USER", os.environ.get("CERTLEDGER_USER"))):
        if candidate is not None and (source == "--by" or candidate.strip()):
            try:
                return check_text(candidate)
            except ValueError as error:
                raise InvalidInput(f"{source}: {error}") from None
    return login_name()


@cache
def login_name() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        return "unknown"


@dataclass(frozen=True)
class Recorded:
    """One recorded event, at its ledger position."""

    org: str
    position: int
    event: OrganizationEvent

    @property
    def version(self) -> int:
        return self.event.originator_version

    @property
    def type(self) -> str:
        return type(self.event).__name__


@dataclass
class Outcome:
    """What one submission did (or, when only checked, would have done)."""

    recorded: int = 0
    skipped: int = 0
    first_position: int | None = None
    last_position: int | None = None
    entries: list[Recorded] = field(default_factory=list)  # kept only when asked: a file may hold millions
    errors: list[str] = field(default_factory=list)
    error_count: int = 0


class Member:
    """An organization in the submission's working set: its aggregate, the positions of its stored
    events, and (for lines) its occurrences of each command so far."""

    __slots__ = ("org", "aggregate", "positions", "occurrences")

    def __init__(self, org: str, aggregate: Organization | Account, positions: dict[int, int],
                 occurrences: dict[bytes, int] | None = None):
        self.org = org
        self.aggregate = aggregate
        self.positions = positions
        self.occurrences = occurrences if occurrences is not None else {}


@dataclass(frozen=True)
class Options:
    """How a submission treats its commands.

    ``lines``: the commands are lines of a file (or an HTTP list): keys count earlier lines, and a
    line already recorded is skipped. Otherwise each is a single command: an identical one already
    recorded is refused unless ``again``. ``check``: decide everything, report every bad line (the
    first ``KEPT_ERRORS``), write nothing.
    """

    lines: bool = False
    again: bool = False
    check: bool = False
    keep_entries: bool = True
    batch_size: int = BATCH_SIZE
    max_cached_events: int = MAX_CACHED_EVENTS
    on_wait: Callable[[], None] | None = None
    on_batch: Callable[[], None] | None = None


class RolledBack(Exception):
    """Ends a checking submission's transaction without writing."""


class WorkingSet:
    """The organizations a submission works on: loaded from its transaction, a bounded number kept.

    An organization taken from the writer's recent ones is brought up to date by reading only its
    newer rows. When more than ``max_cached_events`` events are held, the least recently used
    organizations leave (an import's counts of earlier lines go to the transaction's scratch table,
    to be recalled if the organization comes back).
    """

    def __init__(self, writer: Writer, tx: WriteTransaction, options: Options, ledger_was_empty: bool):
        self.writer = writer
        self.tx = tx
        self.options = options
        self.ledger_was_empty = ledger_was_empty
        self.members: OrderedDict[str, Member] = OrderedDict()
        self.cached_events = 0

    def get(self, org: str, originator_id: UUID | None = None) -> Member | None:
        """An organization by its id, or (with ``originator_id``) another aggregate under the name ``org``."""
        member = self.members.get(org)
        if member is not None:
            self.members.move_to_end(org)
            return member
        member = self._load(org, originator_id or organization_id(org))
        if member is not None:
            self.add(member)
        return member

    def add(self, member: Member) -> None:
        self.members[member.org] = member
        self.cached_events += len(member.aggregate.events)
        self.evict()

    def _load(self, org: str, originator_id: UUID) -> Member | None:
        """The aggregate as stored now: a recent copy brought up to date, or read whole."""
        recent: Member | None = self.writer.recent.get(originator_id)
        aggregate = recent.aggregate.copy() if recent is not None else None
        positions = dict(recent.positions) if recent is not None else {}
        rows = self.tx.org_rows(originator_id, after_version=aggregate.version if aggregate else 0)
        for row in rows:
            aggregate = self.writer.mapper.to_domain_event(row.stored_event()).mutate(aggregate)
            positions[row.originator_version] = row.position
        if aggregate is None:
            return None
        if rows and isinstance(aggregate, Organization):
            aggregate.folded.forget()  # events folded here were not checked by this aggregate
        return Member(org, aggregate, positions, self._occurrences_so_far(org, aggregate))

    def _occurrences_so_far(self, org: str, aggregate: Organization) -> dict[bytes, int]:
        if not self.options.lines:
            return {}
        if self.ledger_was_empty:
            # Every event of the organization comes from an earlier line of this submission.
            occurrences: dict[bytes, int] = {}
            for event in aggregate.events:
                count(occurrences, cmd.canonical_json(key_fields(org, event)))
            return occurrences
        return self.tx.recall_occurrences(org)

    def evict(self) -> None:
        spill: list[tuple[str, bytes, int]] = []
        while self.cached_events > self.options.max_cached_events and len(self.members) > 1:
            org, member = next(iter(self.members.items()))
            if member.aggregate.pending_events:
                break  # not written yet: it leaves after the next batch is written
            del self.members[org]
            self.cached_events -= len(member.aggregate.events)
            if self.options.lines and not self.ledger_was_empty:
                spill.extend((org, digest, n) for digest, n in member.occurrences.items())
        if spill:
            self.tx.spill_occurrences(spill)

    def event(self, originator_id: UUID, version: int) -> OrganizationEvent | None:
        """One event of an organization: from the working set (with those not stored yet), else as stored."""
        for member in self.members.values():
            if member.aggregate.id == originator_id and isinstance(member.aggregate, Organization):
                return member.aggregate.event(version)
        rows = self.tx.org_rows(originator_id, after_version=version - 1)
        return self.writer.mapper.to_domain_event(rows[0].stored_event()) if rows else None

    def slug(self, originator_id: UUID) -> str:
        """An organization's id, from the working set or its registration."""
        for member in self.members.values():
            if member.aggregate.id == originator_id:
                return member.org
        rows = self.tx.org_rows(originator_id)
        return self.writer.mapper.to_domain_event(rows[0].stored_event()).org if rows else str(originator_id)

    def keep_recent(self) -> None:
        """After the commit: the organizations used stay decoded for the next submission of this process."""
        for member in self.members.values():
            self.writer.recent.put(member.aggregate.id, member, len(member.aggregate.events))


class Submission:
    """Commands recorded in one write transaction: all of them, or (on any bad one) none."""

    def __init__(self, writer: Writer, tx: WriteTransaction, recorded_by: str, options: Options,
                 following: Following | None = None):
        self.writer = writer
        self.following = following
        self.mapper = writer.mapper
        self.tx = tx
        self.recorded_by = recorded_by
        self.options = options
        self.outcome = Outcome()
        # Only lines ask: a ledger that was empty holds no key an earlier import stored.
        self.ledger_was_empty = options.lines and tx.max_position() == 0
        self.working = WorkingSet(writer, tx, options, self.ledger_was_empty)
        self.pending: list[tuple[Member, OrganizationEvent, EventExtras]] = []
        self.claims: dict[str, tuple[UUID, int] | None] = {}  # this submission's claims, not yet stored

    # ------------------------------------------------------------------ one command

    def submit(self, number: int | None, value: Any) -> None:
        try:
            if isinstance(value, LedgerError):  # a line that could not even be read (the reader words why)
                raise value
            if isinstance(value, AccountCommand):
                self._decide_account(value)
                return
            command = value if isinstance(value, cmd.Command) else cmd.parse_command(value)
            self._decide(command)
        except LedgerError as error:
            located = type(error)(f"line {number}: {error}") if number is not None else error
            if not self.options.check:
                raise located from None
            self.outcome.error_count += 1
            if len(self.outcome.errors) < KEPT_ERRORS:
                self.outcome.errors.append(str(located))

    def _decide(self, command: cmd.Command) -> None:
        member = self.working.get(command.org)
        if isinstance(command, cmd.Register):
            self._register(command, member)
            return
        if member is None:
            raise UnknownOrganization(f"unknown organization {command.org} (register it first)")
        aggregate = member.aggregate
        try:
            candidate = aggregate.decide(command, self.recorded_by)
        except RuleViolation:
            if self.options.lines and self._renewal_recorded_before(member, command):
                return
            raise
        key, duplicate = self._key(member, candidate)
        if key is None:
            return
        event = aggregate.record(candidate, key)  # the rules first: a refusal names the rule
        try:
            if duplicate is not None:
                raise duplicate
            extras = self._extras(member, event, claimed_number(event))
        except LedgerError:
            aggregate.discard(event)
            raise
        self._add(member, event, extras)

    def _decide_account(self, command: AccountCommand) -> None:
        """Open or revoke an account: the same keys and store as any command, on the Account aggregate."""
        member = self.working.get(f"account:{command.name}", account_id(command.name))
        if isinstance(command, OpenAccount):
            if member is not None:
                raise AlreadyRegistered(f"account {command.name} already exists")
            for org in command.orgs:  # a body's organizations (SPEC section 11) are organizations of this ledger
                if self.working.get(org) is None:
                    raise UnknownOrganization(f"account {command.name} refused: {org} is not a registered "
                                              "organization (register it first)")
            probe = Account.open(command, self.recorded_by, key="").events[0]
            aggregate = Account.open(command, self.recorded_by, key=cmd.command_key(probe.command_fields(), 0))
            member = Member(f"account:{command.name}", aggregate, {})
            self.working.add(member)
            event = aggregate.events[0]
        else:
            if member is None:
                raise UnknownAccount(f"unknown account {command.name}")
            fields = {"command": command.command, "name": command.name, "date": command.date.isoformat()}
            event = member.aggregate.revoke(command, self.recorded_by, cmd.command_key(fields, 0))
        self._add(member, event, EventExtras(key=event.key, recorded_at=format_instant(event.timestamp)))

    def _register(self, command: cmd.Register, member: Member | None) -> None:
        probe = Organization.register(command, self.recorded_by, key="").events[0]
        if not self.options.lines:
            if member is not None:
                raise AlreadyRegistered(f"organization {command.org} is already registered")
            key = cmd.command_key(key_fields(command.org, probe), 0)
        else:
            occurrences = member.occurrences if member is not None else {}
            key = next_key(occurrences, key_fields(command.org, probe))
            if self._is_stored(key):
                self.outcome.skipped += 1
                return
            if member is not None:
                raise AlreadyRegistered(f"organization {command.org} is already registered")
        aggregate = Organization.register(command, self.recorded_by, key=key)
        member = Member(command.org, aggregate, {}, occurrences if self.options.lines else {})
        self.working.add(member)
        event = aggregate.events[0]
        self._add(member, event, EventExtras(key=key, recorded_at=format_instant(event.timestamp)))

    def _key(self, member: Member, candidate: OrganizationEvent) -> tuple[str | None, DuplicateCommand | None]:
        """The candidate's import key (None: a line already recorded, skipped), and the refusal of a single
        command identical to one already recorded (unless ``again``)."""
        fields = key_fields(member.org, candidate)
        if self.options.lines:
            key = next_key(member.occurrences, fields)
            if self._is_stored(key):
                self.outcome.skipped += 1
                return None, None
            return key, None
        same = [e for e in member.aggregate.events
                if type(e) is type(candidate) and e.date == candidate.date and key_fields(member.org, e) == fields]
        duplicate = None
        if same and not self.options.again:
            earlier = same[-1]
            where = member.positions.get(earlier.originator_version)
            at = f"position {where}, version {earlier.originator_version}" if where else \
                f"version {earlier.originator_version}"
            # A retracted entry still counts (it stays recorded), but say so: the user may be entering it anew.
            retraction = next((e.originator_version for e in member.aggregate.events
                               if isinstance(e, EntryRetracted) and e.target == earlier.originator_version), None)
            if retraction is not None:
                at += f", retracted by version {retraction}"
            duplicate = DuplicateCommand(
                f"{candidate.command} refused: an identical {type(candidate).__name__} of {candidate.date} is already "
                f"recorded for {member.org} ({at}); give --again to record it anyway")
        return cmd.command_key(fields, len(same)), duplicate

    def _renewal_recorded_before(self, member: Member, command: cmd.Command) -> bool:
        """A renewal line that no longer resolves (its grant was retracted since) but was recorded from this line.

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
                if self._is_stored(next_key(trial, key_fields(member.org, event))):
                    member.occurrences = trial
                    self.outcome.skipped += 1
                    return True
        return False

    def _is_stored(self, key: str) -> bool:
        # A ledger that was empty holds no key: keys within one submission never repeat.
        return not self.ledger_was_empty and self.tx.has_key(key)

    def _extras(self, member: Member, event: OrganizationEvent, claim: str | None) -> EventExtras:
        release = None
        if claim is not None:
            holder = self._holder(certificate_key(claim))
            if holder is not None:
                # Named as its holder recorded it, not as this command spells it (SPEC section 2).
                held = claimed_number(self.working.event(*holder)) or claim
                raise DuplicateCertificate(
                    f"{event.command} on {event.date} refused: certificate {held} is already held by "
                    f"{self.working.slug(holder[0])} (version {holder[1]}); certificate numbers are unique in the ledger, "
                    "letter case aside")
            self.claims[certificate_key(claim)] = (event.originator_id, event.originator_version)
        if isinstance(event, EntryRetracted):
            number = claimed_number(member.aggregate.event(event.target))
            if number is not None:
                release = certificate_key(number)
                self.claims[release] = None
        return EventExtras(key=event.key, recorded_at=format_instant(event.timestamp),
                           certificate_claim=certificate_key(claim) if claim else None, certificate_release=release)

    def _holder(self, number_key: str) -> tuple[UUID, int] | None:
        if number_key in self.claims:
            return self.claims[number_key]
        return self.tx.certificate_holder(number_key)

    # ------------------------------------------------------------------ storing

    def _add(self, member: Member, event: OrganizationEvent, extras: EventExtras) -> None:
        self.pending.append((member, event, extras))
        self.working.cached_events += 1
        if len(self.pending) >= self.options.batch_size:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            stored = [self.mapper.to_stored_event(event) for _, event, _ in self.pending]
            extras = {(event.originator_id, event.originator_version): extra for _, event, extra in self.pending}
            positions = self.tx.insert(stored, extras)
            outcome = self.outcome
            if outcome.first_position is None:
                outcome.first_position = positions[0]
            outcome.last_position = positions[-1]
            outcome.recorded += len(positions)
            for (member, event, _), position in zip(self.pending, positions):
                member.positions[event.originator_version] = position
                if self.options.keep_entries:
                    outcome.entries.append(Recorded(member.org, position, event))
            if self.following is not None:
                self.following.take([Written(Entry(position, extra.recorded_at, event), member.aggregate.events,
                                             member.positions)
                                     for (member, event, extra), position in zip(self.pending, positions)
                                     if isinstance(member.aggregate, Organization)])
            for member in {id(m): m for m, _, _ in self.pending}.values():
                member.aggregate.collect_events()
            self.pending.clear()
            self.claims.clear()
        self.working.evict()
        if self.options.on_batch is not None:
            self.options.on_batch()


class Writer:
    """The write side of one ledger: submissions through its storage, and the organizations it used lately."""

    def __init__(self, storage: LedgerStorage, mapper: Mapper, db: str):
        self.storage = storage
        self.mapper = mapper
        self.db = db
        self.recent: Recent[Member] = Recent()
        self.follower: TransactionFollower | None = None  # kept up in each write transaction (the views), if given

    def submit(self, lines: Iterable[tuple[int | None, Any]], *, by: str | None = None,
               options: Options = Options()) -> Outcome:
        """Record ``lines`` ((line number or None, command) pairs) in one transaction; see ``Submission``."""
        recorded_by = current_user(by)
        committing = False
        following: Following | None = None
        try:
            with fewer_collections(), self.storage.write(options.on_wait) as tx:
                if self.follower is not None and not options.check:
                    following = self.follower.begin(tx)
                submission = Submission(self, tx, recorded_by, options, following)
                for number, value in lines:
                    submission.submit(number, value)
                submission.flush()
                if options.check or submission.outcome.error_count or not submission.outcome.recorded:
                    raise RolledBack  # (nothing recorded: nothing to commit, not even a new ledger's tables)
                if following is not None:
                    following.finish(submission.outcome.last_position or 0)
                committing = True
        except RolledBack:
            return submission.outcome
        except KeyboardInterrupt:
            if committing:
                raise  # during or after the commit: it may have been written
            raise Interrupted("interrupted: nothing was recorded") from None  # rolled back on the way out
        except database_errors() as error:
            if is_transient(error):
                raise
            raise StorageError(failure_message(self.db, error, "write to")) from None
        submission.working.keep_recent()
        if following is not None:
            following.committed()
        return submission.outcome

    def record(self, command: cmd.Command | AccountCommand | dict[str, Any], *, by: str | None = None,
               again: bool = False,
               on_wait: Callable[[], None] | None = None) -> Recorded:
        """Record one command. Waits for other writers; gives up after a bounded number of transient failures."""
        options = Options(again=again, on_wait=on_wait)
        delay = 0.005
        org = (command.org if isinstance(command, cmd.Command) else f"account {command.name}"
               if isinstance(command, AccountCommand) else str(command.get("org", "?")))
        for _ in range(MAX_ATTEMPTS):
            try:
                return self.submit([(None, command)], by=by, options=options).entries[0]
            except database_errors() as error:  # only transient ones reach here
                last = error
            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 0.25)
        raise ConcurrencyConflict(f"recording for {org} gave up after {MAX_ATTEMPTS} attempts: the database stayed "
                                  f"busy ({last}); try again")


def key_fields(org: str, event: OrganizationEvent) -> dict[str, Any]:
    return {"org": org, **event.command_fields()}


def next_key(occurrences: dict[bytes, int], fields: dict[str, Any]) -> str:
    """The key of a line, counting it among the earlier lines with the same resolved fields."""
    canonical = cmd.canonical_json(fields)
    return cmd.canonical_key(canonical, count(occurrences, canonical))


def count(occurrences: dict[bytes, int], canonical: str) -> int:
    """Count one more line with this resolved command; return how many came before it."""
    digest = hashlib.blake2b(canonical.encode(), digest_size=16).digest()
    occurrence = occurrences.get(digest, 0)
    occurrences[digest] = occurrence + 1
    return occurrence
