"""From the user's ``--db`` value to a backend: the one place where SQLite or PostgreSQL is chosen.

Users never set the library's variables; this module builds them, checks the file or the server
first (so that a mistake gets a clear message, not a library traceback), and says what database
errors mean.
"""

from __future__ import annotations

import os
import re
import sqlite3
import sys
from pathlib import Path

from eventsourcing.persistence import PersistenceError
from urllib.parse import parse_qs, unquote, urlparse


from ledger.errors import StorageError


DEFAULT_DB = "certledger.db"
# Created together, in one transaction, when a ledger file is first opened.
# The first release's ledgers have ledger_certificates where today's have ledger_claims.
LEDGER_TABLES = frozenset({"stored_events", "ledger_chain", "ledger_keys"})
# Names that SQLite, or the library, would treat as a database living only in memory.
IN_MEMORY = re.compile(r":memory:|mode=memory")
SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def chosen(db: str | None) -> str:
    """The ledger a command works on: the one given, else ``$CERTLEDGER_DB`` (a blank value counts as unset, as a
    blank ``CERTLEDGER_USER`` does), else ``DEFAULT_DB``."""
    if db:
        return db
    variable = os.environ.get("CERTLEDGER_DB", "")
    return variable if variable.strip() else DEFAULT_DB


def is_postgres_url(db: str) -> bool:
    return db.startswith(("postgresql://", "postgres://"))


def describe(db: str) -> str:
    """The database named for messages, without any password."""
    if is_postgres_url(db):
        try:
            parsed = urlparse(db)
        except ValueError:
            return "the postgresql:// URL given"  # not shown: what it holds may be a password
        host = parsed.hostname or "localhost"
        try:
            port = f":{parsed.port}" if parsed.port else ""
        except ValueError:
            port = ""
        schema = parse_qs(parsed.query).get("schema", [""])[0]
        named = f"postgresql://{parsed.username or ''}@{host}{port}{parsed.path}"
        return f"{named}?schema={schema}" if schema else named
    return db if len(db) <= 200 else f"{db[:120]}...{db[-60:]}"


def environment(db: str, *, must_exist: bool = False, tables_on_first_write: bool = False) -> dict[str, str]:
    if is_postgres_url(db):
        env = postgres_environment(db)
        if tables_on_first_write:
            env["CREATE_TABLE"] = "no"  # the recorder creates them in its first write transaction
        try:
            from ledger.storage.postgres import check_server
        except ImportError:
            raise StorageError("PostgreSQL support is not installed: pip install 'certledger[postgres]'") from None
        check_server(env, describe(db), must_exist=must_exist)
        return env
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
        "APPLICATION_RECORDER_TOPIC": "ledger.storage.sqlite:SQLiteLedgerRecorder",
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
    if file.stat().st_size == 0:
        if must_exist:  # an empty file is no ledger; opening it would make one
            raise StorageError(f"no ledger at {path} (the file is empty; record an event first, or pass --db / set "
                               "CERTLEDGER_DB)")
        return
    # Only SQLite opens the file: closing any other descriptor of it would drop the POSIX locks that
    # this process's SQLite connections hold on it (another ledger object on the same file, say).
    # Read-write, though it only reads: read-only connections to a WAL database that others are
    # writing fail now and then with "disk I/O error".
    try:
        conn = sqlite3.connect(file.absolute().as_uri(), uri=True, isolation_level=None)
        try:
            conn.execute("BEGIN")
            names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            truncation = truncation_of(conn, file)
            conn.execute("ROLLBACK")
        finally:
            conn.close()
    except sqlite3.DatabaseError as error:
        if "not a database" in str(error):
            raise StorageError(f"{path} is not a certledger database (not an SQLite file)") from None
        raise StorageError(failure_message(path, error)) from None
    if truncation:
        raise StorageError(f"{path} is damaged: it is truncated ({truncation})")
    if names and not LEDGER_TABLES <= names:
        raise StorageError(f"{path} is an SQLite database of another program, not a certledger ledger")
    if not names and must_exist:  # an empty database is no ledger either: opening it would make one
        raise StorageError(f"no ledger at {path} (the database holds no tables; record an event first, or pass "
                           "--db / set CERTLEDGER_DB)")


def without_tables(path: str) -> bool:
    """An empty file, or an SQLite database with no table (False for anything else, unreadable included): what
    ``inspect_sqlite_file`` calls no ledger, asked without raising."""
    file = Path(path)
    try:
        if not file.is_file():
            return False
        if file.stat().st_size == 0:
            return True
        conn = sqlite3.connect(file.absolute().as_uri(), uri=True)
        try:
            return conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0] == 0
        finally:
            conn.close()
    except (OSError, sqlite3.Error):
        return False


def failure_message(db: str, error: Exception, action: str = "use") -> str:
    """What a database error means for the user, naming the database (``action``: "use", "write to")."""
    text = str(error)
    name = describe(db)
    if "malformed" in text or "not a database" in text:
        return f"{name} is damaged ({text}); restore it from a backup"
    if "full" in text or "I/O" in text:
        return f"cannot {action} {name}: {text} (is the disk full, or a file-size limit reached?)"
    if "readonly" in text or "unable to open" in text:
        return (f"cannot {action} {name}: {text} (is the file or its directory read-only? SQLite keeps "
                f"{Path(name).name}-wal and {Path(name).name}-shm beside it)")
    return f"cannot {action} {name}: {text}"


def truncation_of(conn: sqlite3.Connection, file: Path) -> str | None:
    """How much of the file is missing, judged inside an open read transaction on ``conn``; None if none.

    The page count includes pages still in the write-ahead log (a crash during a checkpoint can leave
    the file short, and SQLite completes it from the log), so only a snapshot without a log is judged.
    While this transaction reads, no other process can delete or truncate the log, nor copy into the
    file pages this snapshot does not see: an empty log now means an empty log at the snapshot.
    """
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    promised = pages * conn.execute("PRAGMA page_size").fetchone()[0]
    wal = file.with_name(file.name + "-wal")
    if wal.exists() and wal.stat().st_size > 0:
        return None
    size = file.stat().st_size
    return f"{size} of {promised} bytes" if promised > size else None


def postgres_environment(url: str) -> dict[str, str]:
    try:
        parsed = urlparse(url)
    except ValueError as error:  # a bracketed IPv6 host left open, say
        raise StorageError(f"{describe(url)} is not one this ledger can read ({error})") from None
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
        "APPLICATION_RECORDER_TOPIC": "ledger.storage.postgres:PostgresLedgerRecorder",
    }


def database_errors() -> tuple[type[BaseException], ...]:
    """What a database driver or the library raises when the database fails (not a refusal of the ledger's).

    A function, evaluated where an error is caught: psycopg is imported only by commands that use
    PostgreSQL, and a process that never imported it cannot meet its errors.
    """
    psycopg = sys.modules.get("psycopg")
    return (PersistenceError, sqlite3.Error, psycopg.Error) if psycopg is not None else (PersistenceError, sqlite3.Error)

# Serialization failure, deadlock, lock timeout: PostgreSQL's ways of saying "try again".
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03"})


def is_transient(error: BaseException) -> bool:
    """A write that failed only because other writers held the database: worth retrying."""
    if getattr(error.__cause__, "sqlstate", None) in TRANSIENT_SQLSTATES:
        return True
    text = str(error)
    return "locked" in text or "busy" in text
