"""The pages for people: search, organization, report, changes, the Atom feed and the CSV download.

Each page asks the service what the API route of the same question asks (and the page links to
that JSON), then renders it. A page that needs two answers asks them in one session and pins the
second to the ledger position of the first, so both describe the same ledger.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Annotated, Any, Sequence

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import RedirectResponse, Response

import rendering
from ledger.application.system_time import as_of_date
from ledger.domain.values import STANDARDS, STATUSES
from web import params, timeline
from web.params import AsOf, Country, KnownAt, Org, Standard, Statuses, Year
from web.shared import SharedLedger, instant, shared_ledger
from web.templating import link, render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 100
FEED_SIZE = 50
PageLimit = Annotated[int, Query(ge=1, le=params.MAX_LIMIT)]
OptionalSince = Annotated[int | None, Query(ge=0, le=params.MAX_POSITION)]


def registry_query(status: Sequence[str] | None, country: str | None, standard: str | None) -> dict[str, Any]:
    """The search form's filters as the service takes them (people may type a country code in lower case)."""
    code = params.given(country)
    return {"statuses": params.statuses(status), "country": code.strip().upper() if code else None,
            "standard": params.given(standard)}


@router.get("/")
def search(request: Request, status: Statuses = None, country: Country = None, standard: Standard = None,
           as_of: AsOf = None, known_at: KnownAt = None, limit: PageLimit = PAGE_SIZE, offset: params.Offset = 0,
           ledger: SharedLedger = Depends(shared_ledger)) -> Response:
    as_of, known_at = params.given(as_of), params.known_at(known_at)
    query = registry_query(status, country, standard)
    with ledger.session() as service:
        rows = service.registry(as_of, known_at=known_at, **query)
        seen = rows[0]["known_at"] if rows else instant(service, known_at)
    shown = {"status": query["statuses"], "country": query["country"], "standard": query["standard"],
             "as_of": as_of, "known_at": known_at}
    return render(request, "search.html", {
        "rows": rows[offset:offset + limit], "total": len(rows), "offset": offset, "limit": limit,
        "day": as_of_date(as_of).isoformat(), "seen": seen, "query": shown,
        "statuses": STATUSES, "standards": STANDARDS,
        "csv_link": link(request, "/registry.csv", **shown), "json_link": link(request, "/api/registry", **shown),
        "previous": link(request, "/", **shown, offset=max(offset - limit, 0), limit=limit) if offset else None,
        "next": link(request, "/", **shown, offset=offset + limit, limit=limit)
        if offset + limit < len(rows) else None,
    }, position=rows.position)


@router.get("/registry.csv")
def registry_csv(status: Statuses = None, country: Country = None, standard: Standard = None, as_of: AsOf = None,
                 known_at: KnownAt = None, ledger: SharedLedger = Depends(shared_ledger)) -> Response:
    """The search's whole answer as the CLI's ``registry --csv`` writes it."""
    as_of, known_at = params.given(as_of), params.known_at(known_at)
    query = registry_query(status, country, standard)
    rows = ledger.ask(lambda service: service.registry(as_of, known_at=known_at, **query))
    text = rendering.to_csv(rows, rendering.status_csv_columns()) + "\n"
    name = f"registry-{as_of_date(as_of).isoformat()}.csv"
    return Response(text, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{name}"', "X-Ledger-Position": str(rows.position)})


@router.get("/organizations/{org}")
def organization(request: Request, org: Org, as_of: AsOf = None, known_at: KnownAt = None,
                 ledger: SharedLedger = Depends(shared_ledger)) -> Response:
    as_of, known_at = params.given(as_of), params.known_at(known_at)
    with ledger.session() as service:
        status = service.status(org, as_of, known_at)
        history = service.history(org, str(status.position))
    picture = timeline.draw(history, date.fromisoformat(status["as_of"]), status["name"])
    return render(request, "organization.html", {
        "org": org, "status": status, "history": history, "picture": picture, "seen": status["known_at"],
        "json_link": link(request, f"/api/organizations/{org}"),
        "history_link": link(request, f"/api/organizations/{org}/history", as_of=None, limit=params.MAX_LIMIT),
    }, position=status.position)


@router.get("/reports/{year}")
def year_report(request: Request, year: Year, known_at: KnownAt = None,
                ledger: SharedLedger = Depends(shared_ledger)) -> Response:
    known_at = params.known_at(known_at)
    with ledger.session() as service:
        report = service.report(year, known_at=known_at)
        seen = instant(service, known_at)
    return render(request, "report.html", {
        "report": report, "year": year, "seen": seen, "json_link": link(request, f"/api/reports/{year}", as_of=None),
        "previous": link(request, f"/reports/{year - 1}") if year > 1 else None,
        "next": link(request, f"/reports/{year + 1}") if year < 9999 else None,
    }, position=report.position)


@router.get("/reports")
def period_report(request: Request, start: Annotated[str | None, Query(alias="from", max_length=params.SHORT)] = None,
                  end: Annotated[str | None, Query(alias="to", max_length=params.SHORT)] = None,
                  known_at: KnownAt = None, ledger: SharedLedger = Depends(shared_ledger)) -> Response:
    """A period's report; without one, this year's."""
    start, end, known_at = params.given(start), params.given(end), params.known_at(known_at)
    if start is None and end is None:
        return RedirectResponse(link(request, f"/reports/{datetime.now(timezone.utc).year}"), status_code=302)
    with ledger.session() as service:
        report = service.report(start=start or "", end=end or "", known_at=known_at)
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
    with ledger.session() as service:
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
    newest = entries[-1]["recorded_at"] if entries else "1970-01-01T00:00:00.000000Z"
    return render(request, "feed.atom", {"entries": list(reversed(entries)), "updated": newest,
                                         "base": str(request.base_url).rstrip("/")},
                  position=entries.position, media_type="application/atom+xml; charset=utf-8")


def latest_changes(service: Any, since: int | None, limit: int, known_at: str | None) -> tuple[Any, int]:
    """The events after ``since`` (by default the last ``limit`` ones), pinned to one ledger position."""
    upto = service.changes(0, 0, known_at).position
    start = max(upto - limit, 0) if since is None else since
    return service.changes(start, limit, str(upto)), start
