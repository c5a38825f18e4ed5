"""Do the live views agree with a fresh replay of the log? (``verify`` asks this.)"""

from __future__ import annotations

from typing import Any

from ledger.application.log import EventLog
from ledger.errors import StorageError
from projections import tables
from projections.runner import ReplayProgress, replay
from projections.views import Views, cannot_write, scratch


def compare_with_rebuild(log: EventLog, progress: ReplayProgress | None = None) -> list[str]:
    """Differences between the live views and a fresh replay of the log to the same position (empty: agree)."""
    views = Views(log)
    try:
        views.catch_up()
    except StorageError as error:
        if not cannot_write(error):
            raise
        # A read-only ledger: compare the views as they stand, at the position they track.
    position, live = views.store.snapshot()
    with scratch(replay(log, position, progress=progress)) as c:
        fresh = {t.name: tables.table_contents(c, tables.SQLITE, t) for t in tables.TABLES}
    problems: list[str] = []
    for t in tables.TABLES:
        problems += table_differences(t, live[t.name], fresh[t.name])
    return problems


def table_differences(t: tables.Table, live: list[tuple[Any, ...]], fresh: list[tuple[Any, ...]],
                      most: int = 10) -> list[str]:
    live_rows, fresh_rows = set(live), set(fresh)
    missing = sorted(fresh_rows - live_rows, key=repr)
    extra = sorted(live_rows - fresh_rows, key=repr)
    org_at = t.columns.index("org")
    lines = [f"{t.name}: {row[org_at]}: the replay has {describe_row(t, row)}, the live view does not"
             for row in missing]
    lines += [f"{t.name}: {row[org_at]}: the live view has {describe_row(t, row)}, the replay does not"
              for row in extra]
    if len(lines) > most:
        lines = lines[:most] + [f"{t.name}: ... and {len(lines) - most} more differences"]
    return lines


def describe_row(t: tables.Table, row: tuple[Any, ...]) -> str:
    shown = ", ".join(f"{col}={value}" for col, value in zip(t.columns, row) if col not in ("record", "fields"))
    return f"({shown})"
