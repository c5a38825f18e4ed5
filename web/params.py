"""Query parameters: the CLI's options with underscores, shared by the API and the pages.

Values are passed to the service as the text given, so a bad date, position, code or text (one too
long included) is refused with the very message the CLI prints; the guard bounds the whole query
string and path. Whole numbers are bounded here, with the CLI option's range where it has one. An
empty value (a form's blank field) means the parameter is absent.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, Sequence

from fastapi import Path, Query, Request
from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError

from ledger.domain.values import STANDARDS, STATUSES
from ledger.errors import DAYS, NOT_NEGATIVE, POSITIONS, REPORT_NEEDS_A_PERIOD, YEARS, InvalidInput

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
MAX_STATUSES = 2 * len(STATUSES)
MAX_POSITION = POSITIONS[1]


def blank_is_none(value: object) -> object:
    """A form's blank field is no value at all, whatever the parameter's type."""
    return None if value == "" else value


Blank = BeforeValidator(blank_is_none)
WHOLE = re.compile(r"-?[0-9]+")


def whole_number(value: object) -> object:
    """A number in a path or a query is written with the digits 0-9 alone (and a minus sign, refused by its
    bound with its own message): the integer parsing beneath would also take ``4\v``, `` 4`` or ``٤``."""
    if isinstance(value, str) and not WHOLE.fullmatch(value):
        raise PydanticCustomError("whole_number", "should be a whole number written with the digits 0-9")
    return value


Whole = BeforeValidator(whole_number)
# Named in the schema too, so that a client reading the OpenAPI description knows a blank is accepted.
BlankText = Literal[""]

AsOf = Annotated[str | None, Query(
    description="Valid time: the status at the end of this day (YYYY-MM-DD; default: today, UTC).",
    examples=["2019-12-31"])]
KnownAt = Annotated[str | None, Query(
    description="System time: a ledger position, or an ISO-8601 date-time (a bare date is the end "
                                  "of that day, UTC; default: now).", examples=["2020-01-15", "60"])]
Statuses = Annotated[list[str] | None, Query(
    description=f"Only organizations with this status (repeatable): {', '.join(STATUSES)}.")]
Country = Annotated[str | None, Query(
    description="Only organizations of this country (ISO 3166-1 alpha-2, upper case).",
    examples=["PE"])]
Standard = Annotated[str | None, Query(
    description=f"Only certificates of this standard: {', '.join(STANDARDS)}.")]
Region = Annotated[str | None, Query(
    description="Only organizations of this region (letter case and accents aside).",
    examples=["Puno"])]
Text = Annotated[str | None, Query(
    description="Only organizations whose id, name or a certificate number holds this text "
                                     "(letter case and accents aside).", examples=["aurifera"])]
ExpiringWithin = Annotated[Annotated[int, Whole, Field(ge=DAYS[0], le=DAYS[1])] | BlankText | None, Blank, Query(
    description="Only organizations certified on the as-of date whose certificate ends within this many days "
                "after it, with no renewal decided (blank: no filter).", examples=[90])]
OnlyOpen = Annotated[bool | BlankText | None, Blank, Query(
    alias="open", description="Only the findings not closed on the as-of date (true or false; blank: false).")]
Number = Annotated[str, Path(description="The certificate number (letter case aside).",
                             examples=["FM-PE-2016-01"])]
Limit = Annotated[int, Whole, Query(ge=NOT_NEGATIVE[0], le=MAX_LIMIT, description=f"At most this many items (at most {MAX_LIMIT}).")]
Offset = Annotated[int, Whole, Query(ge=0, le=MAX_POSITION, description="Skip this many items first.")]
Since = Annotated[int, Whole, Query(ge=NOT_NEGATIVE[0], le=MAX_POSITION, description="Only events at positions after this one.")]
Org = Annotated[str, Path(description="The organization id (its slug).", examples=["cecomip"])]
Year = Annotated[int, Whole, Path(ge=YEARS[0], le=YEARS[1], description="The calendar year.", examples=[2019])]
PeriodStart = Annotated[str | None, Query(alias="from", description="The first day of the period (with `to`).",
                                          examples=["2019-07-01"])]
PeriodEnd = Annotated[str | None, Query(alias="to", description="The last day of the period (with `from`).",
                                        examples=["2020-06-30"])]


# The parameters that are whole-number options of the CLI too, with the CLI's range: a value outside it is refused
# with the CLI's message. (The API bounds some further, e.g. ``limit``: that refusal is its own.)
CLI_RANGES: dict[str, tuple[int | None, int | None]] = {
    "expiring_within": DAYS, "since": POSITIONS, "limit": POSITIONS, "year": YEARS}


def given(value: str | None) -> str | None:
    """A blank field is no value at all."""
    return value if value else None


def period(start: str | None, end: str | None) -> tuple[str, str]:
    """A report's ``from`` and ``to``: both, or the command line's refusal (a blank one is none)."""
    start, end = given(start), given(end)
    if start is None or end is None:
        raise InvalidInput(REPORT_NEEDS_A_PERIOD)
    return start, end


def known_at(value: str | None) -> str | None:
    """``known_at`` as given, blank meaning none.

    Digits other than 0-9 (``²``, ``٣``) count as digits for ``str.isdigit``, and the ledger's own
    parsing then fails on them instead of refusing them: they are refused here, with its message.
    """
    if value and value.strip().isdigit() and not value.strip().isascii():
        raise InvalidInput(f"--known-at: {value.strip()!r} is neither a ledger position nor an ISO-8601 date-time")
    return given(value)


def statuses(values: Sequence[str] | None) -> list[str]:
    chosen = [value for value in values or () if value]
    if len(chosen) > MAX_STATUSES:
        raise InvalidInput(f"--status: at most {MAX_STATUSES} values")
    return chosen


REPEATABLE = frozenset({"status"})  # SPEC section 10: the one parameter that may be given more than once


def route_parameters(request: Request) -> set[str] | None:
    """The query parameters the request's route takes (None outside a route)."""
    dependant = getattr(request.scope.get("route"), "dependant", None)
    return {param.alias for param in dependant.query_params} if dependant is not None else None


def pinned_request(request: Request, position: int) -> bool:
    """``pinned`` for a request's own ``known_at`` and ``as_of`` (a page's): whether its answer can never change."""
    return pinned(request.query_params.get("known_at"), position, request.query_params.get("as_of"),
                  uses_as_of="as_of" in (route_parameters(request) or ()))


def known_parameters_only(request: Request) -> None:
    """The API refuses a parameter it does not know (a mistyped ``as-of`` must not silently mean today), and one
    given twice that is not repeatable (which of two dates would the answer be about?)."""
    allowed = route_parameters(request)
    if allowed is None:
        return
    unknown = [name for name in request.query_params.keys() if name not in allowed]
    if unknown:
        takes = ", ".join(sorted(allowed)) if allowed else "no parameters"
        raise InvalidInput(f"unknown parameter {unknown[0]!r} (this question takes {takes})")
    repeated = [name for name in dict.fromkeys(request.query_params.keys())
                if name not in REPEATABLE and len(request.query_params.getlist(name)) > 1]
    if repeated:
        raise InvalidInput(f"--{repeated[0].replace('_', '-')}: given more than once (only status is repeatable)")


LONG_LIVED = "public, max-age=86400"  # the caching of an answer that can never change (``pinned``)


def pinned(known_at: str | None, position: int, as_of: str | None = None, *, uses_as_of: bool = True) -> bool:
    """An answer that can never change: a past ledger position, and (where it applies) a chosen date.

    Events are never changed or removed, and later ones sit at later positions, so the answer about
    a given date at a given position stays the same for ever.
    """
    if known_at is None or not (known_at.isascii() and known_at.isdigit()) or int(known_at) != position:
        return False
    return bool(as_of) or not uses_as_of
