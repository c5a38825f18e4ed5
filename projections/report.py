"""What happened in a period: the yearly report of SPEC section 8."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from projections.registry import registry
from projections.tables import Cursor, Dialect

SECTION_OF_TYPE = {
    "CertificationGranted": "newly_certified",
    "Recertified": "recertified",
    "CertificationDenied": "denied",
    "CertificationSuspended": "suspended",
    "CertificationWithdrawn": "withdrawn",
}


def report(c: Cursor, d: Dialect, start: date, end: date) -> dict[str, Any]:
    """Counts and lists for ``start``..``end`` (both included); retracted events never appear."""
    certified = [record["org"] for record in registry(c, d, end, statuses=("certified",))]
    result: dict[str, Any] = {
        "from": start.isoformat(), "to": end.isoformat(),
        "certified_at_end": len(certified), "certified": certified,
        "newly_certified": [], "recertified": [], "denied": [], "suspended": [], "withdrawn": [], "expired": [],
    }
    c.execute(d.sql("SELECT type, report FROM {event_feed} "
                    "WHERE in_effect = 1 AND report IS NOT NULL AND date >= ? AND date <= ? ORDER BY date, position"),
              [start.isoformat(), end.isoformat()])
    for row in c.fetchall():
        result[SECTION_OF_TYPE[row["type"]]].append(json.loads(row["report"]))
    c.execute(d.sql("SELECT org, ended_on, valid_until FROM {certification_periods} "
                    "WHERE end_reason = 'expired' AND ended_on >= ? AND ended_on <= ? ORDER BY ended_on, org"),
              [start.isoformat(), end.isoformat()])
    result["expired"] = [{"org": row["org"], "date": row["ended_on"], "valid_until": row["valid_until"]}
                         for row in c.fetchall()]
    return result
