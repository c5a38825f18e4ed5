"""The pure fold: an organization's events in effective-date order -> its state on any date.

No I/O. The aggregate uses it to decide whether a command is legal (every prefix of
the timeline must be legal after the new event is inserted at its date); the read
side uses it to rebuild status, streaks and the valid-time segments of each
organization.

Order: effective date, ties broken by recording order (the aggregate version).
Retracted events and the retractions themselves take no part in valid time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from datetime import date, timedelta
from typing import Any, Iterable, Sequence

from ledger.errors import RuleViolation
from ledger.domain.events import (
    AuditConducted,
    CertificationDenied,
    CertificationGranted,
    CertificationSuspended,
    CertificationWithdrawn,
    EntryRetracted,
    FindingClosed,
    OrganizationDetailsCorrected,
    OrganizationEvent,
    OrganizationRegistered,
    PeriodDecided,
    Recertified,
    SuspensionLifted,
    ValidityExtended,
)
from ledger.domain.values import LATEST_END_DATE, SEARCH_SEPARATOR, search_key

ONE_DAY = timedelta(days=1)
COVERED = ("certified", "suspended")


@dataclass
class Period:
    """One certificate period: a grant, or a renewal that follows its predecessor without a gap."""

    standard: str
    certificate: str | None
    valid_from: date
    valid_until: date
    decided_on: date
    version: int

    @classmethod
    def decided(cls, event: PeriodDecided) -> Period:
        """The period a grant or a renewal issues."""
        return cls(event.standard, event.certificate, event.valid_from, event.valid_until, event.date,
                   event.originator_version)

    def copy(self) -> Period:
        return Period(self.standard, self.certificate, self.valid_from, self.valid_until, self.decided_on,
                      self.version)


@dataclass
class Chain:
    """A grant and its renewals; ends by expiry or withdrawal."""

    periods: list[Period]
    suspended_since: date | None = None
    withdrawn: CertificationWithdrawn | None = None

    @property
    def latest(self) -> Period:
        return self.periods[-1]

    @property
    def started_on(self) -> date:
        return self.periods[0].valid_from

    def copy(self) -> Chain:
        return Chain([p.copy() for p in self.periods], self.suspended_since, self.withdrawn)


@dataclass
class Catalogue:
    """Every event of a whole timeline by version, retracted or not, and its audits in effect by reference.

    The legality check keeps one beside the state it folds: the rules that name other events (``--audit
    REF``, ``close-finding V.N``) look them up here, whatever their date, to say precisely why a name
    does not resolve. Folds for reading keep none: those rules are then not checked, so a ledger
    written before a rule existed reads as it always did.
    """

    events: dict[int, OrganizationEvent] = field(default_factory=dict)
    retracted: set[int] = field(default_factory=set)
    audits: dict[str, dict[int, date]] = field(default_factory=dict)  # reference -> {version: date}, in effect

    @classmethod
    def of(cls, events: Iterable[OrganizationEvent]) -> Catalogue:
        catalogue = cls()
        events = list(events)
        catalogue.retracted = retracted_versions(events)
        for event in events:
            catalogue.note(event)
        return catalogue

    def note(self, event: OrganizationEvent) -> None:
        self.events[event.originator_version] = event
        if isinstance(event, EntryRetracted):
            self.retracted.add(event.target)
            target = self.events.get(event.target)
            if isinstance(target, AuditConducted) and target.reference is not None:
                self.audits.get(target.reference, {}).pop(event.target, None)
        elif isinstance(event, AuditConducted) and event.reference is not None \
                and event.originator_version not in self.retracted:
            self.audits.setdefault(event.reference, {})[event.originator_version] = event.date

    def retracted_audit(self, reference: str) -> AuditConducted | None:
        for version in sorted(self.retracted):
            event = self.events.get(version)
            if isinstance(event, AuditConducted) and event.reference == reference:
                return event
        return None

    def copy(self) -> Catalogue:
        return Catalogue(dict(self.events), set(self.retracted), {k: dict(v) for k, v in self.audits.items()})


@dataclass
class OrganizationState:
    """What the fold knows after the events up to some date."""

    registration: OrganizationRegistered | None = None
    chains: list[Chain] = field(default_factory=list)
    denials: list[CertificationDenied] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)  # name, country, region, legal_form, deposit in force
    audits: dict[int, AuditConducted] = field(default_factory=dict)  # audits in effect so far, by version
    closures: dict[str, FindingClosed] = field(default_factory=dict)  # finding id -> its closure so far
    catalogue: Catalogue | None = field(default=None, compare=False, repr=False)  # the whole timeline, when checking
    # Major and minor findings open so far, counted as audits and closures are folded (both only grow while
    # a timeline is folded), so that describing a segment does not go through every audit again.
    open_counts: dict[str, int] = field(default_factory=lambda: {"major": 0, "minor": 0}, compare=False,
                                        repr=False)
    _search: tuple[tuple[str, tuple[int, int]], str] | None = field(default=None, compare=False, repr=False)

    @property
    def chain(self) -> Chain | None:
        return self.chains[-1] if self.chains else None

    def status_on(self, day: date) -> str:
        chain = self.chain
        if chain is None:
            return "registered"
        if chain.withdrawn is not None:
            return "withdrawn"
        if day > chain.latest.valid_until:
            return "expired"
        return "suspended" if chain.suspended_since is not None else "certified"

    def covering_period(self, day: date) -> Period | None:
        """The period of the current chain whose validity contains ``day``."""
        chain = self.chain
        if chain is None or self.status_on(day) not in COVERED:
            return None
        for period in reversed(chain.periods):
            if period.valid_from <= day <= period.valid_until:
                return period
        return None

    def copy(self) -> OrganizationState:
        return OrganizationState(self.registration, [c.copy() for c in self.chains], list(self.denials),
                                 dict(self.details), dict(self.audits), dict(self.closures),
                                 self.catalogue.copy() if self.catalogue is not None else None,
                                 dict(self.open_counts))

    def shown_period(self, day: date) -> Period | None:
        """The period that status on ``day`` shows: the one covering ``day``; for an expired chain its last
        period; for a withdrawn chain the period in force on the withdrawal date (a renewal that had not
        started when the certificate was withdrawn never took effect)."""
        chain = self.chain
        return chain.periods[_shown_at(chain, day)] if chain is not None else None

    def open_findings(self) -> dict[str, int]:
        """Major and minor findings of the audits folded so far that no closure folded so far closes."""
        return dict(self.open_counts)

    def fold_audit(self, audit: AuditConducted) -> None:
        self.audits[audit.originator_version] = audit
        for finding in audit.findings:
            if finding.severity in self.open_counts:
                self.open_counts[finding.severity] += 1

    def fold_closure(self, closure: FindingClosed) -> None:
        """A closure (the fold has checked that its finding exists and is open); counted only under the id
        ``V.N`` the finding has, as ``open_findings`` has always matched them."""
        audit, n = self.audits.get(closure.audit_version), closure.position
        if audit is not None and closure.finding not in self.closures and 1 <= n <= len(audit.findings) \
                and closure.finding == f"{closure.audit_version}.{n}":
            severity = audit.findings[n - 1].severity
            if severity in self.open_counts:
                self.open_counts[severity] -= 1
        self.closures[closure.finding] = closure

    def describe(self, day: date) -> dict[str, Any]:
        """The status record of SPEC section 8 (without the query-time fields)."""
        return self._record(day, self.status_on(day), self.chain)

    def index_fields(self, day: date) -> dict[str, Any]:
        """What the registry filters on besides the status record, on ``day``: the region in force and the
        search text (both folded: letter case and accents aside), and the end of a certified period that no
        renewal follows (``expiring_on``)."""
        return self._index(day, self.status_on(day), self.chain)

    def segment_fields(self, day: date) -> tuple[dict[str, Any], dict[str, Any]]:
        """``describe(day)`` and ``index_fields(day)`` together: what a valid-time segment starting on ``day`` holds
        (the fold asks for about two an event, so the status and chain are looked up once for both)."""
        status, chain = self.status_on(day), self.chain
        return self._record(day, status, chain), self._index(day, status, chain)

    def _record(self, day: date, status: str, chain: Chain | None) -> dict[str, Any]:
        reg = self.registration
        if reg is None:
            raise ValueError("an organization that is not registered has no status")
        shown, consecutive, standard_years = None, 0, 0
        if chain is not None:
            at = _shown_at(chain, day)
            shown = chain.periods[at]
            if status in COVERED:
                consecutive = len(chain.periods)
                # The trailing grants and renewals with the standard shown: a renewal decided but not started
                # yet continues it when it keeps the standard, and is not counted while a change is pending.
                standard_years = sum(1 for period in chain.periods[at + 1:] if period.standard == shown.standard)
                for period in reversed(chain.periods[:at + 1]):
                    if period.standard != shown.standard:
                        break
                    standard_years += 1
        details = self.details or self.registered_details()
        return {
            "org": reg.org,
            "name": details["name"],
            "country": details["country"],
            "status": status,
            "standard": shown.standard if shown else None,
            "certificate": shown.certificate if shown else None,
            "valid_from": shown.valid_from.isoformat() if shown else None,
            "valid_until": shown.valid_until.isoformat() if shown else None,
            "certified_since": chain.started_on.isoformat() if chain is not None and status in COVERED else None,
            "consecutive_years": consecutive,
            "recertifications": max(consecutive - 1, 0),
            "standard_years": standard_years,
            "suspended_since": _iso(chain.suspended_since) if status == "suspended" and chain else None,
            "last_denial": self._last_denial() if self.denials else None,
            "withdrawn_on": _iso(chain.withdrawn.date) if status == "withdrawn" and chain and chain.withdrawn
            else None,
            "open_findings": self.open_findings(),
        }

    def registered_details(self) -> dict[str, Any]:
        assert self.registration is not None
        return self.registration.details()

    def _index(self, day: date, status: str, chain: Chain | None) -> dict[str, Any]:
        reg = self.registration
        assert reg is not None
        details = self.details or self.registered_details()
        expiring_on = None
        if chain is not None and status == "certified" and chain.latest.valid_from <= day:
            expiring_on = chain.latest.valid_until.isoformat()
        region = details.get("region")
        return {
            "region": region_key(region) if region else None,
            "search": self._search_text(reg.org, details["name"]),
            "expiring_on": expiring_on,
        }

    def _search_text(self, org: str, name: str) -> str:
        """The org id, the name in force and every certificate number, folded. Kept until the name changes or
        a period is added: chains and their periods are only ever appended while a timeline is folded, and a
        period's number never changes."""
        periods = (len(self.chains), len(self.chains[-1].periods) if self.chains else 0)
        if self._search is not None and self._search[0] == (name, periods):
            return self._search[1]
        numbers = dict.fromkeys(period.certificate for chain in self.chains for period in chain.periods
                                if period.certificate)
        text = SEARCH_SEPARATOR.join(search_key(text) for text in (org, name, *numbers))
        self._search = ((name, periods), text)
        return text

    def _last_denial(self) -> dict[str, Any] | None:
        since = self.chain.started_on if self.chain else None
        for denial in reversed(self.denials):
            if since is None or denial.date >= since:
                return {
                    "date": _iso(denial.date),
                    "stage": denial.stage,
                    "reason_category": denial.reason_category,
                    "reason": denial.reason,
                }
            break
        return None


@lru_cache(maxsize=4096)
def region_key(region: str) -> str:
    """A region as ``registry --region`` matches it: the whole region and each of its comma-separated parts,
    folded, each between separators (``Ananea, Puno`` is found as ``ananea, puno``, ``Ananea`` or ``PUNO``)."""
    parts = [search_key(region).strip(), *(search_key(part).strip() for part in region.split(","))]
    return SEARCH_SEPARATOR + SEARCH_SEPARATOR.join(dict.fromkeys(p for p in parts if p)) + SEARCH_SEPARATOR


@dataclass(frozen=True)
class Segment:
    """A stretch of valid time, from ``start`` until the next segment's start, with one status record
    (and one set of ``index`` fields: what the registry filters on besides the record)."""

    start: date
    record: dict[str, Any]
    index: dict[str, Any] = field(default_factory=dict)


def _shown_at(chain: Chain, day: date) -> int:
    """The index of the period ``OrganizationState.shown_period`` shows: the last one started on ``day`` (on the
    withdrawal date, for a withdrawn chain), else the first. Periods follow one another, so the search runs
    from the end."""
    on = chain.withdrawn.date if chain.withdrawn is not None else day
    for at in range(len(chain.periods) - 1, -1, -1):
        if chain.periods[at].valid_from <= on:
            return at
    return 0


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d is not None else None


def retracted_versions(events: Iterable[OrganizationEvent]) -> set[int]:
    return {e.target for e in events if isinstance(e, EntryRetracted)}


def effective(events: Iterable[OrganizationEvent]) -> list[OrganizationEvent]:
    """The events that take part in valid time, in effective-date order."""
    events = list(events)
    gone = retracted_versions(events)
    kept = [e for e in events if not isinstance(e, EntryRetracted) and e.originator_version not in gone]
    kept.sort(key=lambda e: (e.date, e.originator_version))
    return kept


def describe_event(event: OrganizationEvent) -> str:
    return f"{type(event).__name__} of {event.date.isoformat()} (version {event.originator_version})"


class Illegal(Exception):
    """Raised inside the fold; carries the event at which the timeline stops being legal."""

    def __init__(self, event: OrganizationEvent, reason: str):
        super().__init__(reason)
        self.event = event
        self.reason = reason


def apply(state: OrganizationState, event: OrganizationEvent) -> None:
    """Fold one event into ``state`` (all earlier events already folded), or raise Illegal.

    All or nothing: an Illegal event leaves ``state`` as it was.
    """
    _apply(state, event)
    if state.catalogue is not None:
        state.catalogue.note(event)


def _apply(state: OrganizationState, event: OrganizationEvent) -> None:
    day = event.date
    if isinstance(event, OrganizationRegistered):
        if state.registration is not None:
            raise Illegal(event, f"{state.registration.org} is already registered")
        state.registration = event
        state.details = state.registered_details()
        return
    if state.registration is None:
        raise Illegal(event, f"{day} is before the organization's registration")
    if day < state.registration.date:
        raise Illegal(event, before_registration(day, state.registration.date))
    status = state.status_on(day)
    chain = state.chain

    if isinstance(event, AuditConducted):
        state.fold_audit(event)
        return
    if isinstance(event, OrganizationDetailsCorrected):
        state.details = {**state.details, **event.corrected()}
        return
    needed = NEEDED_STATUS.get(type(event))
    if needed is not None:
        if status not in needed[0]:
            raise Illegal(event, f"{needed[1]} {status} on {day}")
        assert chain is not None  # every status it needs has a chain
        _change_chain(chain, event)
        return
    if isinstance(event, FindingClosed):
        _refuse(event, closure_refusal(state, event))
        state.fold_closure(event)
        return
    if isinstance(event, PeriodDecided):
        _refuse(event, audit_refusal(state, event))
    if isinstance(event, CertificationDenied):
        stage = "recertification" if status in COVERED else "initial"
        if event.stage != stage:
            raise Illegal(event, f"the denial on {day} was recorded at the {event.stage} stage, "
                                 f"but the organization would be {status} on that date")
        state.denials.append(event)
        return
    if isinstance(event, CertificationGranted):
        if status in COVERED:
            # The period that covers the day, not the latest: a renewal may be decided that starts later.
            covering = state.covering_period(day) or chain.latest  # type: ignore[union-attr]
            raise Illegal(event, f"the organization is already {status} on {day} "
                                 f"(certificate valid {covering.valid_from} to {covering.valid_until}); "
                                 "a current certificate is renewed with recertify")
        state.chains.append(Chain([_period(event)]))
        return
    if isinstance(event, Recertified):
        _refuse(event, renewal_refusal(state, day))
        assert chain is not None
        latest = chain.latest
        if event.valid_from != latest.valid_until + ONE_DAY:
            raise Illegal(event, f"the renewal on {day} starts on {event.valid_from}, but the period it renews "
                                 f"({latest.valid_from} to {latest.valid_until}) would end on {latest.valid_until}")
        period = _period(event)
        if event.valid_until > LATEST_END_DATE:
            raise Illegal(event, f"valid_until {event.valid_until} is after {LATEST_END_DATE}, "
                                 "the latest end date the ledger takes")
        chain.periods.append(period)
        return
    raise Illegal(event, f"unknown event type {type(event).__name__}")


def _change_chain(chain: Chain, event: OrganizationEvent) -> None:
    """Suspend, reinstate, extend or withdraw the current chain (the status on the event's date allows it)."""
    day = event.date
    if isinstance(event, CertificationSuspended):
        chain.suspended_since = day
    elif isinstance(event, SuspensionLifted):
        chain.suspended_since = None
    elif isinstance(event, ValidityExtended):
        latest = chain.latest
        if latest.valid_from > day:
            raise Illegal(event, f"the period covering {day} was already renewed on {latest.decided_on}; "
                                 "only the latest period can be extended")
        if event.until <= latest.valid_until:
            raise Illegal(event, f"the extension must end after the current valid_until {latest.valid_until} "
                                 f"(got {event.until})")
        latest.valid_until = event.until
    elif isinstance(event, CertificationWithdrawn):
        chain.withdrawn = event
        chain.suspended_since = None


# The statuses on its date that an event needs, and how its refusal words the rule (the status follows).
NEEDED_STATUS: dict[type[OrganizationEvent], tuple[tuple[str, ...], str]] = {
    CertificationSuspended: (("certified",), "only a certified organization can be suspended, and it is"),
    SuspensionLifted: (("suspended",), "only a suspended certificate can be reinstated, and the organization is"),
    ValidityExtended: (COVERED, "only a current certificate can be extended, and the organization is"),
    CertificationWithdrawn: (COVERED, "only a current certificate can be withdrawn, and the organization is"),
}


def _refuse(event: OrganizationEvent, refusal: str | None) -> None:
    """Stop the fold at ``event`` when a rule gives a refusal."""
    if refusal is not None:
        raise Illegal(event, refusal)


def before_registration(day: date, registered_on: date) -> str:
    return f"{day} is before the registration on {registered_on}"


def _period(event: PeriodDecided) -> Period:
    """The period a grant or a renewal issues, once its dates are checked to be in order."""
    if event.valid_until < event.valid_from:
        raise Illegal(event, f"valid_until {event.valid_until} is before valid_from {event.valid_from}")
    return Period.decided(event)


def audit_refusal(state: OrganizationState, event: PeriodDecided) -> str | None:
    """Why the audit a decision names (``--audit REF``) does not hold, or None: it must be an audit of the same
    organization, dated on or before the decision, and not retracted. Checked only with a catalogue."""
    reference, catalogue = event.audit, state.catalogue
    if reference is None or catalogue is None:
        return None
    dates = sorted(catalogue.audits.get(reference, {}).values())
    if dates and dates[0] <= event.date:
        return None
    org = state.registration.org if state.registration is not None else "the organization"
    what = f"the decision on {event.date} names audit {reference}"
    if dates:
        return f"{what}, but that audit is dated {dates[0]}, after the decision (an audit must come first)"
    retracted = catalogue.retracted_audit(reference)
    if retracted is not None:
        return f"{what}, but that audit (of {retracted.date}, version {retracted.originator_version}) is retracted"
    return f"{what}, but {org} has no audit with that reference"


def closure_refusal(state: OrganizationState, event: FindingClosed) -> str | None:
    """Why ``close-finding`` does not hold, or None: the finding exists in an audit of the organization in
    effect, dated on or before the closure, and is not closed yet."""
    finding, version, day = event.finding, event.audit_version, event.date
    audit = state.audits.get(version)
    if audit is None:
        catalogue = state.catalogue
        target = catalogue.events.get(version) if catalogue is not None else None
        org = state.registration.org if state.registration is not None else "the organization"
        if catalogue is None:
            return f"finding {finding}: no audit in effect at version {version} dated on or before {day}"
        if target is None or target.originator_version >= event.originator_version:
            return f"finding {finding}: {org} has no version {version}"
        if not isinstance(target, AuditConducted):
            return f"finding {finding}: version {version} is {describe_event(target)}, not an audit"
        if version in catalogue.retracted:
            return f"finding {finding}: the audit of {target.date} (version {version}) is retracted"
        return (f"finding {finding}: the closure on {day} is dated before the audit of {target.date} "
                f"(version {version})")
    if event.position > len(audit.findings):
        count = len(audit.findings)
        has = f"{count} finding{'s' if count != 1 else ''}" if count else "no findings"
        return f"finding {finding}: the audit of {audit.date} (version {version}) has {has}"
    closed = state.closures.get(finding)
    if closed is not None:
        return (f"finding {finding} was already closed on {closed.date} (version {closed.originator_version}); "
                "a finding is closed once")
    return None


def renewal_refusal(state: OrganizationState, day: date) -> str | None:
    """Why the period covering ``day`` cannot be renewed on ``day``, or None when it can."""
    chain = state.chain
    if chain is None:
        return f"the organization is not certified on {day}; use certify for a first certificate"
    latest = chain.latest
    status = state.status_on(day)
    if status == "certified":
        if latest.valid_from > day:
            return (f"the period covering {day} was already renewed on {latest.decided_on} "
                    f"(new period {latest.valid_from} to {latest.valid_until}); a period is renewed only once")
        return None
    if status == "expired":
        return (f"the certificate expired after {latest.valid_until}, so on {day} there is "
                "nothing to renew; grant a new certificate with certify")
    if status == "suspended":
        return (f"the certificate is suspended on {day} (since {chain.suspended_since}); "
                "reinstate it before renewing (an extension keeps it from expiring meanwhile)")
    assert chain.withdrawn is not None  # the one status left
    return f"the certificate was withdrawn on {chain.withdrawn.date}; grant a new certificate with certify"


def fold(events: Sequence[OrganizationEvent], until: date | None = None) -> OrganizationState:
    """The state after the effective events dated on or before ``until`` (all when None)."""
    state = OrganizationState()
    for event in effective(events):
        if until is not None and event.date > until:
            break
        try:
            apply(state, event)
        except Illegal:
            # A stored timeline is legal by construction; if it is not (tampering), keep folding
            # what can be folded so that queries still answer and `verify` can report it.
            continue
    return state


def check(events: Sequence[OrganizationEvent], new: OrganizationEvent | None = None,
          action: str | None = None) -> OrganizationState:
    """Raise RuleViolation unless every prefix of the timeline is legal; return the final state.

    ``new`` is the event being recorded: a failure at a later event is reported as the
    later event that the new one would invalidate.
    """
    ordered = effective(events)
    registered_on = next((e.date for e in ordered if isinstance(e, OrganizationRegistered)), None)
    state = OrganizationState(catalogue=Catalogue.of(events))
    for event in ordered:
        try:
            apply(state, event)
        except Illegal as illegal:
            if state.registration is None and registered_on is not None:
                # Folded before the registration: say which registration it precedes.
                illegal = Illegal(event, f"{event.date} is before the registration on {registered_on}")
            raise RuleViolation(_explain(illegal, new, action)) from None
    return state


def _explain(illegal: Illegal, new: OrganizationEvent | None, action: str | None) -> str:
    if new is None:
        return f"the timeline is not legal at {describe_event(illegal.event)}: {illegal.reason}"
    what = action or f"{new.command} on {new.date}"
    if illegal.event is new:
        return f"{what} refused: {illegal.reason}"
    return f"{what} refused: it would invalidate the later {describe_event(illegal.event)}: {illegal.reason}"


def state_on(events: Sequence[OrganizationEvent], day: date) -> OrganizationState:
    return fold(events, until=day)


def segments(events: Sequence[OrganizationEvent]) -> list[Segment]:
    """Valid-time segments: the status record is constant from each start to the next.

    Status changes only on event dates, on the day a renewal's period starts (the renewal was
    decided earlier) and on the first day after a chain's last period (expiry): time passing
    alone needs no event.
    """
    return segments_and_state(events)[0]


def segments_and_state(events: Sequence[OrganizationEvent]) -> tuple[list[Segment], OrganizationState]:
    """``segments(events)`` and ``fold(events)`` from one pass over the timeline."""
    ordered = effective(events)
    state = OrganizationState()
    result: list[Segment] = []
    i = 0
    while i < len(ordered):
        day = ordered[i].date
        while i < len(ordered) and ordered[i].date == day:
            try:
                apply(state, ordered[i])
            except Illegal:
                pass
            i += 1
        if state.registration is None:
            continue
        _append(result, day, state)
        next_day = ordered[i].date if i < len(ordered) else None
        for change in changes_without_event(state, day):
            if next_day is None or change < next_day:
                _append(result, change, state)
    return result, state


def changes_without_event(state: OrganizationState, day: date) -> list[date]:
    """The days after ``day`` on which status changes with no event: a renewal's period starting (it was
    decided before), and the first day after the chain's last period (expiry)."""
    chain = state.chain
    if chain is None or chain.withdrawn is not None:
        return []
    days = {period.valid_from for period in chain.periods if period.valid_from > day}
    expiry = chain.latest.valid_until + ONE_DAY
    if expiry > day:
        days.add(expiry)
    return sorted(days)


def _append(result: list[Segment], start: date, state: OrganizationState) -> None:
    record, index = state.segment_fields(start)
    if result and result[-1].record == record and result[-1].index == index:
        return
    result.append(Segment(start, record, index))


def segment_on(segs: Sequence[Segment], day: date) -> Segment | None:
    found = None
    for seg in segs:
        if seg.start > day:
            break
        found = seg
    return found


class SegmentBuilder:
    """``segments_and_state`` kept current as an organization's events arrive one by one.

    An event that sorts last in effective order (no retraction, dated on or after every effective
    event) leaves every segment before its date as it was: only those from its date on are
    computed again, so a history recorded in date order costs one step per event instead of a
    replay per event. Anything else (a back-dated event, a retraction) computes the whole timeline.
    After each ``add``, ``segments`` and ``state`` equal ``segments_and_state(events)``.
    """

    def __init__(self) -> None:
        self.events: list[OrganizationEvent] = []
        self.state = OrganizationState()
        self.segments: list[Segment] = []
        self._last_date: date | None = None
        # Whether the last ``add`` computed the whole timeline again (a back-dated event or a retraction):
        # then anything derived from the past may have changed, not only what lies from the event's date on.
        self.replayed = False

    def add(self, event: OrganizationEvent) -> int:
        """Take the next event (in version order); return the index of the first segment that may have changed
        (the one before the new ones too, whose end is the next one's start)."""
        self.events.append(event)
        self.replayed = isinstance(event, EntryRetracted) or (
            self._last_date is not None and event.date < self._last_date)
        if self.replayed:
            self.segments, self.state = segments_and_state(self.events)
            ordered = effective(self.events)
            self._last_date = ordered[-1].date if ordered else None
            return 0
        day = event.date
        kept = len(self.segments)
        while kept and self.segments[kept - 1].start >= day:
            kept -= 1
        del self.segments[kept:]
        try:
            apply(self.state, event)
        except Illegal:
            pass  # as segments_and_state: a stored timeline is legal unless tampered with
        self._last_date = day
        if self.state.registration is not None:
            _append(self.segments, day, self.state)
            for change in changes_without_event(self.state, day):
                _append(self.segments, change, self.state)
        return max(kept - 1, 0)


class FoldedTimeline:
    """The final state of a legal timeline, kept current as events are appended to it.

    ``check_append(events, new)`` has exactly the outcome of ``check(events + [new])``
    (the same state, or the same RuleViolation). When the new event sorts last in
    effective order (it is not a retraction and no effective event is dated after
    it), every earlier prefix is already known to be legal, so folding the new event
    into the cached state is the whole check: recording an organization's history in
    date order then costs one step per event instead of a replay per event. Anything
    else (a back-dated event, a retraction, no cache yet) falls back to ``check``.
    """

    def __init__(self) -> None:
        self._state: OrganizationState | None = None
        self._last_date: date | None = None
        self._retracted: set[int] = set()

    def check_append(self, events: Sequence[OrganizationEvent], new: OrganizationEvent,
                     action: str | None = None) -> OrganizationState:
        state = self._state
        if state is not None and self._sorts_last(new):
            try:
                apply(state, new)  # all or nothing: apply raises before it changes the state
            except Illegal as illegal:
                raise RuleViolation(_explain(illegal, new, action)) from None
            self._last_date = new.date
            return state
        timeline = [*events, new]
        state = check(timeline, new=new, action=action)
        ordered = effective(timeline)
        self._state = state
        self._last_date = ordered[-1].date if ordered else None
        self._retracted = retracted_versions(timeline)
        return state

    def state_on(self, events: Sequence[OrganizationEvent], day: date) -> OrganizationState:
        """``state_on(events, day)``, from the cache when no effective event is dated after ``day``.

        The state returned may be the cache itself: read it, never change it.
        """
        if self._state is not None and (self._last_date is None or day >= self._last_date):
            return self._state
        return state_on(events, day)

    def copy(self) -> FoldedTimeline:
        """An independent copy: appending to it leaves this one as it was."""
        twin = FoldedTimeline()
        twin._state = self._state.copy() if self._state is not None else None
        twin._last_date = self._last_date
        twin._retracted = set(self._retracted)
        return twin

    def forget(self) -> None:
        self._state = None
        self._last_date = None
        self._retracted = set()

    def _sorts_last(self, new: OrganizationEvent) -> bool:
        if isinstance(new, EntryRetracted) or new.originator_version in self._retracted:
            return False
        return self._last_date is None or new.date >= self._last_date
