"""Value types shared by commands, events and the timeline: ids, dates, vocabularies."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta, timezone
from functools import cache, lru_cache
from typing import Any, Literal

ORG_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")
COUNTRY_PATTERN = re.compile(r"^[A-Z]{2}$")  # the shape of a stored country code
COUNTRY_INPUT = re.compile(r"^[A-Za-z]{2}$")  # a code as typed: either case
MAX_TEXT = 500
# Unicode category Cc (every C0 control, tab included, DEL and every C1 control) and the line and
# paragraph separators: any of them would break a table or CSV row in two.
CONTROL_CHARACTER = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # from a JSON "\\ud800" escape or undecodable bytes in argv
# Characters that make a text show something other than what it holds: the bidirectional embeddings, overrides
# and isolates (a name that reads one way and sorts, searches and compares as another).
BIDI_CONTROL = re.compile("[\u202a-\u202e\u2066-\u2069]")

Standard = Literal["fairmined", "ecological"]
LegalForm = Literal["company", "cooperative", "central-cooperative", "association", "other"]
Deposit = Literal["alluvial", "hard-rock", "other"]
AuditKind = Literal["initial", "recertification", "surveillance", "follow-up"]
Severity = Literal["major", "minor", "observation"]
ReasonCategory = Literal[
    "commercial", "health-safety", "environmental", "labour", "organizational", "traceability", "other"
]
WithdrawalMode = Literal["voluntary", "imposed"]
DenialStage = Literal["initial", "recertification"]

STANDARDS: tuple[str, ...] = ("fairmined", "ecological")
LEGAL_FORMS: tuple[str, ...] = ("company", "cooperative", "central-cooperative", "association", "other")
DEPOSITS: tuple[str, ...] = ("alluvial", "hard-rock", "other")
AUDIT_KINDS: tuple[str, ...] = ("initial", "recertification", "surveillance", "follow-up")
SEVERITIES: tuple[str, ...] = ("major", "minor", "observation")
REASON_CATEGORIES: tuple[str, ...] = (
    "commercial", "health-safety", "environmental", "labour", "organizational", "traceability", "other"
)
ROLES: tuple[str, ...] = ("office", "body", "reader")  # of accounts: who may record what over HTTP
STATUSES: tuple[str, ...] = ("registered", "certified", "suspended", "expired", "withdrawn")
# An organization's details: given at registration, replaced from a date on by a correction.
DETAIL_FIELDS: tuple[str, ...] = ("name", "country", "region", "legal_form", "deposit")


def given_details(source: object) -> dict[str, Any]:
    """The details a correction (its command or its event) gives, by field name: those it does not leave out."""
    return {field: getattr(source, field) for field in DETAIL_FIELDS if getattr(source, field) is not None}

# The easternmost time zone: a date is "not in the future" while some place on earth has reached it.
EARLIEST_ZONE_AHEAD = timezone(timedelta(hours=14))


def latest_acceptable_date() -> date:
    return datetime.now(EARLIEST_ZONE_AHEAD).date()


def today_utc() -> date:
    return datetime.now(timezone.utc).date()


def anniversary_eve(d: date) -> date:
    """The day before the first anniversary of ``d`` (the anniversary of 29 February is 1 March)."""
    try:
        anniversary = d.replace(year=d.year + 1)
    except ValueError:
        anniversary = date(d.year + 1, 3, 1)
    return anniversary - timedelta(days=1)


MAX_DIGITS = 30  # far more than any version or count, far fewer than Python's own limit on reading an integer


def json_integer(text: str) -> int:
    """An integer as a JSON reader meets it (``json.loads(..., parse_int=json_integer)``), bounded in length."""
    digits = len(text.lstrip("-"))
    if digits > MAX_DIGITS:
        raise ValueError(f"a number of {digits} digits (at most {MAX_DIGITS})")
    return int(text)


def version_number(value: object) -> int:
    """A version as history numbers it: a whole number, or its digits 0-9 as typed (spaces around them aside).
    Read leniently, JSON's true would be version 1 (the registration), and 5.0, "+5" or "٥" would be 5."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = value.strip(" ") if isinstance(value, str) else None
    if text is None or not (text.isascii() and text.isdigit()) or len(text) > MAX_DIGITS:
        raise ValueError(f"a version is a whole number written with the digits 0-9, as history shows it "
                         f"(not {value!r})")
    return int(text)


def parse_date(value: object) -> date:
    """An ISO-8601 calendar date (YYYY-MM-DD), strictly."""
    if isinstance(value, datetime):
        raise ValueError("expected a calendar date (YYYY-MM-DD), not a date-time")
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError("expected a calendar date (YYYY-MM-DD)")
    text = value.strip(" ")  # spaces around it, as a CSV cell may have; no other white space (a tab, U+2028)
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):  # ASCII digits: \d would take ٢ or ２
        raise ValueError(f"{value!r} is not a calendar date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{value!r} is not a real calendar date") from None


def not_in_future(d: date) -> date:
    latest = latest_acceptable_date()
    if d > latest:
        raise ValueError(f"{d.isoformat()} is in the future (the ledger records facts, not plans)")
    return d


# Periods are renewed by adding a day and a year to their end: keep that arithmetic within the calendar.
LATEST_END_DATE = date(9997, 12, 31)


def end_date_in_range(d: date) -> date:
    if d > LATEST_END_DATE:
        raise ValueError(f"{d.isoformat()} is after {LATEST_END_DATE.isoformat()}, "
                         "the latest end date the ledger takes")
    return d


def check_org_id(value: str) -> str:
    if not ORG_ID_PATTERN.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a valid organization id "
            "(2-64 characters: lower-case letters, digits and '-', starting with a letter or digit)"
        )
    return value


def country_code(value: str) -> str:
    """An assigned ISO 3166-1 alpha-2 code, typed in either case, as stored: upper case (``pe`` -> ``PE``).

    The list is the standard's as kept by ``pycountry``: codes that name no country (``XX``, ``ZZ``,
    the reserved ``EU``) are refused.
    """
    if not COUNTRY_INPUT.fullmatch(value):
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code (two letters, e.g. PE)")
    code = value.upper()
    if code not in assigned_country_codes():
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code: it names no country")
    return code


@cache
def assigned_country_codes() -> frozenset[str]:
    import pycountry  # loaded only by the commands that take a country

    return frozenset(country.alpha_2 for country in pycountry.countries)


def check_text(value: str) -> str:
    if CONTROL_CHARACTER.search(value):
        raise ValueError("must not contain control characters (tab included) or line separators (U+2028, U+2029)")
    trimmed = value.strip()
    if not trimmed:
        raise ValueError("must not be empty")
    if len(trimmed) > MAX_TEXT:
        raise ValueError(f"must be at most {MAX_TEXT} characters (got {len(trimmed)})")
    if LONE_SURROGATE.search(trimmed):
        raise ValueError("must be valid Unicode text (it holds a lone surrogate)")
    if not trimmed.isascii():
        unprintable(trimmed)
    return trimmed


def unprintable(text: str) -> None:
    """SPEC section 2: "any printable Unicode". Beyond control characters, a text refuses what prints nothing or
    something else: characters no Unicode version this ledger knows assigns, private-use characters and
    noncharacters, bidirectional controls, and a text with no visible character at all (only zero-width or
    combining ones). Format characters that scripts need inside words (zero-width joiners) are kept."""
    visible = False
    for char in text:
        category = unicodedata.category(char)
        if category == "Cn":
            what = "noncharacter" if is_noncharacter(char) else \
                f"character that Unicode {unicodedata.unidata_version} does not assign"
            raise ValueError(f"must hold printable characters only (U+{ord(char):04X} is a {what})")
        if category == "Co":
            raise ValueError(f"must hold printable characters only (U+{ord(char):04X} is a private-use character)")
        visible = visible or category[0] not in "CZM"
    found = BIDI_CONTROL.search(text)
    if found:
        raise ValueError(f"must not hold bidirectional controls (U+{ord(found.group()):04X}), which make a text "
                         "show something other than what it holds")
    if not visible:
        raise ValueError("must not be empty (it holds no visible character)")


def is_noncharacter(char: str) -> bool:
    code = ord(char)
    return 0xFDD0 <= code <= 0xFDEF or code & 0xFFFE == 0xFFFE


SEARCH_SEPARATOR = "\x1f"  # between the searchable texts: no search text can hold it (control characters are refused)


@lru_cache(maxsize=8192)  # the same names and regions are folded again for every segment of an organization
def search_key(text: str) -> str:
    """``text`` for matching letter case and accents aside: ``Aurífera`` and ``AURIFERA`` both give ``aurifera``."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def certificate_key(number: str) -> str:
    """The form under which a certificate number is unique and looked up: trimmed, letter case aside."""
    return number.strip().casefold()
