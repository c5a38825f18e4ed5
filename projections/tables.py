"""The view tables and their SQL.

The statements are written once, with ``?`` parameters and ``{table}`` names; the ledger's
``Dialect`` (``ledger.storage.dialect``) turns them into SQLite or PostgreSQL text. Rows are
read by column name, which both the SQLite rows and psycopg's dict rows allow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Protocol, Sequence

from ledger.storage.dialect import SQLITE, Dialect, postgres

if TYPE_CHECKING:
    from projections.rows import Version


class Cursor(Protocol):
    def execute(self, statement: Any, params: Any = ...) -> Any: ...
    def executemany(self, statement: Any, params: Any) -> Any: ...
    def fetchall(self) -> Any: ...
    def fetchone(self) -> Any: ...


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]
    definition: str
    primary_key: tuple[str, ...]
    indexes: tuple[tuple[str, str], ...] = ()
    clustered: bool = False

    @property
    def declaration(self) -> str:
        return f"{self.definition}, PRIMARY KEY ({', '.join(self.primary_key)})"


VERSION_COLUMNS = ("known_from", "known_until")
VERSION_DEFINITION = "known_from BIGINT NOT NULL, known_until BIGINT"

SEGMENTS = Table(
    "status_segments",
    ("org", "start_day", "opening", "status", "country", "standard", "certified_since",
     "consecutive_years", "record", "region", "search", "expiring_on", *VERSION_COLUMNS),
    ("org", "start_day", "known_from"),
    "org TEXT NOT NULL, start_day TEXT NOT NULL, opening INTEGER NOT NULL, status TEXT NOT NULL, "
    "country TEXT NOT NULL, standard TEXT, certified_since TEXT, consecutive_years INTEGER NOT NULL, "
    f"record TEXT NOT NULL, region TEXT, search TEXT, expiring_on TEXT, {VERSION_DEFINITION}",
    ("start_day", "org", "known_from"),
    # Covering the registry's searches, the positions included (``alive``).
    (("status_segments_org_start", "org, start_day, known_from, known_until"),
     ("status_segments_opening", "opening, org, start_day, known_from, known_until")),
    clustered=True,
)

PERIODS = Table(
    "certification_periods",
    ("org", "chain", "period", "standard", "certificate", "valid_from", "valid_until", "decided_on", "version",
     "ended_on", "end_reason", "certificate_key", "position", *VERSION_COLUMNS),
    ("org", "chain", "period", "known_from"),
    "org TEXT NOT NULL, chain INTEGER NOT NULL, period INTEGER NOT NULL, standard TEXT NOT NULL, "
    "certificate TEXT, valid_from TEXT NOT NULL, valid_until TEXT NOT NULL, decided_on TEXT NOT NULL, "
    f"version INTEGER NOT NULL, ended_on TEXT, end_reason TEXT, certificate_key TEXT, position BIGINT, "
    f"{VERSION_DEFINITION}",
    ("valid_from", "org", "chain", "period", "known_from"),
    (("certification_periods_org", "org, chain, period"), ("certification_periods_ended", "ended_on"),
     ("certification_periods_number", "certificate_key, position")),
    clustered=True,
)

FEED = Table(
    "event_feed",
    ("position", "org", "version", "type", "date", "recorded_at", "recorded_by", "fields", "retracted_by",
     "in_effect", "report", *VERSION_COLUMNS),
    ("position", "known_from"),
    "position BIGINT NOT NULL, org TEXT NOT NULL, version INTEGER NOT NULL, type TEXT NOT NULL, "
    "date TEXT NOT NULL, recorded_at TEXT, recorded_by TEXT NOT NULL, fields TEXT NOT NULL, "
    f"retracted_by INTEGER, in_effect INTEGER NOT NULL, report TEXT, {VERSION_DEFINITION}",
    ("position", "known_from"),
    (("event_feed_org", "org"), ("event_feed_date", "date")),
)

TABLES: tuple[Table, ...] = (SEGMENTS, PERIODS, FEED)
# Rows as a view table stores them (every column, ``known_from`` and ``known_until`` last), by table name: what a
# replay hands on, from the process that folds to the one that writes or compares, without a Version per row.
TableRows = dict[str, list[tuple[Any, ...]]]
BY_NAME = {t.name: t for t in TABLES}
# The columns that name a row among those alive at one position (a table's ``KEY_WIDTH`` leading columns).
VERSION_KEYS = {SEGMENTS.name: ("org", "start_day"), PERIODS.name: ("org", "chain", "period"),
                FEED.name: ("position",)}

# The views' layout and meaning: raise it whenever a table gains a column or its rows change meaning.
# Views kept under another layout are dropped and replayed (``ViewStore.ensure_layout``).
LAYOUT = 4
LAYOUT_MARKER = "projections-layout"  # a row of the tracking table, beside the views' own position
"""``key`` orders a table's rows for comparison. The date-ranged tables are clustered on their
start date, so "as of D" reads one contiguous range of the primary key (``start <= D``) and
filters the end in place; answers are sorted after the read, which keeps the planner on that range.
"""


def alive(alias: str, known: int) -> tuple[str, list[Any]]:
    """The rows of ``alias`` that were the answer at position ``known``: a condition and its parameters."""
    return (f"{alias}.known_from <= ? AND ({alias}.known_until IS NULL OR {alias}.known_until > ?)",
            [known, known])


def create_statements(d: Dialect) -> list[str]:
    """The tables, if missing. Their indexes are made with the rows (``ViewStore.replace_all``): tables of an
    earlier layout may lack an indexed column until ``ViewStore.ensure_layout`` replaces them."""
    return table_statements(d)


def table_statements(d: Dialect) -> list[str]:
    return [f"CREATE TABLE IF NOT EXISTS {d.table(t.name)} ({t.declaration}){d.clustered_suffix if t.clustered else ''}"
            for t in TABLES]


def index_statements(d: Dialect) -> list[str]:
    return [f"CREATE INDEX IF NOT EXISTS {index} ON {d.table(t.name)} ({column})"
            for t in TABLES for index, column in t.indexes]


def drop_statements(d: Dialect) -> list[str]:
    return [f"DROP TABLE IF EXISTS {d.table(t.name)}" for t in TABLES]


def close_rows(c: Cursor, d: Dialect, closes: Sequence[tuple[str, tuple[Any, ...], int]]) -> None:
    """Rows stop being the answer: (table, key, position) sets the alive row's ``known_until``."""
    for t in TABLES:
        keyed = [(position, *key) for table, key, position in closes if table == t.name]
        if keyed:
            names = " AND ".join(f"{column} = ?" for column in VERSION_KEYS[t.name])
            c.executemany(d.sql(f"UPDATE {{{t.name}}} SET known_until = ? WHERE {names} AND known_until IS NULL"),
                          keyed)


def insert_versions(c: Cursor, d: Dialect, versions: Iterable[Version]) -> None:
    """Insert versions into the view tables."""
    insert_rows(c, d, stored_rows(versions))


def insert_rows(c: Cursor, d: Dialect, rows: TableRows, *, staged: bool = False) -> None:
    """Insert stored rows into the view tables (``staged``: into their staging tables, see
    ``staging_statements``)."""
    for t in TABLES:
        if rows.get(t.name):
            marks = ", ".join("?" * len(t.columns))
            into = staging_name(t) if staged else d.table(t.name)
            c.executemany(d.sql(f"INSERT INTO {into} ({', '.join(t.columns)}) VALUES ({marks})"), rows[t.name])


def copy_rows(c: Any, d: Dialect, rows: TableRows) -> None:
    """Insert stored rows into the view tables with PostgreSQL's COPY (psycopg's ``Cursor.copy``): one statement
    per table for the whole slice, the rows streamed in its text format, no statement per row."""
    for t in TABLES:
        if rows.get(t.name):
            with c.copy(f"COPY {d.table(t.name)} ({', '.join(t.columns)}) FROM STDIN") as copy:
                for row in rows[t.name]:
                    copy.write_row(row)


def stored_rows(versions: Iterable[Version]) -> TableRows:
    """Versions as their tables store them (every column, the two positions last), table by table."""
    rows: TableRows = {t.name: [] for t in TABLES}
    for version in versions:
        rows[version.table].append(version.stored())
    return rows


def row_slices(parts: Iterable[TableRows], size: int) -> Iterator[TableRows]:
    """Rows that come a part at a time (an organization's, from a replay), gathered into slices of about ``size``
    rows: what one round of inserts writes."""
    pending: TableRows = {t.name: [] for t in TABLES}
    count = 0
    for part in parts:
        for name, rows in part.items():
            pending[name] += rows
            count += len(rows)
        if count >= size:
            yield pending
            pending, count = {t.name: [] for t in TABLES}, 0
    if count:
        yield pending


def staging_name(t: Table) -> str:
    return f"temp.staged_{t.name}"


def staging_statements(d: Dialect) -> list[str]:
    """Temporary tables shaped like the view tables, without keys: rows are appended to them as they come."""
    return [f"CREATE TEMP TABLE IF NOT EXISTS staged_{t.name} ({t.definition})" for t in TABLES]


def unstaging_statements(d: Dialect) -> list[str]:
    """Copy the staged rows into the view tables in key order, then drop the staging tables."""
    return ([f"INSERT INTO {d.table(t.name)} ({', '.join(t.columns)}) SELECT {', '.join(t.columns)} "
             f"FROM {staging_name(t)} ORDER BY {', '.join(t.primary_key)}" for t in TABLES]
            + [f"DROP TABLE {staging_name(t)}" for t in TABLES])


def rows_of(c: Cursor, d: Dialect, t: Table, orgs: Sequence[str]) -> list[tuple[Any, ...]]:
    """Every row (every version) of these organizations in table ``t``."""
    condition, params = d.any_of("org", orgs)
    c.execute(d.sql(f"SELECT {', '.join(t.columns)} FROM {{{t.name}}} WHERE {condition}"), params)
    return as_tuples(c.fetchall())


def organizations_in(c: Cursor, d: Dialect, t: Table) -> list[str]:
    c.execute(d.sql(f"SELECT DISTINCT org FROM {{{t.name}}}"))
    return [row["org"] for row in c.fetchall()]


def table_contents(c: Cursor, d: Dialect, t: Table) -> list[tuple[Any, ...]]:
    c.execute(d.sql(f"SELECT {', '.join(t.columns)} FROM {{{t.name}}} ORDER BY {', '.join(t.key)}"))
    return as_tuples(c.fetchall())


def as_tuples(rows: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Rows of a statement that selects a table's ``columns`` in order, as plain tuples: SQLite's rows are
    sequences, psycopg's dict rows keep the selected order. Taken whole: read by name, a column at a time,
    they cost verify's comparison a third of what it spent outside the replay."""
    if rows and isinstance(rows[0], dict):
        return [tuple(row.values()) for row in rows]
    return [tuple(row) for row in rows]
