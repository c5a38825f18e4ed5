"""Rendering plain query results: aligned tables, JSON and CSV. No colour; stable column order.

Tables fit ``TABLE_WIDTH`` columns by default: each table names the columns it shows and the
ones it may clip (the widest first) when the rows are too wide; ``--wide`` shows every column
unclipped. CSV has one fixed header per command (``CSV_COLUMNS``), whatever the rows hold, so
pages of a list can be concatenated; nested values are JSON text in one cell, booleans are
``true``/``false``, a missing value is an empty cell.
"""

from __future__ import annotations

import csv
import io
import json
from operator import methodcaller
from typing import Any, Sequence

STATUS_COLUMNS = (
    "org", "name", "country", "status", "standard", "certificate", "valid_from", "valid_until",
    "certified_since", "consecutive_years", "recertifications", "standard_years", "suspended_since",
    "last_denial", "withdrawn_on", "open_findings",
)
STATUS_TABLE_COLUMNS = (
    "org", "name", "country", "status", "standard", "certificate", "valid_from", "valid_until",
    "certified_since", "consecutive_years", "suspended_since", "last_denial",
)
STATUS_HEADINGS = {
    "consecutive_years": "years", "recertifications": "recerts", "standard_years": "std_years",
    "certified_since": "since", "suspended_since": "suspended", "withdrawn_on": "withdrawn",
    "open_findings": "open_findings",
}
# What a status table shows by default (it fits TABLE_WIDTH); --wide shows WIDE_STATUS_COLUMNS.
NARROW_STATUS_COLUMNS = (
    "org", "name", "country", "status", "standard", "certificate", "valid_until", "consecutive_years",
)
NARROW_STREAK_COLUMNS = (
    "org", "name", "country", "status", "standard", "certified_since", "consecutive_years", "valid_until",
)
WIDE_STATUS_COLUMNS = tuple(dict.fromkeys((*STATUS_TABLE_COLUMNS, "recertifications", "standard_years",
                                           "withdrawn_on", "open_findings")))
TABLE_WIDTH = 100

# ---------------------------------------------------------------- CSV: one fixed header per command

# The status record of SPEC section 8, in its JSON key order (`status`, `registry`, `streaks`).
STATUS_CSV_COLUMNS = (
    "org", "name", "country", "status", "standard", "certificate", "valid_from", "valid_until",
    "certified_since", "consecutive_years", "recertifications", "standard_years", "suspended_since",
    "last_denial", "withdrawn_on", "open_findings", "as_of", "known_at",
)
HISTORY_CSV_COLUMNS = (
    "position", "version", "recorded_at", "recorded_by", "type", "date", "fields", "retracted", "retracted_by",
)
CHANGES_CSV_COLUMNS = (
    "position", "org", "version", "recorded_at", "recorded_by", "type", "date", "fields", "retracted",
    "retracted_by",
)
# One row per listed item: `section` names the list (certified, newly_certified, recertified,
# denied, suspended, withdrawn, expired); the other cells are the item's fields, empty where the
# section has no such field. `from` and `to` repeat the period so that reports concatenate.
REPORT_CSV_COLUMNS = (
    "from", "to", "section", "org", "date", "standard", "consecutive_years", "stage", "reason_category",
    "reason", "mode", "resolve_by", "valid_until",
)
REPORT_CSV_SECTIONS = (
    "certified", "newly_certified", "recertified", "denied", "suspended", "withdrawn", "expired",
)
FINDINGS_CSV_COLUMNS = (
    "id", "audit_date", "audit_reference", "body", "severity", "category", "text", "closed_on", "evidence",
)
# The public registry's certificate check (`/verify`): one row per number asked, in the order asked; `date` is
# the day asked about, `found` false for a number the ledger does not know (its other cells empty).
VERIFY_CSV_COLUMNS = (
    "certificate", "date", "found", "state", "org", "name", "country", "standard", "valid_from", "valid_until",
    "known_at",
)
# `accounts list`: one row per account; `orgs` as a JSON list, as every list cell.
ACCOUNTS_CSV_COLUMNS = ("name", "role", "orgs", "opened_on", "opened_by", "revoked_on", "revoked_by")
CSV_COLUMNS: dict[str, tuple[str, ...]] = {
    "status": STATUS_CSV_COLUMNS,
    "registry": STATUS_CSV_COLUMNS,
    "streaks": STATUS_CSV_COLUMNS,
    "history": HISTORY_CSV_COLUMNS,
    "changes": CHANGES_CSV_COLUMNS,
    "report": REPORT_CSV_COLUMNS,
    "findings": FINDINGS_CSV_COLUMNS,
    "verify": VERIFY_CSV_COLUMNS,
    "accounts list": ACCOUNTS_CSV_COLUMNS,
}


def to_json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)


def cell(value: Any) -> str:
    """A value in a table or a record: dates and numbers as they are, lists and dicts on one line."""
    if value.__class__ is str:  # most cells: a registry over 20,000 organizations has 160,000 of them
        return value
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        if set(value) == {"major", "minor"}:  # open_findings
            return f"{value['major']} major, {value['minor']} minor"
        return " ".join(str(v) for v in value.values() if v is not None)
    if isinstance(value, (list, tuple)):
        return "; ".join(cell(v) for v in value)
    return str(value)


def status_table(rows: Sequence[dict[str, Any]], columns: Sequence[str] = NARROW_STATUS_COLUMNS, *,
                 wide: bool = False) -> str:
    """Statuses as a table narrow enough to read; ``wide``: every column (the full record is in --json and --csv)."""
    columns = WIDE_STATUS_COLUMNS if wide else columns
    if "last_denial" in columns:  # shown as its date and reason category: only then is each row copied
        rows = [{**r, "last_denial": _denial(r.get("last_denial"))} for r in rows]
    return table(rows, columns, STATUS_HEADINGS, wide=wide, shrink=("name", "certificate", "last_denial", "org"))


def _denial(denial: dict[str, Any] | None) -> str | None:
    return f"{denial['date']} {denial['reason_category']}" if denial else None


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str], headings: dict[str, str] | None = None,
          max_width: int | None = None, *, wide: bool = False, width: int = TABLE_WIDTH,
          shrink: Sequence[str] | None = None) -> str:
    """An aligned table of ``columns``.

    Unless ``wide``, each cell is clipped to ``max_width`` (if given), and when the table is still
    wider than ``width``, the ``shrink`` columns (default: all) are clipped, the widest first,
    down to their heading's width. ``wide`` shows every cell whole.
    """
    headings = headings or {}
    header = [headings.get(c, c) for c in columns]
    # Column by column: a registry of 20,000 organizations is 160,000 cells, and each step here is then one
    # pass over a column. Texts are one line already (the ledger refuses control characters); other values
    # are made one.
    cells = [[v if v.__class__ is str else cell(v).replace("\n", " ") for v in map(methodcaller("get", c), rows)]
             for c in columns]
    if not wide and max_width is not None:
        cells = [[_clip(v, max_width) for v in col] for col in cells]
    widths = [max(len(h), max(map(len, col), default=0)) for h, col in zip(header, cells)]
    if not wide:
        fitted = _fit(widths, header, [c in (shrink if shrink is not None else columns) for c in columns], width)
        cells = [col if w == full else [v if len(v) <= w else v[:w - 1] + "…" for v in col]
                 for col, w, full in zip(cells, fitted, widths)]
        widths = fitted
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [line.format(*header).rstrip(), "  ".join("-" * w for w in widths)]
    lines += [line.format(*r).rstrip() for r in zip(*cells)]
    return "\n".join(lines)


def _fit(widths: list[int], header: list[str], shrinkable: list[bool], limit: int) -> list[int]:
    """Column widths whose table (two spaces between columns) fits ``limit``, clipping the widest first."""
    widths = list(widths)
    excess = sum(widths) + 2 * (len(widths) - 1) - limit
    floor = [max(len(h), 3) for h in header]
    while excess > 0:
        candidates = [i for i, ok in enumerate(shrinkable) if ok and widths[i] > floor[i]]
        if not candidates:
            break
        widest = max(candidates, key=lambda i: widths[i])
        others = [widths[i] for i in candidates if i != widest]
        target = max(floor[widest], max(others, default=0), widths[widest] - excess)
        if target >= widths[widest]:
            target = widths[widest] - 1
        excess -= widths[widest] - target
        widths[widest] = target
    return widths


def record(data: dict[str, Any], keys: Sequence[str] | None = None) -> str:
    keys = list(keys or data.keys())
    width = max(len(k) for k in keys)
    return "\n".join(f"{k.ljust(width)}  {_one_line(cell(data.get(k)))}" for k in keys)


# ---------------------------------------------------------------- CSV


def csv_cell(value: Any) -> str:
    """One CSV cell: empty for a missing value, ``true``/``false``, JSON text for lists and dicts."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def to_csv(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """``rows`` under the fixed header ``columns`` (keys not in it are left out, missing ones empty)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_cell(row.get(c)) for c in columns])
    return out.getvalue().rstrip("\n")


def status_csv_columns() -> list[str]:
    return list(STATUS_CSV_COLUMNS)


def report_csv_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """A report as one row per listed item, in the order of ``REPORT_CSV_SECTIONS``."""
    period = {"from": report["from"], "to": report["to"]}
    rows = [{**period, "section": "certified", "org": org, "date": report["to"]} for org in report["certified"]]
    for section in REPORT_CSV_SECTIONS[1:]:
        rows += [{**period, "section": section, **item} for item in report[section]]
    return rows


def _one_line(text: str) -> str:
    return text.replace("\n", " ")


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
