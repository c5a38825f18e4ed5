"""The pages for people: search, organization, certificate, verify, report, changes, the Atom feed and the
CSV downloads.

Each page asks the service what the API route of the same question asks (and the page links to
that JSON), then renders it. A page that needs two answers asks them in one session and pins the
second to the ledger position of the first, so both describe the same ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Sequence
from urllib.parse import unquote_to_bytes
from uuid import UUID, uuid5

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response

import rendering
from ledger.application.system_time import as_of_date
from ledger.domain.values import STANDARDS, STATUSES, certificate_key
from ledger.errors import InvalidInput, LedgerError, one_line
from web import params, timeline, verifying
from web.errors import status_for
from web.params import AsOf, Country, ExpiringWithin, KnownAt, Number, Org, Region, Standard, Statuses, Text, Year
from web.shared import SharedLedger, instant, shared_ledger
from web.templating import certificate_path, link, render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 100
FEED_SIZE = 50
# Atom ids must never change, whatever address the feed is read at (RFC 4287, 4.2.6): they are name-based
# UUIDs of the ledger's identity (its chain's first entry hash) and, for an entry, its position.
ATOM_NAMESPACE = UUID("5d0c8a52-3f7e-4b8e-9a61-2c4f0d9e7b13")
PageLimit = Annotated[int, Query(ge=1, le=params.MAX_LIMIT)]
OptionalSince = Annotated[int | None, Query(ge=0, le=params.MAX_POSITION)]


def registry_query(status: Sequence[str] | None, country: str | None, standard: str | None, region: str | None = None,
                   q: str | None = None, expiring_within: int | None = None) -> dict[str, Any]:
    """The search form's filters as the service takes them (people may type a country code in lower case)."""
    code = params.given(country)
    return {"statuses": params.statuses(status), "country": code.strip().upper() if code else None,
            "standard": params.given(standard), "region": params.given(region), "q": params.given(q),
            "expiring_within": expiring_within}


def shown_query(query: dict[str, Any], as_of: str | None, known_at: str | None) -> dict[str, Any]:
    """The filters as the page's links and form carry them (the parameters' own names)."""
    return {"q": query["q"], "status": query["statuses"], "country": query["country"], "region": query["region"],
            "standard": query["standard"], "expiring_within": query["expiring_within"], "as_of": as_of,
            "known_at": known_at}


@router.get("/")
def search(request: Request, status: Statuses = None, country: Country = None, standard: Standard = None,
           region: Region = None, q: Text = None, expiring_within: ExpiringWithin = None, as_of: AsOf = None,
           known_at: KnownAt = None, limit: PageLimit = PAGE_SIZE, offset: params.Offset = 0,
           ledger: SharedLedger = Depends(shared_ledger)) -> Response:
    as_of, known_at = params.given(as_of), params.known_at(known_at)
    query = registry_query(status, country, standard, region, q, expiring_within)
    with ledger.session(known_at) as service:
        rows = service.registry(as_of, known_at=known_at, limit=limit, offset=offset, **query)
        seen = rows[0]["known_at"] if rows else instant(service, known_at)
    shown = shown_query(query, as_of, known_at)
    day = as_of_date(as_of).isoformat()
    # The downloads are the whole answer this page is a page of: the same filters, on the day and at the ledger
    # position the page used (asked later, "today" and "now" could have moved on).
    pinned = {**shown, "as_of": as_of or day, "known_at": known_at or str(rows.position)}
    return render(request, "search.html", {
        "rows": rows, "total": rows.total, "offset": offset, "limit": limit,
        "day": day, "seen": seen, "query": shown,
        "statuses": STATUSES, "standards": STANDARDS,
        "csv_link": link(request, "/registry.csv", **pinned), "json_link": link(request, "/registry.json", **pinned),
        # Past the last page (an old link, a hand-made offset), "previous" leads back to the last page.
        "previous": link(request, "/", **shown, limit=limit,
                         offset=max(min(offset, last_page(rows.total, limit) + limit) - limit, 0)) if offset else None,
        "next": link(request, "/", **shown, offset=offset + limit, limit=limit)
        if offset + limit < rows.total else None,
    }, position=rows.position)


@router.get("/registry.csv")
def registry_csv(request: Request, status: Statuses = None, country: Country = None, standard: Standard = None, region: Region = None,
                 q: Text = None, expiring_within: ExpiringWithin = None, as_of: AsOf = None,
                 known_at: KnownAt = None, ledger: SharedLedger = Depends(shared_ledger)) -> Response:
    """The search's whole answer as the CLI's ``registry --csv`` writes it."""
    rows, day = whole_registry(ledger, status, country, standard, region, q, expiring_within, as_of, known_at)
    text = rendering.to_csv(rows, rendering.status_csv_columns()) + "\n"
    return download(request, text, f"registry-{day}.csv", "text/csv; charset=utf-8", rows.position)


@router.get("/registry.json")
def registry_json(request: Request, status: Statuses = None, country: Country = None, standard: Standard = None, region: Region = None,
                  q: Text = None, expiring_within: ExpiringWithin = None, as_of: AsOf = None,
                  known_at: KnownAt = None, ledger: SharedLedger = Depends(shared_ledger)) -> Response:
    """The search's whole answer as the CLI's ``registry --json`` writes it (the API pages it: at most 1,000)."""
    rows, day = whole_registry(ledger, status, country, standard, region, q, expiring_within, as_of, known_at)
    return download(request, rendering.to_json(list(rows)) + "\n", f"registry-{day}.json", "application/json",
                    rows.position)


def whole_registry(ledger: SharedLedger, status: Sequence[str] | None, country: str | None, standard: str | None,
                   region: str | None, q: str | None, expiring_within: int | None, as_of: str | None,
                   known_at: str | None) -> tuple[Any, str]:
    """Every organization the search form's query finds (no page), and the day it answers for."""
    as_of, known_at = params.given(as_of), params.known_at(known_at)
    query = registry_query(status, country, standard, region, q, expiring_within)
    rows = ledger.ask(lambda service: service.registry(as_of, known_at=known_at, **query), known_at)
    return rows, as_of_date(as_of).isoformat()


def last_page(total: int, limit: int) -> int:
    """The offset of the last page of ``total`` items, ``limit`` a page (0 when there is none)."""
    return (total - 1) // limit * limit if total and limit else 0


def download(request: Request, text: str, name: str, media_type: str, position: int) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "X-Ledger-Position": str(position)}
    if request.method == "GET" and params.pinned_request(request, position):
        headers["Cache-Control"] = params.LONG_LIVED  # as the page it downloads: a fixed day and position
    return Response(text, media_type=media_type, headers=headers)


@router.get("/organizations/{org}")
def organization(request: Request, org: Org, as_of: AsOf = None, known_at: KnownAt = None,
                 ledger: SharedLedger = Depends(shared_ledger)) -> Response:
    as_of, known_at = params.given(as_of), params.known_at(known_at)
    with ledger.session(known_at) as service:
        status = service.status(org, as_of, known_at)
        history = service.history(org, str(status.position))
        findings = service.findings(org, False, status["as_of"], str(status.position))
    picture = timeline.draw(history, date.fromisoformat(status["as_of"]), status["name"])
    return render(request, "organization.html", {
        "org": org, "status": status, "history": history, "picture": picture, "seen": status["known_at"],
        "findings": findings, "open_findings": [f for f in findings if f["closed_on"] is None],
        "certificates": certificates_held(history, status["as_of"]),
        "json_link": link(request, f"/api/organizations/{org}"),
        "history_link": link(request, f"/api/organizations/{org}/history", as_of=None, limit=params.MAX_LIMIT),
        "findings_link": link(request, f"/api/organizations/{org}/findings", limit=params.MAX_LIMIT),
    }, position=status.position)


def certificates_held(history: Sequence[dict[str, Any]], day: str) -> list[dict[str, Any]]:
    """The certificate numbers of the organization's grants and renewals decided by ``day`` (retracted ones left
    out), in the order first recorded, each with its first day of validity and how many periods carried it."""
    held: dict[str, dict[str, Any]] = {}
    for entry in history:
        number = entry["fields"].get("certificate")
        if entry["type"] not in ("CertificationGranted", "Recertified") or entry["retracted"] or not number \
                or entry["date"] > day:
            continue
        found = held.setdefault(certificate_key(number), {"certificate": number, "from": entry["fields"]["valid_from"],
                                                          "periods": 0})
        found["from"] = min(found["from"], entry["fields"]["valid_from"])
        found["periods"] += 1
    return list(held.values())


@router.get("/certificates/{number:path}")
def certificate(request: Request, number: Number, as_of: AsOf = None, known_at: KnownAt = None,
                ledger: SharedLedger = Depends(shared_ledger)) -> Response:
    """One certificate's state on the chosen day: the card a buyer checks."""
    as_of, known_at = params.given(as_of), params.known_at(known_at)
    answer = ledger.ask(lambda service: service.certificate(number, as_of, known_at), known_at)
    return render(request, "certificate.html", {
        "answer": answer, "seen": answer["known_at"],
        "json_link": link(request, "/api/certificates/" + certificate_path(answer["certificate"])),
    }, position=answer.position)


@router.get("/verify")
def verify_form(request: Request, as_of: AsOf = None, known_at: KnownAt = None,
                ledger: SharedLedger = Depends(shared_ledger)) -> Response:
    """The form: paste lines ``certificate[,date]`` or choose a CSV file. A day or moment given in the link is
    checked now, as any page checks it, rather than carried into the form to be refused on sending."""
    as_of, known_at = params.given(as_of), params.known_at(known_at)
    as_of_date(as_of)
    if known_at is not None:
        ledger.ask(lambda service: instant(service, known_at), known_at)
    return render(request, "verify.html", verify_context(as_of, known_at))


@router.post("/verify")
async def verify(request: Request, ledger: SharedLedger = Depends(shared_ledger)) -> Response:
    """The table: one row per certificate asked, each on its own date (default: the form's day). A refusal
    shows the form again, with the lines as they were sent and the reason."""
    form = await verify_form_fields(request)
    try:
        entries = form.entries()
        items, seen = await run_in_threadpool(verify_entries, ledger, entries, form.as_of,
                                              params.known_at(form.known_at))
    except (LedgerError, HTTPException) as error:
        status = error.status_code if isinstance(error, HTTPException) else status_for(error)
        message = str(error.detail) if isinstance(error, HTTPException) else str(error)
        context = verify_context(form.as_of, form.known_at, text=form.text, error=one_line(message))
        return render(request, "verify.html", context, status_code=status,
                      position=getattr(error, "ledger_position", None))
    day = as_of_date(form.as_of).isoformat()
    # The CSV button downloads this table: on the day and at the ledger position it used, whatever is recorded
    # before the click (its action's query carries them; ``/verify.csv`` takes them over the form's fields).
    pinned = link(request, "/verify.csv", as_of=form.as_of or day, known_at=form.known_at or str(items.position))
    context = verify_context(form.as_of, form.known_at, text=verifying.lines_of(entries), seen=seen,
                             rows=verifying.csv_rows(items, entries, day, seen), counts=state_counts(items),
                             csv_action=pinned)
    return render(request, "verify.html", context, position=items.position)


@router.post("/verify.csv")
async def verify_csv(request: Request, ledger: SharedLedger = Depends(shared_ledger)) -> Response:
    """The same table as CSV (``rendering.VERIFY_CSV_COLUMNS``), for the form's lines and day."""
    form = await verify_form_fields(request)
    form.as_of = params.given(request.query_params.get("as_of")) or form.as_of
    form.known_at = params.given(request.query_params.get("known_at")) or form.known_at
    entries = form.entries()
    items, seen = await run_in_threadpool(verify_entries, ledger, entries, form.as_of, params.known_at(form.known_at))
    day = as_of_date(form.as_of).isoformat()
    rows = verifying.csv_rows(items, entries, day, seen)
    return download(request, rendering.to_csv(rows, rendering.VERIFY_CSV_COLUMNS) + "\n", f"certificates-{day}.csv",
                    "text/csv; charset=utf-8", items.position)


@dataclass
class VerifyForm:
    text: str
    uploaded: bytes
    as_of: str | None
    known_at: str | None

    def entries(self) -> list[dict[str, Any]]:
        """The pasted lines' entries, then the uploaded file's (each may have its own header row); at least one,
        for the table and its CSV alike."""
        entries, _ = verifying.entries_of_text(self.text)
        if self.uploaded:
            uploaded, _ = verifying.entries_of_text(verifying.decode_upload(self.uploaded), "file line")
            entries += uploaded
        if not entries:
            raise InvalidInput("paste at least one certificate number, or choose a file")
        if len(entries) > verifying.MAX_CERTIFICATES:
            raise verifying.too_many(len(entries))
        return entries


async def verify_form_fields(request: Request) -> VerifyForm:
    """The form's fields (a browser's ``multipart/form-data`` or a plain urlencoded form), bounded."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
        # Starlette reads such a form's bytes as Latin-1 and its %-escapes with U+FFFD for what is not UTF-8:
        # refused here instead, as in an address, rather than looking up numbers nobody typed.
        try:
            unquote_to_bytes((await request.body()).replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput("the form is not UTF-8 text once its %-escapes are decoded") from None
    try:
        async with request.form(max_files=1, max_fields=8, max_part_size=verifying.MAX_UPLOAD) as form:
            upload = form.get("file")
            uploaded = await upload.read(verifying.MAX_UPLOAD + 1) if isinstance(upload, UploadFile) else b""
            text, as_of, known_at = (form.get(name) for name in ("certificates", "as_of", "known_at"))
    except HTTPException as error:
        # Starlette refuses a field over the size with a 400 in its own words: a list too long is a 413 here.
        if error.status_code == 400 and "exceeded maximum size" in str(error.detail):
            raise HTTPException(413, f"the pasted list is larger than {verifying.MAX_UPLOAD // 1024} KiB: at most "
                                     f"{verifying.MAX_CERTIFICATES} certificates at once") from None
        raise
    as_of, known_at = (value.strip() if isinstance(value, str) else None for value in (as_of, known_at))
    return VerifyForm(text if isinstance(text, str) else "", uploaded, params.given(as_of), known_at or None)


def verify_entries(ledger: SharedLedger, entries: list[dict[str, Any]], as_of: str | None,
                   known_at: str | None) -> tuple[Any, str]:
    with ledger.session(known_at) as service:
        items = service.verify_certificates(entries, as_of, known_at)
        seen = next((item["known_at"] for item in items if "known_at" in item), None) or instant(service, known_at)
    return items, seen


def verify_context(as_of: str | None, known_at: str | None, **extra: Any) -> dict[str, Any]:
    return {"chosen_as_of": as_of, "chosen_known_at": known_at, "limit": verifying.MAX_CERTIFICATES,
            "max_upload_kib": verifying.MAX_UPLOAD // 1024, "text": "", "rows": None, "error": None, "seen": None,
            **extra}


def state_counts(items: Sequence[dict[str, Any]]) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for item in items:
        state = item.get("state", "not-found")
        counts[state] = counts.get(state, 0) + 1
    return sorted(counts.items(), key=lambda pair: STATE_ORDER.index(pair[0]))


STATE_ORDER = ["valid", "suspended", "withdrawn", "superseded", "expired", "not-yet-valid", "not-found"]


@router.get("/reports/{year}")
def year_report(request: Request, year: Year, known_at: KnownAt = None,
                ledger: SharedLedger = Depends(shared_ledger)) -> Response:
    known_at = params.known_at(known_at)
    with ledger.session(known_at) as service:
        report = service.report(year, known_at=known_at)
        seen = instant(service, known_at)
    return render(request, "report.html", {
        "report": report, "year": year, "seen": seen, "json_link": link(request, f"/api/reports/{year}", as_of=None),
        "previous": link(request, f"/reports/{year - 1}") if year > 1 else None,
        "next": link(request, f"/reports/{year + 1}") if year < 9999 else None,
    }, position=report.position)


@router.get("/reports")
def period_report(request: Request, start: Annotated[str | None, Query(alias="from")] = None,
                  end: Annotated[str | None, Query(alias="to")] = None,
                  known_at: KnownAt = None, ledger: SharedLedger = Depends(shared_ledger)) -> Response:
    """A period's report; without one, the report of the chosen day's year (the links of every page carry that
    day), else this year's."""
    start, end, known_at = params.given(start), params.given(end), params.known_at(known_at)
    if start is None and end is None:
        year = as_of_date(params.given(request.query_params.get("as_of"))).year
        return RedirectResponse(link(request, f"/reports/{year}"), status_code=302)
    start, end = params.period(start, end)
    with ledger.session(known_at) as service:
        report = service.report(start=start, end=end, known_at=known_at)
        seen = instant(service, known_at)
    return render(request, "report.html", {
        "report": report, "year": None, "seen": seen,
        "json_link": link(request, "/api/reports", **{"from": start, "to": end}, as_of=None),
        "previous": None, "next": None,
    }, position=report.position)


@router.get("/changes")
def changes(request: Request, since: OptionalSince = None, limit: PageLimit = FEED_SIZE, known_at: KnownAt = None,
            ledger: SharedLedger = Depends(shared_ledger)) -> Response:
    """The latest changes, newest first; ``since`` pages back through older ones."""
    known_at = params.known_at(known_at)
    with ledger.session(known_at) as service:
        entries, start = latest_changes(service, since, limit, known_at)
        seen = instant(service, known_at)
    return render(request, "changes.html", {
        "entries": list(reversed(entries)), "since": start, "limit": limit, "seen": seen,
        "json_link": link(request, "/api/changes", since=start, limit=limit, as_of=None),
        "older": link(request, "/changes", since=max(start - limit, 0), limit=limit) if start > 0 else None,
        "newer": link(request, "/changes", since=start + limit, limit=limit)
        if start + limit < entries.position else None,
    }, position=entries.position)


@router.get("/feed.atom")
def feed(request: Request, ledger: SharedLedger = Depends(shared_ledger)) -> Response:
    """The latest changes as an Atom feed, newest first."""
    with ledger.session() as service:
        entries, _ = latest_changes(service, None, FEED_SIZE, None)
        identity = (service.ledger_identity() or b"").hex()
    newest = entries[-1]["recorded_at"] if entries else "1970-01-01T00:00:00.000000Z"
    return render(request, "feed.atom", {"entries": list(reversed(entries)), "updated": newest,
                                         "base": str(request.base_url).rstrip("/"), "feed_id": atom_id(identity),
                                         "entry_id": lambda position: atom_id(f"{identity}/{position}")},
                  position=entries.position, media_type="application/atom+xml; charset=utf-8")


def atom_id(name: str) -> str:
    return f"urn:uuid:{uuid5(ATOM_NAMESPACE, name)}"


def latest_changes(service: Any, since: int | None, limit: int, known_at: str | None) -> tuple[Any, int]:
    """The events after ``since`` (by default the last ``limit`` ones), pinned to one ledger position."""
    upto = service.changes(0, 0, known_at).position
    start = max(upto - limit, 0) if since is None else min(since, upto)  # nothing lies past the last position
    return service.changes(start, limit, str(upto)), start
