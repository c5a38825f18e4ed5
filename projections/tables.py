"""The view tables and their SQL.

The statements are written once, with ``?`` parameters and ``{table}`` names; the ledger's
``Dialect`` (``ledger.storage.dialect``) turns them into SQLite or PostgreSQL text. Rows are
read by column name, which both the SQLite rows and psycopg's dict rows allow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Protocol, Sequence

from ledger.storage.dialect import SQLITE, Dialect, postgres
from projections.rows import OrganizationRows


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
    indexes: tuple[tuple[str, str], ...] = ()
    clustered: bool = False


SEGMENTS = Table(
    "status_segments",
    ("org", "seq", "start_day", "end_day", "status", "country", "standard", "certified_since",
     "consecutive_years", "record", "region", "search", "expiring_on"),
    ("org", "seq"),
    "org TEXT NOT NULL, seq INTEGER NOT NULL, start_day TEXT NOT NULL, end_day TEXT, status TEXT NOT NULL, "
    "country TEXT NOT NULL, standard TEXT, certified_since TEXT, consecutive_years INTEGER NOT NULL, "
    "record TEXT NOT NULL, region TEXT, search TEXT, expiring_on TEXT, PRIMARY KEY (start_day, org, seq)",
    (("status_segments_org_start", "org, start_day"), ("status_segments_first", "seq, org"),
     ("status_segments_end", "end_day")),
    clustered=True,
)

PERIODS = Table(
    "certification_periods",
    ("org", "chain", "period", "standard", "certificate", "valid_from", "valid_until", "decided_on", "version",
     "ended_on", "end_reason", "certificate_key", "position"),
    ("org", "chain", "period"),
    "org TEXT NOT NULL, chain INTEGER NOT NULL, period INTEGER NOT NULL, standard TEXT NOT NULL, "
    "certificate TEXT, valid_from TEXT NOT NULL, valid_until TEXT NOT NULL, decided_on TEXT NOT NULL, "
    "version INTEGER NOT NULL, ended_on TEXT, end_reason TEXT, certificate_key TEXT, position BIGINT, "
    "PRIMARY KEY (valid_from, org, chain, period)",
    (("certification_periods_org", "org"), ("certification_periods_ended", "ended_on"),
     ("certification_periods_number", "certificate_key, position")),
    clustered=True,
)

FEED = Table(
    "event_feed",
    ("position", "org", "version", "type", "date", "recorded_at", "recorded_by", "fields", "retracted_by",
     "retracted_at", "in_effect", "report"),
    ("position",),
    "position BIGINT NOT NULL PRIMARY KEY, org TEXT NOT NULL, version INTEGER NOT NULL, type TEXT NOT NULL, "
    "date TEXT NOT NULL, recorded_at TEXT, recorded_by TEXT NOT NULL, fields TEXT NOT NULL, "
    "retracted_by INTEGER, retracted_at BIGINT, in_effect INTEGER NOT NULL, report TEXT",
    (("event_feed_org", "org"), ("event_feed_date", "date")),
)

TABLES: tuple[Table, ...] = (SEGMENTS, PERIODS, FEED)

# The views' layout and meaning: raise it whenever a table gains a column or its rows change meaning.
# Views kept under another layout are dropped and replayed (``ViewStore.ensure_layout``).
LAYOUT = 2
LAYOUT_MARKER = "projections-layout"  # a row of the tracking table, beside the views' own position
"""``key`` orders a table's rows for comparison. The date-ranged tables are clustered on their
start date, so "as of D" reads one contiguous range of the primary key (``start <= D``) and
filters the end in place; answers are sorted after the read, which keeps the planner on that range.
"""


def create_statements(d: Dialect) -> list[str]:
    """The tables, if missing. Their indexes are made with the rows (``ViewStore.replace_all``): tables of an
    earlier layout may lack an indexed column until ``ViewStore.ensure_layout`` replaces them."""
    return table_statements(d)


def table_statements(d: Dialect) -> list[str]:
    return [f"CREATE TABLE IF NOT EXISTS {d.table(t.name)} ({t.definition}){d.clustered_suffix if t.clustered else ''}"
            for t in TABLES]


def index_statements(d: Dialect) -> list[str]:
    return [f"CREATE INDEX IF NOT EXISTS {index} ON {d.table(t.name)} ({column})"
            for t in TABLES for index, column in t.indexes]


def drop_statements(d: Dialect) -> list[str]:
    return [f"DROP TABLE IF EXISTS {d.table(t.name)}" for t in TABLES]


def delete_organizations(c: Cursor, d: Dialect, orgs: Sequence[str]) -> None:
    for t in TABLES:
        c.executemany(d.sql(f"DELETE FROM {{{t.name}}} WHERE org = ?"), [(org,) for org in orgs])


def insert_rows(c: Cursor, d: Dialect, batch: Iterable[OrganizationRows]) -> None:
    batch = list(batch)
    for t, rows in ((SEGMENTS, [r for o in batch for r in o.segments]),
                    (PERIODS, [r for o in batch for r in o.periods]),
                    (FEED, [r for o in batch for r in o.feed])):
        if rows:
            marks = ", ".join("?" * len(t.columns))
            c.executemany(d.sql(f"INSERT INTO {{{t.name}}} ({', '.join(t.columns)}) VALUES ({marks})"), rows)


def replace_organizations(c: Cursor, d: Dialect, batch: Sequence[OrganizationRows]) -> None:
    """Swap in the freshly computed rows of each organization in ``batch``."""
    delete_organizations(c, d, [rows.org for rows in batch])
    insert_rows(c, d, batch)


def table_contents(c: Cursor, d: Dialect, t: Table) -> list[tuple[Any, ...]]:
    c.execute(d.sql(f"SELECT {', '.join(t.columns)} FROM {{{t.name}}} ORDER BY {', '.join(t.key)}"))
    return [tuple(row[col] for col in t.columns) for row in c.fetchall()]
