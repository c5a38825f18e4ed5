"""PostgreSQL: what differs from SQLite, and the only place that calls the library's private PostgreSQL methods.

A position is the library's ``notification_id``. A write transaction starts by taking the
library's EXCLUSIVE lock on the events table, so writers take turns from the pipeline's first
read to its commit; readers are never blocked. Under that lock the position sequence is restarted
after the last committed position, so positions stay gapless, as on SQLite.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator, Sequence

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.utils import retry
from psycopg import Cursor
from psycopg.errors import DuplicateObject, LockNotAvailable
from psycopg.rows import DictRow, tuple_row
from psycopg.sql import SQL, Identifier
from psycopg.types.composite import CompositeInfo, register_composite

from ledger.storage.dialect import postgres as postgres_dialect
from ledger.storage.queries import LEDGER_TABLES, OLD_CLAIMS_TABLE, LedgerQueries
from ledger.errors import StorageError

QUIET_WAIT = "1s"  # how long a writer waits quietly for another writer before saying so
transient_reads = retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)


class PostgresLedgerRecorder(LedgerQueries, PostgresApplicationRecorder):
    """The library's PostgreSQL application recorder plus the ledger's chain, keys and claims."""

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        self.dialect = postgres_dialect(datastore.schema, events_table_name)
        super().__init__(datastore, events_table_name=events_table_name)
        self.sql_create_statements += [SQL(statement) for statement in self.ledger_create_statements()]  # type: ignore[arg-type]
        self._tables_ready = False  # known to exist: created or found by create_table, or by a committed write

    # ------------------------------------------------------------------ tables

    def create_table(self) -> None:
        """Create the schema and tables once; concurrent first writers take turns.

        A ledger whose tables exist is left alone, so roles without CREATE privilege can use it.
        """
        with self.datastore.get_connection() as conn:
            existing = self._existing_tables(conn)
            if not {self.events_table_name, *LEDGER_TABLES} <= existing:
                self._create_tables(conn, migrate=OLD_CLAIMS_TABLE in existing)
        self.datastore.register_type_adapters()
        self._tables_ready = True

    def has_tables(self) -> bool:
        if not self._tables_ready:
            with self.datastore.get_connection() as conn:
                self._tables_ready = {self.events_table_name, *LEDGER_TABLES} <= self._existing_tables(conn)
        return self._tables_ready

    def _create_tables_in_transaction(self, conn: psycopg.Connection[DictRow]) -> dict[str, CompositeInfo]:
        """Inside a write transaction: create what is missing, so that a rollback takes it away again.

        Used when the ledger was opened without creating its tables (a first write that may be
        refused). The composite types made here are adapted on this connection only until the
        transaction commits; returns them, for the pool's other connections after the commit.
        """
        existing = self._existing_tables(conn)
        if {self.events_table_name, *LEDGER_TABLES} <= existing:
            return {}
        self._create_tables(conn, migrate=OLD_CLAIMS_TABLE in existing)  # waits for a concurrent creator
        made = {}
        for name in self.datastore.db_type_names:
            if name not in self.datastore.psycopg_type_adapters:
                info = CompositeInfo.fetch(conn, f"{self.datastore.schema}.{name}")
                if info is not None:
                    register_composite(info, conn)
                    self.datastore.psycopg_python_types[name] = info.python_type
                    made[name] = info
        return made

    def _existing_tables(self, conn: psycopg.Connection[DictRow]) -> set[str]:
        names = [self.events_table_name, *LEDGER_TABLES, OLD_CLAIMS_TABLE]
        rows = conn.execute("SELECT n FROM unnest(%s::text[]) AS n WHERE to_regclass(format('%%I.%%I', %s::text, n)) "
                            "IS NOT NULL", (names, self.datastore.schema)).fetchall()
        return {row["n"] for row in rows}

    def _create_tables(self, conn: psycopg.Connection[DictRow], *, migrate: bool) -> None:
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
            if migrate and OLD_CLAIMS_TABLE in self._existing_tables(conn):
                self.migrate_claims(conn.cursor(row_factory=tuple_row))

    # ------------------------------------------------------------------ writing

    @contextmanager
    def _writing(self, on_wait: Callable[[], None] | None) -> Iterator[Any]:
        made: dict[str, CompositeInfo] = {}
        try:
            with self._write_transaction(on_wait, made) as cursor:
                yield cursor
        except BaseException:
            for name in made:  # rolled back with the transaction that made them
                self.datastore.psycopg_python_types.pop(name, None)
            raise
        self.datastore.psycopg_type_adapters.update(made)
        self._tables_ready = True

    @contextmanager
    def _write_transaction(self, on_wait: Callable[[], None] | None, made: dict[str, CompositeInfo]
                           ) -> Iterator[Any]:
        with self.datastore.get_connection() as conn, conn.transaction():
            if not self._tables_ready:
                made.update(self._create_tables_in_transaction(conn))
            cursor = conn.cursor(row_factory=tuple_row)
            if on_wait is not None:
                try:
                    with conn.transaction():  # a savepoint: a lock that times out aborts only this
                        cursor.execute(f"SET LOCAL lock_timeout = '{QUIET_WAIT}'")
                        cursor.execute(SQL("LOCK TABLE {0}.{1} IN EXCLUSIVE MODE").format(
                            Identifier(self.datastore.schema), Identifier(self.events_table_name)))
                except LockNotAvailable:
                    on_wait()
            self._lock_table(conn.cursor())
            yield cursor

    def _lock_table(self, curs: Cursor[DictRow]) -> None:
        super()._lock_table(curs)
        # A rolled-back insert has used up sequence values; under the lock nobody else inserts, so
        # restart the sequence after the last committed position: positions stay gapless.
        table = SQL("{0}.{1}").format(Identifier(self.datastore.schema), Identifier(self.events_table_name))
        curs.execute(SQL("SELECT setval(pg_get_serial_sequence(%s, 'notification_id'), "
                         "COALESCE(MAX(notification_id), 0) + 1, false) FROM {0}").format(table),
                     (table.as_string(curs),), prepare=True)

    def _fetch_ids_after_insert_events(self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent],
                                       **kwargs: Any) -> Sequence[int] | None:
        # Every insert, the ledger's own or the library's (its recorder tests), writes the ledger's rows too.
        ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        assert ids is not None
        self.write_ledger_rows(curs.connection.cursor(row_factory=tuple_row), ids, stored_events,
                               kwargs.get("extras"))
        # Sync the library's pipeline (when it uses one) here, so that a taken key or certificate
        # number raises inside its error handling, not at commit.
        with curs.connection.pipeline():
            pass
        return ids

    def _after_insert(self, c: Any, last_position: int) -> None:
        # The ledger chose the positions: the library's own inserts must continue after them, and
        # followers listening for new events must hear of them.
        table = SQL("{0}.{1}").format(Identifier(self.datastore.schema), Identifier(self.events_table_name))
        c.execute("SELECT setval(pg_get_serial_sequence(%s, 'notification_id'), %s)",
                  (table.as_string(c), last_position))
        self._notify_channel(c)

    # ------------------------------------------------------------------ reading

    @contextmanager
    def _reading(self) -> Iterator[Any]:
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as c:
            yield c

    @transient_reads
    def _rows(self, statement: str, params: Sequence[Any] = ()) -> list[Sequence[Any]]:
        return super()._rows(statement, params)


def check_server(env: dict[str, str], described: str, *, must_exist: bool = False) -> None:
    """Fail fast with a clear message when the server cannot be used (the pool would only time out)."""
    try:
        with psycopg.connect(dbname=env["POSTGRES_DBNAME"], host=env["POSTGRES_HOST"],
                             port=int(env["POSTGRES_PORT"]), user=env["POSTGRES_USER"],
                             password=env["POSTGRES_PASSWORD"] or None,
                             connect_timeout=int(env["POSTGRES_CONNECT_TIMEOUT"]), autocommit=True) as conn:
            schema = env["POSTGRES_SCHEMA"]
            ledger = conn.execute("SELECT to_regclass(format('%%I.ledger_chain', %s::text)) IS NOT NULL",
                                  (schema,)).fetchone()[0]
            # The schema's tables are listed only where no ledger is (a first write, or a question to the wrong
            # schema): that scan of the catalog costs milliseconds, the lookup above a fraction of one.
            others = [] if ledger else conn.execute(
                "SELECT COALESCE(array_agg(table_name::text ORDER BY table_name), '{}') FROM information_schema.tables "
                "WHERE table_schema = %s", (schema,)).fetchone()[0]
            if not ledger and others:
                # As an SQLite file of another program: the ledger's tables are not made beside someone else's.
                shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
                raise StorageError(f"schema {schema} at {described} holds tables of another program ({shown}), not a "
                                   "certledger ledger: name a schema of the ledger's own with ?schema=NAME")
            if must_exist and not ledger:
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
