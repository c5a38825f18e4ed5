"""Open findings are counted as audits and closures are folded; the count equals the findings list.

The status record's ``open_findings`` is kept by the fold step by step (a segment's record must not
go through every audit again); ``findings --open`` lists them from the folded audits and closures.
Whatever audits and closures a timeline holds, in any order of recording, the two agree on every date.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta, timezone
from uuid import uuid4

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.domain.certificates import findings
from ledger.domain.events import AuditConducted, EntryRetracted, Finding, FindingClosed, OrganizationRegistered
from ledger.domain.timeline import SegmentBuilder, segments_and_state, state_on

START = date(2016, 1, 10)
SEVERITIES = ("major", "minor", "observation")

step = st.one_of(
    st.tuples(st.just("audit"), st.integers(0, 60), st.lists(st.sampled_from(SEVERITIES), max_size=4)),
    # a closure names one of the audits recorded before it (or, with none, version 1) and a finding
    # position (some name no finding)
    st.tuples(st.just("close"), st.integers(0, 60), st.tuples(st.integers(0, 12), st.integers(0, 4))),
    st.tuples(st.just("retract"), st.integers(0, 60), st.integers(2, 12)),
)


def timeline(steps: list[tuple]) -> list:
    org_id = uuid4()
    made = [OrganizationRegistered(originator_id=org_id, originator_version=1, timestamp=datetime.now(timezone.utc),
                                   date=START, recorded_by="tester", key="",
                                   originator_topic="ledger.domain.organization:Organization", org="o",
                                   name="O", country="PE")]
    for kind, offset, detail in steps:
        common = dict(originator_id=org_id, originator_version=len(made) + 1, timestamp=datetime.now(timezone.utc),
                      date=START + timedelta(days=offset), recorded_by="tester", key="")
        if kind == "audit":
            made.append(AuditConducted(**common, body="FLO-CERT", kind="surveillance",
                                       findings=tuple(Finding(severity=s, category="c", text="t") for s in detail)))
        elif kind == "close":
            audits = [e.originator_version for e in made if isinstance(e, AuditConducted)] or [1]
            version = audits[detail[0] % len(audits)]
            made.append(FindingClosed(**common, finding=f"{version}.{detail[1]}", evidence="fixed"))
        elif detail < len(made) + 1:
            made.append(EntryRetracted(**common, target=detail, reason="wrong"))
    return made


def listed_open(events: list, day: date) -> dict[str, int]:
    counted = Counter(item["severity"] for item in findings(events, day, only_open=True))
    return {"major": counted["major"], "minor": counted["minor"]}


@settings(max_examples=150, deadline=None)
@given(st.lists(step, max_size=14), st.integers(0, 70))
def test_the_open_count_equals_the_open_findings_listed(steps: list[tuple], offset: int) -> None:
    events = timeline(steps)
    day = START + timedelta(days=offset)
    assert state_on(events, day).open_findings() == listed_open(events, day)


@settings(max_examples=100, deadline=None)
@given(st.lists(step, max_size=14))
def test_segments_built_event_by_event_count_what_a_whole_fold_counts(steps: list[tuple]) -> None:
    events = timeline(steps)
    builder = SegmentBuilder()
    for event in events:
        builder.add(event)
    segs, state = segments_and_state(events)
    assert builder.segments == segs
    assert builder.state.open_findings() == state.open_findings() == listed_open(events, date.max)
    for seg in segs:
        assert seg.record["open_findings"] == listed_open(events, seg.start)
