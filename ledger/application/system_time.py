"""System time: ``--known-at`` parsed and resolved to a ledger position, in one place.

T is either all digits (a ledger position) or an ISO-8601 date-time (no offset means UTC; a bare
date means the end of that day, UTC). It resolves to the largest position recorded at or before
T; an answer then uses exactly the events at positions up to it. ``--as-of`` (valid time) is
parsed here too, so that every query reads both the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time as clock, timezone
from typing import TYPE_CHECKING

from ledger.domain.values import MAX_DIGITS, parse_date, today_utc
from ledger.errors import POSITIONS, InvalidInput, naming
from ledger.storage.chain import format_instant

if TYPE_CHECKING:
    from ledger.storage import LedgerStorage

BEFORE_ANYTHING = "1970-01-01T00:00:00.000000Z"


@dataclass(frozen=True)
class KnownAt:
    """A system-time point: the ledger position it resolves to (None: now, whatever is committed), and the
    instant it echoes."""

    position: int | None
    instant: str
    asked: str | None = None  # the value as the user gave it, for messages


KnownAtValue = str | int | datetime | KnownAt | None


def now() -> KnownAt:
    return KnownAt(None, format_instant(datetime.now(timezone.utc)))


def resolve(storage: LedgerStorage, value: KnownAtValue) -> KnownAt:
    """Resolve ``--known-at``: a ledger position (all digits) or an ISO-8601 instant; None is now."""
    if value is None:
        return now()
    if isinstance(value, KnownAt):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return at_position(storage, value)
    if isinstance(value, datetime):
        instant = format_instant(value if value.tzinfo else value.replace(tzinfo=timezone.utc))
        return KnownAt(storage.position_at(instant), instant)
    text = str(value).strip()
    if text.isascii() and text.isdigit():  # "²" is a digit to str.isdigit, but no number
        return replace(at_position(storage, position_of(text)), asked=text)
    try:
        instant = format_instant(parse_instant(text))
    except OverflowError:
        raise InvalidInput(f"--known-at: {text!r} is out of range") from None
    return KnownAt(storage.position_at(instant), instant, asked=text)


def describe(value: KnownAtValue, seen: KnownAt) -> str:
    """``--known-at`` as the user gave it, for messages: "position 12", or the instant as typed."""
    if isinstance(value, KnownAt):
        value = value.asked
    if isinstance(value, int) and not isinstance(value, bool):
        return f"position {value}"
    if isinstance(value, str) and value.strip():
        text = value.strip()
        return f"position {position_of(text)}" if text.isascii() and text.isdigit() else text
    return seen.instant if seen.position is None else f"position {seen.position}"


def position_of(digits: str) -> int:
    """A position written in ASCII digits. One of more digits than any position has is past the last position
    whatever its value (and past what Python reads as an integer from some thousands of digits on)."""
    return int(digits) if len(digits) <= MAX_DIGITS else POSITIONS[1] + 1


def at_position(storage: LedgerStorage, position: int) -> KnownAt:
    """Position 0 is the empty ledger; a position beyond the last one is the ledger as it is now."""
    latest = storage.max_position()
    if position > latest:
        # Clamped, which also keeps numbers too big for SQL out of the queries.
        return KnownAt(latest, format_instant(datetime.now(timezone.utc)))
    stamp = storage.recorded_at([position]).get(position) if position > 0 else BEFORE_ANYTHING
    if stamp is None:
        raise InvalidInput(f"--known-at: there is no ledger position {position}")
    return KnownAt(position, stamp)


def parse_instant(text: str) -> datetime:
    """ISO-8601 date-time (no offset means UTC) or a bare date (the end of that day, UTC)."""
    try:
        if len(text) == 10:
            return datetime.combine(parse_date(text), clock.max, tzinfo=timezone.utc)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        raise InvalidInput(f"--known-at: {text!r} is neither a ledger position nor an ISO-8601 date-time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def as_of_date(value: date | str | None) -> date:
    """``--as-of``: a calendar date (the end of that day); today, UTC, by default."""
    if value is None:
        return today_utc()
    with naming("--as-of"):
        day = parse_date(value)
    return day
