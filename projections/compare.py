"""Do the live views agree with a fresh replay of the log? (``verify`` asks this.)"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence
from uuid import UUID
from weakref import WeakKeyDictionary

from ledger.application.log import EventLog
from ledger.errors import StorageError
from projections import tables
from projections.folding import ReplayProgress, by_organizations, fold
from projections.store import ViewStore
from projections.views import Views


def compare_with_rebuild(log: EventLog, progress: ReplayProgress | None = None) -> list[str]:
    """Differences between the live views and a fresh replay of the log to the same position (empty: agree).

    Streamed: a few organizations at a time are replayed and compared with their live rows
    (``compare_organizations``; in worker processes, for a long log: ``projections.folding``), so memory stays
    bounded whatever the size of the ledger.
    """
    views = Views(log)
    views.catch_up_if_writable()  # a read-only ledger: the views as they stand, at the position they track
    store = _stores[log] = views.store  # the batches compared here use it too, not a second one
    with store.reading() as c:
        start = store.tracked_in(c)
        held = {t.name: tables.organizations_in(c, store.dialect, t) for t in tables.TABLES}
    problems: dict[str, list[str]] = {t.name: [] for t in tables.TABLES}
    seen: set[str] = set()
    # The log's organizations are listed after the views were read: every one the views held is among them.
    for compared in by_organizations(log, compare_organizations, (), events=start, progress=progress):
        if compared.position < start:
            raise StorageError("the views were replaced while they were compared (a rebuild under another "
                               "layout?); verify again")
        seen.update(compared.orgs)
        for name, lines in compared.differences.items():
            problems[name] += lines
    for t in tables.TABLES:
        problems[t.name] += [f"{t.name}: {org}: the live view has rows of an organization the log does not hold"
                             for org in held[t.name] if org not in seen]
    return [line for t in tables.TABLES for line in bounded(t, problems[t.name])]


@dataclass(frozen=True)
class Compared:
    """One batch of organizations compared: at which position of the views, which organizations, what differs."""

    position: int
    orgs: list[str]
    differences: dict[str, list[str]]


def compare_organizations(log: EventLog, originators: Sequence[UUID]) -> Compared:
    """These organizations' live rows against a replay of their events to the position the views track, both
    read in one transaction of the views. The position is read again after the rows: views moved on meanwhile
    (a catch-up committed between the reads, which PostgreSQL's read-committed transactions let through) are
    read again, so the rows compared are always those of one position."""
    store = _views_of(log)
    while True:
        with store.reading() as c:
            store.keep_open_while_working(c)  # the transaction waits while the batch is folded
            position = store.tracked_in(c)
            batch = fold(log, originators, position)
            orgs = [folded.org for folded in batch]
            live = {t.name: tables.rows_of(c, store.dialect, t, orgs) for t in tables.TABLES} if orgs else {}
            if store.tracked_in(c) == position:
                break
    fresh: tables.TableRows = {t.name: [] for t in tables.TABLES}
    for folded in batch:
        for name, rows in folded.rows.items():
            fresh[name] += rows
    return Compared(position, orgs, {t.name: table_differences(t, live.get(t.name, []), fresh[t.name])
                                     for t in tables.TABLES})


_stores: WeakKeyDictionary[EventLog, ViewStore] = WeakKeyDictionary()  # one view store per log, batch after batch


def _views_of(log: EventLog) -> ViewStore:
    store = _stores.get(log)
    if store is None:
        store = _stores[log] = Views(log).store
    return store


def bounded(t: tables.Table, lines: list[str], most: int = 10) -> list[str]:
    if len(lines) > most:
        return lines[:most] + [f"{t.name}: ... and {len(lines) - most} more differences"]
    return lines


def table_differences(t: tables.Table, live: list[tuple[Any, ...]], fresh: list[tuple[Any, ...]]) -> list[str]:
    live_rows, fresh_rows = set(live), set(fresh)
    missing = sorted(fresh_rows - live_rows, key=repr)
    extra = sorted(live_rows - fresh_rows, key=repr)
    org_at = t.columns.index("org")
    lines = [f"{t.name}: {row[org_at]}: the replay has {describe_row(t, row)}, the live view does not"
             for row in missing]
    lines += [f"{t.name}: {row[org_at]}: the live view has {describe_row(t, row)}, the replay does not"
              for row in extra]
    return lines


def describe_row(t: tables.Table, row: tuple[Any, ...]) -> str:
    shown = ", ".join(f"{col}={value}" for col, value in zip(t.columns, row) if col not in ("record", "fields"))
    return f"({shown})"
