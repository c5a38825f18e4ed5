"""The database side of an import: one write transaction, and the few queries run inside it.

Each backend gives the importer an ``ImportStore`` whose reads see the transaction's own
uncommitted rows, and writes each batch through the ledger's recorder (events, hash
chain, keys and certificate claims together).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterator, Protocol, Sequence
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from ledger.errors import StorageError
from ledger.persistence import EventExtras, SQLiteLedgerRecorder
from ledger.storage import describe

if TYPE_CHECKING:
    from ledger.application import CertificationLedger


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
