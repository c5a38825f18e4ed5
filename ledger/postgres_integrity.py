"""The integrity queries of ``SQLiteLedgerRecorder``, in PostgreSQL: same arguments, same rows.

A mixin for the PostgreSQL ledger recorder (``class PostgresLedgerRecorder(ExtrasForForeignEvents,
PostgresIntegrityQueries, PostgresApplicationRecorder)``): it needs only the library's
``datastore`` (with its ``schema``) and ``events_table_name``. A position is ``notification_id``.
"""

from __future__ import annotations

from typing import Any, Sequence

from psycopg.rows import tuple_row
from psycopg.sql import SQL, Composed, Identifier


class PostgresIntegrityQueries:
    datastore: Any
    events_table_name: str

    def select_chain_and_events(self, after_seq: int, limit: int) -> list[Sequence[Any]]:
        """As ``SQLiteLedgerRecorder.select_chain_and_events`` (originator ids as text: cheaper than UUIDs)."""
        return self._integrity_rows(
            "SELECT c.seq, c.notification_id, c.originator_id::text, c.originator_version, c.recorded_at, c.entry_hash, "
            "CASE WHEN e.notification_id IS NULL THEN NULL WHEN e.originator_id = c.originator_id "
            "AND e.originator_version = c.originator_version THEN 1 ELSE 0 END, e.topic, e.state "
            "FROM {schema}.ledger_chain c LEFT JOIN {schema}.{table} e ON e.notification_id = c.notification_id "
            "WHERE c.seq > %s ORDER BY c.seq LIMIT %s", (after_seq, limit))

    def select_unchained_events(self, limit: int) -> list[Sequence[Any]]:
        """As ``SQLiteLedgerRecorder.select_unchained_events``."""
        return self._integrity_rows(
            "SELECT e.notification_id, e.originator_id, e.originator_version FROM {schema}.{table} e "
            "WHERE NOT EXISTS (SELECT 1 FROM {schema}.ledger_chain c WHERE c.notification_id = e.notification_id) "
            "ORDER BY e.notification_id LIMIT %s", (limit,))

    def chain_seq_before(self, position: int) -> int:
        """As ``SQLiteLedgerRecorder.chain_seq_before``."""
        rows = self._integrity_rows("SELECT MAX(seq) FROM {schema}.ledger_chain WHERE notification_id < %s",
                                    (position,))
        return rows[0][0] or 0

    def _integrity_rows(self, text: str, params: Sequence[Any]) -> list[Sequence[Any]]:
        statement: Composed = SQL(text).format(schema=Identifier(self.datastore.schema),
                                               table=Identifier(self.events_table_name))
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            curs.execute(statement, params, prepare=False)
            return curs.fetchall()
