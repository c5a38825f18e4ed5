"""The chain-writing recorders are still correct library recorders.

The library's own recorder conformance suites run here against our recorders, unchanged. They
insert events without ledger extras, so these tests also prove the recorder's fallback: every
row still gets a chain entry, and the chain they leave behind verifies clean.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from typing import Any
from unittest import SkipTest

from eventsourcing.sqlite import SQLiteDatastore
from eventsourcing.tests.persistence import ApplicationRecorderTestCase, NonInterleavingNotificationIDsBaseCase

from ledger.integrity.walker import verify_chain
from ledger.storage.sqlite import SQLiteLedgerRecorder

POSTGRES_URL = os.environ.get("CERTLEDGER_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


class ChainStaysIntact:
    """After each library test, the chain its inserts left behind must verify clean."""

    recorders: list[Any]

    def tearDown(self) -> None:
        try:
            for recorder in self.recorders:
                report = verify_chain(recorder)
                assert report.intact, report.problems[:3]
        finally:
            self.close_all()
            super().tearDown()  # type: ignore[misc]

    def close_all(self) -> None:
        """"""


class TestSQLiteLedgerRecorder(ChainStaysIntact, ApplicationRecorderTestCase[SQLiteLedgerRecorder]):
    def setUp(self) -> None:
        super().setUp()
        self.directory = tempfile.TemporaryDirectory()
        self.recorders = []

    def create_recorder(self) -> SQLiteLedgerRecorder:
        path = os.path.join(self.directory.name, f"ledger-{len(self.recorders)}.db")
        recorder = SQLiteLedgerRecorder(SQLiteDatastore(path))
        recorder.create_table()
        self.recorders.append(recorder)
        return recorder

    def close_all(self) -> None:
        for recorder in self.recorders:
            recorder.datastore.close()
        self.directory.cleanup()


def postgres_ledger() -> Any:
    """A ledger application on a fresh PostgreSQL schema, or SkipTest when that is not possible yet."""
    try:
        import psycopg

        import ledger.storage.postgres  # noqa: F401 - the PostgreSQL recorder lives there
    except ImportError as error:
        raise SkipTest(f"PostgreSQL recorder not available: {error}") from None
    from ledger.application import CertificationLedger

    schema = f"conformance_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=3) as connection:
            connection.execute(f'CREATE SCHEMA "{schema}"')
    except psycopg.Error as error:
        reason = f"no PostgreSQL server at {POSTGRES_URL}: {' '.join(str(error).split())}"
        if os.environ.get("CERTLEDGER_REQUIRE_POSTGRES") == "1":
            raise AssertionError(f"PostgreSQL is required (CERTLEDGER_REQUIRE_POSTGRES=1) but {reason}") from None
        raise SkipTest(reason) from None
    return CertificationLedger(f"{POSTGRES_URL}?schema={schema}"), schema


def drop_schema(schema: str) -> None:
    import psycopg

    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


class PostgresRecorders(ChainStaysIntact):
    def setUp(self) -> None:
        super().setUp()  # type: ignore[misc]
        self.recorders = []
        self.ledgers: list[Any] = []
        self.schemas: list[str] = []

    def create_recorder(self) -> Any:
        ledger, schema = postgres_ledger()
        self.ledgers.append(ledger)
        self.schemas.append(schema)
        self.recorders.append(ledger.recorder)
        return ledger.recorder

    def close_all(self) -> None:
        for ledger in self.ledgers:
            ledger.close()
        for schema in self.schemas:
            drop_schema(schema)


class TestPostgresLedgerRecorder(PostgresRecorders, ApplicationRecorderTestCase[Any]):
    pass


class TestPostgresLedgerRecorderNonInterleaving(PostgresRecorders, NonInterleavingNotificationIDsBaseCase):
    pass
