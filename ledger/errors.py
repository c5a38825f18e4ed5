"""One exception hierarchy: every refusal the ledger makes is a LedgerError.

The command line maps a LedgerError to ``Error: <message>`` and exit status 1.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Sequence


class LedgerError(Exception):
    """A command or query the ledger refuses, with a message for a person."""


class InvalidInput(LedgerError):
    """A value that does not meet the contract (bad date, unknown category...)."""


MESSAGE_LIMIT = 1000  # characters of a message shown: past it, a quoted value is only repeated in part


def one_line(message: str) -> str:
    """A message as it is shown (``Error: ...`` at the command line, ``{"error": ...}`` over HTTP): control
    characters from quoted input escaped, so that it stays the one line scripts read, and no longer than
    ``MESSAGE_LIMIT`` (an id of 100 KB would otherwise come back whole)."""
    text = "".join(ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape", "backslashreplace").decode()
                   for ch in message)
    if len(text) <= MESSAGE_LIMIT:
        return text
    half = MESSAGE_LIMIT // 2
    return f"{text[:half]}…({len(text) - 2 * half} characters left out)…{text[-half:]}"


def invalid_value(option: str, detail: str) -> InvalidInput:
    """A bad value of ``--option``, worded as click words it at the command line, so that the HTTP API, which
    checks the same options itself, answers with the very message the CLI prints (SPEC section 10)."""
    return InvalidInput(f"Invalid value for '--{option}': {detail}")


def not_one_of(value: object, choices: Sequence[str]) -> str:
    return f"{value!r} is not one of {', '.join(map(repr, choices))}."


def not_in_range(value: int, low: int | None, high: int | None) -> str:
    bounds = f"{low}<=x<={high}" if low is not None and high is not None else \
        f"x>={low}" if low is not None else f"x<={high}"
    return f"{value} is not in the range {bounds}."


# What a report needs, in the command line's words (over HTTP: ``/api/reports/{year}``, or ``from`` and ``to``).
REPORT_NEEDS_A_PERIOD = "give --year YYYY, or both --from DATE and --to DATE"

# Ranges of the whole-number options, shared by the CLI's options and the API's parameters.
NOT_NEGATIVE = (0, None)
YEARS = (1, 9999)
POSITIONS = (0, 2**62)  # a ledger position or a count of events: the databases' integers end at 2**63 - 1
# A span of days (``--expiring-within``): any span over the calendar's 3,652,058 days already takes in every date;
# bounded, as positions are, so that the command line and the API refuse the same numbers.
DAYS = (0, 2**62)


class UnknownOrganization(LedgerError):
    """The organization is not in the ledger (or not registered on the date asked)."""


class UnknownAccount(LedgerError):
    """No account of that name."""


class UnknownCertificate(LedgerError):
    """No period in effect carries the certificate number (as known at the time asked)."""


class AlreadyRegistered(LedgerError):
    """An organization id that is already taken."""


class RuleViolation(LedgerError):
    """A command that would make some prefix of the timeline illegal."""


class DuplicateCertificate(LedgerError):
    """A certificate number already held elsewhere in the ledger."""


class DuplicateCommand(LedgerError):
    """A command identical to one already recorded for the organization (given again by mistake)."""


class ConcurrencyConflict(LedgerError):
    """Other writers kept changing the organization; the command gave up retrying."""


class Interrupted(LedgerError):
    """Stopped (Ctrl-C) before anything was committed: nothing was written."""


class StorageError(LedgerError):
    """The database cannot be opened, read or written."""


class IntegrityFailure(LedgerError):
    """The hash chain or the projections do not match the stored events."""


class NotAuthenticated(LedgerError):
    """A request without a valid, unrevoked token (one message for every reason, so tokens cannot be probed)."""


class Forbidden(LedgerError):
    """A command the account's role or organizations do not allow."""


@contextmanager
def naming(what: str) -> Iterator[None]:
    """Refuse a value that does not parse (a ValueError inside) as ``InvalidInput("<what>: <why>")``, so that
    the message names the option or field the value was given as (``--as-of: ...``)."""
    try:
        yield
    except ValueError as error:
        raise InvalidInput(f"{what}: {error}") from None
