"""Every refusal as an HTTP answer, mapped once: the CLI's ``Error:`` message, and a 4xx status.

The API answers ``{"error": "<message>"}``; pages answer the same message in an HTML page.
Nothing here ever answers 5xx: what is not a ledger refusal (anything unexpected) is caught by
``web.guard`` and answered 400, the details going to the log only.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from ledger.errors import (Forbidden, LedgerError, NotAuthenticated, StorageError, UnknownCertificate,
                           UnknownOrganization, invalid_value, not_in_range, one_line)
from web.params import CLI_RANGES

log = logging.getLogger("certledger.web")

# The first class that matches decides; every other refusal is bad input.
STATUS_FOR: tuple[tuple[type[LedgerError], int], ...] = (
    (UnknownOrganization, 404),
    (UnknownCertificate, 404),
    (NotAuthenticated, 401),  # web.auth answers these itself, with the WWW-Authenticate challenge
    (Forbidden, 403),
    (LedgerError, 400),
)


def status_for(error: LedgerError) -> int:
    return next(status for kind, status in STATUS_FOR if isinstance(error, kind))


def wants_html(request: Request) -> bool:
    """Pages get their errors as a page; the API and the downloads as JSON."""
    path = request.url.path
    return not (under_api(path) or path.endswith((".csv", ".json", ".atom")))


def under_api(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


def error_response(request: Request, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    message = one_line(message)
    if wants_html(request):
        from web.templating import render

        return render(request, "error.html", {"status": status, "message": message}, status_code=status,
                      headers=headers)
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def validation_message(error: RequestValidationError) -> str:
    """The first problem, named like the CLI option it stands for (``--as-of: ...``); a number outside the range
    the CLI's option has too, in the CLI's very words."""
    first: dict[str, Any] = next(iter(error.errors()), {})
    where = first.get("loc") or ()
    if len(where) > 1 and where[0] in ("query", "path", "header"):
        name = str(where[1])  # past it, pydantic names the branch of a union (``constrained-int``)
    else:
        name = str(where[-1]) if len(where) > 1 else "request"
    outside = cli_range_message(name, first)
    if outside is not None:
        return outside
    text = str(first.get("msg", "invalid value"))
    given = first.get("input")
    shown = f" (got {given!r})" if isinstance(given, (str, int)) and len(repr(given)) <= 60 else ""
    return f"--{name.replace('_', '-')}: {text[0].lower() + text[1:] if text else text}{shown}"


def cli_range_message(name: str, problem: dict[str, Any]) -> str | None:
    """The CLI's message for a whole number outside its option's range, or for a value that is no whole number
    (None for any other problem, or a parameter that is no CLI option)."""
    if problem.get("type") == "whole_number" and name in CLI_RANGES:
        return str(invalid_value(name.replace("_", "-"), f"{problem.get('input')!r} is not a valid integer range."))
    low, high = CLI_RANGES.get(name, (None, None))
    bound = (problem.get("ctx") or {})
    below = problem.get("type") == "greater_than_equal" and low is not None and bound.get("ge") == low
    above = problem.get("type") == "less_than_equal" and high is not None and bound.get("le") == high
    if not (below or above):
        return None
    try:
        value = int(problem.get("input"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return str(invalid_value(name.replace("_", "-"), not_in_range(value, low, high)))


def install(app: FastAPI) -> None:
    @app.exception_handler(LedgerError)
    def ledger_refusal(request: Request, error: LedgerError) -> Response:
        if isinstance(error, StorageError):
            log.warning("storage error on %s: %s", request.url.path, error)
        asked_at = getattr(error, "ledger_position", None)
        headers = {"X-Ledger-Position": str(asked_at)} if asked_at is not None else None
        return error_response(request, status_for(error), str(error), headers)

    @app.exception_handler(RequestValidationError)
    def bad_parameter(request: Request, error: RequestValidationError) -> Response:
        return error_response(request, 400, validation_message(error))

    @app.exception_handler(StarletteHTTPException)
    def http_refusal(request: Request, error: StarletteHTTPException) -> Response:
        headers = dict(error.headers or {})
        if error.status_code == 404:
            message = f"no such page: {request.url.path}"
        elif error.status_code == 405:
            allowed = headers.get("Allow", "GET")
            methods = [method.strip() for method in allowed.split(",")]
            if "GET" in methods and "HEAD" not in methods:  # the guard answers HEAD wherever GET is answered
                headers["Allow"] = allowed = ", ".join([*methods, "HEAD"])
            why = "the registry is read-only" if "GET" in allowed else f"it takes {allowed} only"
            message = f"{request.method} is not allowed on {request.url.path}: {why}"
        else:
            message = str(error.detail)
        status = error.status_code if 400 <= error.status_code < 500 else 400
        return error_response(request, status, message, headers)
