"""The JSON API (SPEC section 10): one route per question, each one call into the service.

Objects are the CLI's ``--json`` shapes; lists come in an envelope with ``total``, the time they
describe and the ledger position they used, which is also the ``X-Ledger-Position`` header.
"""

from __future__ import annotations

from typing import Any, Sequence

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse

from ledger.application.system_time import as_of_date
from web import models, params, verifying
from web.params import (AsOf, Country, ExpiringWithin, KnownAt, Limit, Number, Offset, OnlyOpen, Org, PeriodEnd,
                        PeriodStart, Region, Since, Standard, Statuses, Text, Year)
from web.shared import SharedLedger, instant, shared_ledger

router = APIRouter(prefix="/api", tags=["registry"], responses=models.REFUSALS,
                   dependencies=[Depends(params.known_parameters_only)])

Ledger = SharedLedger


def answer(data: Any, position: int, *, pinned: bool = False) -> JSONResponse:
    headers = {"X-Ledger-Position": str(position)}
    if pinned:
        headers["Cache-Control"] = params.LONG_LIVED
    return JSONResponse(data, headers=headers)


def envelope(items: Sequence[Any], total: int, as_of: str | None, known_at: str, position: int) -> dict[str, Any]:
    return {"items": list(items), "total": total, "as_of": as_of, "known_at": known_at, "position": position}


def page_of(rows: Sequence[Any], offset: int, limit: int) -> Sequence[Any]:
    return rows[offset:offset + limit]


@router.get("/registry", response_model=None,
            responses={200: {"model": models.Envelope[models.Status]}})
def registry(status: Statuses = None, country: Country = None, standard: Standard = None, region: Region = None,
             q: Text = None, expiring_within: ExpiringWithin = None, as_of: AsOf = None, known_at: KnownAt = None,
             limit: Limit = params.DEFAULT_LIMIT, offset: Offset = 0,
             ledger: Ledger = Depends(shared_ledger)) -> JSONResponse:
    """Every organization registered by the as-of date, with its status; the filters combine."""
    as_of, known_at = params.given(as_of), params.known_at(known_at)
    with ledger.session(known_at) as service:
        rows = service.registry(as_of, params.statuses(status), params.given(country), params.given(standard),
                                known_at, region=params.given(region), q=params.given(q),
                                expiring_within=expiring_within, limit=limit, offset=offset)
        return listing(service, rows, offset, limit, as_of, known_at, as_of_used=True, paged=True)


@router.get("/streaks", response_model=None, responses={200: {"model": models.Envelope[models.Status]}})
def streaks(as_of: AsOf = None, known_at: KnownAt = None, limit: Limit = params.DEFAULT_LIMIT, offset: Offset = 0,
            ledger: Ledger = Depends(shared_ledger)) -> JSONResponse:
    """Organizations certified on the as-of date, longest streak first (ties: certified_since, then org)."""
    as_of, known_at = params.given(as_of), params.known_at(known_at)
    with ledger.session(known_at) as service:
        return listing(service, service.streaks(as_of, known_at), offset, limit, as_of, known_at, as_of_used=True)


@router.get("/organizations/{org}", response_model=None, responses={200: {"model": models.Status}, **models.UNKNOWN})
def organization(org: Org, as_of: AsOf = None, known_at: KnownAt = None,
                 ledger: Ledger = Depends(shared_ledger)) -> JSONResponse:
    """One organization's status on the as-of date, as the ledger knew it at known-at."""
    as_of, known_at = params.given(as_of), params.known_at(known_at)
    status = ledger.ask(lambda service: service.status(org, as_of, known_at), known_at)
    return answer(dict(status), status.position, pinned=params.pinned(known_at, status.position, as_of))


@router.get("/organizations/{org}/history", response_model=None,
            responses={200: {"model": models.Envelope[models.HistoryEntry]}, **models.UNKNOWN})
def history(org: Org, known_at: KnownAt = None, limit: Limit = params.DEFAULT_LIMIT, offset: Offset = 0,
            ledger: Ledger = Depends(shared_ledger)) -> JSONResponse:
    """Every event of the organization in position order, retracted ones marked."""
    known_at = params.known_at(known_at)
    with ledger.session(known_at) as service:
        return listing(service, service.history(org, known_at), offset, limit, None, known_at)


@router.get("/organizations/{org}/findings", response_model=None,
            responses={200: {"model": models.Envelope[models.Finding]}, **models.UNKNOWN})
def findings(org: Org, only_open: OnlyOpen = None, as_of: AsOf = None, known_at: KnownAt = None,
             limit: Limit = params.DEFAULT_LIMIT, offset: Offset = 0,
             ledger: Ledger = Depends(shared_ledger)) -> JSONResponse:
    """The organization's audit findings on the as-of date, with their ids, and whether (and when) closed."""
    as_of, known_at = params.given(as_of), params.known_at(known_at)
    with ledger.session(known_at) as service:
        rows = service.findings(org, bool(only_open), as_of, known_at)
        return listing(service, rows, offset, limit, as_of, known_at, as_of_used=True)


@router.get("/certificates/{number:path}", response_model=None,
            responses={200: {"model": models.Certificate}, **models.UNKNOWN_CERTIFICATE})
def certificate(number: Number, as_of: AsOf = None, known_at: KnownAt = None,
                ledger: Ledger = Depends(shared_ledger)) -> JSONResponse:
    """Was this certificate valid on the as-of date (as the ledger knew it at known-at)? Its state, and the
    period behind it."""
    as_of, known_at = params.given(as_of), params.known_at(known_at)
    found = ledger.ask(lambda service: service.certificate(number, as_of, known_at), known_at)
    return answer(dict(found), found.position, pinned=params.pinned(known_at, found.position, as_of))


@router.post("/verify", response_model=None, openapi_extra=models.VERIFY_BODY,
             responses={200: {"model": models.Envelope[models.Certificate | models.CertificateNotFound]},
                        **models.TOO_MANY})
async def verify(request: Request, as_of: AsOf = None, known_at: KnownAt = None,
                 ledger: Ledger = Depends(shared_ledger)) -> JSONResponse:
    """Check up to 1,000 certificates at once, each on its own date (default: the as-of date, else today): one
    certificate answer per entry, in order, all as known at one ledger position; a number the ledger does
    not know is ``{"certificate": NO, "found": false}``."""
    as_of, known_at = params.given(as_of), params.known_at(known_at)
    entries = verifying.entries_of_body(await request.body())

    def check() -> tuple[dict[str, Any], int]:
        with ledger.session(known_at) as service:
            items = service.verify_certificates(entries, as_of, known_at)
            seen = next((item["known_at"] for item in items if "known_at" in item), None) or instant(service, known_at)
            return envelope(items, len(items), as_of_date(as_of).isoformat(), seen, items.position), items.position

    body, position = await run_in_threadpool(check)
    return answer(body, position)


@router.get("/reports/{year}", response_model=None, responses={200: {"model": models.Report}})
def year_report(year: Year, known_at: KnownAt = None, ledger: Ledger = Depends(shared_ledger)) -> JSONResponse:
    """What happened in a calendar year, as the scheme's yearly news tells it."""
    known_at = params.known_at(known_at)
    report = ledger.ask(lambda service: service.report(year, known_at=known_at), known_at)
    return answer(dict(report), report.position, pinned=params.pinned(known_at, report.position, uses_as_of=False))


@router.get("/reports", response_model=None, responses={200: {"model": models.Report}})
def period_report(start: PeriodStart = None, end: PeriodEnd = None, known_at: KnownAt = None,
                  ledger: Ledger = Depends(shared_ledger)) -> JSONResponse:
    """What happened from one day to another (both included)."""
    (start, end), known_at = params.period(start, end), params.known_at(known_at)
    report = ledger.ask(lambda service: service.report(start=start, end=end, known_at=known_at), known_at)
    return answer(dict(report), report.position, pinned=params.pinned(known_at, report.position, uses_as_of=False))


@router.get("/changes", response_model=None, responses={200: {"model": models.Envelope[models.FeedEntry]}})
def changes(since: Since = 0, limit: Limit = params.DEFAULT_LIMIT, offset: Offset = 0, known_at: KnownAt = None,
            ledger: Ledger = Depends(shared_ledger)) -> JSONResponse:
    """The event feed: events at positions after ``since``, in position order, ``offset`` of them skipped first
    (``total``: all of them)."""
    known_at = params.known_at(known_at)
    with ledger.session(known_at) as service:
        # Every event is in the feed and positions have no gaps: skipping ``offset`` events is starting later.
        entries = service.changes(min(since + offset, params.MAX_POSITION), limit, known_at)
        # Positions have no gaps, so the events after ``since`` up to the answer's position are this many.
        total = max(entries.position - since, 0)
        body = envelope(entries, total, None, instant(service, known_at), entries.position)
    return answer(body, entries.position, pinned=params.pinned(known_at, entries.position, uses_as_of=False))


@router.get("/head", response_model=None, responses={200: {"model": models.Head}})
def head(ledger: Ledger = Depends(shared_ledger)) -> JSONResponse:
    """The hash chain's head, after verifying the chain; signed when the server has a key."""
    document, position = ledger.head()
    return answer(document, position)


def listing(service: Any, rows: Any, offset: int, limit: int, as_of: str | None, known_at: str | None,
            *, as_of_used: bool = False, paged: bool = False) -> JSONResponse:
    """A list answer in its envelope; the time it describes is the one its items carry, if it has any.
    ``paged``: ``rows`` is already the page asked for, and its ``total`` counts the whole answer."""
    first = rows[0] if rows else {}
    echoed_known_at = first.get("known_at") or instant(service, known_at)
    echoed_as_of = (first.get("as_of") or as_of_date(as_of).isoformat()) if as_of_used else None
    page, total = (rows, rows.total) if paged else (page_of(rows, offset, limit), len(rows))
    body = envelope(page, total, echoed_as_of, echoed_known_at, rows.position)
    return answer(body, rows.position, pinned=params.pinned(known_at, rows.position, as_of, uses_as_of=as_of_used))

