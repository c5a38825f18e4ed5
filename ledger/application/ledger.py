"""CertificationLedger: the application service of one scheme's ledger (SQLite file or PostgreSQL).

The write side is ``recording`` (one pipeline for every recording), the read side of single
organizations is ``reading``, system time is ``system_time``; this class wires them to the
storage chosen from ``--db`` and offers one method per command to Python callers.
"""

from __future__ import annotations

import sqlite3
from datetime import date
from functools import cached_property
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from eventsourcing.application import Application
from eventsourcing.persistence import Mapper, PersistenceError, Transcoder
from eventsourcing.utils import Environment

from ledger.application import system_time
from ledger.application.log import EventLog
from ledger.application.system_time import KnownAt, KnownAtValue
from ledger.domain.values import today_utc
from ledger.errors import InvalidInput, LedgerError, StorageError
from ledger.storage import LedgerStorage, chosen, describe, environment
from ledger.storage.mapper import PlainJSONTranscoder, PydanticMapper

if TYPE_CHECKING:  # the write side is imported by the first command that writes: a query never needs it
    from ledger.application.reading import OrganizationReader
    from ledger.application.accounts import NewToken, TokenChecker
    from ledger.application.recording import Options, Outcome, Recorded, Writer
    from ledger.domain import commands as cmd
    from ledger.domain.accounts import Account, AccountCommand


class CertificationLedger(Application):
    """The ledger of one scheme: SQLite file or PostgreSQL database named by ``db``."""

    name = "certledger"

    def __init__(self, db: str | None = None, *, must_exist: bool = False, tables_on_first_write: bool = False
                 ) -> None:
        """``tables_on_first_write``: on PostgreSQL, a ledger that does not exist yet gets its schema and
        tables in its first write transaction, so a refused first command leaves nothing behind (an SQLite
        file is created whole by ``ledger.application.creation``)."""
        self.db = chosen(db)
        self._ledger_env = environment(self.db, must_exist=must_exist, tables_on_first_write=tables_on_first_write)
        try:
            super().__init__()
        except LedgerError:
            raise
        except (PersistenceError, sqlite3.Error, OSError, ImportError) as error:
            raise StorageError(f"cannot open database {describe(self.db)}: {error}") from None

    def construct_env(self, name: str, env: Any = None) -> Environment:
        # Only the ledger's own settings: library variables in the user's shell must not redirect it.
        # Table names follow the ledger's name, never a subclass's (the library derives them from it).
        return Environment(CertificationLedger.name, dict(self._ledger_env))

    def construct_mapper(self) -> Mapper:
        return PydanticMapper(transcoder=self.construct_transcoder())

    def construct_transcoder(self) -> Transcoder:
        return PlainJSONTranscoder()

    @cached_property
    def reader(self) -> OrganizationReader:
        """Questions about single organizations, from their events: made (and imported) by the first such
        question. A question the views answer never loads the event classes."""
        from ledger.application.reading import OrganizationReader

        return OrganizationReader(self.storage, self.mapper)

    @cached_property
    def writer(self) -> Writer:
        """The write pipeline, made (and imported) by the first command that writes."""
        from ledger.application.recording import Writer

        return Writer(self.storage, self.mapper, self.db)

    @property
    def storage(self) -> LedgerStorage:
        return self.recorder  # type: ignore[return-value]

    @property
    def log(self) -> EventLog:
        """The narrow view of this ledger that the read models are given."""
        return EventLog(self.storage, self.mapper, self.db, owner=self)

    # ------------------------------------------------------------------ recording

    def record(self, command: cmd.Command | AccountCommand | dict[str, Any], *, by: str | None = None,
               again: bool = False,
               on_wait: Callable[[], None] | None = None) -> Recorded:
        """Record one command (a validated model, or a mapping in the import format); see ``recording``."""
        return self.writer.record(command, by=by, again=again, on_wait=on_wait)

    def record_lines(self, lines: Iterable[tuple[int | None, Any]], *, by: str | None = None,
                     options: Options | None = None) -> Outcome:
        """Record many commands as the lines of one file: all or nothing, lines already recorded skipped."""
        from ledger.application.recording import Options

        return self.writer.submit(lines, by=by, options=options or Options(lines=True))

    def register(self, org: str, *, name: str, country: str, date: date | str, region: str | None = None,
                 legal_form: str = "other", deposit: str | None = None, by: str | None = None) -> Recorded:
        return self._command("register", by, org=org, name=name, country=country, date=date, region=region,
                             legal_form=legal_form, deposit=deposit)

    def audit(self, org: str, *, date: date | str, body: str, kind: str, reference: str | None = None,
              findings: Sequence[str] = (), by: str | None = None) -> Recorded:
        return self._command("audit", by, org=org, date=date, body=body, kind=kind, reference=reference,
                             finding=list(findings))

    def certify(self, org: str, *, date: date | str, standard: str, certificate: str | None = None,
                valid_until: date | str | None = None, audit: str | None = None, by: str | None = None) -> Recorded:
        return self._command("certify", by, org=org, date=date, standard=standard, certificate=certificate,
                             valid_until=valid_until, audit=audit)

    def recertify(self, org: str, *, date: date | str, standard: str | None = None, certificate: str | None = None,
                  valid_until: date | str | None = None, audit: str | None = None, by: str | None = None) -> Recorded:
        return self._command("recertify", by, org=org, date=date, standard=standard, certificate=certificate,
                             valid_until=valid_until, audit=audit)

    def deny(self, org: str, *, date: date | str, reason_category: str, reason: str, by: str | None = None
             ) -> Recorded:
        return self._command("deny", by, org=org, date=date, reason_category=reason_category, reason=reason)

    def suspend(self, org: str, *, date: date | str, reason: str, resolve_by: date | str | None = None,
                by: str | None = None) -> Recorded:
        return self._command("suspend", by, org=org, date=date, reason=reason, resolve_by=resolve_by)

    def reinstate(self, org: str, *, date: date | str, by: str | None = None) -> Recorded:
        return self._command("reinstate", by, org=org, date=date)

    def extend(self, org: str, *, date: date | str, until: date | str, reason: str, by: str | None = None
               ) -> Recorded:
        return self._command("extend", by, org=org, date=date, until=until, reason=reason)

    def withdraw(self, org: str, *, date: date | str, mode: str, reason: str, by: str | None = None) -> Recorded:
        return self._command("withdraw", by, org=org, date=date, mode=mode, reason=reason)

    def retract(self, org: str, target: int, *, date: date | str, reason: str, by: str | None = None) -> Recorded:
        return self._command("retract", by, org=org, target=target, date=date, reason=reason)

    def correct(self, org: str, *, date: date | str, name: str | None = None, country: str | None = None,
                region: str | None = None, legal_form: str | None = None, deposit: str | None = None,
                by: str | None = None) -> Recorded:
        return self._command("correct", by, org=org, date=date, name=name, country=country, region=region,
                             legal_form=legal_form, deposit=deposit)

    def close_finding(self, org: str, finding: str, *, date: date | str, evidence: str, by: str | None = None
                      ) -> Recorded:
        return self._command("close-finding", by, org=org, finding=finding, date=date, evidence=evidence)

    def open_account(self, name: str, *, role: str, orgs: Sequence[str] = (), by: str | None = None
                     ) -> tuple[Recorded, NewToken]:
        """Open an account and make its token: the token is returned here once and never stored."""
        from ledger.application.accounts import new_token
        from ledger.domain.accounts import OpenAccount

        token = new_token(name)
        command = _account_command(OpenAccount, name=name, role=role, orgs=tuple(orgs), token_hash=token.token_hash)
        return self.record(command, by=by), token

    def revoke_account(self, name: str, *, by: str | None = None) -> Recorded:
        from ledger.domain.accounts import RevokeAccount

        return self.record(_account_command(RevokeAccount, name=name), by=by)

    def accounts(self) -> list[Account]:
        return self.reader.accounts()

    def token_checker(self) -> TokenChecker:
        """Checks bearer tokens against the accounts as stored at each request."""
        from ledger.application.accounts import TokenChecker

        return TokenChecker(self.reader.account)

    def _command(self, verb: str, by: str | None, **fields: Any) -> Recorded:
        command = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in fields.items()
                   if v is not None and v != []}
        return self.record({"command": verb, **command}, by=by)

    # ------------------------------------------------------------------ reading

    def known_at(self, value: KnownAtValue = None) -> KnownAt:
        """Resolve ``--known-at``: a ledger position (all digits) or an ISO-8601 instant; see ``system_time``."""
        return system_time.resolve(self.storage, value)

    def state_at(self, org: str, as_of: date | str | None = None, known_at: KnownAtValue = None) -> dict[str, Any]:
        """The status record of SPEC section 8 for ``org`` on ``as_of`` as the ledger knew it at ``known_at``."""
        return self.reader.state_at(org, as_of, known_at)

    def findings(self, org: str, as_of: date | str | None = None, known_at: KnownAtValue = None,
                 only_open: bool = False) -> list[dict[str, Any]]:
        """``org``'s audit findings (ids ``V.N``) on ``as_of``, and whether (and when) each was closed."""
        return self.reader.findings(org, as_of, known_at, only_open)

    def history(self, org: str, known_at: KnownAtValue = None) -> list[dict[str, Any]]:
        """Every event of ``org`` in position order, retracted ones marked; no query-time fields."""
        return self.reader.history(org, known_at)

    def events_of(self, org: str, known_at: KnownAt | None = None) -> list[Any]:
        return self.reader.events_of(org, known_at)

    def organizations(self, known_at: KnownAt | None = None) -> list[str]:
        """Every organization id in the ledger (as known at ``known_at``), sorted."""
        return self.reader.organizations(known_at)

    def statuses(self, as_of: date | str | None = None, known_at: KnownAtValue = None) -> list[dict[str, Any]]:
        """Every organization's status on ``as_of``, each from its own events (the views' reference answer)."""
        return self.reader.statuses(as_of, known_at)


def _account_command(cls: type[AccountCommand], **fields: Any) -> AccountCommand:
    """An account command dated today (UTC), validated; bad input is the user's error, said plainly."""
    from pydantic import ValidationError

    from ledger.domain.commands import describe_validation_error

    try:
        return cls.model_validate({"date": today_utc(), **fields})
    except ValidationError as error:
        raise InvalidInput(describe_validation_error(error, tagged=False)) from None
