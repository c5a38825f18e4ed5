"""The ledger's SQL, written once for SQLite and PostgreSQL: ``LedgerQueries`` implements ``LedgerStorage``.

A backend class mixes this into the library's application recorder and supplies four things
(``ledger.storage.sqlite`` and ``ledger.storage.postgres``): a ``dialect``, a read cursor
(``_reading``), a write transaction that holds the write lock from its start (``_writing``),
and the library's own insert of event rows (``_insert_rows``). Beside every batch of event rows
it writes, in the same transaction, their hash-chain entries (``ledger.storage.chain``), import
keys and certificate-number claims.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, Callable, ContextManager, Iterator, Sequence
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from ledger.storage import chain
from ledger.storage.boundary import EventExtras, Extras, StoredRow
from ledger.storage.dialect import Dialect

LEDGER_TABLES = ("ledger_chain", "ledger_keys", "ledger_claims")
CREATE_STATEMENTS = (
    "CREATE TABLE IF NOT EXISTS {ledger_chain} (seq {bigint} PRIMARY KEY, notification_id {bigint} NOT NULL UNIQUE, "
    "originator_id {uuid} NOT NULL, originator_version {bigint} NOT NULL, recorded_at TEXT NOT NULL, "
    "entry_hash {blob} NOT NULL)",
    "CREATE INDEX IF NOT EXISTS ledger_chain_recorded_at ON {ledger_chain} (recorded_at)",
    "CREATE TABLE IF NOT EXISTS {ledger_keys} (key TEXT PRIMARY KEY, notification_id {bigint} NOT NULL)",
    # A certificate number's claim, under its folded form (letter case aside): unique in the ledger.
    "CREATE TABLE IF NOT EXISTS {ledger_claims} (number_key TEXT PRIMARY KEY, originator_id {uuid} NOT NULL, "
    "originator_version {bigint} NOT NULL)",
)
# The first release kept claims under the number as typed, in ledger_certificates.
OLD_CLAIMS_TABLE = "ledger_certificates"
ROW_COLUMNS = "{position}, originator_id, originator_version, topic, state"
KEY_CHUNK = 500


class ExtrasForForeignEvents:
    """Lets a ledger recorder store events saved without ledger extras (the library's recorder tests do).

    The ledger always passes extras. Any other caller's rows still get a chain entry, a unique key
    (derived from the event's id and version) and the instant of saving, so the recorder stays a
    correct library recorder and its chain stays verifiable.
    """

    @staticmethod
    def completed(stored_events: Sequence[StoredEvent], extras: Extras | None) -> Extras:
        complete = dict(extras or {})
        now = chain.format_instant(datetime.now(timezone.utc))
        for stored in stored_events:
            event_id = (Dialect.uuid(stored.originator_id), stored.originator_version)
            if event_id not in complete:
                complete[event_id] = EventExtras(key=f"event:{event_id[0]}:{event_id[1]}", recorded_at=now)
        return complete


class LedgerWrites(ExtrasForForeignEvents):
    """Tables, the write transaction, and the rows written beside each batch of events."""

    dialect: Dialect

    # ------------------------------------------------------------------ what a backend supplies

    def _reading(self) -> ContextManager[Any]:
        raise NotImplementedError

    def _writing(self, on_wait: Callable[[], None] | None) -> ContextManager[Any]:
        raise NotImplementedError

    def _after_insert(self, c: Any, last_position: int) -> None:
        """What the backend must do after rows were inserted at positions the ledger chose."""

    # ------------------------------------------------------------------ tables

    def ledger_create_statements(self) -> list[str]:
        return [self.dialect.sql(statement) for statement in CREATE_STATEMENTS]

    def migrate_claims(self, c: Any) -> None:
        """Move the first release's claims (number as typed) under their folded key, once.

        Two holders of one number in different letter cases (allowed then) keep their events; the
        claim stays with the earlier one, so the number is not free for a third.
        """
        from ledger.domain.values import certificate_key

        d = self.dialect
        c.execute(d.sql("SELECT o.certificate, o.originator_id, o.originator_version FROM {ledger_certificates} AS o "
                        "JOIN {events} AS e ON e.originator_id = o.originator_id "
                        "AND e.originator_version = o.originator_version ORDER BY e.{position}"))
        claims: dict[str, tuple[Any, int]] = {}
        for number, originator_id, version in c.fetchall():
            claims.setdefault(certificate_key(number), (originator_id, version))
        c.executemany(d.sql("INSERT INTO {ledger_claims} VALUES (?, ?, ?)"),
                      [(key, oid, version) for key, (oid, version) in claims.items()])
        c.execute(d.sql("DROP TABLE {ledger_certificates}"))

    # ------------------------------------------------------------------ writing

    @contextmanager
    def write(self, on_wait: Callable[[], None] | None = None) -> Iterator[Transaction]:
        """A write transaction holding the write lock: committed at the end, rolled back on any error."""
        with self._writing(on_wait) as c:
            transaction = Transaction(self, c)
            yield transaction
            transaction.finish()

    def write_ledger_rows(self, c: Any, ids: Sequence[int], stored_events: Sequence[StoredEvent],
                          extras: Extras | None, *, copied: bool = False) -> None:
        """Chain entries, keys and claims for event rows just inserted at ``ids`` (the write lock is held)."""
        extras = self.completed(stored_events, extras)
        d = self.dialect
        rows = []
        for position, stored in zip(ids, stored_events, strict=True):
            originator_id = d.uuid(stored.originator_id)
            extra = extras[(originator_id, stored.originator_version)]
            rows.append((position, originator_id, stored.originator_version, stored.topic, stored.state,
                         extra.recorded_at))
            if extra.certificate_release:
                c.execute(d.sql("DELETE FROM {ledger_claims} WHERE number_key = ?"), (extra.certificate_release,))
            if extra.certificate_claim:
                c.execute(d.sql("INSERT INTO {ledger_claims} VALUES (?, ?, ?)"),
                          (extra.certificate_claim, d.originator(originator_id), stored.originator_version))
        entries = chain.extend(chain_head_in(c, self.dialect), rows, copied=copied)
        c.executemany(d.sql("INSERT INTO {ledger_chain} VALUES (?, ?, ?, ?, ?, ?)"),
                      [(e.seq, e.notification_id, d.originator(e.originator_id), e.originator_version, e.recorded_at,
                        e.entry_hash) for e in entries])
        c.executemany(d.sql("INSERT INTO {ledger_keys} VALUES (?, ?)"),
                      [(extras[(d.uuid(s.originator_id), s.originator_version)].key, position)
                       for position, s in zip(ids, stored_events)])

    def insert_rows(self, c: Any, stored: Sequence[StoredEvent], extras: Extras) -> Sequence[int]:
        """Insert a batch of events at the next positions (the write lock is held), with their ledger rows.

        Positions are chosen here, one after the last, so the whole batch is one statement.
        """
        c.execute(self.dialect.sql("SELECT MAX({position}) FROM {events}"))
        first = (c.fetchone()[0] or 0) + 1
        rows = [StoredRow(first + n, self.dialect.uuid(s.originator_id), s.originator_version, s.topic, s.state)
                for n, s in enumerate(stored)]
        self._insert_at(c, rows, stored, extras, copied=False)
        return [row.position for row in rows]

    def insert_copied(self, rows: Sequence[StoredRow], extras: Extras) -> None:
        """Insert rows copied from another ledger at their original positions (``copy``)."""
        with self._writing(None) as c:
            self._insert_at(c, rows, [r.stored_event() for r in rows], extras, copied=True)

    def _insert_at(self, c: Any, rows: Sequence[StoredRow], stored: Sequence[StoredEvent], extras: Extras, *,
                   copied: bool) -> None:
        d = self.dialect
        c.executemany(d.sql(f"INSERT INTO {{events}} ({ROW_COLUMNS}) VALUES (?, ?, ?, ?, ?)"),
                      [(r.position, d.originator(r.originator_id), r.originator_version, r.topic, r.state)
                       for r in rows])
        self.write_ledger_rows(c, [r.position for r in rows], stored, extras, copied=copied)
        self._after_insert(c, rows[-1].position)



class LedgerReads:
    """Every read of the log, the chain, the keys and the claims, outside write transactions."""

    dialect: Dialect

    def _reading(self) -> ContextManager[Any]:
        raise NotImplementedError

    def _rows(self, statement: str, params: Sequence[Any] = ()) -> list[Sequence[Any]]:
        with self._reading() as c:
            c.execute(self.dialect.sql(statement), list(params))
            return c.fetchall()

    def chain_head(self) -> chain.ChainEntry | None:
        """The last chain entry (None for an empty ledger)."""
        with self._reading() as c:
            return chain_head_in(c, self.dialect)

    def max_position(self) -> int:
        return self._rows("SELECT MAX({position}) FROM {events}")[0][0] or 0

    def select_org_rows(self, originator_id: UUID, upto_position: int | None = None, *, after_version: int = 0
                        ) -> list[StoredRow]:
        statement = f"SELECT {ROW_COLUMNS} FROM {{events}} WHERE originator_id = ?"
        params: list[Any] = [self.dialect.originator(originator_id)]
        if after_version:
            statement += " AND originator_version > ?"
            params.append(after_version)
        if upto_position is not None:
            statement += " AND {position} <= ?"
            params.append(upto_position)
        return [StoredRow(r[0], originator_id, r[2], r[3], bytes(r[4]))
                for r in self._rows(statement + " ORDER BY originator_version", params)]

    def select_orgs_rows(self, originator_ids: Sequence[UUID], upto_position: int | None = None) -> list[StoredRow]:
        """The rows of several organizations at once, each organization's in version order."""
        condition, params = self.dialect.any_of("originator_id", [self.dialect.originator(o) for o in originator_ids])
        statement = f"SELECT {ROW_COLUMNS} FROM {{events}} WHERE {condition}"
        if upto_position is not None:
            statement += " AND {position} <= ?"
            params.append(upto_position)
        return self._stored_rows(self._rows(statement + " ORDER BY originator_id, originator_version", params))

    def select_rows(self, after: int, limit: int, upto: int | None = None) -> list[StoredRow]:
        statement = f"SELECT {ROW_COLUMNS} FROM {{events}} WHERE {{position}} > ?"
        params: list[Any] = [after]
        if upto is not None:
            statement += " AND {position} <= ?"
            params.append(upto)
        return self._stored_rows(self._rows(statement + " ORDER BY {position} LIMIT ?", [*params, limit]))

    @staticmethod
    def _stored_rows(rows: Sequence[Sequence[Any]]) -> list[StoredRow]:
        uuids: dict[Any, UUID] = {}  # one UUID object per organization, not per row
        return [StoredRow(r[0], uuids.get(r[1]) or uuids.setdefault(r[1], Dialect.uuid(r[1])), r[2], r[3],
                          bytes(r[4])) for r in rows]

    def recorded_at(self, positions: Sequence[int]) -> dict[int, str]:
        return recorded_at_of(self._rows, self.dialect, positions)

    def first_entry_hash(self) -> bytes | None:
        found = self._rows("SELECT entry_hash FROM {ledger_chain} WHERE seq = 1")
        return bytes(found[0][0]) if found else None

    def existing_keys(self, keys: Sequence[str]) -> set[str]:
        """Which of these import keys are stored."""
        return set(self.key_positions(keys))

    def key_positions(self, keys: Sequence[str]) -> dict[str, int]:
        """The position each of these import keys is stored at (keys not stored are left out)."""
        found: dict[str, int] = {}
        for start in range(0, len(keys), KEY_CHUNK):
            condition, params = self.dialect.any_of("key", list(keys[start:start + KEY_CHUNK]))
            found.update((r[0], int(r[1])) for r in self._rows(
                f"SELECT key, notification_id FROM {{ledger_keys}} WHERE {condition}", params))
        return found

    def key_count(self) -> int:
        return int(self._rows("SELECT COUNT(*) FROM {ledger_keys}")[0][0])

    def select_claim_rows(self) -> list[tuple[str, UUID, int]]:
        """Every certificate claim: (number key, originator id, originator version)."""
        return [(r[0], Dialect.uuid(r[1]), int(r[2])) for r in self._rows(
            "SELECT number_key, originator_id, originator_version FROM {ledger_claims} ORDER BY number_key")]

    def position_at(self, instant: str) -> int:
        return self._rows("SELECT MAX(notification_id) FROM {ledger_chain} WHERE recorded_at <= ?", [instant])[0][0] or 0

    def select_registration_rows(self, topics: Sequence[str]) -> list[StoredRow]:
        """The first events of the aggregates whose first event has one of ``topics``, by position."""
        condition, params = self.dialect.any_of("topic", list(topics))
        return self._stored_rows(self._rows(
            f"SELECT {ROW_COLUMNS} FROM {{events}} WHERE originator_version = 1 AND {condition} ORDER BY {{position}}",
            params))

    def registration_ids(self, topics: Sequence[str]) -> list[UUID]:
        """The aggregates whose first event has one of ``topics`` (organizations, or accounts), by position."""
        condition, params = self.dialect.any_of("topic", list(topics))
        return [Dialect.uuid(r[0]) for r in self._rows(
            f"SELECT originator_id FROM {{events}} WHERE originator_version = 1 AND {condition} ORDER BY {{position}}",
            params)]

    def certificate_holder(self, number_key: str) -> tuple[UUID, int] | None:
        rows = self._rows("SELECT originator_id, originator_version FROM {ledger_claims} WHERE number_key = ?",
                          [number_key])
        return (Dialect.uuid(rows[0][0]), rows[0][1]) if rows else None

    # Integrity queries: the verifier reads the chain only through these three.

    def select_chain_and_events(self, after_seq: int, limit: int) -> list[Sequence[Any]]:
        """Chain entries with seq > ``after_seq``, in seq order, at most ``limit``, each with its event row.

        Row: (seq, notification_id, originator_id, originator_version, recorded_at, entry_hash, same_event,
        topic, state), the first six from the chain entry; ``same_event`` is 1 when an event row has that
        notification id and the entry's originator id and version, 0 when that row is another event, None
        when there is no such row; topic and state are the event row's (None without one).
        """
        return self._rows(
            "SELECT c.seq, c.notification_id, c.originator_id, c.originator_version, c.recorded_at, c.entry_hash, "
            "CASE WHEN e.{position} IS NULL THEN NULL WHEN e.originator_id = c.originator_id "
            "AND e.originator_version = c.originator_version THEN 1 ELSE 0 END, e.topic, e.state "
            "FROM {ledger_chain} AS c LEFT JOIN {events} AS e ON e.{position} = c.notification_id "
            "WHERE c.seq > ? ORDER BY c.seq LIMIT ?", [after_seq, limit])

    def select_unchained_events(self, limit: int) -> list[Sequence[Any]]:
        """Event rows no chain entry points at, by position: (position, originator_id, originator_version)."""
        return self._rows(
            "SELECT e.{position}, e.originator_id, e.originator_version FROM {events} AS e "
            "WHERE NOT EXISTS (SELECT 1 FROM {ledger_chain} AS c WHERE c.notification_id = e.{position}) "
            "ORDER BY e.{position} LIMIT ?", [limit])

    def chain_seq_before(self, position: int) -> int:
        """The largest seq whose entry points below ``position`` (0 if none): where an unchained row sits."""
        return self._rows("SELECT MAX(seq) FROM {ledger_chain} WHERE notification_id < ?", [position])[0][0] or 0


def chain_head_in(c: Any, d: Dialect) -> chain.ChainEntry | None:
    """The last chain entry as the transaction of cursor ``c`` sees it (None for an empty ledger)."""
    c.execute(d.sql("SELECT seq, notification_id, originator_id, originator_version, recorded_at, entry_hash "
                    "FROM {ledger_chain} ORDER BY seq DESC LIMIT 1"))
    row = c.fetchone()
    return chain.ChainEntry(row[0], row[1], Dialect.uuid(row[2]), row[3], row[4], bytes(row[5])) if row else None


def recorded_at_of(rows: Callable[[str, Sequence[Any]], list[Sequence[Any]]], d: Dialect, positions: Sequence[int]
                   ) -> dict[int, str]:
    """The recorded-at instants of these positions, read with ``rows`` (a statement and its parameters)."""
    found: dict[int, str] = {}
    for start in range(0, len(positions), KEY_CHUNK):
        condition, params = d.any_of("notification_id", list(positions[start:start + KEY_CHUNK]))
        found.update((r[0], r[1]) for r in rows(
            f"SELECT notification_id, recorded_at FROM {{ledger_chain}} WHERE {condition}", params))
    return found


class LedgerQueries(LedgerReads, LedgerWrites):
    """``LedgerStorage``, for any backend that supplies a dialect, a read cursor, a write transaction and the
    library's insert."""


class Transaction:
    """``WriteTransaction`` on an open write cursor."""

    def __init__(self, queries: LedgerQueries, cursor: Any):
        self.queries = queries
        self.c = cursor
        self.d = queries.dialect
        self._spilled = False

    def _one(self, statement: str, params: Sequence[Any] = ()) -> Any:
        self.c.execute(self.d.sql(statement), list(params))
        return self.c.fetchone()

    def max_position(self) -> int:
        return self._one("SELECT MAX({position}) FROM {events}")[0] or 0

    def org_rows(self, originator_id: UUID, after_version: int = 0) -> list[StoredRow]:
        self.c.execute(self.d.sql(f"SELECT {ROW_COLUMNS} FROM {{events}} WHERE originator_id = ? "
                                  "AND originator_version > ? ORDER BY originator_version"),
                       [self.d.originator(originator_id), after_version])
        return [StoredRow(r[0], originator_id, r[2], r[3], bytes(r[4])) for r in self.c.fetchall()]

    def has_key(self, key: str) -> bool:
        return self._one("SELECT 1 FROM {ledger_keys} WHERE key = ?", [key]) is not None

    def certificate_holder(self, number_key: str) -> tuple[UUID, int] | None:
        row = self._one("SELECT originator_id, originator_version FROM {ledger_claims} WHERE number_key = ?",
                        [number_key])
        return (Dialect.uuid(row[0]), row[1]) if row else None

    def insert(self, stored: Sequence[StoredEvent], extras: Extras) -> Sequence[int]:
        return self.queries.insert_rows(self.c, stored, extras)

    def recorded_at(self, positions: Sequence[int]) -> dict[int, str]:
        return recorded_at_of(self._all, self.d, positions)

    def _all(self, statement: str, params: Sequence[Any] = ()) -> list[Sequence[Any]]:
        self.c.execute(self.d.sql(statement), list(params))
        return self.c.fetchall()  # type: ignore[no-any-return]

    @property
    def cursor(self) -> Any:
        return self.c

    # An import into a non-empty ledger counts each organization's earlier lines; organizations that
    # leave its working set keep their counts here, in a temporary table of this transaction.

    def spill_occurrences(self, rows: list[tuple[str, bytes, int]]) -> None:
        if not self._spilled:
            self.c.execute(self.d.sql("CREATE TEMPORARY TABLE IF NOT EXISTS import_occurrences (org TEXT, "
                                      "digest {blob}, count INTEGER, PRIMARY KEY (org, digest))"))
            self.c.execute("DELETE FROM import_occurrences")
            self._spilled = True
        self.c.executemany(self.d.sql("DELETE FROM import_occurrences WHERE org = ? AND digest = ?"),
                           [(org, digest) for org, digest, _ in rows])
        self.c.executemany(self.d.sql("INSERT INTO import_occurrences VALUES (?, ?, ?)"), rows)

    def recall_occurrences(self, org: str) -> dict[bytes, int]:
        if not self._spilled:
            return {}
        self.c.execute(self.d.sql("SELECT digest, count FROM import_occurrences WHERE org = ?"), [org])
        return {bytes(r[0]): r[1] for r in self.c.fetchall()}

    def finish(self) -> None:
        if self._spilled:
            self.c.execute("DROP TABLE import_occurrences")
