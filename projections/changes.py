"""The event feed: every recorded event after a position, in position order."""

from __future__ import annotations

from typing import Any

from projections.jsontext import from_json
from projections.tables import Cursor, Dialect, alive


def changes(c: Cursor, d: Dialect, since: int, limit: int, upto: int) -> list[dict[str, Any]]:
    """Events at positions > ``since`` and <= ``upto``, at most ``limit``, as known at ``upto``; each a history
    entry plus ``org`` (a retraction recorded after ``upto`` was not known then, so it marks nothing)."""
    f_alive, f_params = alive("f", upto)
    c.execute(d.sql(f"SELECT * FROM {{event_feed}} AS f WHERE f.position > ? AND f.position <= ? AND {f_alive} "
                    "ORDER BY f.position LIMIT ?"), [since, upto, *f_params, limit])
    return [feed_entry(row) for row in c.fetchall()]


def feed_entry(row: Any) -> dict[str, Any]:
    known = row["retracted_by"] is not None
    return {
        "position": row["position"],
        "org": row["org"],
        "version": row["version"],
        "recorded_at": row["recorded_at"],
        "recorded_by": row["recorded_by"],
        "type": row["type"],
        "date": row["date"],
        "fields": from_json(row["fields"]),
        "retracted": known,
        "retracted_by": row["retracted_by"] if known else None,
    }
