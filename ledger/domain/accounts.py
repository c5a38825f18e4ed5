"""Accounts: who may record what over HTTP, kept in the ledger itself as events in the same hash chain.

An account is opened with a role (and, for a certification body, the organizations it audits) and
revoked later; both are events of the Account aggregate, so every grant and revocation of a right is
on the record, covered by ``verify``. The token itself is never stored: the event holds a slow,
salted hash of it (``ledger.application.accounts``).

Roles: ``office`` may record every command; ``body`` (a certification body) may record ``audit`` and
``close-finding`` for its organizations only; ``reader`` may record nothing (it matters when the
registry is served privately, where every request needs an account).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

from eventsourcing.domain import CanInitAggregate, datetime_now_with_tzinfo
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from ledger.domain.names import ACCOUNT_TOPICS, OPENING_TOPICS, account_id  # noqa: F401 - named here too
from ledger.domain.recorded import HIDDEN_FIELDS, RecordedAggregate, RecordedEvent
from ledger.domain.fields import EffectiveDate, OrgId
from ledger.domain.values import ROLES  # noqa: F401
from ledger.errors import RuleViolation

Role = Literal["office", "body", "reader"]
BODY_COMMANDS = frozenset({"audit", "close-finding"})
ACCOUNT_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


def _account_name(value: object) -> str:
    if not isinstance(value, str) or not ACCOUNT_NAME.fullmatch(value):
        raise ValueError(f"{value!r} is not a valid account name (2-64 characters: lower-case letters, digits, "
                         "'.', '_' and '-', starting with a letter or digit)")
    return value


AccountName = Annotated[str, BeforeValidator(_account_name)]


def _distinct(orgs: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(orgs))


class AccountCommand(BaseModel):
    """A command on an account (given at the command line only: never an import line)."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    command: str
    name: AccountName
    date: EffectiveDate


class OpenAccount(AccountCommand):
    command: Literal["accounts-add"] = "accounts-add"
    role: Role
    orgs: Annotated[tuple[OrgId, ...], AfterValidator(_distinct)] = ()
    token_hash: Annotated[str, Field(min_length=20, max_length=500)]

    @model_validator(mode="after")
    def _body_lists_its_organizations(self) -> OpenAccount:
        # A body records only for its organizations: without any, its account could record nothing at all.
        # (That each one is registered is checked where the ledger is read: ``ledger.application.recording``.)
        if self.role == "body" and not self.orgs:
            raise ValueError("a certification body's account needs at least one organization (--org ORG)")
        return self


class RevokeAccount(AccountCommand):
    command: Literal["accounts-revoke"] = "accounts-revoke"


class AccountEvent(RecordedEvent):
    """An event of one account; ``date`` is the day it took effect (UTC), as on the organizations' events."""

    def shown_fields(self) -> dict[str, Any]:
        """What ``changes`` shows: never the token's hash."""
        return self.model_dump(mode="json", exclude=HIDDEN_FIELDS | {"token_hash"})

    def command_fields(self) -> dict[str, Any]:
        """The command's canonical fields, for its key (the token's hash left out: it is random)."""
        return {"command": self.command, **self.shown_fields(), "date": self.date.isoformat()}


class AccountOpened(AccountEvent, CanInitAggregate[UUID]):
    command: ClassVar[str] = "accounts-add"

    originator_topic: str
    name: str
    role: Role
    orgs: tuple[str, ...] = ()
    token_hash: str


class AccountRevoked(AccountEvent):
    command: ClassVar[str] = "accounts-revoke"

    name: str


ACCOUNT_EVENT_TYPES: tuple[type[AccountEvent], ...] = (AccountOpened, AccountRevoked)



class Account(RecordedAggregate):
    """One account: its role, its organizations, its token's hash, and whether it was revoked."""

    def __init__(self) -> None:
        super().__init__()
        self.revoked_on: date | None = None

    def accept(self, event: AccountEvent) -> None:
        super().accept(event)
        if isinstance(event, AccountRevoked):
            self.revoked_on = event.date

    @property
    def opened(self) -> AccountOpened:
        return self.first(AccountOpened)

    @property
    def name(self) -> str:
        return self.opened.name

    @property
    def role(self) -> str:
        return self.opened.role

    @property
    def orgs(self) -> tuple[str, ...]:
        return self.opened.orgs

    @property
    def active(self) -> bool:
        return self.revoked_on is None

    @classmethod
    def open(cls, command: OpenAccount, recorded_by: str, key: str) -> Account:
        return cls._create(AccountOpened, id=account_id(command.name), date=command.date, recorded_by=recorded_by,
                           key=key, name=command.name, role=command.role, orgs=command.orgs,
                           token_hash=command.token_hash)

    def revoke(self, command: RevokeAccount, recorded_by: str, key: str) -> AccountRevoked:
        if not self.active:
            raise RuleViolation(f"account {self.name} was already revoked on {self.revoked_on}")
        event = AccountRevoked(originator_id=self.id, originator_version=self.version + 1,
                               timestamp=datetime_now_with_tzinfo(), date=command.date, recorded_by=recorded_by,
                               key=key, name=self.name)
        event.mutate(self)
        self.pending_events.append(event)
        return event

    def role_refusal(self, command: object) -> str | None:
        """Why this account's role may not record ``command`` for any organization (None: it may for some)."""
        if self.role == "reader":
            return f"account {self.name} has the reader role, which records nothing"
        if self.role == "body" and command not in BODY_COMMANDS:
            return (f"account {self.name} is a certification body's: it may record only audit and close-finding, "
                    f"not {command}")
        return None

    def refusal(self, command: str, org: str | None) -> str | None:
        """Why this account may not record ``command`` for ``org`` (None: it may)."""
        if self.role == "office":
            return None
        role = self.role_refusal(command)
        if role is not None:
            return role
        if org not in self.orgs:
            return f"account {self.name} may not record for {org} (its organizations: {', '.join(self.orgs) or 'none'})"
        return None

    def describe(self) -> dict[str, Any]:
        """What ``accounts list`` shows of it."""
        opened = self.opened
        revoked = self.events[-1] if self.revoked_on is not None else None
        return {"name": self.name, "role": self.role, "orgs": list(self.orgs), "opened_on": opened.date.isoformat(),
                "opened_by": opened.recorded_by, "revoked_on": revoked.date.isoformat() if revoked else None,
                "revoked_by": revoked.recorded_by if revoked else None}
