"""The Organization aggregate: one per organization, holding its events in recording order.

Commands (imperative) resolve their derived values against the timeline, then insert the
new event at its effective date and accept it only if every prefix of the timeline is legal.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Iterable
from uuid import UUID

from eventsourcing.domain import datetime_now_with_tzinfo
from eventsourcing.utils import register_topic

from ledger.domain import commands as cmd
from ledger.domain import timeline
from ledger.errors import RuleViolation
from ledger.domain.events import (
    EVENT_TYPES,
    AuditConducted,
    CertificationDenied,
    CertificationGranted,
    EntryRetracted,
    Finding,
    OrganizationDetailsCorrected,
    OrganizationEvent,
    OrganizationRegistered,
    Recertified,
)
from ledger.domain.names import organization_id  # noqa: F401 - named here too
from ledger.domain.recorded import RecordedAggregate, RecordedEvent
from ledger.domain.values import anniversary_eve, certificate_key

EVENT_TYPE_OF_COMMAND = {event_type.command: event_type for event_type in EVENT_TYPES}


class Organization(RecordedAggregate):
    def __init__(self) -> None:
        super().__init__()
        self.folded = timeline.FoldedTimeline()

    def copy(self) -> Organization:
        """A working copy for one command: it shares the (immutable) events, not their list or fold."""
        twin = super().copy()
        twin.folded = self.folded.copy()
        return twin

    @property
    def registration(self) -> OrganizationRegistered:
        return self.first(OrganizationRegistered)

    @property
    def org(self) -> str:
        return self.registration.org

    @classmethod
    def register(cls, command: cmd.Register, recorded_by: str, key: str) -> Organization:
        return cls._create(
            OrganizationRegistered,
            id=organization_id(command.org),
            date=command.date,
            recorded_by=recorded_by,
            key=key,
            org=command.org,
            name=command.name,
            country=command.country,
            region=command.region,
            legal_form=command.legal_form,
            deposit=command.deposit,
        )

    # Deciding: resolve the command into a candidate event (not yet legal-checked).

    def decide(self, command: cmd.Command, recorded_by: str) -> OrganizationEvent:
        # Built without validating again: every field is either the validated command's or derived here.
        event_class, fields = self._resolve(command)
        return event_class.model_construct(
            originator_id=self.id,
            originator_version=self.version + 1,
            timestamp=datetime_now_with_tzinfo(),
            date=command.date,
            recorded_by=recorded_by,
            key="",
            **fields,
        )

    def _resolve(self, command: cmd.Command) -> tuple[type[OrganizationEvent], dict[str, Any]]:
        day = command.date
        if isinstance(command, cmd.Audit):
            findings = tuple(Finding(severity=s, category=c, text=t)
                             for s, c, t in (f.split(":", 2) for f in command.finding))
            return AuditConducted, dict(body=command.body, kind=command.kind, reference=command.reference,
                                        findings=findings)
        if isinstance(command, cmd.Certify):
            until = command.valid_until or anniversary_eve(day)
            return CertificationGranted, dict(standard=command.standard, certificate=command.certificate,
                                              valid_from=day, valid_until=until, audit=command.audit)
        if isinstance(command, cmd.Recertify):
            # The renewal's dates derive from the period it renews: before the registration there is none, and
            # that is the rule to name (as for every other command), not "not certified".
            if day < self.registration.date:
                raise RuleViolation(f"recertify on {day} refused: "
                                    f"{timeline.before_registration(day, self.registration.date)}")
            state = self.folded.state_on(self.events, day)
            covering = state.covering_period(day)
            if covering is None:
                refusal = timeline.renewal_refusal(state, day) or f"no certificate covers {day}"
                raise RuleViolation(f"recertify on {day} refused: {refusal}")
            valid_from = covering.valid_until + timedelta(days=1)
            until = command.valid_until or anniversary_eve(valid_from)
            renumbered = command.certificate is not None and (
                covering.certificate is None
                or certificate_key(command.certificate) != certificate_key(covering.certificate))
            return Recertified, dict(standard=command.standard or covering.standard,
                                     certificate=command.certificate if renumbered else covering.certificate,
                                     renumbered=renumbered, valid_from=valid_from, valid_until=until,
                                     audit=command.audit)
        if isinstance(command, cmd.Deny):
            state = self.folded.state_on(self.events, day)
            stage = "recertification" if state.status_on(day) in timeline.COVERED else "initial"
            return CertificationDenied, dict(stage=stage, reason_category=command.reason_category,
                                             reason=command.reason)
        if isinstance(command, cmd.Correct):
            given = command.given()
            state = self.folded.state_on(self.events, day)
            in_force = state.details or self.registration.details()
            return OrganizationDetailsCorrected, dict(**given, previous={k: in_force.get(k) for k in given})
        if isinstance(command, cmd.Register):
            raise RuleViolation(f"{command.command} cannot be recorded on an existing organization")
        # The other commands derive nothing: each field of their event is the command's field of that name.
        event_type = EVENT_TYPE_OF_COMMAND[command.verb]
        return event_type, {field: getattr(command, field) for field in event_type.model_fields
                            if field not in RecordedEvent.model_fields}

    # Recording: check the whole timeline with the candidate inserted, then accept it.

    def record(self, candidate: OrganizationEvent, key: str) -> OrganizationEvent:
        event = candidate.model_copy(update={"key": key})
        if isinstance(event, EntryRetracted):
            self._check_retraction(event)
            action = f"retract of version {event.target} on {event.date}"
        else:
            action = f"{event.command} on {event.date}"
        self.folded.check_append(self.events, event, action=action)
        try:
            event.mutate(self)
        except BaseException:
            self.folded.forget()  # the cache already holds the event that was not accepted
            raise
        self.pending_events.append(event)
        return event

    def discard(self, event: OrganizationEvent) -> None:
        """Take back the event just recorded (a claim it needed was refused): as if never recorded."""
        if not self.events or self.events[-1] is not event:
            raise ValueError("only the last recorded event can be discarded")
        self.events.pop()
        self.pending_events.remove(event)
        self.version -= 1
        self.folded.forget()

    def _check_retraction(self, event: EntryRetracted) -> None:
        what = f"retract of version {event.target} on {event.date} refused"
        target = next((e for e in self.events if e.originator_version == event.target), None)
        if target is None:
            raise RuleViolation(f"{what}: {self.org} has no version {event.target} (it has 1 to {self.version})")
        if isinstance(target, OrganizationRegistered):
            raise RuleViolation(f"{what}: the registration cannot be retracted")
        if isinstance(target, EntryRetracted):
            raise RuleViolation(f"{what}: a retraction cannot be retracted")
        if event.target in timeline.retracted_versions(self.events):
            raise RuleViolation(f"{what}: version {event.target} is already retracted")
        if event.date < target.date:
            raise RuleViolation(f"{what}: the correction is dated before the event it retracts "
                                f"({timeline.describe_event(target)})")

    def event(self, version: int) -> OrganizationEvent | None:
        if 1 <= version <= len(self.events):
            return self.events[version - 1]
        return None


def project_organization(aggregate: Organization | None, events: Iterable[OrganizationEvent]) -> Organization | None:
    """Fold stored events into an aggregate (the library's projector, without its per-event protocol check).

    Events folded in this way were not checked by this aggregate, so its next command checks the whole timeline.
    """
    for event in events:
        aggregate = event.mutate(aggregate)
        assert aggregate is not None
        aggregate.folded.forget()
    return aggregate


# Registrations written by the first release name the aggregate class by its old module path.
register_topic("ledger.organization:Organization", Organization)


def claimed_number(event: OrganizationEvent | None) -> str | None:
    """The certificate number an event claims (unique in the ledger, letter case aside): a grant's, or a
    renewal's own new number. A retraction of the event frees it."""
    if isinstance(event, CertificationGranted):
        return event.certificate
    if isinstance(event, Recertified) and event.renumbered:
        return event.certificate
    return None
