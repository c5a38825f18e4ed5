"""The event feed: every recorded event after a position, in position order."""

from __future__ import annotations

import json
from typing import Any

from projections.tables import Cursor, Dialect


def changes(c: Cursor, d: Dialect, since: int, limit: int, upto: int | None = None) -> list[dict[str, Any]]:
    """Events at positions > ``since`` (and <= ``upto``), at most ``limit``; each a history entry plus ``org``.

    A retraction recorded after ``upto`` was not known then, so it does not mark its target.
    """
    where = "position > ?"
    params: list[Any] = [since]
    if upto is not None:
        where += " AND position <= ?"
        params.append(upto)
    params.append(limit)
    c.execute(d.sql(f"SELECT * FROM {{event_feed}} WHERE {where} ORDER BY position LIMIT ?"), params)
    return [feed_entry(row, upto) for row in c.fetchall()]


def feed_entry(row: Any, upto: int | None) -> dict[str, Any]:
    known = row["retracted_at"] is not None and (upto is None or row["retracted_at"] <= upto)
    return {
        "position": row["position"],
        "org": row["org"],
        "version": row["version"],
        "recorded_at": row["recorded_at"],
        "recorded_by": row["recorded_by"],
        "type": row["type"],
        "date": row["date"],
        "fields": json.loads(row["fields"]),
        "retracted": known,
        "retracted_by": row["retracted_by"] if known else None,
    }
