"""From the user's ``--db`` value to the library's environment: users never set library variables."""

from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from eventsourcing.utils import get_topic

from ledger.errors import StorageError
from ledger.persistence import SQLiteLedgerRecorder

DEFAULT_DB = "certledger.db"
SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def is_postgres_url(db: str) -> bool:
    return db.startswith(("postgresql://", "postgres://"))


def describe(db: str) -> str:
    """The database named for messages, without any password."""
    if is_postgres_url(db):
        parsed = urlparse(db)
        host = parsed.hostname or "localhost"
        try:
            port = f":{parsed.port}" if parsed.port else ""
        except ValueError:
            port = ""
        schema = parse_qs(parsed.query).get("schema", [""])[0]
        named = f"postgresql://{parsed.username or ''}@{host}{port}{parsed.path}"
        return f"{named}?schema={schema}" if schema else named
    return db


def environment(db: str, *, must_exist: bool = False) -> dict[str, str]:
    if is_postgres_url(db):
        env = postgres_environment(db)
        try:
            from ledger.postgres import check_server
        except ImportError:
            raise StorageError("PostgreSQL support is not installed: pip install 'certledger[postgres]'") from None
        check_server(env, describe(db), must_exist=must_exist)
        return env
    return sqlite_environment(db, must_exist=must_exist)


def sqlite_environment(path: str, *, must_exist: bool = False) -> dict[str, str]:
    check_sqlite_file(path, must_exist=must_exist)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": path,
        "SQLITE_LOCK_TIMEOUT": "30",
        "APPLICATION_RECORDER_TOPIC": get_topic(SQLiteLedgerRecorder),
    }


def check_sqlite_file(path: str, *, must_exist: bool = False) -> None:
    file = Path(path)
    if file.is_dir():
        raise StorageError(f"cannot open database {path}: it is a directory")
    if not file.exists():
        if must_exist:
            raise StorageError(f"no ledger at {path} (record an event first, or pass --db / set CERTLEDGER_DB)")
        if not file.parent.exists():
            raise StorageError(f"cannot create database {path}: directory {file.parent} does not exist")
        return
    if not os.access(path, os.R_OK):
        raise StorageError(f"cannot read database {path}: permission denied")
    if file.stat().st_size == 0:
        return
    # Only SQLite itself may open the file: closing any other descriptor on it would drop this
    # process's POSIX locks, and another process closing its connection would then take itself
    # for the last one and delete the write-ahead log from under the open connections.
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        finally:
            conn.close()
    except sqlite3.DatabaseError as error:
        if "not a database" in str(error):
            raise StorageError(f"{path} is not a certledger database (not an SQLite file)") from None
        raise StorageError(f"{path} is damaged or not a certledger database: {error}") from None
    if names and "stored_events" not in names:
        raise StorageError(f"{path} is an SQLite database of another program, not a certledger ledger")


def postgres_environment(url: str) -> dict[str, str]:
    parsed = urlparse(url)
    dbname = unquote(parsed.path.lstrip("/"))
    if not dbname:
        raise StorageError(f"{describe(url)}: the URL names no database (postgresql://USER@HOST:PORT/DBNAME)")
    query = parse_qs(parsed.query)
    unknown = set(query) - {"schema"}
    if unknown:
        raise StorageError(f"{describe(url)}: unknown URL parameter(s) {', '.join(sorted(unknown))} "
                           "(only ?schema=NAME is understood)")
    schema = query.get("schema", ["public"])[0]
    if not SCHEMA_NAME.match(schema):
        raise StorageError(f"{describe(url)}: schema {schema!r} is not a plain identifier "
                           "(letters, digits and underscores, at most 63)")
    try:
        port = parsed.port or 5432
    except ValueError:
        raise StorageError(f"{describe(url)}: the port is not a number") from None
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": dbname,
        "POSTGRES_HOST": parsed.hostname or "localhost",
        "POSTGRES_PORT": str(port),
        "POSTGRES_USER": unquote(parsed.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(parsed.password or ""),
        "POSTGRES_SCHEMA": schema,
        "POSTGRES_CONNECT_TIMEOUT": "10",
        "POSTGRES_LOCK_TIMEOUT": "10",
        # One connection per process unless a command needs more (e.g. a follower listening).
        "POSTGRES_POOL_SIZE": "1",
        "POSTGRES_MAX_OVERFLOW": "4",
        "APPLICATION_RECORDER_TOPIC": "ledger.postgres:PostgresLedgerRecorder",
    }


# Serialization failure, deadlock, lock timeout: PostgreSQL's ways of saying "try again".
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03"})


def is_transient(error: BaseException) -> bool:
    """A write that failed only because other writers held the database: worth retrying."""
    if getattr(error.__cause__, "sqlstate", None) in TRANSIENT_SQLSTATES:
        return True
    text = str(error)
    return "locked" in text or "busy" in text
