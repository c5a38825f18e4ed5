"""Answers computed purely from one organization's timeline: a certificate on a date (SPEC section 9),
and the organization's audit findings.

No I/O: the read side finds the organization (the views index certificate numbers) and passes its
events here.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Sequence

from ledger.domain import timeline
from ledger.domain.events import OrganizationEvent
from ledger.domain.timeline import Chain, Period
from ledger.domain.values import certificate_key

STATES = ("valid", "suspended", "withdrawn", "superseded", "expired", "not-yet-valid")


def carrying(chains: Sequence[Chain], number: str) -> tuple[int, list[Period]] | None:
    """The chain (its index) whose periods carry ``number`` (letter case aside), and those periods."""
    key = certificate_key(number)
    for index, chain in enumerate(chains):
        periods = [p for p in chain.periods if p.certificate is not None and certificate_key(p.certificate) == key]
        if periods:
            return index, periods
    return None


def certificate_on(events: Sequence[OrganizationEvent], number: str, day: date) -> dict[str, Any] | None:
    """The answer for certificate ``number`` on ``day`` from one organization's events, or None when none of
    its periods (retracted ones left out) carries the number.

    The certificate's periods are the grant and renewal periods that carry the number. Which of them
    exist, and how long they run, is as decided on or before ``day`` (a period decided later is
    known only to say that the certificate is not valid yet).
    """
    whole = timeline.fold(events)
    found = carrying(whole.chains, number)
    if found is None:
        return None
    chain_index, all_periods = found
    state = timeline.fold(events, until=day)
    chain = state.chains[chain_index] if chain_index < len(state.chains) else None
    found_then = carrying([chain], number) if chain is not None else None
    periods = found_then[1] if found_then is not None else []
    if chain is None or not periods:
        answer, shown = "not-yet-valid", all_periods[0]
    elif chain.withdrawn is not None:
        answer, shown = "withdrawn", _shown(periods, day)
    else:
        covering = next((p for p in periods if p.valid_from <= day <= p.valid_until), None)
        if covering is not None and chain is state.chain:
            answer = "valid" if state.status_on(day) == "certified" else "suspended"
            shown = covering
        elif day < periods[0].valid_from:
            answer, shown = "not-yet-valid", periods[0]
        else:
            later = state.covering_period(day) if chain is state.chain else None
            answer = "superseded" if later is not None and later not in periods else "expired"
            shown = _shown(periods, day)
    details = (state if state.registration is not None else whole).details
    return {
        "certificate": all_periods[0].certificate,
        "org": whole.registration.org if whole.registration is not None else None,
        "name": details.get("name"),
        "country": details.get("country"),
        "standard": shown.standard,
        "state": answer,
        "valid_from": shown.valid_from.isoformat(),
        "valid_until": shown.valid_until.isoformat(),
    }


def _shown(periods: Sequence[Period], day: date) -> Period:
    """The period covering ``day``, else the last one before it, else the first one."""
    for period in periods:
        if period.valid_from <= day <= period.valid_until:
            return period
    before = [p for p in periods if p.valid_until < day]
    return before[-1] if before else periods[0]


def findings(events: Sequence[OrganizationEvent], day: date, only_open: bool = False) -> list[dict[str, Any]]:
    """The findings of the audits in effect dated on or before ``day``, with their ids (``V.N``), and whether (and
    when) a closure dated on or before ``day`` closed them; by audit date, then id."""
    state = timeline.fold(events, until=day)
    result = []
    for version, audit in sorted(state.audits.items(), key=lambda item: (item[1].date, item[0])):
        for n, finding in enumerate(audit.findings, start=1):
            closure = state.closures.get(f"{version}.{n}")
            if only_open and closure is not None:
                continue
            result.append({
                "id": f"{version}.{n}",
                "audit_date": audit.date.isoformat(),
                "audit_reference": audit.reference,
                "body": audit.body,
                "severity": finding.severity,
                "category": finding.category,
                "text": finding.text,
                "closed_on": closure.date.isoformat() if closure is not None else None,
                "evidence": closure.evidence if closure is not None else None,
            })
    return result
