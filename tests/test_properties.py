"""Properties over generated legal timelines (hypothesis, small budget so that they run in seconds).

(a) Recording a timeline's events in any order the rules accept gives the same --as-of answers.
(b) --known-at before an event's recording never sees it.
(c) Streaks equal a reference computed here from SPEC section 6, not by the timeline module.
And the valid-time segments the read side stores agree with the fold on every day.

Each example works on fresh organization ids in the test's one ledger, so these run on every backend.
Reading of the SPEC tested here: a timeline has at most one event per day, because events of one day
are ordered by recording order, so recording them in another order is another timeline.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ledger.application import CertificationLedger, Recorded
from ledger.domain.commands import parse_command
from ledger.errors import RuleViolation, UnknownOrganization
from ledger.domain.organization import Organization
from ledger.domain.timeline import segment_on, segments, state_on
from ledger.domain.values import anniversary_eve
from projections import Views

FIRST_DAY = date(2010, 1, 1)
LAST_DAY = date(2024, 12, 31)
GAPS = (1, 2, 15, 40, 90, 200, 330, 360, 380, 600)
COVERED = ("certified", "suspended")
FRESH = itertools.count(1)

# A small fixed budget keeps the suite fast and repeatable; raise it to hunt: CERTLEDGER_PROPERTY_EXAMPLES=2000.
EXAMPLES = int(os.environ.get("CERTLEDGER_PROPERTY_EXAMPLES", "20"))
PROPERTY_SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 20,
                             suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                    HealthCheck.too_slow, HealthCheck.filter_too_much])


@dataclass
class Guide:
    """Just enough of SPEC section 4 to know which commands are legal on a day; it only steers generation."""

    grants: int = 0
    chain: bool = False
    renewable_from: date = FIRST_DAY
    until: date = FIRST_DAY
    suspended: bool = False
    withdrawn: bool = False

    def status(self, day: date) -> str:
        if not self.chain:
            return "registered"
        if self.withdrawn:
            return "withdrawn"
        if day > self.until:
            return "expired"
        return "suspended" if self.suspended else "certified"

    def choices(self, day: date) -> list[str]:
        status = self.status(day)
        options = ["audit", "deny"]
        if status not in COVERED:
            options += ["certify"] * 3
        if status == "certified" and self.renewable_from <= day:
            options += ["recertify"] * 4 + ["suspend"]
        if status == "suspended":
            options += ["reinstate"] * 3
        if status in COVERED and self.renewable_from <= day:
            options.append("extend")
        if status in COVERED:
            options.append("withdraw")
        return options


@st.composite
def timelines(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A legal timeline of one organization as recording commands (no org yet), one per day, in date order."""
    day = FIRST_DAY + timedelta(days=draw(st.integers(0, 800)))
    guide = Guide()
    commands: list[dict[str, Any]] = [{"command": "register", "date": day, "name": "Cooperativa Aurífera",
                                       "country": "PE"}]
    for _ in range(draw(st.integers(2, 12))):
        gap = draw(st.sampled_from(GAPS + ("shortly before the end",) * 4))
        if gap == "shortly before the end":
            gap = max((guide.until - day).days - draw(st.integers(0, 40)), 1)
        day += timedelta(days=gap)
        if day > LAST_DAY:
            break
        kind = draw(st.sampled_from(guide.choices(day)))
        command: dict[str, Any] = {"command": kind, "date": day}
        if kind == "audit":
            command.update(body="IMO Swiss AG", kind="surveillance")
        elif kind == "deny":
            command.update(reason_category="commercial", reason="commercial requirements not met")
        elif kind == "certify":
            guide.grants += 1
            until = anniversary_eve(day)
            if draw(st.booleans()):
                until = day + timedelta(days=draw(st.integers(0, 500)))
                command["valid_until"] = until
            if draw(st.booleans()):
                command["certificate"] = f"C{guide.grants}"
            command["standard"] = draw(st.sampled_from(["fairmined", "ecological"]))
            guide.chain, guide.withdrawn, guide.suspended = True, False, False
            guide.renewable_from, guide.until = day, until
        elif kind == "recertify":
            valid_from = guide.until + timedelta(days=1)
            until = anniversary_eve(valid_from)
            if draw(st.booleans()):
                until = valid_from + timedelta(days=draw(st.integers(0, 500)))
                command["valid_until"] = until
            standard = draw(st.sampled_from([None, "fairmined", "ecological"]))
            if standard:
                command["standard"] = standard
            guide.renewable_from, guide.until = valid_from, until
        elif kind == "suspend":
            command["reason"] = "traceability records missing"
            guide.suspended = True
        elif kind == "reinstate":
            guide.suspended = False
        elif kind == "extend":
            guide.until += timedelta(days=draw(st.integers(1, 200)))
            command.update(until=guide.until, reason="operations halted")
        elif kind == "withdraw":
            command.update(mode=draw(st.sampled_from(["voluntary", "imposed"])), reason="decided not to continue")
            guide.withdrawn = True
        commands.append(command)
    return [{k: (v.isoformat() if isinstance(v, date) else v) for k, v in c.items()} for c in commands]


@st.composite
def timelines_and_orders(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[int]]:
    commands = draw(timelines())
    return commands, draw(st.permutations(range(len(commands))))


def for_org(command: dict[str, Any], org: str) -> dict[str, Any]:
    line = {**command, "org": org}
    if "certificate" in line:
        line["certificate"] = f"FM-{org}-{line['certificate']}"
    return line


def record_in_order(ledger: CertificationLedger, org: str, commands: list[dict[str, Any]],
                    order: list[int]) -> tuple[list[Recorded], int]:
    """Offer the commands in ``order``; refused ones are offered again after later ones until none is accepted.

    Returns what was recorded (in recording order) and how many commands were never accepted.
    """
    pending = [commands[i] for i in order]
    recorded: list[Recorded] = []
    progress = True
    while pending and progress:
        progress = False
        for command in list(pending):
            try:
                recorded.append(ledger.record(for_org(command, org)))
            except (RuleViolation, UnknownOrganization):
                continue
            pending.remove(command)
            progress = True
    return recorded, len(pending)


def days_to_ask(commands: list[dict[str, Any]], recorded: list[Recorded]) -> list[date]:
    """Every event date, the day before it, and the first day after every end date."""
    days = {date.fromisoformat(c["date"]) for c in commands}
    days |= {d - timedelta(days=1) for d in days}
    for r in recorded:
        for name in ("valid_until", "until"):
            end = getattr(r.event, name, None)
            if end is not None:
                days |= {end, end + timedelta(days=1)}
    return sorted(days | {LAST_DAY + timedelta(days=400)})


def answer(ledger: CertificationLedger, org: str, day: date) -> dict[str, Any] | None:
    """The status record, comparable between organizations holding the same timeline."""
    try:
        record = ledger.state_at(org, day)
    except UnknownOrganization:
        return None
    if record["certificate"]:
        record["certificate"] = record["certificate"].removeprefix(f"FM-{org}-")
    return {k: v for k, v in record.items() if k not in ("org", "known_at")}


def status_record(ledger: CertificationLedger, org: str, day: date, known_at: int) -> dict[str, Any] | None:
    """What status ORG --as-of DAY --known-at POSITION says, without the query's own fields."""
    try:
        record = ledger.state_at(org, day, known_at)
    except UnknownOrganization:
        return None
    return {k: v for k, v in record.items() if k not in ("as_of", "known_at")}


# ---------------------------------------------------------------- (a) recording order

@PROPERTY_SETTINGS
@given(case=timelines_and_orders())
def test_any_order_the_rules_accept_gives_the_same_answers(ledger: CertificationLedger,
                                                         case: tuple[list[dict[str, Any]], list[int]]) -> None:
    commands, order = case
    n = next(FRESH)
    in_date_order, never = record_in_order(ledger, f"date-order-{n}", commands, list(range(len(commands))))
    assert never == 0, "a legal timeline recorded in date order is accepted event by event"
    shuffled, refused = record_in_order(ledger, f"shuffled-{n}", commands, order)
    assume(refused == 0)
    for day in days_to_ask(commands, in_date_order):
        assert answer(ledger, f"shuffled-{n}", day) == answer(ledger, f"date-order-{n}", day), day


# ---------------------------------------------------------------- (b) system time

def record_and_retract(ledger: CertificationLedger, org: str, commands: list[dict[str, Any]], order: list[int],
                       retractions: list[int]) -> list[Recorded]:
    """Record the timeline in ``order``, then retract the versions given (those the rules allow), on the last
    day of the timeline; return what was recorded, in recording order."""
    recorded, _ = record_in_order(ledger, org, commands, order)
    decided = max(date.fromisoformat(c["date"]) for c in commands)
    for version in retractions:
        try:
            recorded.append(ledger.retract(org, version, date=decided, reason="recorded by mistake"))
        except RuleViolation:
            pass
    return recorded


@PROPERTY_SETTINGS
@given(case=timelines_and_orders(), retractions=st.lists(st.integers(2, 20), max_size=3))
def test_known_at_before_an_events_recording_never_sees_it(ledger: CertificationLedger,
                                                          case: tuple[list[dict[str, Any]], list[int]],
                                                          retractions: list[int]) -> None:
    commands, order = case
    org = f"known-{next(FRESH)}"
    recorded = record_and_retract(ledger, org, commands, order, retractions)
    days = sorted({date.fromisoformat(c["date"]) for c in commands} | {LAST_DAY})
    for k, event in enumerate(recorded[1:], start=1):
        known_at = recorded[k - 1].position  # any later position before event.position belongs to others
        earlier = [r.event for r in recorded[:k]]
        assert [e["version"] for e in ledger.history(org, known_at=known_at)] == [e.originator_version
                                                                                  for e in earlier]
        for day in days:
            state = state_on(earlier, day)
            expected = state.describe(day) if state.registration is not None else None
            assert status_record(ledger, org, day, known_at) == expected, (k, day)


@PROPERTY_SETTINGS
@given(case=timelines_and_orders(), retractions=st.lists(st.integers(2, 20), max_size=3))
def test_status_from_the_views_is_the_status_from_the_events(ledger: CertificationLedger,
                                                             case: tuple[list[dict[str, Any]], list[int]],
                                                             retractions: list[int]) -> None:
    """``status ORG`` is answered from the views when they hold the moment asked: at every day and every
    known-at position, the same record as the organization's own events give (or none where they refuse)."""
    commands, order = case
    org = f"viewed-{next(FRESH)}"
    recorded = record_and_retract(ledger, org, commands, order, retractions)
    views = Views(ledger.log)
    views.catch_up()
    positions = list(dict.fromkeys([None, 0, *(r.position for r in recorded), *(r.position - 1 for r in recorded)]))
    for day in days_to_ask(commands, recorded):
        for known_at in positions:
            viewed = views.status(org, day, known_at)
            try:
                expected = ledger.state_at(org, day, known_at)
            except UnknownOrganization:
                expected = None
            assert without_instant(viewed) == without_instant(expected), (day, known_at)


def without_instant(record: dict[str, Any] | None) -> dict[str, Any] | None:
    return {k: v for k, v in record.items() if k != "known_at"} if record else None


# ---------------------------------------------------------------- (c) streaks

def reference_streaks(history: list[dict[str, Any]], day: date) -> tuple[int, int, int]:
    """SPEC section 6 read literally, from the history: the chain covering ``day`` and its grant/renewal count."""
    live = [e for e in history if not e["retracted"] and e["type"] != "EntryRetracted"
            and date.fromisoformat(e["date"]) <= day]
    live.sort(key=lambda e: (e["date"], e["version"]))
    standards: list[str] = []
    starts: list[date] = []
    ends: date | None = None
    ended_by_withdrawal = False
    for e in live:
        fields = e["fields"]
        if e["type"] == "CertificationGranted":
            standards, ended_by_withdrawal = [fields["standard"]], False
            starts = [date.fromisoformat(fields["valid_from"])]
            ends = date.fromisoformat(fields["valid_until"])
        elif e["type"] == "Recertified":
            standards.append(fields["standard"])
            starts.append(date.fromisoformat(fields["valid_from"]))
            ends = date.fromisoformat(fields["valid_until"])
        elif e["type"] == "ValidityExtended":
            ends = date.fromisoformat(fields["until"])
        elif e["type"] == "CertificationWithdrawn":
            ended_by_withdrawal = True
    if not standards or ended_by_withdrawal or ends is None or day > ends:
        return 0, 0, 0
    years = len(standards)
    # The current standard is that of the period in force on the day (README, "How the ledger reads the
    # rules"); a renewal decided but not started yet counts when it keeps that standard.
    started = [s for s, start in zip(standards, starts) if start <= day]
    pending = standards[len(started):]
    current = started[-1]
    same_standard = len(list(itertools.takewhile(lambda s: s == current, reversed(started))))
    same_standard += sum(1 for s in pending if s == current)
    return years, max(years - 1, 0), same_standard


@PROPERTY_SETTINGS
@given(commands=timelines())
def test_streaks_equal_a_reference_computed_from_the_spec(ledger: CertificationLedger,
                                                          commands: list[dict[str, Any]]) -> None:
    org = f"streaks-{next(FRESH)}"
    recorded, _ = record_in_order(ledger, org, commands, list(range(len(commands))))
    history = ledger.history(org)
    for day in days_to_ask(commands, recorded):
        record = answer(ledger, org, day)
        if record is None:
            continue
        assert (record["consecutive_years"], record["recertifications"], record["standard_years"]) == (
            reference_streaks(history, day)), day


# ---------------------------------------------------------------- valid-time segments (what projections store)

def events_of(commands: list[dict[str, Any]]) -> list[Any]:
    """The events of a timeline, resolved by the aggregate itself, without storage."""
    lines = [parse_command({**c, "org": "pure"}) for c in commands]
    organization = Organization.register(lines[0], "tester", key="")
    for line in lines[1:]:
        organization.record(organization.decide(line, "tester"), key="")
    return organization.events


@settings(max_examples=EXAMPLES * 5, deadline=None, derandomize=EXAMPLES <= 20)
@given(commands=timelines())
def test_segments_carry_the_status_record_of_every_day(commands: list[dict[str, Any]]) -> None:
    events = events_of(commands)
    segs = segments(events)
    days = {e.date + timedelta(days=shift) for e in events for shift in (-1, 0, 1)}
    days |= {getattr(e, name) + timedelta(days=shift) for e in events for name in ("valid_until", "until")
             if getattr(e, name, None) for shift in (0, 1)}
    for day in sorted(days | {LAST_DAY + timedelta(days=400)}):
        state = state_on(events, day)
        found = segment_on(segs, day)
        if state.registration is None:
            assert found is None, day
        else:
            assert found is not None and found.record == state.describe(day), day
    assert all(a.start < b.start and a.record != b.record for a, b in zip(segs, segs[1:]))
