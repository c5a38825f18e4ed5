"""Fill a ledger fast through the application's own code path, many organizations per transaction.

Each organization's commands are decided and legality-checked by its aggregate exactly as
``CertificationLedger.record`` does, keyed the same way, and saved with the same extras
(hash chain, keys, certificate claims); only the transactions are larger. The projections
are caught up at the end.
"""

from __future__ import annotations

from itertools import groupby
from typing import Any, Iterable

from ledger import commands as cmd
from ledger.application import CertificationLedger
from ledger.organization import Organization
from projections import Views

BATCH_EVENTS = 5000


def load(ledger: CertificationLedger, commands: Iterable[dict[str, Any]], *, by: str = "bench",
         batch_events: int = BATCH_EVENTS, views: bool = True) -> int:
    """Record ``commands`` (organization after organization) and return how many events were stored."""
    stored = 0
    batch: list[Organization] = []
    extras: dict[Any, Any] = {}
    for _, org_commands in groupby(commands, key=lambda c: c["org"]):
        aggregate = organization_of(ledger, list(org_commands), by, extras)
        batch.append(aggregate)
        stored += len(aggregate.pending_events)
        if sum(len(a.pending_events) for a in batch) >= batch_events:
            ledger.save(*batch, extras=extras)
            batch, extras = [], {}
    if batch:
        ledger.save(*batch, extras=extras)
    if views:
        Views(ledger).catch_up()
    return stored


def organization_of(ledger: CertificationLedger, commands: list[dict[str, Any]], by: str,
                    extras: dict[Any, Any]) -> Organization:
    """A new organization's aggregate with every command of ``commands`` decided and recorded (not saved)."""
    first = cmd.parse_command(commands[0])
    if not isinstance(first, cmd.Register):
        raise ValueError(f"{first.org}: the loader takes whole organizations, starting with their registration")
    probe = Organization.register(first, by, key="")
    aggregate = Organization.register(first, by, key=cmd.command_key(probe.events[0].command_fields(), 0))
    occurrences: dict[str, int] = {}
    for data in commands[1:]:
        candidate = aggregate.decide(cmd.parse_command(data), by)
        fields = cmd.canonical_json(ledger.key_fields(first.org, candidate))
        occurrence = occurrences.get(fields, 0)
        occurrences[fields] = occurrence + 1
        aggregate.record(candidate, cmd.command_key(ledger.key_fields(first.org, candidate), occurrence))
    for event in aggregate.pending_events:
        extras[(event.originator_id, event.originator_version)] = ledger.extras_for(aggregate, event)
    return aggregate


def main(argv: list[str]) -> int:
    """``python loader.py DB FILE``: load the import lines of FILE into DB; print the number of events."""
    from fixtures import read_jsonl

    db, source = argv
    ledger = CertificationLedger(db)
    print(load(ledger, read_jsonl(source)))
    ledger.close()
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
