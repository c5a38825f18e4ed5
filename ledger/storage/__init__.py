"""Storage: the boundary the ledger talks to, and its SQLite and PostgreSQL implementations.

    boundary   what the ledger needs from a database (LedgerStorage, WriteTransaction, row types)
    queries    every statement, written once (LedgerQueries implements LedgerStorage)
    dialect    the only place where SQLite and PostgreSQL spellings differ
    sqlite     what differs on SQLite (and the library's private SQLite methods)
    postgres   what differs on PostgreSQL (and the library's private PostgreSQL methods)
    chain      the hash chain's format: what is hashed, the genesis, how recorded_at moves
    mapper     events as pydantic JSON, with upcasting
    backends   from ``--db`` to a backend: the one place where the choice is made
"""

from ledger.storage.backends import (
    chosen,
    database_errors,
    DEFAULT_DB,
    describe,
    environment,
    failure_message,
    is_postgres_url,
    is_transient,
)
from ledger.storage.boundary import EventExtras, Extras, LedgerStorage, StoredRow, WriteTransaction
from ledger.storage.chain import ChainEntry

__all__ = [
    "DEFAULT_DB", "ChainEntry", "EventExtras", "Extras", "LedgerStorage", "StoredRow",
    "WriteTransaction", "chosen", "database_errors", "describe", "environment", "failure_message", "is_postgres_url", "is_transient",
]
