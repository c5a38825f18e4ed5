"""The organization's events: immutable pydantic models, stored as their own JSON.

Class names and this module path are a stored API (event topics). Renaming or
moving a class needs a registered topic alias (``eventsourcing.utils.register_topic``);
changing fields needs a ``class_version`` bump and an ``upcast_vN_vM`` static method.
"""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from eventsourcing.domain import CanInitAggregate
from eventsourcing.utils import register_topic

from ledger.domain.names import FIRST_RELEASE_MODULE
from ledger.domain.recorded import HIDDEN_FIELDS, RecordedEvent
from ledger.domain.values import (
    DETAIL_FIELDS,
    AuditKind,
    DenialStage,
    Deposit,
    LegalForm,
    ReasonCategory,
    Severity,
    Standard,
    WithdrawalMode,
    given_details,
)

# The fields the ledger sets on every event besides the effective date: not part of the command.
BOOKKEEPING_FIELDS = frozenset({"originator_id", "originator_version", "timestamp", "recorded_by", "key"})


class OrganizationEvent(RecordedEvent):
    """An event of one organization's timeline, recorded by one command (``command``)."""

    # Fields the ledger derives when it decides the command (not given in it, so not in its import line).
    derived: ClassVar[frozenset[str]] = frozenset()

    def shown_fields(self) -> dict[str, Any]:
        """The event's own fields as ``history`` shows them (no ids, times or keys)."""
        return self.model_dump(mode="json", exclude=HIDDEN_FIELDS)

    def command_fields(self) -> dict[str, Any]:
        """The recording command that produced this event, with resolved values (import format): what its
        import key is computed from, so what it holds for an event already stored never changes."""
        fields = self.model_dump(mode="json", exclude=BOOKKEEPING_FIELDS | self.derived, exclude_none=True)
        return {"command": self.command, **fields}

    def export_fields(self) -> dict[str, Any]:
        """The import line ``export`` writes for this event: its command, with every resolved value."""
        return self.command_fields()


class Finding(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    severity: Severity
    category: str
    text: str

    def as_option(self) -> str:
        return f"{self.severity}:{self.category}:{self.text}"


class OrganizationRegistered(OrganizationEvent, CanInitAggregate[UUID]):
    command: ClassVar[str] = "register"
    derived: ClassVar[frozenset[str]] = frozenset({"originator_topic"})  # the aggregate's class, set by the library

    originator_topic: str
    org: str
    name: str
    country: str
    region: str | None = None
    legal_form: LegalForm = "other"
    deposit: Deposit | None = None

    def details(self) -> dict[str, Any]:
        """The details it registered, by field name."""
        return {field: getattr(self, field) for field in DETAIL_FIELDS}


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

    derived: ClassVar[frozenset[str]] = frozenset({"valid_from"})  # the grant's date, or the renewed period's end + 1

    standard: Standard
    certificate: str | None = None
    valid_from: date
    valid_until: date
    audit: str | None = None


class CertificationGranted(PeriodDecided):
    command: ClassVar[str] = "certify"


class Recertified(PeriodDecided):
    """A renewal. ``renumbered``: the new period carries a certificate number of its own (``recertify
    --certificate``), which it claims; otherwise it keeps the renewed period's number."""

    command: ClassVar[str] = "recertify"
    derived: ClassVar[frozenset[str]] = PeriodDecided.derived | {"renumbered"}  # whether --certificate was new

    renumbered: bool = False

    def command_fields(self) -> dict[str, Any]:
        fields = super().command_fields()
        if not self.renumbered:
            fields.pop("certificate", None)  # kept from the renewed period: left out of the key, as it always was
        return fields

    def export_fields(self) -> dict[str, Any]:
        # The kept number too (SPEC section 8: export writes the resolved certificate). Importing it gives the
        # same event and key: a renewal given the number it keeps is no renumbering.
        return super().command_fields()

    def shown_fields(self) -> dict[str, Any]:
        fields = super().shown_fields()
        if not self.renumbered:
            fields.pop("renumbered", None)
        return fields


class CertificationDenied(OrganizationEvent):
    command: ClassVar[str] = "deny"
    derived: ClassVar[frozenset[str]] = frozenset({"stage"})  # from the status on the denial's date

    stage: DenialStage
    reason_category: ReasonCategory
    reason: str


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


class OrganizationDetailsCorrected(OrganizationEvent):
    """From its date on, the given details replace those in force (SPEC section 3).

    ``previous`` holds the details it replaced, as they stood on its date when it was recorded
    (derived, like a denial's stage: not part of the command, so not of its import key).
    """

    command: ClassVar[str] = "correct"
    derived: ClassVar[frozenset[str]] = frozenset({"previous"})

    name: str | None = None
    country: str | None = None
    region: str | None = None
    legal_form: LegalForm | None = None
    deposit: Deposit | None = None
    previous: dict[str, str | None] = {}

    def corrected(self) -> dict[str, str]:
        """The details this correction gives, by field name."""
        return given_details(self)

    def shown_fields(self) -> dict[str, Any]:
        return {**self.corrected(), "previous": dict(self.previous)}


class FindingClosed(OrganizationEvent):
    """An audit finding was resolved. ``finding`` is ``V.N``: the audit's version in ``history`` and the
    finding's 1-based position in that audit."""

    command: ClassVar[str] = "close-finding"

    finding: str
    evidence: str

    @property
    def audit_version(self) -> int:
        return int(self.finding.split(".")[0])

    @property
    def position(self) -> int:
        return int(self.finding.split(".")[1])


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
    OrganizationDetailsCorrected,
    FindingClosed,
)


# Ledgers written by the first release keep its topics (see ``ledger.domain.names``): they resolve here.
for _event_type in EVENT_TYPES:
    register_topic(f"{FIRST_RELEASE_MODULE}:{_event_type.__name__}", _event_type)
