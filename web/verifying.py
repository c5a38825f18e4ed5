"""Checking a list of certificates (``POST /api/verify`` and the ``/verify`` page): reading the list, bounded.

The API takes ``{"certificates": [{"certificate": NO, "date": D?}, ...]}``; the page takes lines
``certificate[,date]``, pasted or uploaded as a CSV file (a header row is optional). Both become the
same entries for ``LedgerService.verify_certificates``, which answers one certificate per entry, in
order, all as known at one ledger position. At most ``MAX_CERTIFICATES`` at once: more is 413, as is
an uploaded file over ``MAX_UPLOAD`` bytes; anything malformed is 400 with a message naming where.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any, Sequence

from starlette.exceptions import HTTPException

from ledger.domain.values import parse_date
from ledger.errors import InvalidInput
from ledger.transfer.strict_json import strict_json
from projections.views import check_number

MAX_CERTIFICATES = 1000
MAX_UPLOAD = 512 * 1024
BODY_SHAPE = '{"certificates": [{"certificate": NUMBER, "date": DATE (optional)}, ...]}'
HEADER_NAMES = {"certificate", "number", "certificate_number"}
DATE_NAMES = {"date", "as_of"}

Entry = dict[str, Any]


def too_many(count: int) -> HTTPException:
    return HTTPException(413, f"at most {MAX_CERTIFICATES} certificates at once (got {count})")


def entries_of_body(body: bytes) -> list[Entry]:
    """The entries of an API request body; the entries themselves are checked by the service."""
    try:
        # Decoded here: given bytes, json.loads would also take UTF-16 and UTF-32, which no other body here is read in.
        document = strict_json(body.decode("utf-8").removeprefix("\ufeff"))
    except UnicodeDecodeError as error:
        raise InvalidInput(f"request body: not UTF-8 text (byte {error.start}); expected {BODY_SHAPE}") from None
    except json.JSONDecodeError:
        raise InvalidInput(f"request body: not JSON; expected {BODY_SHAPE}") from None
    except RecursionError:
        raise InvalidInput(f"request body: nested too deeply; expected {BODY_SHAPE}") from None
    except ValueError as error:  # a key given twice, NaN, a number too long
        raise InvalidInput(f"request body: not JSON this ledger reads ({error}); expected {BODY_SHAPE}") from None
    if not isinstance(document, dict) or set(document) != {"certificates"} or \
            not isinstance(document["certificates"], list):
        raise InvalidInput(f"request body: expected {BODY_SHAPE}")
    entries = document["certificates"]
    if len(entries) > MAX_CERTIFICATES:
        raise too_many(len(entries))
    return entries


def entries_of_text(text: str, where: str = "line") -> tuple[list[Entry], list[int]]:
    """The entries of lines ``certificate[,date]`` (CSV: a number holding a comma is quoted), and the line
    each came from. A first row naming its columns (``certificate``, ``date``) is a header, and then
    other columns are left out (so this page's own CSV download can be checked again); blank lines are
    skipped. Each number and date is checked here, so that a refusal names its line."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    rows: list[tuple[int, list[str]]] = []
    try:
        start = 1
        for row in reader:
            if any(cell.strip() for cell in row):
                rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error as error:
        raise InvalidInput(f"{where} {reader.line_num}: not CSV ({error})") from None
    columns: tuple[int, int | None] = (0, 1)
    first = [cell.strip().casefold() for cell in rows[0][1]] if rows else []
    if any(name in HEADER_NAMES for name in first):  # a header, its columns in any order
        rows.pop(0)
        dates = [i for i, name in enumerate(first) if name in DATE_NAMES]
        columns = (next(i for i, name in enumerate(first) if name in HEADER_NAMES), dates[0] if dates else None)
    elif rows:
        number, widest = max(rows, key=lambda numbered: len(numbered[1]))
        if len(widest) > 2:
            raise InvalidInput(f"{where} {number}: expected certificate[,date] (got {len(widest)} values)")
    if len(rows) > MAX_CERTIFICATES:
        raise too_many(len(rows))
    return [entry_of(row, *columns, f"{where} {number}") for number, row in rows], [number for number, _ in rows]


def entry_of(row: Sequence[str], at: int, date_at: int | None, where: str) -> Entry:
    number = row[at] if at < len(row) else ""  # a short row under a header whose numbers are not first
    try:
        check_number(number)
    except InvalidInput as error:
        raise InvalidInput(f"{where}: {error}") from None
    entry: Entry = {"certificate": number.strip()}
    day = row[date_at].strip() if date_at is not None and date_at < len(row) else ""
    if day:
        try:
            entry["date"] = parse_date(day).isoformat()
        except ValueError as error:
            raise InvalidInput(f"{where}: date: {error}") from None
    return entry


def decode_upload(data: bytes) -> str:
    if len(data) > MAX_UPLOAD:
        raise HTTPException(413, f"the file is larger than {MAX_UPLOAD // 1024} KiB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("file: not UTF-8 text (save the CSV as UTF-8)") from None


def lines_of(entries: Sequence[Entry]) -> str:
    """Entries as the lines the page's text box holds."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for entry in entries:
        writer.writerow([entry["certificate"], *([entry["date"]] if entry.get("date") else [])])
    return out.getvalue()


def csv_rows(items: Sequence[dict[str, Any]], entries: Sequence[Entry], default_day: str, seen: str
             ) -> list[dict[str, Any]]:
    """The answers as table rows: each with the day it was asked about, whether the number was found, and the
    instant the registry answered as of (the same for all)."""
    return [{**item, "date": item.get("as_of") or entry.get("date") or default_day, "found": item.get("found", True),
             "known_at": item.get("known_at") or seen} for item, entry in zip(items, entries)]
