"""SQLite: what differs from PostgreSQL, and the only place that calls the library's private SQLite methods.

Positions are the events table's rowids. A write transaction starts with BEGIN IMMEDIATE, so it
holds SQLite's single write lock from the first read the pipeline makes to its commit.
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from typing import Any, Callable, ContextManager, Iterator, Sequence

from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore

from ledger.storage.dialect import sqlite as sqlite_dialect
from ledger.storage.queries import LEDGER_TABLES, OLD_CLAIMS_TABLE, LedgerQueries

# How long a writer waits quietly for another writer before saying so.
QUIET_WAIT_MS = 1000


class SQLiteLedgerRecorder(LedgerQueries, SQLiteApplicationRecorder):
    """The library's SQLite application recorder plus the ledger's chain, keys and claims."""

    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events"):
        self.dialect = sqlite_dialect(events_table_name)  # the library's constructor asks for the CREATE statements
        super().__init__(datastore, events_table_name)

    def construct_create_table_statements(self) -> list[str]:
        return super().construct_create_table_statements() + self.ledger_create_statements()

    def has_tables(self) -> bool:
        return True  # an SQLite ledger is created whole (``ledger.application.creation``)

    def create_table(self) -> None:
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            names = {row[0] for row in c.fetchall()}
        if {self.events_table_name, *LEDGER_TABLES} <= names:
            return  # nothing to create: a read-only file is used as it is
        with self.datastore.transaction(commit=True) as c:
            self._create_table(c)
            if OLD_CLAIMS_TABLE in names:
                self.migrate_claims(c)

    def _insert_events(self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
                       ) -> Sequence[int] | None:
        # Every insert, the ledger's own or the library's (its recorder tests), writes the ledger's rows too.
        ids = super()._insert_events(c, stored_events, **kwargs)
        assert ids is not None
        self.write_ledger_rows(c, ids, stored_events, kwargs.get("extras"))
        return ids

    @contextmanager
    def _reading(self) -> Iterator[Any]:
        with self.datastore.transaction(commit=False) as c:
            c.sqlite_cursor.row_factory = None  # plain tuples
            yield c

    def _writing(self, on_wait: Callable[[], None] | None) -> ContextManager[Any]:
        return immediate_transaction(self.datastore, on_wait, tuples=True)


@contextmanager
def immediate_transaction(datastore: SQLiteDatastore, on_wait: Callable[[], None] | None = None, *,
                          tuples: bool = False) -> Iterator[Any]:
    """A write transaction that holds SQLite's one write lock from its start (the ledger's and the views')."""
    with datastore.get_connection(commit=True) as connection:
        cursor = connection.cursor()
        if tuples:
            cursor.sqlite_cursor.row_factory = None
        begin_immediately(cursor, on_wait, datastore.pool.lock_timeout)
        try:
            yield cursor
            connection.commit()
        except BaseException:
            connection.rollback()
            raise


def begin_immediately(cursor: Any, on_wait: Callable[[], None] | None, lock_timeout: int | None) -> None:
    """BEGIN IMMEDIATE: take the write lock now; after a quiet second, say that another writer holds it."""
    if on_wait is None:
        cursor.execute("BEGIN IMMEDIATE")
        return
    cursor.execute(f"PRAGMA busy_timeout = {QUIET_WAIT_MS}")
    try:
        cursor.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as error:
        if "locked" not in str(error) and "busy" not in str(error):
            raise
        on_wait()
        cursor.execute(f"PRAGMA busy_timeout = {int((lock_timeout or 5) * 1000)}")
        cursor.execute("BEGIN IMMEDIATE")
    finally:
        cursor.execute(f"PRAGMA busy_timeout = {int((lock_timeout or 5) * 1000)}")
