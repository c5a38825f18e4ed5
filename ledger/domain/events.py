"""The organization's events: immutable pydantic models, stored as their own JSON.

Class names and this module path are a stored API (event topics). Renaming or
moving a class needs a registered topic alias (``eventsourcing.utils.register_topic``);
changing fields needs a ``class_version`` bump and an ``upcast_vN_vM`` static method.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from eventsourcing.domain import CanInitAggregate, CanMutateAggregate
from eventsourcing.utils import get_topic, register_topic

from ledger.domain.values import (
    AuditKind,
    DenialStage,
    Deposit,
    LegalForm,
    ReasonCategory,
    Severity,
    Standard,
    WithdrawalMode,
)


HIDDEN_FIELDS = {"originator_id", "originator_version", "timestamp", "date", "recorded_by", "key", "originator_topic"}


class OrganizationEvent(BaseModel, CanMutateAggregate[UUID]):
    """Common fields: the effective ``date`` (valid time), who recorded it, and its import key.

    ``timestamp`` is the library's recorded time (system time), set by the ledger.
    """

    # Validators are built when an event type is first used: a query builds only the types it reads.
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    class_version: ClassVar[int] = 1
    command: ClassVar[str] = ""

    originator_id: UUID
    originator_version: int
    timestamp: datetime
    date: date
    recorded_by: str
    key: str

    def apply(self, aggregate: Any) -> None:
        aggregate.accept(self)

    def shown_fields(self) -> dict[str, Any]:
        """The event's own fields as ``history`` shows them (no ids, times or keys)."""
        return self.model_dump(mode="json", exclude=HIDDEN_FIELDS)

    def command_fields(self) -> dict[str, Any]:
        """The recording command that produced this event, with resolved values (import format)."""
        fields = self.model_dump(
            mode="json",
            exclude={"originator_id", "originator_version", "timestamp", "recorded_by", "key"},
            exclude_none=True,
        )
        return {"command": self.command, **fields}


class Finding(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    severity: Severity
    category: str
    text: str

    def as_option(self) -> str:
        return f"{self.severity}:{self.category}:{self.text}"


class OrganizationRegistered(OrganizationEvent, CanInitAggregate[UUID]):
    command: ClassVar[str] = "register"

    originator_topic: str
    org: str
    name: str
    country: str
    region: str | None = None
    legal_form: LegalForm = "other"
    deposit: Deposit | None = None

    def command_fields(self) -> dict[str, Any]:
        fields = super().command_fields()
        fields.pop("originator_topic", None)
        return fields


class AuditConducted(OrganizationEvent):
    command: ClassVar[str] = "audit"

    body: str
    kind: AuditKind
    reference: str | None = None
    findings: tuple[Finding, ...] = ()

    def command_fields(self) -> dict[str, Any]:
        fields = super().command_fields()
        findings = fields.pop("findings", [])
        if findings:
            fields["finding"] = [f.as_option() for f in self.findings]
        return fields


class PeriodDecided(OrganizationEvent):
    """A decision that issues a certificate period (not itself stored: only its two subclasses are)."""

    standard: Standard
    certificate: str | None = None
    valid_from: date
    valid_until: date
    audit: str | None = None

    def command_fields(self) -> dict[str, Any]:
        fields = super().command_fields()
        fields.pop("valid_from", None)  # derived: the grant's date, or the renewed period's end + 1
        return fields


class CertificationGranted(PeriodDecided):
    command: ClassVar[str] = "certify"


class Recertified(PeriodDecided):
    """A renewal. ``renumbered``: the new period carries a certificate number of its own (``recertify
    --certificate``), which it claims; otherwise it keeps the renewed period's number."""

    command: ClassVar[str] = "recertify"

    renumbered: bool = False

    def command_fields(self) -> dict[str, Any]:
        fields = super().command_fields()
        renumbered = fields.pop("renumbered", False)
        if not renumbered:
            fields.pop("certificate", None)  # kept from the renewed period
        return fields

    def shown_fields(self) -> dict[str, Any]:
        fields = super().shown_fields()
        if not self.renumbered:
            fields.pop("renumbered", None)
        return fields


class CertificationDenied(OrganizationEvent):
    command: ClassVar[str] = "deny"

    stage: DenialStage
    reason_category: ReasonCategory
    reason: str

    def command_fields(self) -> dict[str, Any]:
        fields = super().command_fields()
        fields.pop("stage", None)
        return fields


class CertificationSuspended(OrganizationEvent):
    command: ClassVar[str] = "suspend"

    reason: str
    resolve_by: date | None = None


class SuspensionLifted(OrganizationEvent):
    command: ClassVar[str] = "reinstate"


class ValidityExtended(OrganizationEvent):
    command: ClassVar[str] = "extend"

    until: date
    reason: str


class CertificationWithdrawn(OrganizationEvent):
    command: ClassVar[str] = "withdraw"

    mode: WithdrawalMode
    reason: str


class EntryRetracted(OrganizationEvent):
    command: ClassVar[str] = "retract"

    target: int
    reason: str


EVENT_TYPES: tuple[type[OrganizationEvent], ...] = (
    OrganizationRegistered,
    AuditConducted,
    CertificationGranted,
    Recertified,
    CertificationDenied,
    CertificationSuspended,
    SuspensionLifted,
    ValidityExtended,
    CertificationWithdrawn,
    EntryRetracted,
)


# The first release stored these classes under the topic "ledger.events:<name>"; ledgers written
# then keep those topics (they are hashed into the chain), so the old topics resolve here.
FIRST_RELEASE_MODULE = "ledger.events"
for _event_type in EVENT_TYPES:
    register_topic(f"{FIRST_RELEASE_MODULE}:{_event_type.__name__}", _event_type)

# The topics an organization's first event is stored under, today's and the first release's.
REGISTRATION_TOPICS: tuple[str, ...] = (get_topic(OrganizationRegistered),
                                        f"{FIRST_RELEASE_MODULE}:{OrganizationRegistered.__name__}")
