"""The read side: registry questions answered from views kept in the ledger's own database.

    views = Views(ledger.log)
    views.registry(as_of="2019-12-31", statuses=["certified"])
    views.streaks()
    views.report("2019-01-01", "2019-12-31")
    views.changes(since=0, limit=100)

The names below are imported on first use, so that a command which needs only a small part of
the read side (an answer type, say) does not pay for loading all of it.
"""

from __future__ import annotations

from ledger.lazy import lazy_exports

_HOMES = {
    "Progress": "projections.runner",
    "RebuildSummary": "projections.views",
    "Views": "projections.views",
    "compare_with_rebuild": "projections.compare",
}

__all__ = sorted(_HOMES)
__getattr__ = lazy_exports(__name__, _HOMES)
