"""Export: every organization's event in position order, as import lines with their read-only metadata.

Accounts' events are left out: an account is opened at the command line, with a token that no
file may carry, so an export has no line that could open it again.

Values are the resolved ones stored in the events (standard, certificate, valid_until,
mode), never derived ones (stage, valid_from), so importing an export into an empty
ledger replays the same commands in the same order.
"""

from __future__ import annotations

import os
import sys
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator
from uuid import UUID

from ledger.errors import InvalidInput
from ledger.domain.accounts import ACCOUNT_TOPICS
from ledger.domain.events import OrganizationEvent
from ledger.transfer.line_files import format_of, write_csv, write_jsonl

if TYPE_CHECKING:
    from ledger.application import CertificationLedger

BATCH_SIZE = 1000
MAX_CACHED_SLUGS = 100_000


def export_lines(ledger: CertificationLedger, *, batch_size: int = BATCH_SIZE) -> Iterator[dict[str, Any]]:
    """Every event in position order, in the import format plus its read-only metadata.

    Streams in batches; the positions are fixed when the export starts, so events recorded
    meanwhile are left out.
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


def export_line(org: str, event: OrganizationEvent, position: int, recorded_at: str | None) -> dict[str, Any]:
    fields = event.command_fields()
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


def export_file(ledger: CertificationLedger, path: str, *, fmt: str | None = None) -> int:
    """Write the export to ``path`` (``-``: standard output); a file appears only when complete."""
    fmt = format_of(path, fmt)
    write = write_csv if fmt == "csv" else write_jsonl
    if path == "-":
        return write(export_lines(ledger), sys.stdout)
    target = Path(path)
    partial = target.with_name(f".{target.name}.partial")
    try:
        with open(partial, "w", encoding="utf-8", newline="") as out:
            count = write(export_lines(ledger), out)
        os.replace(partial, target)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise InvalidInput(f"cannot write {path}: {error.strerror}") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return count
