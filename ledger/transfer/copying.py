"""Moving up: copy a ledger into an empty one (SQLite to PostgreSQL, or back).

Every event row is copied as stored (originator id, version, topic, state bytes, hence the
recorded timestamp and recorded_by inside it) at its original position, with the recorded_at
of its chain entry. The target's chain is recomputed on insert and must end in the source's
chain head, so both ledgers answer every ``--as-of`` / ``--known-at`` question alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable
from uuid import UUID

from ledger.errors import IntegrityFailure, LedgerError
from ledger.domain.events import EntryRetracted
from ledger.domain.organization import claimed_number
from ledger.domain.values import certificate_key
from ledger.storage import ChainEntry, EventExtras, StoredRow, describe

if TYPE_CHECKING:
    from ledger.application import CertificationLedger

BATCH_SIZE = 500
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class CopyReport:
    events: int
    last_position: int
    head: ChainEntry | None


class TargetNotEmpty(LedgerError):
    """Copying only ever fills an empty ledger: it never merges two."""


def copy_ledger(source: CertificationLedger, target: CertificationLedger, *, progress: Progress | None = None,
                batch_size: int = BATCH_SIZE) -> CopyReport:
    """Copy every event recorded in ``source`` up to now into the empty ``target``.

    ``progress(position, last)`` is called after each batch. Events recorded in the source while
    the copy runs are left out (the copy is the ledger as known when it started).
    """
    if target.storage.max_position():
        raise TargetNotEmpty(f"target {describe(target.db)} is not empty: copy only into an empty ledger")
    upto = source.storage.max_position()
    certificates: dict[tuple[UUID, int], str] = {}
    copied, after = 0, 0
    while rows := source.storage.select_rows(after, batch_size, upto):
        try:
            target.storage.insert_copied(rows, extras_of(source, rows, certificates))
        except LedgerError:
            raise
        except Exception as error:  # noqa: BLE001 - explain what is left behind, whatever failed
            raise LedgerError(f"copy to {describe(target.db)} failed after {copied} events ({error}); the target "
                              "holds a partial copy: empty it before trying again") from None
        copied += len(rows)
        after = rows[-1].position
        if progress:
            progress(after, upto)
    source_head, target_head = source.storage.chain_head(), target.storage.chain_head()
    if copied and (source_head is None or target_head is None or target_head.entry_hash != source_head.entry_hash
                   or target_head.seq != source_head.seq):
        raise IntegrityFailure(f"copy to {describe(target.db)} ends in a different chain head than the source; "
                               "run verify on the source")
    return CopyReport(copied, after, target_head)


def extras_of(source: CertificationLedger, rows: list[StoredRow],
              certificates: dict[tuple[UUID, int], str]) -> dict[tuple[UUID, int], EventExtras]:
    """What the source wrote beside each row: its key, its recorded_at, its certificate claim or release.

    ``certificates`` remembers the claims seen so far, for the retractions that release them.
    """
    stamps = source.storage.recorded_at([row.position for row in rows])
    extras = {}
    for row in rows:
        if row.position not in stamps:
            raise IntegrityFailure(f"the source has no chain entry for position {row.position}; run verify")
        event = source.mapper.to_domain_event(row.stored_event())
        claim = release = None
        number = claimed_number(event)
        if number is not None:
            claim = certificates[(row.originator_id, row.originator_version)] = certificate_key(number)
        if isinstance(event, EntryRetracted):
            release = certificates.get((row.originator_id, event.target))
        extras[(row.originator_id, row.originator_version)] = EventExtras(
            key=event.key, recorded_at=stamps[row.position], certificate_claim=claim, certificate_release=release)
    return extras
