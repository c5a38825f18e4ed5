"""The physical baselines: the same stored rows through raw sqlite3 or raw psycopg, nothing else.

Each baseline table has exactly the schema of the ledger's events table (copied from the
ledger itself), and the SQLite file runs in WAL mode at the ledger's synchronous setting.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import date
from pathlib import Path
from typing import Any, Iterator, Sequence

from projections.registry import registry_query
from projections.tables import SQLITE

EVENT_COLUMNS = "originator_id, originator_version, topic, state"
Row = tuple[Any, ...]


# ---------------------------------------------------------------------- SQLite

def synchronous_of(ledger_file: Path) -> int:
    """The synchronous level a connection to the ledger gets by default (the library sets none)."""
    with sqlite3.connect(ledger_file) as conn:
        return conn.execute("PRAGMA synchronous").fetchone()[0]


def raw_sqlite(path: Path, ledger_file: Path, *, copy_rows: bool = False) -> sqlite3.Connection:
    """A fresh SQLite file (WAL, the ledger's synchronous level) with the ledger's events table.

    ``copy_rows`` fills it with the ledger's rows first, so both tables are the same size.
    """
    for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        stale.unlink(missing_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous_of(ledger_file)}")
    with sqlite3.connect(ledger_file) as source:
        schema = source.execute("SELECT sql FROM sqlite_master WHERE name='stored_events'").fetchone()[0]
    conn.execute(schema)
    if copy_rows:
        conn.execute("ATTACH DATABASE ? AS ledger", (str(ledger_file),))
        conn.execute("BEGIN")
        conn.execute(f"INSERT INTO stored_events ({EVENT_COLUMNS}) SELECT {EVENT_COLUMNS} FROM ledger.stored_events")
        conn.execute("COMMIT")
        conn.execute("DETACH DATABASE ledger")
    return conn


def stored_rows(ledger_file: Path, after: int = 0, upto: int | None = None, chunk: int = 50_000
                ) -> Iterator[list[Row]]:
    """The ledger's stored event rows in position order, in chunks."""
    with sqlite3.connect(ledger_file) as conn:
        while True:
            rows = conn.execute(f"SELECT rowid, {EVENT_COLUMNS} FROM stored_events WHERE rowid > ? "
                                + ("AND rowid <= ? " if upto is not None else "") + "ORDER BY rowid LIMIT ?",
                                (after, upto, chunk) if upto is not None else (after, chunk)).fetchall()
            if not rows:
                return
            after = rows[-1][0]
            yield [row[1:] for row in rows]


def insert_one_per_transaction(conn: sqlite3.Connection, rows: Sequence[Row]) -> None:
    for row in rows:
        conn.execute("BEGIN")
        conn.execute(f"INSERT INTO stored_events ({EVENT_COLUMNS}) VALUES (?,?,?,?)", row)
        conn.execute("COMMIT")


def insert_all_in_one_transaction(conn: sqlite3.Connection, chunks: Iterator[list[Row]]) -> tuple[int, float]:
    """executemany of every chunk inside one transaction; (rows, seconds spent in SQLite).

    Reading the source chunks is left out of the time: the baseline is the write alone.
    """
    import time

    count, spent = 0, 0.0
    started = time.perf_counter()
    conn.execute("BEGIN")
    spent += time.perf_counter() - started
    for rows in chunks:
        started = time.perf_counter()
        conn.executemany(f"INSERT INTO stored_events ({EVENT_COLUMNS}) VALUES (?,?,?,?)", rows)
        spent += time.perf_counter() - started
        count += len(rows)
    started = time.perf_counter()
    conn.execute("COMMIT")
    return count, spent + time.perf_counter() - started


def scan_and_decode(ledger_file: Path) -> int:
    """Read every event row in position order and json.loads its state: the floor of any replay."""
    count = 0
    with sqlite3.connect(ledger_file) as conn:
        for _, _, _, _, state in conn.execute(f"SELECT rowid, {EVENT_COLUMNS} FROM stored_events ORDER BY rowid"):
            json.loads(state)
            count += 1
    return count


def read_organization(conn: sqlite3.Connection, originator_hex: str) -> int:
    """One organization's rows in version order, each state decoded: the floor of ``state_at``."""
    rows = conn.execute("SELECT originator_version, topic, state FROM stored_events WHERE originator_id=? "
                        "ORDER BY originator_version", (originator_hex,)).fetchall()
    for _, _, state in rows:
        json.loads(state)
    return len(rows)


def registry_rows(conn: sqlite3.Connection, day: date) -> int:
    """The registry's own statement on a raw connection, and one decode of the records."""
    known = conn.execute("SELECT MAX(rowid) FROM stored_events").fetchone()[0] or 0
    statement, params = registry_query(SQLITE, day, known)
    rows = conn.execute(statement, params).fetchall()
    json.loads("[" + ",".join(r[1] for r in rows) + "]")
    return len(rows)


def rehash_chain(ledger_file: Path) -> int:
    """Recompute SHA-256 over every event row joined with its chain entry: the floor of ``verify``."""
    count = 0
    previous = bytes(32)
    with sqlite3.connect(ledger_file) as conn:
        cursor = conn.execute("SELECT c.seq, e.originator_id, e.originator_version, e.topic, e.state, c.entry_hash "
                              "FROM ledger_chain c JOIN stored_events e ON e.rowid = c.notification_id "
                              "ORDER BY c.seq")
        for seq, originator_id, version, topic, state, _ in cursor:
            header = f"{seq}\n{originator_id}\n{version}\n{topic}\n{len(state)}\n".encode()
            previous = hashlib.sha256(b"\x00" + header + state + previous).digest()
            count += 1
    return count


# ---------------------------------------------------------------------- PostgreSQL
# ``events`` is the ledger's events table, schema-qualified.

def raw_postgres_table(conn: Any, events: str, raw_schema: str) -> str:
    """A table in ``raw_schema`` with the definition of the ledger's events table (indexes included)."""
    conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{raw_schema}"')
    conn.execute(f'CREATE TABLE "{raw_schema}".stored_events (LIKE {events} INCLUDING ALL)')
    conn.commit()
    return f'"{raw_schema}".stored_events'


def postgres_rows(conn: Any, events: str, after: int = 0) -> list[Row]:
    with conn.cursor() as cur:
        cur.execute(f"SELECT {EVENT_COLUMNS} FROM {events} WHERE notification_id > %s ORDER BY notification_id",
                    (after,))
        rows = [tuple(r) for r in cur.fetchall()]
    conn.commit()
    return rows


def postgres_one_per_transaction(conn: Any, table: str, rows: Sequence[Row]) -> None:
    for row in rows:
        with conn.cursor() as cur:
            cur.execute(f"INSERT INTO {table} ({EVENT_COLUMNS}) VALUES (%s,%s,%s,%s)", row)
        conn.commit()


def postgres_executemany(conn: Any, table: str, rows: Sequence[Row]) -> None:
    with conn.cursor() as cur:
        cur.executemany(f"INSERT INTO {table} ({EVENT_COLUMNS}) VALUES (%s,%s,%s,%s)", rows)
    conn.commit()


def postgres_copy(conn: Any, table: str, rows: Sequence[Row]) -> None:
    with conn.cursor() as cur:
        with cur.copy(f"COPY {table} ({EVENT_COLUMNS}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    conn.commit()


def postgres_scan_and_decode(conn: Any, events: str) -> int:
    """Read every event row in position order (a server-side cursor) and json.loads its state."""
    count = 0
    with conn.cursor(name="raw_scan") as cur:
        cur.itersize = 10_000
        cur.execute(f"SELECT notification_id, {EVENT_COLUMNS} FROM {events} ORDER BY notification_id")
        for row in cur:
            json.loads(bytes(row[4]))
            count += 1
    conn.commit()
    return count
