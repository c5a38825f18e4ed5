"""Views: registry questions across all organizations, answered from the read models.

Every query first catches the views up with the log, so an answer is never stale; and
because the status segments carry each organization's future expiry, time passing alone
changes answers without any event.

The views are bitemporal (``projections.rows``): a ``known_at`` answer (what the ledger said at
an earlier position) is the same indexed query on the rows that were the answer at that position.
Only a ledger whose views cannot be moved on (a read-only role or file) and are behind replays the
log, into a scratch in-memory database with the same tables.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence

from eventsourcing.persistence import IntegrityError
from eventsourcing.sqlite import SQLiteDatastore

from ledger.application.log import EventLog
from ledger.application.system_time import KnownAt, KnownAtValue, as_of_date
from ledger.domain.names import organization_id
from ledger.domain.values import ORG_ID_PATTERN, STANDARDS, STATUSES, certificate_key, check_text, country_code, parse_date, search_key
from ledger.errors import InvalidInput, StorageError, UnknownCertificate, invalid_value, naming, not_one_of
from ledger.storage import database_errors, describe
from projections import changes as feed
from projections import registry as reg
from projections import report as rep
from projections import tables
from ledger.storage.dialect import Dialect
from projections.answers import Listing, Record
from ledger.application.recent import Recent
from projections.folding import Folded, ReplayProgress, folded_batches
from projections.runner import BATCH_SIZE, RECENT_EVENTS, REPLAY_FROM_EMPTY, Progress, catch_up, replay
from projections.store import SQLiteViewStore, ViewStore

if TYPE_CHECKING:  # the projectors are loaded by the first catch-up that has events to apply (``runner``)
    from projections.rows import OrganizationProjector, Version


MAX_PAGE = 2**62  # a page's limit and offset: beyond any ledger, within every database's integers


@dataclass(frozen=True)
class RebuildSummary:
    events: int
    organizations: int
    seconds: float

    def __str__(self) -> str:
        return (f"Rebuilt the projections: {self.events} events replayed, {self.organizations} organizations, "
                f"{self.seconds:.2f}s")


@dataclass
class Tally:
    events: int = 0
    organizations: int = 0

    def counting(self, batches: Iterable[list[Folded]]) -> Iterator[tables.TableRows]:
        for batch in batches:
            for folded in batch:
                self.organizations += 1
                self.events += folded.events
                yield folded.rows


class Views:
    """The read side of one ledger, stored in the ledger's own database."""

    def __init__(self, log: EventLog, *, batch_size: int = BATCH_SIZE, replay_from_empty: int = REPLAY_FROM_EMPTY):
        self.log = log
        self.batch_size = batch_size
        self.replay_from_empty = replay_from_empty
        self._store: ViewStore | None = None
        self.on_replay: ReplayProgress | None = None  # (organizations done, total) while a replay runs
        self.projectors: Recent[OrganizationProjector] = Recent(RECENT_EVENTS)

    @property
    def store(self) -> ViewStore:
        if self._store is None:
            with self._storage_errors("open"):
                store = store_for(self.log.datastore)
                store.ensure_layout()
                self._store = store
        return self._store

    # ------------------------------------------------------------------ keeping up

    def catch_up(self, on_batch: Callable[[Progress], None] | None = None) -> int:
        """Apply the events recorded since the tracked position; return how many."""
        with self._storage_errors("update"):
            return catch_up(self.log, self.store, self.batch_size, on_batch, self.replay_from_empty,
                            self.projectors)

    def catch_up_if_writable(self) -> bool:
        """Catch up, unless the views cannot be moved on (a read-only role or file): then say so."""
        try:
            self.catch_up()
        except StorageError as error:
            if not cannot_write(error):
                raise
            return False
        return True

    def tracked_position(self) -> int:
        return self.store.tracked_position()

    def rebuild(self) -> RebuildSummary:
        """Drop every view row and the tracked position, and replay the whole log."""
        started = time.perf_counter()
        replayed = Tally()
        with self._storage_errors("rebuild"):
            upto = self.log.max_position()
            self.store.replace_all(replayed.counting(folded_batches(self.log, upto, progress=self.on_replay)), upto)
        return RebuildSummary(replayed.events, replayed.organizations, time.perf_counter() - started)

    # ------------------------------------------------------------------ queries

    def registry(self, as_of: date | str | None = None, statuses: Sequence[str] = (), country: str | None = None,
                 standard: str | None = None, known_at: KnownAtValue = None, *, region: str | None = None,
                 q: str | None = None, expiring_within: int | None = None, limit: int | None = None,
                 offset: int = 0) -> list[dict[str, Any]]:
        """The status record of every organization registered by ``as_of``; filters combine.

        ``region`` (letter case and accents aside); ``q``: text found in the org id, the name in force
        (letter case and accents aside) or a certificate number; ``expiring_within`` N: certified on
        ``as_of``, no renewal decided, valid_until within N days after it. With ``limit`` (and ``offset``),
        one page of the answer, whose ``total`` counts all of it.
        """
        day = as_of_date(as_of)
        filters = check_filters(statuses, country, standard, region=region, q=q, expiring_within=expiring_within,
                                as_of=day)
        check_page(limit, offset)
        with self._reading(known_at) as (c, dialect, seen, position):
            if limit is None and not offset:
                records, total = reg.registry(c, dialect, day, position, filters=filters), None
            else:
                records, total = reg.registry_page(c, dialect, day, position, filters,
                                                   MAX_PAGE if limit is None else limit, offset)
        return Listing(stamped(records, day, seen), position, total)

    def status(self, org: str, as_of: date | str | None = None, known_at: KnownAtValue = None) -> Record | None:
        """``org``'s status record (SPEC section 8) on ``as_of`` as known at ``known_at``, if the views hold that
        position already; else None, and the organization's own events answer (``ledger.state_at``, which
        also words every refusal). A question about one organization never moves the views on, so it never
        waits for their writers; up to date, it needs neither the events nor their classes."""
        if not ORG_ID_PATTERN.fullmatch(org):
            return None
        day = as_of_date(as_of)
        seen = self._resolve(known_at)
        with self._storage_errors("read"):
            wanted = seen.position if seen.position is not None else self.log.max_position()
            with self.store.reading() as c:
                if self.store.tracked_in(c) < wanted:
                    return None
                records = reg.registry(c, self.store.dialect, day, wanted, filters=reg.Filters(org=org))
        return Record(stamped(records, day, seen)[0], wanted) if records else None

    def certificate(self, number: str, as_of: date | str | None = None, known_at: KnownAtValue = None
                    ) -> dict[str, Any]:
        """SPEC section 9: the certificate's state on ``as_of`` as the ledger knew it at ``known_at``.

        The views find the organization whose period first carried the number (one indexed search);
        the answer is computed from that organization's own events.
        """
        day = as_of_date(as_of)
        key = check_number(number)
        with self._reading(known_at) as (c, dialect, seen, position):
            holder = reg.first_holder(c, dialect, key, position)
        answer = self._certificate_of(holder, number, day, position)
        if answer is None:
            raise UnknownCertificate(f"unknown certificate {number.strip()}")
        return Record({**answer, "as_of": day.isoformat(), "known_at": seen.instant}, position)

    def verify_certificates(self, entries: Sequence[dict[str, Any]], as_of: date | str | None = None,
                            known_at: KnownAtValue = None) -> list[dict[str, Any]]:
        """One certificate answer per entry ``{"certificate": NO, "date": D?}``, in order, all as known at one
        position; ``date`` defaults to ``as_of`` (default today). An unknown number gives
        ``{"certificate": NO, "found": false}``."""
        default_day = as_of_date(as_of)
        checked = []
        for n, entry in enumerate(entries, start=1):
            if not isinstance(entry, dict) or not isinstance(entry.get("certificate"), str):
                raise InvalidInput(f"entry {n}: expected {{\"certificate\": NUMBER, \"date\": DATE (optional)}}")
            unknown = set(entry) - {"certificate", "date"}
            if unknown:
                raise InvalidInput(f"entry {n}: unknown field {sorted(unknown)[0]}")
            try:
                key = check_number(entry["certificate"])
            except InvalidInput as error:
                raise InvalidInput(f"entry {n}: {error}") from None
            try:
                day = parse_date(entry["date"]) if entry.get("date") is not None else default_day
            except ValueError as error:
                raise InvalidInput(f"entry {n}: date: {error}") from None
            checked.append((entry["certificate"], key, day))
        with self._reading(known_at) as (c, dialect, seen, position):
            holders = {key: reg.first_holder(c, dialect, key, position) for key in {key for _, key, _ in checked}}
        items = []
        for number, key, day in checked:
            answer = self._certificate_of(holders[key], number, day, position)
            items.append({**answer, "as_of": day.isoformat(), "known_at": seen.instant} if answer is not None
                         else {"certificate": number.strip(), "found": False})
        return Listing(items, position)

    def _certificate_of(self, org: str | None, number: str, day: date, position: int) -> dict[str, Any] | None:
        from ledger.domain.certificates import certificate_on  # with the events it reads

        if org is None:
            return None
        grouped = self.log.entries([organization_id(org)], position, with_recorded_at=False)
        events = [entry.event for entry in grouped[0]] if grouped else []
        return certificate_on(events, number, day)

    def streaks(self, as_of: date | str | None = None, known_at: KnownAtValue = None) -> list[dict[str, Any]]:
        """Organizations with consecutive_years > 0, longest first (ties: certified_since, then org)."""
        day = as_of_date(as_of)
        with self._reading(known_at) as (c, dialect, seen, position):
            records = reg.streaks(c, dialect, day, position)
        return Listing(stamped(records, day, seen), position)

    def covered(self, as_of: date | str | None = None, known_at: KnownAtValue = None) -> list[str]:
        """Organizations whose certificate covers ``as_of`` (certified or suspended), from the periods table."""
        day = as_of_date(as_of)
        with self._reading(known_at) as (c, dialect, _, position):
            return Listing(reg.covered(c, dialect, day, position), position)

    def report(self, start: date | str, end: date | str, known_at: KnownAtValue = None) -> dict[str, Any]:
        """What happened from ``start`` to ``end`` (both included): SPEC section 8's report."""
        first, last = report_dates(start, end)
        with self._reading(known_at) as (c, dialect, _, position):
            return Record(rep.report(c, dialect, first, last, position), position)

    def year_report(self, year: int, known_at: KnownAtValue = None) -> dict[str, Any]:
        if not 1 <= year <= 9999:
            raise InvalidInput(f"--year: {year} is not a year")
        return self.report(date(year, 1, 1), date(year, 12, 31), known_at)

    def changes(self, since: int = 0, limit: int = 100, known_at: KnownAtValue = None) -> list[dict[str, Any]]:
        """The event feed: positions > ``since``, at most ``limit``, in position order."""
        if since < 0:
            raise InvalidInput(f"--since: {since} is not a ledger position")
        if limit < 0:
            raise InvalidInput(f"--limit: {limit} is negative")
        with self._reading(known_at) as (c, dialect, _, position):
            return Listing(feed.changes(c, dialect, since, limit, position), position)

    # ------------------------------------------------------------------ plumbing

    def _resolve(self, known_at: KnownAtValue) -> KnownAt:
        return self.log.known_at(known_at)

    @contextmanager
    def _reading(self, known_at: KnownAtValue) -> Iterator[tuple[Any, Dialect, KnownAt, int]]:
        """A cursor on views that hold what the ledger knew at ``known_at``, and the ledger position to read
        them at (the rows alive at it are the answer)."""
        seen = self._resolve(known_at)
        wanted = seen.position
        if not self.catch_up_if_writable():
            # A read-only role (or a read-only SQLite file) cannot move the views on: use them only if
            # they exist and a follower keeps them current.
            latest = self.log.max_position()
            wanted = latest if wanted is None else min(wanted, latest)
        live = False
        if self._store is not None:
            with self.store.reading() as c:
                tracked = self.store.tracked_in(c)
                # Views hold every position up to the one they track; a known-at beyond it (a ledger they
                # cannot be moved on for) needs a replay.
                live = wanted is None or wanted <= tracked
                if live:
                    yield c, self.store.dialect, seen, tracked if wanted is None else wanted
        if not live:
            with scratch(replay(self.log, wanted or 0, self.on_replay)) as c:
                yield c, tables.SQLITE, seen, wanted or 0

    @contextmanager
    def _storage_errors(self, doing: str) -> Iterator[None]:
        try:
            yield
        except database_errors() as error:
            raise StorageError(f"cannot {doing} the projections in {describe(self.log.db)}: {error}") from None


def cannot_write(error: StorageError) -> bool:
    """A read-only role, or a read-only SQLite file: the views cannot be moved on, but can be read or replayed."""
    return "permission denied" in str(error) or "readonly" in str(error)


@contextmanager
def scratch(batch: Sequence[Version]) -> Iterator[Any]:
    """An in-memory database holding ``batch`` in the view tables."""
    conn = sqlite3.connect(":memory:")
    conn.row_factory = sqlite3.Row
    try:
        c = conn.cursor()
        for statement in tables.table_statements(tables.SQLITE) + tables.index_statements(tables.SQLITE):
            c.execute(statement)
        tables.insert_versions(c, tables.SQLITE, batch)
        yield c
    finally:
        conn.close()


def stamped(records: list[dict[str, Any]], day: date, seen: KnownAt) -> list[dict[str, Any]]:
    """The records with the moment asked about. They were decoded for this answer alone, so they are stamped
    in place: a copy of each would cost a registry of 20,000 organizations as much again as its decoding."""
    as_of, known_at = day.isoformat(), seen.instant
    for record in records:
        record["as_of"] = as_of
        record["known_at"] = known_at
    return records


def check_filters(statuses: Sequence[str], country: str | None, standard: str | None, *, region: str | None = None,
                  q: str | None = None, expiring_within: int | None = None,
                  as_of: date | None = None) -> reg.Filters:
    """The registry's filters checked (each named as its option) and folded for the query."""
    unknown = [s for s in statuses if s not in STATUSES]
    if unknown:
        raise invalid_value("status", not_one_of(unknown[0], STATUSES))
    if country is not None:
        try:
            country = country_code(country) if isinstance(country, str) else country_code(str(country))
        except ValueError as error:
            raise InvalidInput(f"--country: {error}") from None
    if standard is not None and standard not in STANDARDS:
        raise invalid_value("standard", not_one_of(standard, STANDARDS))
    folded: dict[str, str | None] = {}
    for option, value in (("region", region), ("q", q)):
        if value is None:
            folded[option] = None
            continue
        if not isinstance(value, str):
            raise InvalidInput(f"--{option}: expected text")
        try:
            folded[option] = search_key(check_text(value))
        except ValueError as error:
            raise InvalidInput(f"--{option}: {error}") from None
    expiring_by = None
    if expiring_within is not None:
        if isinstance(expiring_within, bool) or not isinstance(expiring_within, int) or expiring_within < 0:
            raise InvalidInput(f"--expiring-within: {expiring_within!r} is not a number of days (0 or more)")
        start = as_of or date.today()
        expiring_by = start + timedelta(days=expiring_within) if expiring_within <= (date.max - start).days \
            else date.max
    return reg.Filters(tuple(statuses), country, standard, folded["region"], folded["q"], expiring_by)


def check_page(limit: int | None, offset: int) -> None:
    for option, value in (("limit", limit), ("offset", offset)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_PAGE):
            raise InvalidInput(f"--{option}: {value!r} is not a number from 0 to {MAX_PAGE}")


def check_number(number: object) -> str:
    """A certificate number as looked up (trimmed, letter case aside); refused like any free text."""
    if not isinstance(number, str):
        raise InvalidInput("certificate: expected a certificate number")
    try:
        return certificate_key(check_text(number))
    except ValueError as error:
        raise InvalidInput(f"certificate: {error}") from None


def report_dates(start: date | str, end: date | str) -> tuple[date, date]:
    with naming("--from"):
        first = parse_date(start)
    with naming("--to"):
        last = parse_date(end)
    if first > last:
        raise InvalidInput(f"--from {first} is after --to {last}")
    return first, last


def store_for(datastore: Any) -> ViewStore:
    """The view store that writes into the database behind ``datastore`` (tables created if missing)."""
    if isinstance(datastore, SQLiteDatastore):
        store: ViewStore = SQLiteViewStore(datastore)
    else:
        from projections.postgres_store import PostgresViewStore

        store = PostgresViewStore(datastore)
    try:
        store.create_table()  # type: ignore[attr-defined]
    except IntegrityError:
        # Another process created the tables at the same moment (the library then marks its tracking
        # table as migrated, once): they exist now, as they should.
        store.create_table()  # type: ignore[attr-defined]
    return store
