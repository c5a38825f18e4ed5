"""Export: every organization's event in position order, as import lines with their read-only metadata.

Accounts' events are left out: an account is opened at the command line, with a token that no
file may carry, so an export has no line that could open it again.

Values are the resolved ones stored in the events (standard, certificate, valid_until,
mode), never derived ones (stage, valid_from), so importing an export into an empty
ledger replays the same commands in the same order.
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Callable, Iterator
from uuid import UUID

from ledger.domain.names import ACCOUNT_TOPICS
from ledger.domain.events import OrganizationEvent
from ledger.transfer.files import refuse_existing, write_whole
from ledger.transfer.line_files import format_of, write_csv, write_jsonl

if TYPE_CHECKING:
    from ledger.application import CertificationLedger

BATCH_SIZE = 1000
MAX_CACHED_SLUGS = 100_000


def export_lines(ledger: CertificationLedger, *, batch_size: int = BATCH_SIZE,
                 progress: Callable[[int, int], None] | None = None) -> Iterator[dict[str, Any]]:
    """Every event in position order, in the import format plus its read-only metadata.

    Streams in batches; the positions are fixed when the export starts, so events recorded
    meanwhile are left out. ``progress(position, last position)`` follows the batches.
    """
    storage = ledger.storage
    upto = storage.max_position()
    slugs: OrderedDict[UUID, str] = OrderedDict()
    after = 0
    while after < upto:
        rows = storage.select_rows(after, batch_size, upto)
        if not rows:
            break
        stamps = storage.recorded_at([row.position for row in rows])
        for row in rows:
            if row.topic in ACCOUNT_TOPICS:
                continue  # accounts are given at the command line, never imported: no line for them
            event = ledger.mapper.to_domain_event(row.stored_event())
            yield export_line(_slug_of(ledger, slugs, event), event, row.position, stamps.get(row.position))
        after = rows[-1].position
        if progress is not None:
            progress(after, upto)


def export_line(org: str, event: OrganizationEvent, position: int, recorded_at: str | None) -> dict[str, Any]:
    fields = event.export_fields()  # not its key's fields: a renewal's key leaves out the number it keeps
    line: dict[str, Any] = {"command": fields.pop("command"), "org": org}
    fields.pop("org", None)
    line.update(fields)
    line.update(position=position, version=event.originator_version, recorded_at=recorded_at,
                recorded_by=event.recorded_by)
    return line


def _slug_of(ledger: CertificationLedger, slugs: OrderedDict[UUID, str], event: OrganizationEvent) -> str:
    originator_id = event.originator_id
    slug = slugs.get(originator_id)
    if slug is None:
        registration = event if event.originator_version == 1 else ledger.mapper.to_domain_event(
            ledger.storage.select_org_rows(originator_id)[0].stored_event())
        slug = registration.org
        slugs[originator_id] = slug
        if len(slugs) > MAX_CACHED_SLUGS:
            slugs.popitem(last=False)
    return slug


def export_file(ledger: CertificationLedger, path: str, *, fmt: str | None = None, replace: bool = False,
                progress: Callable[[int, int], None] | None = None) -> int:
    """Write the export to ``path`` (``-``: standard output); a file appears only when complete, and
    replaces an existing one only if ``replace``."""
    fmt = format_of(path, fmt)
    write = write_csv if fmt == "csv" else write_jsonl
    if path == "-":
        return write(export_lines(ledger, progress=progress), sys.stdout)
    if not replace:
        refuse_existing(path)
    return write_whole(path, lambda out: write(export_lines(ledger, progress=progress), out), replace=replace)
