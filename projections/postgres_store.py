"""The PostgreSQL variant of the view store: same tables and statements, PostgreSQL spelling."""

from __future__ import annotations

from typing import Any

from psycopg.sql import SQL

from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder

from projections import tables
from projections.store import ViewStore


class PostgresViewStore(ViewStore, PostgresTrackingRecorder):
    def __init__(self, datastore: PostgresDatastore, **kwargs: Any):
        super().__init__(datastore, **kwargs)
        self.dialect = tables.postgres(datastore.schema)
        self.tracking_table = self.dialect.table(self.tracking_table_name)
        self.sql_create_statements += [SQL(statement) for statement in self.dialect.create_statements()]  # type: ignore[arg-type]
