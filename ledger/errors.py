"""One exception hierarchy: every refusal the ledger makes is a LedgerError.

The command line maps a LedgerError to ``Error: <message>`` and exit status 1.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator


class LedgerError(Exception):
    """A command or query the ledger refuses, with a message for a person."""


class InvalidInput(LedgerError):
    """A value that does not meet the contract (bad date, unknown category...)."""


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
