"""What happened in a period: the yearly report of SPEC section 8."""

from __future__ import annotations

from datetime import date
from typing import Any

from projections.jsontext import from_json
from projections.registry import registry
from projections.tables import Cursor, Dialect, alive

SECTION_OF_TYPE = {
    "CertificationGranted": "newly_certified",
    "Recertified": "recertified",
    "CertificationDenied": "denied",
    "CertificationSuspended": "suspended",
    "CertificationWithdrawn": "withdrawn",
}


def report(c: Cursor, d: Dialect, start: date, end: date, known: int) -> dict[str, Any]:
    """Counts and lists for ``start``..``end`` (both included) as known at position ``known``; retracted events
    never appear."""
    certified = [record["org"] for record in registry(c, d, end, known, statuses=("certified",))]
    result: dict[str, Any] = {
        "from": start.isoformat(), "to": end.isoformat(),
        "certified_at_end": len(certified), "certified": certified,
        "newly_certified": [], "recertified": [], "denied": [], "suspended": [], "withdrawn": [], "expired": [],
    }
    f_alive, f_params = alive("f", known)
    c.execute(d.sql("SELECT f.type AS type, f.report AS report FROM {event_feed} AS f WHERE f.in_effect = 1 "
                    f"AND f.report IS NOT NULL AND f.date >= ? AND f.date <= ? AND {f_alive} "
                    "ORDER BY f.date, f.position"), [start.isoformat(), end.isoformat(), *f_params])
    for row in c.fetchall():
        result[SECTION_OF_TYPE[row["type"]]].append(from_json(row["report"]))
    p_alive, p_params = alive("p", known)
    c.execute(d.sql("SELECT p.org AS org, p.ended_on AS ended_on, p.valid_until AS valid_until "
                    "FROM {certification_periods} AS p WHERE p.end_reason = 'expired' AND p.ended_on >= ? "
                    f"AND p.ended_on <= ? AND {p_alive} ORDER BY p.ended_on, p.org"),
              [start.isoformat(), end.isoformat(), *p_params])
    result["expired"] = [{"org": row["org"], "date": row["ended_on"], "valid_until": row["valid_until"]}
                         for row in c.fetchall()]
    return result
