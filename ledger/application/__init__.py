"""The application service: the one write pipeline, questions about single organizations, system time.

    ledger        CertificationLedger: wires the pieces to the storage chosen from ``--db``
    recording     decide -> keys -> claims -> chain extras -> store, for commands, files and HTTP lists
    reading       status on a date and history of one organization, as known at any position
    system_time   ``--known-at`` (and ``--as-of``) parsed and resolved
    log           the narrow view of the log that the read models (projections) are given
    accounts      tokens: made once, kept as a slow hash, checked per request
    creation      a new ledger comes into being only with its first committed event

The names below are imported on first use: a command that only reads never loads the write side.
"""

from __future__ import annotations

from ledger.lazy import lazy_exports

_HOMES = {
    "CertificationLedger": "ledger.application.ledger",
    "history_entry": "ledger.application.reading",
    "Options": "ledger.application.recording",
    "Outcome": "ledger.application.recording",
    "Recorded": "ledger.application.recording",
    "current_user": "ledger.application.recording",
    "KnownAt": "ledger.application.system_time",
    "as_of_date": "ledger.application.system_time",
}

__all__ = sorted(_HOMES)
__getattr__ = lazy_exports(__name__, _HOMES)
