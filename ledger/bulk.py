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

import csv
import gc
import hashlib
import json
import os
import sqlite3
import sys
import time
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any, Callable, Iterable, Iterator, Protocol, Sequence, Union
from uuid import UUID

from eventsourcing.persistence import PersistenceError, StoredEvent
from pydantic import Field, TypeAdapter, ValidationError, create_model

from ledger import commands as cmd
from ledger.errors import (
    AlreadyRegistered,
    DuplicateCertificate,
    InvalidInput,
    LedgerError,
    RuleViolation,
    StorageError,
    UnknownOrganization,
)
from ledger.events import CertificationGranted, EntryRetracted, OrganizationEvent, Recertified
from ledger.organization import Organization, organization_id
from ledger.persistence import EventExtras, SQLiteLedgerRecorder, format_instant
from ledger.storage import describe

if TYPE_CHECKING:
    from ledger.application import CertificationLedger

FORMATS = ("jsonl", "csv")
BATCH_SIZE = 1000
MAX_CACHED_EVENTS = 20_000
MAX_LINE_BYTES = 1 << 20
FINDING_SEPARATOR = "|"

METADATA_KEYS = cmd.READ_ONLY_KEYS


def _line_model(command: type[cmd.Command]) -> type[cmd.Command]:
    """The command as an import line: the read-only keys an export writes are accepted and ignored."""
    return create_model(f"{command.__name__}Line", __base__=command,
                        **{key: (Any, Field(default=None, exclude=True)) for key in METADATA_KEYS})


_COMMAND_FROM_JSON: TypeAdapter[cmd.Command] = TypeAdapter(
    Annotated[Union[tuple(_line_model(command) for command in cmd.COMMANDS.values())],  # type: ignore[misc]
              Field(discriminator="command")])


def _import_columns() -> list[str]:
    columns: list[str] = []
    for model in cmd.COMMANDS.values():
        for name in model.model_fields:
            if name not in columns:
                columns.append(name)
    return columns


IMPORT_COLUMNS: tuple[str, ...] = tuple(_import_columns())
EXPORT_COLUMNS: tuple[str, ...] = IMPORT_COLUMNS + METADATA_KEYS


def format_of(path: str, explicit: str | None = None) -> str:
    """The file format: as given, else by the file's extension (``.csv``), else JSON Lines."""
    if explicit:
        return explicit
    return "csv" if path != "-" and path.lower().endswith(".csv") else "jsonl"


# ---------------------------------------------------------------- reading lines


class LineReader:
    """Physical lines of a byte stream, decoded as UTF-8, counting bytes for the progress bar."""

    def __init__(self, stream: IO[bytes]):
        self.stream = stream
        self.bytes_read = 0
        self.number = 0

    def __iter__(self) -> Iterator[str]:
        readline = self.stream.readline
        while True:
            raw = readline(MAX_LINE_BYTES + 1)
            if not raw:
                return
            self.number += 1
            self.bytes_read += len(raw)
            if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                raise InvalidInput(f"line {self.number}: longer than {MAX_LINE_BYTES} bytes")
            if self.number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise InvalidInput(f"line {self.number}: not valid UTF-8 (byte {error.start + 1})") from None


def decode_json(text: str, number: int) -> Any:
    try:
        return json.loads(text)
    except RecursionError:
        raise InvalidInput(f"line {number}: not valid JSON: nested too deeply") from None
    except ValueError as error:
        raise InvalidInput(f"line {number}: not valid JSON: {error}") from None


def jsonl_commands(reader: LineReader) -> Iterator[tuple[int, Any]]:
    """(line number, command) for every non-blank line: a validated Command, or the decoded value.

    A well-formed line (with or without an export's read-only keys) is validated straight
    from its JSON text, in one pass of pydantic's parser. Any other line is decoded with
    ``json.loads`` and left to ``parse_command``, which words the errors.
    """
    for text in reader:
        if not text.strip():
            continue
        try:
            yield reader.number, _COMMAND_FROM_JSON.validate_json(text)
        except ValidationError:
            yield reader.number, decode_json(text, reader.number)


def csv_lines(reader: LineReader) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, fields) for every data row; empty cells are absent, ``finding`` splits on ``|``."""
    rows = csv.reader(reader, strict=True)
    header: list[str] | None = None
    ended = 0
    try:
        for row in rows:
            number, ended = ended + 1, rows.line_num
            if not any(cell.strip() for cell in row):
                continue
            if header is None:
                header = [name.strip() for name in row]
                duplicates = sorted({name for name in header if header.count(name) > 1})
                if duplicates:
                    raise InvalidInput(f"line {number}: duplicate column {', '.join(duplicates)}")
                continue
            if len(row) > len(header):
                raise InvalidInput(f"line {number}: {len(row)} cells, but the header names {len(header)} columns")
            yield number, {name: _csv_value(name, cell) for name, cell in zip(header, row) if cell != ""}
    except csv.Error as error:
        raise InvalidInput(f"line {rows.line_num}: not valid CSV: {error}") from None


def _csv_value(name: str, cell: str) -> Any:
    if name == "finding":
        return cell.split(FINDING_SEPARATOR)
    return cell


def read_lines(stream: IO[bytes], fmt: str) -> tuple[LineReader, Iterator[tuple[int, Any]]]:
    reader = LineReader(stream)
    lines = csv_lines(reader) if fmt == "csv" else jsonl_commands(reader)
    return reader, lines


# ---------------------------------------------------------------- the database, inside one transaction


class ImportStore(Protocol):
    """What the importer asks of the database, all inside its one write transaction."""

    def max_position(self) -> int: ...

    def org_rows(self, originator_id: UUID) -> list[StoredEvent]: ...

    def has_key(self, key: str) -> bool: ...

    def certificate_holder(self, certificate: str) -> tuple[UUID, int] | None: ...

    def insert(self, stored: Sequence[StoredEvent], extras: dict[tuple[UUID, int], EventExtras]) -> Sequence[int]: ...

    def spill_occurrences(self, rows: list[tuple[str, bytes, int]]) -> None: ...

    def recall_occurrences(self, org: str) -> dict[bytes, int]: ...


class SQLiteImportStore:
    """The importer's view of a SQLite ledger, through the cursor of the open write transaction."""

    def __init__(self, recorder: SQLiteLedgerRecorder, cursor: Any):
        self.recorder = recorder
        self.cursor = cursor
        self.table = recorder.events_table_name
        self._spilled = False

    def max_position(self) -> int:
        self.cursor.execute(f"SELECT MAX(rowid) FROM {self.table}")
        return self.cursor.fetchone()[0] or 0

    def org_rows(self, originator_id: UUID) -> list[StoredEvent]:
        self.cursor.execute(f"SELECT originator_version, topic, state FROM {self.table} WHERE originator_id=? "
                            "ORDER BY originator_version", (originator_id.hex,))
        return [StoredEvent(originator_id=originator_id, originator_version=r[0], topic=r[1], state=r[2])
                for r in self.cursor.fetchall()]

    def has_key(self, key: str) -> bool:
        self.cursor.execute("SELECT 1 FROM ledger_keys WHERE key=?", (key,))
        return self.cursor.fetchone() is not None

    def certificate_holder(self, certificate: str) -> tuple[UUID, int] | None:
        self.cursor.execute("SELECT originator_id, originator_version FROM ledger_certificates WHERE certificate=?",
                            (certificate,))
        row = self.cursor.fetchone()
        return (UUID(row[0]), row[1]) if row else None

    def insert(self, stored: Sequence[StoredEvent], extras: dict[tuple[UUID, int], EventExtras]) -> Sequence[int]:
        ids = self.recorder._insert_events(self.cursor, stored, extras=extras)
        assert ids is not None
        return ids

    def spill_occurrences(self, rows: list[tuple[str, bytes, int]]) -> None:
        if not self._spilled:
            self.cursor.execute("CREATE TEMP TABLE IF NOT EXISTS import_occurrences (org TEXT, digest BLOB, "
                                "count INTEGER, PRIMARY KEY (org, digest)) WITHOUT ROWID")
            self.cursor.execute("DELETE FROM temp.import_occurrences")
            self._spilled = True
        self.cursor.executemany("INSERT OR REPLACE INTO temp.import_occurrences VALUES (?,?,?)", rows)

    def recall_occurrences(self, org: str) -> dict[bytes, int]:
        if not self._spilled:
            return {}
        self.cursor.execute("SELECT digest, count FROM temp.import_occurrences WHERE org=?", (org,))
        return {r[0]: r[1] for r in self.cursor.fetchall()}

    def finish(self) -> None:
        if self._spilled:
            self.cursor.execute("DROP TABLE temp.import_occurrences")


@contextmanager
def sqlite_import_transaction(recorder: SQLiteLedgerRecorder) -> Iterator[SQLiteImportStore]:
    """One write transaction, taken at once (BEGIN IMMEDIATE): committed at the end, or rolled back whole."""
    with recorder.datastore.get_connection(commit=True) as connection:
        cursor = connection.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        try:
            store = SQLiteImportStore(recorder, cursor)
            yield store
            store.finish()
            connection.commit()
        except BaseException:
            connection.rollback()
            raise


class PostgresImportStore:
    """The importer's view of a PostgreSQL ledger, through the cursor of the open transaction.

    Batches are written as the ledger's recorder writes them (the events table is locked
    from the first batch until the end of the transaction).
    """

    def __init__(self, recorder: Any, cursor: Any):
        from psycopg.sql import SQL, Identifier

        self.recorder = recorder
        self.cursor = cursor
        schema, table = Identifier(recorder.datastore.schema), Identifier(recorder.events_table_name)
        self._max = SQL("SELECT MAX(notification_id) AS position FROM {0}.{1}").format(schema, table)
        self._rows = SQL("SELECT originator_version, topic, state FROM {0}.{1} WHERE originator_id=%s "
                         "ORDER BY originator_version").format(schema, table)
        self._key = SQL("SELECT 1 AS found FROM {0}.ledger_keys WHERE key=%s").format(schema)
        self._holder = SQL("SELECT originator_id, originator_version FROM {0}.ledger_certificates "
                           "WHERE certificate=%s").format(schema)
        self._spilled = False

    def max_position(self) -> int:
        self.cursor.execute(self._max)
        return self.cursor.fetchone()["position"] or 0

    def org_rows(self, originator_id: UUID) -> list[StoredEvent]:
        self.cursor.execute(self._rows, (originator_id,), prepare=True)
        return [StoredEvent(originator_id=originator_id, originator_version=r["originator_version"],
                            topic=r["topic"], state=bytes(r["state"])) for r in self.cursor.fetchall()]

    def has_key(self, key: str) -> bool:
        self.cursor.execute(self._key, (key,), prepare=True)
        return self.cursor.fetchone() is not None

    def certificate_holder(self, certificate: str) -> tuple[UUID, int] | None:
        self.cursor.execute(self._holder, (certificate,), prepare=True)
        row = self.cursor.fetchone()
        return (row["originator_id"], row["originator_version"]) if row else None

    def insert(self, stored: Sequence[StoredEvent], extras: dict[tuple[UUID, int], EventExtras]) -> Sequence[int]:
        self.recorder._insert_stored_events(self.cursor, stored, extras=extras)
        ids = self.recorder._fetch_ids_after_insert_events(self.cursor, stored, extras=extras)
        assert ids is not None
        return ids

    def spill_occurrences(self, rows: list[tuple[str, bytes, int]]) -> None:
        if not self._spilled:
            self.cursor.execute("CREATE TEMP TABLE IF NOT EXISTS import_occurrences (org text, digest bytea, "
                                "count integer, PRIMARY KEY (org, digest)) ON COMMIT DROP")
            self._spilled = True
        self.cursor.executemany("INSERT INTO import_occurrences VALUES (%s, %s, %s) ON CONFLICT (org, digest) "
                                "DO UPDATE SET count = EXCLUDED.count", rows)

    def recall_occurrences(self, org: str) -> dict[bytes, int]:
        if not self._spilled:
            return {}
        self.cursor.execute("SELECT digest, count FROM import_occurrences WHERE org=%s", (org,))
        return {bytes(r["digest"]): r["count"] for r in self.cursor.fetchall()}


@contextmanager
def postgres_import_transaction(recorder: Any) -> Iterator[PostgresImportStore]:
    """One transaction: committed at the end, or rolled back whole (``ON COMMIT DROP`` cleans up)."""
    with recorder.datastore.transaction(commit=True) as cursor:
        yield PostgresImportStore(recorder, cursor)


def import_transaction(ledger: CertificationLedger) -> Any:
    """The backend-specific part of an import: one write transaction and the queries run inside it."""
    recorder = ledger.recorder
    if isinstance(recorder, SQLiteLedgerRecorder):
        return sqlite_import_transaction(recorder)
    if hasattr(recorder, "_fetch_ids_after_insert_events"):
        return postgres_import_transaction(recorder)
    raise StorageError(f"bulk import is not available for {describe(ledger.db)}")


# ---------------------------------------------------------------- importing


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
        after_import(self.ledger, summary)
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
            raise StorageError(f"cannot import into {describe(self.ledger.db)}: {error}") from None
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


def after_import(ledger: CertificationLedger, summary: ImportSummary) -> None:
    """Post-import hook, run once the import's transaction has committed (not after a rejected file).

    The projections catch up with the newly recorded events here (wired by the read side).
    """


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


# ---------------------------------------------------------------- exporting


def export_lines(ledger: CertificationLedger, *, batch_size: int = BATCH_SIZE) -> Iterator[dict[str, Any]]:
    """Every event in position order, in the import format plus its read-only metadata.

    Streams in batches; the positions are fixed when the export starts, so events recorded
    meanwhile are left out.
    """
    recorder = ledger.recorder
    upto = recorder.max_position()
    slugs: OrderedDict[UUID, str] = OrderedDict()
    after = 0
    while after < upto:
        rows = recorder.select_rows(after, batch_size, upto)
        if not rows:
            break
        stamps = recorder.recorded_at([row.position for row in rows])
        for row in rows:
            event = ledger.mapper.to_domain_event(
                StoredEvent(originator_id=row.originator_id, originator_version=row.originator_version,
                            topic=row.topic, state=row.state))
            yield export_line(_slug_of(ledger, slugs, event), event, row.position, stamps.get(row.position))
        after = rows[-1].position


def export_line(org: str, event: OrganizationEvent, position: int, recorded_at: str | None) -> dict[str, Any]:
    fields = event.command_fields()
    line: dict[str, Any] = {"command": fields.pop("command"), "org": org}
    fields.pop("org", None)
    line.update(fields)
    line.update(position=position, version=event.originator_version, recorded_at=recorded_at,
                recorded_by=event.recorded_by)
    return line


def _slug_of(ledger: CertificationLedger, slugs: OrderedDict[UUID, str], event: OrganizationEvent) -> str:
    originator_id = event.originator_id
    slug = slugs.get(originator_id)
    if slug is None:
        registration = event if event.originator_version == 1 else ledger.mapper.to_domain_event(
            ledger.recorder.select_events(originator_id, lte=1)[0])
        slug = registration.org
        slugs[originator_id] = slug
        if len(slugs) > 100_000:
            slugs.popitem(last=False)
    return slug


def write_jsonl(lines: Iterable[dict[str, Any]], out: IO[str]) -> int:
    count = 0
    for line in lines:
        out.write(json.dumps(line, ensure_ascii=False))
        out.write("\n")
        count += 1
    return count


def write_csv(lines: Iterable[dict[str, Any]], out: IO[str]) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    count = 0
    for line in lines:
        writer.writerow([_csv_cell(line, name) for name in EXPORT_COLUMNS])
        count += 1
    return count


def _csv_cell(line: dict[str, Any], name: str) -> Any:
    value = line.get(name)
    if value is None:
        return ""
    if name == "finding":
        if any(FINDING_SEPARATOR in finding for finding in value):
            raise InvalidInput(f"position {line.get('position')}: a finding contains '{FINDING_SEPARATOR}', "
                               "which a CSV cell cannot carry; export as JSON Lines instead")
        return FINDING_SEPARATOR.join(value)
    return value


def export_file(ledger: CertificationLedger, path: str, *, fmt: str | None = None) -> int:
    """Write the export to ``path`` (``-``: standard output); a file appears only when complete."""
    fmt = format_of(path, fmt)
    write = write_csv if fmt == "csv" else write_jsonl
    if path == "-":
        return write(export_lines(ledger), sys.stdout)
    target = Path(path)
    partial = target.with_name(f".{target.name}.partial")
    try:
        with open(partial, "w", encoding="utf-8", newline="") as out:
            count = write(export_lines(ledger), out)
        os.replace(partial, target)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise InvalidInput(f"cannot write {path}: {error.strerror}") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return count
