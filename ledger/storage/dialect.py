"""The one place where SQLite and PostgreSQL spellings differ; every statement is written once, for both.

Statements use ``?`` parameters and ``{name}`` table placeholders; ``Dialect.sql`` qualifies the
names (PostgreSQL schemas) and converts the parameters. The ledger's tables and the views'
tables are both written this way.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Sequence
from uuid import UUID


class _Qualified(dict):  # type: ignore[type-arg]
    def __init__(self, dialect: Dialect):
        super().__init__()
        self.dialect = dialect

    def __missing__(self, name: str) -> str:
        if name == "events":
            name = self.dialect.events_table
        elif name == "position":
            return self.dialect.position
        elif name in dict(self.dialect.types):
            return dict(self.dialect.types)[name]
        return self.dialect.table(name)


@dataclass(frozen=True)
class Dialect:
    """How one database spells parameters, table names, positions, lists and originator ids."""

    name: str
    param: str
    position: str
    events_table: str = "stored_events"
    schema: str | None = None
    clustered_suffix: str = ""
    types: tuple[tuple[str, str], ...] = ()  # what {uuid}, {blob}, {bigint} stand for in CREATE statements

    @lru_cache(maxsize=512)  # noqa: B019 - dialects live as long as the process; statements are few
    def sql(self, statement: str) -> str:
        """``statement`` with ``{table}`` names qualified, ``{events}`` and ``{position}`` filled, ``?`` converted."""
        text = statement.format_map(_Qualified(self))
        return text if self.param == "?" else text.replace("?", self.param)

    def table(self, name: str) -> str:
        return f'"{self.schema}".{name}' if self.schema else name

    def any_of(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        """``column`` is one of ``values``: a condition and its parameters."""
        if self.name == "postgresql":
            return f"{column} = ANY(?)", [list(values)]
        return f"{column} IN ({', '.join('?' * len(values))})", list(values)

    def originator(self, originator_id: UUID) -> Any:
        """An originator id as this database's events table stores it."""
        return originator_id.hex if self.name == "sqlite" else originator_id

    @staticmethod
    def uuid(value: Any) -> UUID:
        return value if isinstance(value, UUID) else UUID(value)


def sqlite(events_table: str = "stored_events") -> Dialect:
    return Dialect("sqlite", "?", "rowid", events_table, clustered_suffix=" WITHOUT ROWID",
                   types=(("uuid", "TEXT"), ("blob", "BLOB"), ("bigint", "INTEGER")))


def postgres(schema: str, events_table: str = "stored_events") -> Dialect:
    return Dialect("postgresql", "%s", "notification_id", events_table, schema,
                   types=(("uuid", "uuid"), ("blob", "bytea"), ("bigint", "bigint")))


SQLITE = sqlite()
