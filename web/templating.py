"""Templates (Jinja2, every value escaped) and the few helpers the pages share.

A page is a query: its URL holds every parameter, and links keep the chosen point in time
(``as_of``, ``known_at``), so a page can be linked, bookmarked and cached like an API answer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from web.params import LONG_LIVED, pinned_request, route_parameters

HERE = Path(__file__).resolve().parent
TIME_PARAMETERS = ("as_of", "known_at")

STATUS_LABELS = {
    "certified": "✓ Certified",
    "suspended": "‖ Suspended",
    "expired": "○ Expired",
    "withdrawn": "✕ Withdrawn",
    "registered": "· Registered",
}
STATE_LABELS = {
    "valid": "✓ Valid",
    "suspended": "‖ Suspended",
    "withdrawn": "✕ Withdrawn",
    "superseded": "↻ Superseded",
    "expired": "○ Expired",
    "not-yet-valid": "… Not yet valid",
    "not-found": "? Not found",
}
# What each state tells a buyer (SPEC section 9), said once for the page and the table.
STATE_MEANINGS = {
    "valid": "one of its periods covers this day and the organization was certified",
    "suspended": "one of its periods covers this day, but the certificate was suspended: not valid while suspended",
    "withdrawn": "the certification that carried this number was withdrawn on or before this day",
    "superseded": "its last period ended before this day; the organization's certification continues under "
                  "another certificate number",
    "expired": "its last period ended before this day, with no renewal under this number",
    "not-yet-valid": "its first period starts after this day",
    "not-found": "the registry holds no certificate with this number",
}
STANDARD_NAMES = {"fairmined": "Fairmined Gold", "ecological": "Fairmined Ecological Gold"}
EVENT_LABELS = {
    "OrganizationRegistered": "Registered",
    "AuditConducted": "Audit conducted",
    "CertificationGranted": "Certification granted",
    "Recertified": "Recertified",
    "CertificationDenied": "Certification denied",
    "CertificationSuspended": "Certification suspended",
    "SuspensionLifted": "Suspension lifted",
    "ValidityExtended": "Validity extended",
    "CertificationWithdrawn": "Certification withdrawn",
    "OrganizationDetailsCorrected": "Details corrected",
    "FindingClosed": "Finding closed",
    "EntryRetracted": "Entry retracted",
    "AccountOpened": "Account opened",
    "AccountRevoked": "Account revoked",
}


def time_of(request: Request) -> dict[str, str]:
    """The point in time the visitor chose (as given), to carry along every link."""
    return {name: request.query_params[name] for name in TIME_PARAMETERS if request.query_params.get(name)}


def link(request: Request, path: str, **params: Any) -> str:
    """``path`` with the chosen point in time and ``params`` (None and blank values left out)."""
    chosen: dict[str, Any] = {**time_of(request), **params}
    pairs = [(name, v) for name, value in chosen.items()
             for v in (value if isinstance(value, (list, tuple)) else [value]) if v not in (None, "")]
    return f"{path}?{urlencode(pairs)}" if pairs else path


def org_path(org: str) -> str:
    return f"/organizations/{quote(org, safe='')}"


def certificate_path(number: str) -> str:
    """A certificate number as one path segment (a number may hold any printable character, ``/`` too)."""
    return quote(number, safe="")


def here(request: Request) -> str:
    """This page's path as the client sent it, still percent-encoded: decoded, a certificate number holding
    ``/``, ``#``, ``?`` or ``%`` would name another page."""
    raw = request.scope.get("raw_path")
    return raw.decode("ascii", "replace") if isinstance(raw, bytes) and raw else quote(request.url.path)


def own_parameters(request: Request) -> list[tuple[str, str]]:
    """The query parameters this page takes, as given. Others (a tracker's, or a token pasted into the address by
    mistake) are ignored by the page, and its links and forms do not carry them on."""
    taken = route_parameters(request) or set()
    return [(k, v) for k, v in request.query_params.multi_items() if k in taken]


def here_without(request: Request, *names: str) -> str:
    pairs = [(k, v) for k, v in own_parameters(request) if k not in names]
    return f"{here(request)}?{urlencode(pairs)}" if pairs else here(request)


def kept(request: Request) -> list[tuple[str, str]]:
    """The page's own parameters, for the hidden fields of the point-in-time form."""
    return [(k, v) for k, v in own_parameters(request) if k not in TIME_PARAMETERS]


def details(fields: Mapping[str, Any]) -> list[tuple[str, str]]:
    """An event's fields as (name, text) pairs, empty ones left out."""
    shown = []
    for name, value in fields.items():
        if value in (None, "", [], ()):
            continue
        if isinstance(value, list):
            text = "; ".join(" · ".join(str(v) for v in item.values()) if isinstance(item, dict) else str(item)
                             for item in value)
        elif isinstance(value, dict):
            text = " · ".join(str(v) for v in value.values() if v is not None)
        else:
            text = str(value)
        shown.append((name.replace("_", " "), text))
    return shown


def instant(text: str | None) -> str:
    """``2020-01-15T23:59:59.999999Z`` as ``2020-01-15 23:59:59 UTC``."""
    if not text:
        return ""
    return f"{text[:10]} {text[11:19]} UTC" if len(text) >= 19 and text[10] == "T" else text


templates = Jinja2Templates(directory=str(HERE / "templates"))
# Every template is HTML or XML (the Atom feed among them): escape every value, whatever the file's ending.
templates.env.autoescape = True
templates.env.globals.update(link=link, org_path=org_path, certificate_path=certificate_path,
                             here=here, here_without=here_without, kept=kept, STATUS_LABELS=STATUS_LABELS,
                             STATE_LABELS=STATE_LABELS, STATE_MEANINGS=STATE_MEANINGS,
                             STANDARD_NAMES=STANDARD_NAMES, EVENT_LABELS=EVENT_LABELS)
templates.env.filters.update(details=details, instant=instant)
templates.env.trim_blocks = True
templates.env.lstrip_blocks = True


def render(request: Request, name: str, context: dict[str, Any], *, position: int | None = None,
           status_code: int = 200, headers: dict[str, str] | None = None, media_type: str | None = None) -> Response:
    headers = dict(headers or {})
    if position is not None:
        headers["X-Ledger-Position"] = str(position)
        if status_code == 200 and pinned_request(request, position):
            headers.setdefault("Cache-Control", LONG_LIVED)  # a page about a fixed day and position, as the API's
    chosen = time_of(request)
    page = {"as_of": chosen.get("as_of"), "known_at": chosen.get("known_at"), "position": position, **context}
    return templates.TemplateResponse(request, name, page, status_code=status_code, headers=headers,
                                      media_type=media_type)
