"""PostgreSQL persistence: the library's recorder plus the ledger's chain, keys and certificate claims.

Same tables, same rows and same query semantics as ``SQLiteLedgerRecorder``; a position is the
library's ``notification_id``. The library takes an EXCLUSIVE lock on the events table before
inserting, so reading the chain head after the insert, in the same transaction, is safe, and so
is restarting the position sequence after the last committed position.
"""

from __future__ import annotations

from typing import Any, Sequence
from uuid import UUID

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.utils import retry
from psycopg import Cursor
from psycopg.errors import DuplicateObject
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier

from ledger.errors import StorageError
from ledger.persistence import (
    ChainEntry,
    EventExtras,
    ExtrasForForeignEvents,
    StoredRow,
    ledger_rows,
    stored_event_of,
)
from ledger.postgres_integrity import PostgresIntegrityQueries

LEDGER_TABLES = ("ledger_chain", "ledger_keys", "ledger_certificates")
KEY_CHUNK = 1000
transient_reads = retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)


class PostgresLedgerRecorder(ExtrasForForeignEvents, PostgresIntegrityQueries, PostgresApplicationRecorder):
    """The library's PostgreSQL application recorder plus chain, keys and certificate claims."""

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        self.sql_create_statements += [self._sql(text) for text in (
            "CREATE TABLE IF NOT EXISTS {schema}.ledger_chain ("
            "seq bigint PRIMARY KEY, notification_id bigint NOT NULL UNIQUE, "
            "originator_id uuid NOT NULL, originator_version bigint NOT NULL, "
            "recorded_at text NOT NULL, entry_hash bytea NOT NULL)",
            "CREATE INDEX IF NOT EXISTS ledger_chain_recorded_at ON {schema}.ledger_chain (recorded_at)",
            "CREATE TABLE IF NOT EXISTS {schema}.ledger_keys (key text PRIMARY KEY, notification_id bigint NOT NULL)",
            "CREATE TABLE IF NOT EXISTS {schema}.ledger_certificates ("
            "certificate text PRIMARY KEY, originator_id uuid NOT NULL, originator_version bigint NOT NULL)",
        )]

    def _sql(self, text: str) -> Composed:
        return SQL(text).format(schema=Identifier(self.datastore.schema), table=Identifier(self.events_table_name))

    # ------------------------------------------------------------------ tables

    def create_table(self) -> None:
        """Create the schema and tables once; concurrent first writers take turns.

        A ledger whose tables exist is left alone, so roles without CREATE privilege can use it.
        """
        with self.datastore.get_connection() as conn:
            if self._tables_missing(conn):
                self._create_tables(conn)
        self.datastore.register_type_adapters()

    def _create_tables(self, conn: psycopg.Connection[DictRow]) -> None:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"certledger:{self.datastore.schema}",))
            if not conn.execute("SELECT 1 FROM pg_namespace WHERE nspname=%s", (self.datastore.schema,)).fetchone():
                conn.execute(SQL("CREATE SCHEMA {0}").format(Identifier(self.datastore.schema)))
            for statement in self.sql_create_statements:
                if "CREATE TYPE" in statement.as_string():
                    try:
                        with conn.transaction():  # a savepoint: the type may exist without the tables
                            conn.execute(statement, prepare=False)
                    except DuplicateObject:
                        pass
                else:
                    conn.execute(statement, prepare=False)

    def _tables_missing(self, conn: psycopg.Connection[DictRow]) -> bool:
        names = [self.events_table_name, *LEDGER_TABLES]
        row = conn.execute("SELECT count(to_regclass(format('%%I.%%I', %s::text, n))) AS found "
                           "FROM unnest(%s::text[]) AS n", (self.datastore.schema, names)).fetchone()
        return row is None or row["found"] < len(names)

    # ------------------------------------------------------------------ writing

    def _lock_table(self, curs: Cursor[DictRow]) -> None:
        super()._lock_table(curs)
        # A rolled-back insert has used up sequence values; under the lock nobody else inserts, so
        # restart the sequence after the last committed position: positions stay gapless, as on SQLite.
        curs.execute(self._sql("SELECT setval(pg_get_serial_sequence(%s, 'notification_id'), "
                               "COALESCE(MAX(notification_id), 0) + 1, false) FROM {schema}.{table}"),
                     (self._sql("{schema}.{table}").as_string(curs),), prepare=True)

    def _fetch_ids_after_insert_events(self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent],
                                       **kwargs: Any) -> Sequence[int] | None:
        ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        assert ids is not None
        self._write_ledger_rows(curs, ids, stored_events, kwargs.get("extras") or {})
        # Sync the library's pipeline here, so a taken key or certificate number raises an
        # IntegrityError inside its error handling (and the command is retried), not at commit.
        with curs.connection.pipeline():
            pass
        return ids

    def insert_copied(self, rows: Sequence[StoredRow], extras: dict[tuple[UUID, int], EventExtras]) -> None:
        """Insert rows copied from another ledger at their original positions (``copy``)."""
        stored = [stored_event_of(row) for row in rows]
        with self.datastore.transaction(commit=True) as curs:
            self._lock_table(curs)
            curs.executemany(self._sql("INSERT INTO {schema}.{table} "
                                       "(notification_id, originator_id, originator_version, topic, state) "
                                       "VALUES (%s, %s, %s, %s, %s)"),
                             [(r.position, r.originator_id, r.originator_version, r.topic, r.state) for r in rows])
            self._write_ledger_rows(curs, [r.position for r in rows], stored, extras, copied=True)
            curs.execute("SELECT setval(pg_get_serial_sequence(%s, 'notification_id'), %s)",
                         (self._sql("{schema}.{table}").as_string(curs), max(r.position for r in rows)))
            self._notify_channel(curs)

    def _write_ledger_rows(self, curs: Cursor[DictRow], ids: Sequence[int], stored_events: Sequence[StoredEvent],
                           extras: dict[tuple[UUID, int], EventExtras], *, copied: bool = False) -> None:
        rows = ledger_rows(ids, stored_events, extras, self._chain_head(curs), copied=copied)
        for change in rows.certificates:
            if change.holder is None:
                curs.execute(self._sql("DELETE FROM {schema}.ledger_certificates WHERE certificate=%s"),
                             (change.certificate,))
            else:
                curs.execute(self._sql("INSERT INTO {schema}.ledger_certificates VALUES (%s, %s, %s)"),
                             (change.certificate, *change.holder))
        curs.executemany(self._sql("INSERT INTO {schema}.ledger_chain VALUES (%s, %s, %s, %s, %s, %s)"),
                         [(e.seq, e.notification_id, e.originator_id, e.originator_version, e.recorded_at,
                           e.entry_hash) for e in rows.chain])
        curs.executemany(self._sql("INSERT INTO {schema}.ledger_keys VALUES (%s, %s)"), rows.keys)

    def _chain_head(self, curs: Cursor[DictRow]) -> ChainEntry | None:
        curs.execute(self._sql("SELECT seq, notification_id, originator_id, originator_version, recorded_at, "
                               "entry_hash FROM {schema}.ledger_chain ORDER BY seq DESC LIMIT 1"))
        row = curs.fetchone()
        if row is None:
            return None
        return ChainEntry(row["seq"], row["notification_id"], row["originator_id"], row["originator_version"],
                          row["recorded_at"], bytes(row["entry_hash"]))

    # ------------------------------------------------------------------ queries (as SQLiteLedgerRecorder)

    def _fetch(self, text: str, params: Sequence[Any] = ()) -> list[DictRow]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._sql(text), params)
            return curs.fetchall()

    @transient_reads
    def chain_head(self) -> ChainEntry | None:
        """The last chain entry (None for an empty ledger)."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            return self._chain_head(curs)

    @transient_reads
    def select_org_rows(self, originator_id: UUID, upto_position: int | None = None, *, after_version: int = 0
                        ) -> list[StoredRow]:
        text = ("SELECT notification_id, originator_version, topic, state FROM {schema}.{table} "
                "WHERE originator_id=%s")
        params: list[Any] = [originator_id]
        if after_version:
            text += " AND originator_version>%s"
            params.append(after_version)
        if upto_position is not None:
            text += " AND notification_id<=%s"
            params.append(upto_position)
        rows = self._fetch(text + " ORDER BY originator_version", params)
        return [StoredRow(r["notification_id"], originator_id, r["originator_version"], r["topic"], bytes(r["state"]))
                for r in rows]

    @transient_reads
    def select_orgs_rows(self, originator_ids: Sequence[UUID], upto_position: int | None = None) -> list[StoredRow]:
        """The rows of several organizations at once, each organization's in version order."""
        text = ("SELECT notification_id, originator_id, originator_version, topic, state FROM {schema}.{table} "
                "WHERE originator_id = ANY(%s)")
        params: list[Any] = [list(originator_ids)]
        if upto_position is not None:
            text += " AND notification_id<=%s"
            params.append(upto_position)
        rows = self._fetch(text + " ORDER BY originator_id, originator_version", params)
        return [StoredRow(r["notification_id"], r["originator_id"], r["originator_version"], r["topic"],
                          bytes(r["state"])) for r in rows]

    @transient_reads
    def select_rows(self, after: int, limit: int, upto: int | None = None) -> list[StoredRow]:
        text = ("SELECT notification_id, originator_id, originator_version, topic, state FROM {schema}.{table} "
                "WHERE notification_id>%s")
        params: list[Any] = [after]
        if upto is not None:
            text += " AND notification_id<=%s"
            params.append(upto)
        rows = self._fetch(text + " ORDER BY notification_id LIMIT %s", [*params, limit])
        return [StoredRow(r["notification_id"], r["originator_id"], r["originator_version"], r["topic"],
                          bytes(r["state"])) for r in rows]

    @transient_reads
    def recorded_at(self, positions: Sequence[int]) -> dict[int, str]:
        if not positions:
            return {}
        rows = self._fetch("SELECT notification_id, recorded_at FROM {schema}.ledger_chain "
                           "WHERE notification_id = ANY(%s)", [list(positions)])
        return {r["notification_id"]: r["recorded_at"] for r in rows}

    @transient_reads
    def position_at(self, instant: str) -> int:
        rows = self._fetch("SELECT MAX(notification_id) AS position FROM {schema}.ledger_chain WHERE recorded_at<=%s",
                           [instant])
        return rows[0]["position"] or 0

    def max_position(self) -> int:
        return self.max_notification_id() or 0

    @transient_reads
    def existing_keys(self, keys: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(keys), KEY_CHUNK):
            rows = self._fetch("SELECT key FROM {schema}.ledger_keys WHERE key = ANY(%s)",
                               [list(keys[start:start + KEY_CHUNK])])
            found.update(r["key"] for r in rows)
        return found

    @transient_reads
    def certificate_holder(self, certificate: str) -> tuple[UUID, int] | None:
        rows = self._fetch("SELECT originator_id, originator_version FROM {schema}.ledger_certificates "
                           "WHERE certificate=%s", [certificate])
        return (rows[0]["originator_id"], rows[0]["originator_version"]) if rows else None

    @transient_reads
    def registration_ids(self) -> list[UUID]:
        rows = self._fetch("SELECT originator_id FROM {schema}.{table} WHERE originator_version=1 "
                           "ORDER BY notification_id")
        return [r["originator_id"] for r in rows]


def check_server(env: dict[str, str], described: str, *, must_exist: bool = False) -> None:
    """Fail fast with a clear message when the server cannot be used (the pool would only time out)."""
    try:
        with psycopg.connect(dbname=env["POSTGRES_DBNAME"], host=env["POSTGRES_HOST"],
                             port=int(env["POSTGRES_PORT"]), user=env["POSTGRES_USER"],
                             password=env["POSTGRES_PASSWORD"] or None,
                             connect_timeout=int(env["POSTGRES_CONNECT_TIMEOUT"]), autocommit=True) as conn:
            if must_exist and conn.execute("SELECT to_regclass(format('%%I.ledger_chain', %s::text))",
                                           (env["POSTGRES_SCHEMA"],)).fetchone() == (None,):
                raise StorageError(f"no ledger at {described} (record an event first, or pass --db / set "
                                   "CERTLEDGER_DB)")
    except psycopg.Error as error:
        raise StorageError(f"cannot connect to {described}: {server_message(error, env)}") from None


def server_message(error: BaseException, env: dict[str, str]) -> str:
    """The server's reason on one line, never showing the password."""
    lines = [" ".join(line.split()) for line in str(error).splitlines()]
    text = "; ".join(line for line in lines if line).removeprefix("connection failed: ")
    password = env.get("POSTGRES_PASSWORD")
    return text.replace(password, "***") if password else text
