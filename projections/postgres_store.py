"""The PostgreSQL variant of the view store: same tables and statements, PostgreSQL spelling."""

from __future__ import annotations

from contextlib import contextmanager

from typing import Any, Iterator

from psycopg.sql import SQL, Identifier

from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder

from projections import tables
from projections.store import ViewStore


class PostgresViewStore(ViewStore, PostgresTrackingRecorder):
    def __init__(self, datastore: PostgresDatastore, **kwargs: Any):
        super().__init__(datastore, **kwargs)
        self.dialect = tables.postgres(datastore.schema)
        self.tracking_table = self.dialect.table(self.tracking_table_name)
        self.sql_create_statements += [SQL(statement) for statement in tables.create_statements(self.dialect)]  # type: ignore[arg-type]

    @property
    def turn(self) -> str:
        return f"certledger:views:{self.datastore.schema}"

    @contextmanager
    def writing(self) -> Iterator[Any]:
        # The views' writers take turns on one advisory lock, held to the end of the transaction.
        with self.datastore.transaction(commit=True) as c:
            c.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self.turn,))
            yield c

    def write_slice(self, c: Any, rows: tables.TableRows) -> None:
        """A replay's rows (a rebuild, a new ledger's first catch-up) through COPY: the rows of a replay are many,
        and row-by-row INSERTs are most of what the database spends on them."""
        tables.copy_rows(c, self.dialect, rows)

    def take_turn_in(self, c: Any) -> bool:
        # Not waited for: a recording does not queue behind a replay; the views then catch up after its commit.
        c.execute("SELECT pg_try_advisory_xact_lock(hashtext(%s))", (self.turn,))
        row = c.fetchone()
        return bool(row is not None and row[0])

    def may_write(self) -> bool:
        # A role may write events without the grants on the views: its recordings then leave the views to a
        # catch-up (which warns), rather than failing on them.
        names = [self.tracking_table_name, *(t.name for t in tables.TABLES)]
        with self.datastore.get_connection() as conn:
            row = conn.execute("SELECT bool_and(has_table_privilege(format('%%I.%%I', %s::text, n), 'INSERT') AND "
                               "has_table_privilege(format('%%I.%%I', %s::text, n), 'UPDATE')) AS allowed "
                               "FROM unnest(%s::text[]) AS n",
                               (self.datastore.schema, self.datastore.schema, names)).fetchone()
        return bool(row is not None and row["allowed"])

    def keep_open_while_working(self, c: Any) -> None:
        # The library ends sessions idle in a transaction for a few seconds (so that a stalled client
        # releases its locks); a replay's transaction is idle while it reads and folds the next batch.
        c.execute("SET LOCAL idle_in_transaction_session_timeout = 0")

    def create_table(self) -> None:
        """Create what is missing, once; roles without CREATE privilege use existing tables as they are."""
        names = [self.tracking_table_name, *(t.name for t in tables.TABLES)]
        with self.datastore.get_connection() as conn:
            row = conn.execute("SELECT count(to_regclass(format('%%I.%%I', %s::text, n))) AS found "
                               "FROM unnest(%s::text[]) AS n", (self.datastore.schema, names)).fetchone()
            if row is not None and row["found"] == len(names):
                return
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self.turn,))
                conn.execute(SQL("CREATE SCHEMA IF NOT EXISTS {0}").format(Identifier(self.datastore.schema)))
                for statement in self.sql_create_statements:
                    conn.execute(statement, prepare=False)
