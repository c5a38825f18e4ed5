"""Rendering plain query results: aligned tables, JSON and CSV. No colour; stable column order."""

from __future__ import annotations

import csv
import io
import json
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
    "certified_since": "since", "suspended_since": "suspended",
}


def to_json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)


def cell(value: Any) -> str:
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


def status_table(rows: Sequence[dict[str, Any]]) -> str:
    """Statuses as a table narrow enough to read: the full record is in --json and --csv."""
    shown = [{**r, "last_denial": _denial(r.get("last_denial"))} for r in rows]
    return table(shown, STATUS_TABLE_COLUMNS, STATUS_HEADINGS, max_width=28)


def _denial(denial: dict[str, Any] | None) -> str | None:
    return f"{denial['date']} {denial['reason_category']}" if denial else None


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str], headings: dict[str, str] | None = None,
          max_width: int = 60) -> str:
    headings = headings or {}
    header = [headings.get(c, c) for c in columns]
    body = [[_clip(cell(row.get(c)), max_width) for c in columns] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in body]
    return "\n".join(lines)


def record(data: dict[str, Any], keys: Sequence[str] | None = None) -> str:
    keys = list(keys or data.keys())
    width = max(len(k) for k in keys)
    return "\n".join(f"{k.ljust(width)}  {cell(data.get(k))}" for k in keys)


def flatten(row: dict[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, dict):
            for inner, v in value.items():
                flat[f"{key}_{inner}"] = v
        elif isinstance(value, (list, tuple)):
            flat[key] = json.dumps(value, ensure_ascii=False)
        else:
            flat[key] = value
    return flat


def to_csv(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> str:
    flat = [flatten(r) for r in rows]
    if columns is None:
        columns = []
        for r in flat:
            for k in r:
                if k not in columns:
                    columns.append(k)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for r in flat:
        writer.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in columns})
    return out.getvalue().rstrip("\n")


def status_csv_columns() -> list[str]:
    columns = [c for c in STATUS_COLUMNS if c not in ("last_denial", "withdrawn_on", "open_findings")]
    return columns + ["last_denial_date", "last_denial_stage", "last_denial_reason_category", "last_denial_reason",
                      "withdrawn_on", "open_findings_major", "open_findings_minor", "as_of", "known_at"]


def _clip(text: str, width: int) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"
