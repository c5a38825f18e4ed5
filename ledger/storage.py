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
SQLITE_HEADER = b"SQLite format 3\x00"
# Created together, in one transaction, when a ledger file is first opened.
LEDGER_TABLES = frozenset({"stored_events", "ledger_chain", "ledger_keys", "ledger_certificates"})
# Names that SQLite, or the library, would treat as a database living only in memory.
IN_MEMORY = re.compile(r":memory:|mode=memory")


def is_postgres_url(db: str) -> bool:
    return db.startswith(("postgresql://", "postgres://"))


def describe(db: str) -> str:
    """The database named for messages, without any password."""
    if is_postgres_url(db):
        parsed = urlparse(db)
        host = parsed.hostname or "localhost"
        port = f":{parsed.port}" if parsed.port else ""
        return f"postgresql://{parsed.username or ''}@{host}{port}{parsed.path}"
    return db if len(db) <= 200 else f"{db[:120]}...{db[-60:]}"


def environment(db: str, *, must_exist: bool = False) -> dict[str, str]:
    if is_postgres_url(db):
        return postgres_environment(db)
    return sqlite_environment(db, must_exist=must_exist)


def sqlite_environment(path: str, *, must_exist: bool = False) -> dict[str, str]:
    if IN_MEMORY.search(path):
        raise StorageError(f"--db {path}: an in-memory database keeps nothing; give a file path")
    check_sqlite_file(path, must_exist=must_exist)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        # Absolute, so that SQLite never reads a name like "file:..." as a URI with its own options.
        "SQLITE_DBNAME": os.path.abspath(path),
        "SQLITE_LOCK_TIMEOUT": "30",
        "APPLICATION_RECORDER_TOPIC": get_topic(SQLiteLedgerRecorder),
    }


def check_sqlite_file(path: str, *, must_exist: bool = False) -> None:
    try:
        inspect_sqlite_file(path, must_exist=must_exist)
    except (OSError, ValueError) as error:  # a name too long, a NUL byte, a loop of links...
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise StorageError(f"cannot open database {describe(path)}: {reason}") from None


def inspect_sqlite_file(path: str, *, must_exist: bool = False) -> None:
    if "\x00" in path:
        raise ValueError("the name contains a NUL character")
    file = Path(path)
    if file.is_dir():
        raise StorageError(f"cannot open database {path}: it is a directory")
    if not file.exists():
        if must_exist:
            raise StorageError(f"no ledger at {path} (record an event first, or pass --db / set CERTLEDGER_DB)")
        if not file.parent.exists():
            raise StorageError(f"cannot create database {path}: directory {file.parent} does not exist")
        return
    if not file.is_file():
        raise StorageError(f"cannot open database {path}: it is not a regular file")
    if not os.access(path, os.R_OK):
        raise StorageError(f"cannot read database {path}: permission denied")
    size = file.stat().st_size
    if size == 0:
        return
    with open(path, "rb") as handle:
        header = handle.read(100)
    if not header.startswith(SQLITE_HEADER):
        raise StorageError(f"{path} is not a certledger database (not an SQLite file)")
    expected = expected_size(header)
    if expected is not None and size < expected and not has_write_ahead_log(file):
        raise StorageError(f"{path} is damaged: it is truncated ({size} of {expected} bytes)")
    try:
        conn = sqlite3.connect(f"{file.absolute().as_uri()}?mode=ro", uri=True)
        try:
            names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        finally:
            conn.close()
    except sqlite3.DatabaseError as error:
        raise StorageError(failure_message(path, error)) from None
    if names and not LEDGER_TABLES <= names:
        raise StorageError(f"{path} is an SQLite database of another program, not a certledger ledger")


def failure_message(db: str, error: Exception) -> str:
    """What a database error means for the user, naming the database."""
    text = str(error)
    name = describe(db)
    if "malformed" in text or "not a database" in text:
        return f"{name} is damaged ({text}); restore it from a backup"
    if "full" in text or "I/O" in text:
        return f"cannot use {name}: {text} (is the disk full, or a file-size limit reached?)"
    if "readonly" in text or "unable to open" in text:
        return (f"cannot use {name}: {text} (is the file or its directory read-only? SQLite keeps "
                f"{Path(name).name}-wal and {Path(name).name}-shm beside it)")
    return f"database {name} failed: {text}"


def expected_size(header: bytes) -> int | None:
    """The size the SQLite header promises, when the header vouches for its page count."""
    if len(header) < 100:
        return None
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    page_count = int.from_bytes(header[28:32], "big")
    count_is_current = header[24:28] == header[92:96] and page_count > 0
    return page_size * page_count if count_is_current else None


def has_write_ahead_log(file: Path) -> bool:
    """A crash during a checkpoint can leave the file short; SQLite completes it from the log."""
    wal = file.with_name(file.name + "-wal")
    return wal.exists() and wal.stat().st_size > 0


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
        "POSTGRES_LOCK_TIMEOUT": "30",
        "APPLICATION_RECORDER_TOPIC": "ledger.postgres:PostgresLedgerRecorder",
    }
