"""Do the live views agree with a fresh replay of the log? (``verify`` asks this.)"""

from __future__ import annotations

from typing import Any

from ledger.application.log import EventLog
from projections import tables
from projections.rows import versions
from projections.runner import ReplayProgress, replay_batches
from projections.views import Views


def compare_with_rebuild(log: EventLog, progress: ReplayProgress | None = None) -> list[str]:
    """Differences between the live views and a fresh replay of the log to the same position (empty: agree).

    Streamed: a few organizations at a time are replayed and compared with their live rows, all read
    in one transaction of the views, so memory stays bounded whatever the size of the ledger.
    """
    views = Views(log)
    views.catch_up_if_writable()  # a read-only ledger: the views as they stand, at the position they track
    store = views.store
    problems: dict[str, list[str]] = {t.name: [] for t in tables.TABLES}
    with store.reading() as c:
        store.keep_open_while_working(c)
        position = store.tracked_in(c)
        seen: set[str] = set()
        for batch in replay_batches(log, position, progress=progress):
            orgs = [entries[0].event.org for entries in batch]
            seen.update(orgs)
            fresh = {t.name: [] for t in tables.TABLES}  # type: dict[str, list[tuple[Any, ...]]]
            for entries in batch:
                for version in versions(entries):
                    fresh[version.table].append(version.stored())
            for t in tables.TABLES:
                live = tables.rows_of(c, store.dialect, t, orgs)
                problems[t.name] += table_differences(t, live, fresh[t.name])
        for t in tables.TABLES:
            problems[t.name] += [f"{t.name}: {org}: the live view has rows of an organization the log does not hold"
                                 for org in tables.organizations_in(c, store.dialect, t) if org not in seen]
    return [line for t in tables.TABLES for line in bounded(t, problems[t.name])]


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
