"""The read side: registry questions answered from views kept in the ledger's own database.

    views = Views(ledger.log)
    views.registry(as_of="2019-12-31", statuses=["certified"])
    views.streaks()
    views.report("2019-01-01", "2019-12-31")
    views.changes(since=0, limit=100)
"""

from projections.runner import Progress
from projections.compare import compare_with_rebuild
from projections.views import RebuildSummary, Views

__all__ = ["Progress", "RebuildSummary", "Views", "compare_with_rebuild"]
