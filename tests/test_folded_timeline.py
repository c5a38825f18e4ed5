"""FoldedTimeline: checking an appended event incrementally gives exactly what a full check gives."""

from __future__ import annotations

import copy
from datetime import date, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.domain import commands as cmd
from ledger.domain import timeline
from ledger.errors import LedgerError, RuleViolation
from ledger.domain.events import OrganizationEvent
from ledger.domain.organization import Organization

START = date(2012, 1, 1)
VERBS = ("audit", "certify", "recertify", "deny", "suspend", "reinstate", "extend", "withdraw", "retract")


def command(verb: str, day: int, variant: int) -> cmd.Command:
    fields: dict[str, Any] = {"command": verb, "org": "oro-puno", "date": (START + timedelta(days=day)).isoformat()}
    if verb == "audit":
        fields.update(body="IMO", kind="initial")
    elif verb == "certify":
        fields.update(standard=("fairmined", "ecological")[variant % 2])
        if variant % 3 == 0:
            fields["valid_until"] = (START + timedelta(days=day + 200 + 100 * variant)).isoformat()
    elif verb == "recertify":
        if variant % 2:
            fields["standard"] = "ecological"
    elif verb == "deny":
        fields.update(reason_category="commercial", reason="commercial requirements not met")
    elif verb == "suspend":
        fields.update(reason="traceability records missing")
    elif verb == "extend":
        fields.update(until=(START + timedelta(days=day + 300 + 60 * variant)).isoformat(), reason="halted")
    elif verb == "withdraw":
        fields.update(mode="voluntary", reason="internal reasons")
    elif verb == "retract":
        fields.update(target=variant + 2, reason="recorded in error")
    return cmd.parse_command(fields)


steps = st.lists(st.tuples(st.sampled_from(VERBS), st.integers(0, 2500), st.integers(0, 5)), max_size=30)


def registered() -> Organization:
    registration = cmd.parse_command({"command": "register", "org": "oro-puno", "name": "Oro Puno",
                                      "country": "PE", "date": START.isoformat()})
    assert isinstance(registration, cmd.Register)
    return Organization.register(registration, "tester", key="k1")


def outcome(check: Any) -> Any:
    try:
        return copy.deepcopy(check())
    except RuleViolation as violation:
        return f"refused: {violation}"


def candidates(org: Organization, plan: list[tuple[str, int, int]]) -> list[OrganizationEvent]:
    found = []
    for verb, day, variant in plan:
        try:
            found.append(org.decide(command(verb, day, variant), "tester"))
        except LedgerError:
            continue
    return found


@settings(max_examples=300, deadline=None)
@given(steps)
def test_appending_an_event_gives_the_same_state_or_refusal_as_a_full_check(plan: list[tuple[str, int, int]]) -> None:
    org = registered()
    folded = timeline.FoldedTimeline()
    for verb, day, variant in plan:
        try:
            candidate = org.decide(command(verb, day, variant), "tester")
        except LedgerError:
            continue
        event = candidate.model_copy(update={"key": f"k{candidate.originator_version}"})
        expected = outcome(lambda: timeline.check([*org.events, event], new=event, action="it"))
        actual = outcome(lambda: folded.check_append(org.events, event, action="it"))
        assert actual == expected
        if not isinstance(expected, str):
            try:
                org.record(candidate, event.key)
            except RuleViolation:  # refused by a retraction's own rules: the event is not appended
                folded.forget()


@settings(max_examples=200, deadline=None)
@given(steps, st.integers(0, 2600))
def test_the_cached_state_answers_like_a_replay_on_any_later_day(plan: list[tuple[str, int, int]], day: int) -> None:
    org = registered()
    for verb, at, variant in plan:
        try:
            org.record(org.decide(command(verb, at, variant), "tester"), f"k{org.version + 1}")
        except LedgerError:
            continue
    on = START + timedelta(days=day)
    cached = org.folded.state_on(org.events, on)
    assert cached == timeline.state_on(org.events, on)


@settings(max_examples=200, deadline=None)
@given(steps)
def test_a_refused_event_leaves_the_folded_state_unchanged(plan: list[tuple[str, int, int]]) -> None:
    org = registered()
    for verb, day, variant in plan:
        before = copy.deepcopy(timeline.check(org.events))
        try:
            org.record(org.decide(command(verb, day, variant), "tester"), f"k{org.version + 1}")
        except LedgerError:
            assert timeline.check(org.events) == before
            latest = max(e.date for e in timeline.effective(org.events))
            assert org.folded.state_on(org.events, latest + timedelta(days=4000)) == before


def test_an_event_dated_before_the_latest_one_is_checked_against_the_whole_timeline() -> None:
    org = registered()
    org.record(org.decide(command("certify", 100, 1), "tester"), "k2")
    org.record(org.decide(command("suspend", 200, 0), "tester"), "k3")
    try:
        org.record(org.decide(command("withdraw", 150, 0), "tester"), "k4")
    except RuleViolation as violation:
        assert "would invalidate the later CertificationSuspended" in str(violation)
    else:  # pragma: no cover - the rule must hold
        raise AssertionError("a withdrawal that invalidates a later suspension was accepted")
