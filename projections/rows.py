"""One organization's view rows, computed purely from its events (no I/O).

Every read model is recomputed per organization from its whole timeline whenever
one of its events arrives: a back-dated event or a retraction can change that
organization's past, and recomputing one organization's events is cheap.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Sequence

from ledger.application.log import Entry
from ledger.domain import timeline
from ledger.domain.values import certificate_key
from ledger.domain.events import (
    CertificationDenied,
    CertificationGranted,
    CertificationSuspended,
    CertificationWithdrawn,
    EntryRetracted,
    OrganizationEvent,
    OrganizationRegistered,
    Recertified,
)

ONE_DAY = timedelta(days=1)


@dataclass
class OrganizationRows:
    """The rows of every view table that belong to one organization."""

    org: str
    segments: list[tuple[Any, ...]] = field(default_factory=list)
    periods: list[tuple[Any, ...]] = field(default_factory=list)
    feed: list[tuple[Any, ...]] = field(default_factory=list)


COMPACT_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def to_json(data: Any) -> str:
    return COMPACT_JSON.encode(data)


def organization_rows(entries: Sequence[Entry], with_feed: bool = True) -> OrganizationRows:
    """Status segments, certification periods and feed rows of one organization (entries in version order).

    ``with_feed=False`` leaves the feed out, for answers that only need the valid-time tables.
    """
    events = [entry.event for entry in entries]
    registration = next((e for e in events if isinstance(e, OrganizationRegistered)), None)
    if registration is None:
        raise ValueError("an organization's events start with its registration")
    segs, state = timeline.segments_and_state(events)
    positions = {entry.event.originator_version: entry.position for entry in entries}
    return OrganizationRows(
        org=registration.org,
        segments=segment_rows(registration.org, segs),
        periods=period_rows(registration.org, state, positions),
        feed=feed_rows(registration.org, entries, segs) if with_feed else [],
    )


def segment_rows(org: str, segs: Sequence[timeline.Segment]) -> list[tuple[Any, ...]]:
    """(org, seq, start_day, end_day, status, country, standard, certified_since, consecutive_years, record,
    region, search, expiring_on).

    ``end_day`` is the next segment's start (exclusive); NULL for the open last segment. ``region`` and
    ``search`` are folded (letter case and accents aside); ``expiring_on`` is the end of a certified
    period that no renewal follows (see ``OrganizationState.index_fields``).
    """
    rows = []
    for seq, seg in enumerate(segs, start=1):
        end = segs[seq].start.isoformat() if seq < len(segs) else None
        record, index = seg.record, seg.index
        rows.append((org, seq, seg.start.isoformat(), end, record["status"], record["country"], record["standard"],
                     record["certified_since"], record["consecutive_years"], to_json(record),
                     index.get("region"), index.get("search"), index.get("expiring_on")))
    return rows


def period_rows(org: str, state: timeline.OrganizationState, positions: dict[int, int] | None = None
                ) -> list[tuple[Any, ...]]:
    """(org, chain, period, standard, certificate, valid_from, valid_until, decided_on, version, ended_on, end_reason,
    certificate_key, position).

    ``valid_until`` is after extensions. ``ended_on`` is the first day the period no longer
    covers because its chain ended: the withdrawal date, or (for the chain's last period)
    valid_until + 1 day, the first expired day, which may still lie ahead. A period followed
    by its renewal has neither. ``certificate_key`` is the number as it is looked up (letter case aside);
    ``position`` the ledger position of the decision, so that the first holder of a number is known.
    """
    positions = positions or {}
    rows = []
    for chain_no, chain in enumerate(state.chains, start=1):
        for period_no, period in enumerate(chain.periods, start=1):
            ended_on = end_reason = None
            if chain.withdrawn is not None and period.valid_until >= chain.withdrawn.date:
                ended_on, end_reason = chain.withdrawn.date.isoformat(), "withdrawn"
            elif chain.withdrawn is None and period is chain.latest:
                ended_on, end_reason = (period.valid_until + ONE_DAY).isoformat(), "expired"
            rows.append((org, chain_no, period_no, period.standard, period.certificate,
                         period.valid_from.isoformat(), period.valid_until.isoformat(),
                         period.decided_on.isoformat(), period.version, ended_on, end_reason,
                         certificate_key(period.certificate) if period.certificate else None,
                         positions.get(period.version)))
    return rows


def feed_rows(org: str, entries: Sequence[Entry], segs: Sequence[timeline.Segment]) -> list[tuple[Any, ...]]:
    """(position, org, version, type, date, recorded_at, recorded_by, fields, retracted_by, retracted_at,
    in_effect, report).

    Every stored event, retracted or not. ``retracted_at`` is the position of the retraction, so
    that a feed read as known at an earlier position leaves later retractions out. ``report`` is
    the event's entry in the yearly report, for events that take part in valid time.
    """
    retraction_of = {e.event.target: e for e in entries if isinstance(e.event, EntryRetracted)}
    rows = []
    for entry in entries:
        event = entry.event
        retraction = retraction_of.get(event.originator_version)
        in_effect = retraction is None and not isinstance(event, EntryRetracted)
        fields = event.shown_fields()
        report = report_item(org, event, segs) if in_effect else None
        rows.append((entry.position, org, event.originator_version, type(event).__name__, event.date.isoformat(),
                     entry.recorded_at, event.recorded_by, to_json(fields),
                     retraction.event.originator_version if retraction else None,
                     retraction.position if retraction else None,
                     1 if in_effect else 0, to_json(report) if report is not None else None))
    return rows


def report_item(org: str, event: OrganizationEvent, segs: Sequence[timeline.Segment]) -> dict[str, Any] | None:
    """The event as the yearly report lists it (SPEC section 8), or None if the report leaves it out."""
    day = event.date.isoformat()
    if isinstance(event, CertificationGranted):
        return {"org": org, "date": day, "standard": event.standard}
    if isinstance(event, Recertified):
        seg = timeline.segment_on(segs, event.date)
        years = seg.record["consecutive_years"] if seg is not None else 0
        return {"org": org, "date": day, "standard": event.standard, "consecutive_years": years}
    if isinstance(event, CertificationDenied):
        return {"org": org, "date": day, "stage": event.stage, "reason_category": event.reason_category,
                "reason": event.reason}
    if isinstance(event, CertificationSuspended):
        return {"org": org, "date": day, "reason": event.reason,
                "resolve_by": event.resolve_by.isoformat() if event.resolve_by else None}
    if isinstance(event, CertificationWithdrawn):
        return {"org": org, "date": day, "mode": event.mode, "reason": event.reason}
    return None
