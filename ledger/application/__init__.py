"""The application service: the one write pipeline, questions about single organizations, system time.

    ledger        CertificationLedger: wires the pieces to the storage chosen from ``--db``
    recording     decide -> keys -> claims -> chain extras -> store, for commands, files and HTTP lists
    reading       status on a date and history of one organization, as known at any position
    system_time   ``--known-at`` (and ``--as-of``) parsed and resolved
    log           the narrow view of the log that the read models (projections) are given
"""

from ledger.application.ledger import CertificationLedger
from ledger.application.reading import history_entry
from ledger.application.recording import Options, Outcome, Recorded, current_user
from ledger.application.system_time import KnownAt, as_of_date

__all__ = ["CertificationLedger", "KnownAt", "Options", "Outcome", "Recorded", "as_of_date", "current_user",
           "history_entry"]
