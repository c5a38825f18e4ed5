"""Property: after any sequence of commands, incremental views == rebuilt views == the pure fold."""

from __future__ import annotations

import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ledger.domain import timeline
from ledger.application import CertificationLedger
from ledger.errors import LedgerError
from ledger.domain.events import (
    CertificationDenied,
    CertificationGranted,
    CertificationSuspended,
    CertificationWithdrawn,
    Recertified,
)
from ledger.domain.values import REASON_CATEGORIES, STANDARDS, today_utc
from projections import Views, compare_with_rebuild
from projections.in_transaction import ViewsFollower

ORGS = ("alpha", "beta", "gamma")
START = date(2015, 1, 1)
SPAN_DAYS = 6 * 365
AS_OF = (START - timedelta(days=1), date(2015, 7, 1), date(2016, 3, 1), date(2017, 1, 1), date(2018, 6, 30),
         date(2019, 12, 31), date(2021, 3, 1), today_utc())
YEARS = range(2015, 2022)

orgs = st.sampled_from(ORGS)
KINDS = ("recertify", "certify", "suspend", "recertify", "reinstate", "extend", "recertify", "withdraw", "deny",
         "retract", "suspend", "reinstate", "audit", "recertify", "correct", "close-finding")
"""Weighted towards the commands that are legal only in narrow windows."""
gaps = st.integers(-120, 420)
"""Days after the organization's previous command: mostly forward, sometimes back-dated."""


@st.composite
def commands(draw: st.DrawFn) -> dict[str, Any]:
    """A command whose date is still relative (``gap``); ``resolve`` makes it concrete."""
    kind = draw(st.sampled_from(KINDS))
    base: dict[str, Any] = {"command": kind, "org": draw(orgs), "gap": draw(gaps)}
    if kind == "certify":
        base["standard"] = draw(st.sampled_from(STANDARDS))
        if draw(st.booleans()):
            base["valid_until"] = draw(st.integers(0, 500))
    elif kind == "recertify" and draw(st.booleans()):
        base["standard"] = draw(st.sampled_from(STANDARDS))
    elif kind == "deny":
        base.update(reason_category=draw(st.sampled_from(REASON_CATEGORIES)), reason="requirements not met")
    elif kind == "suspend":
        base["reason"] = "records missing"
        if draw(st.booleans()):
            base["resolve_by"] = draw(st.integers(0, 90))
    elif kind == "extend":
        base.update(until=draw(st.integers(1, 400)), reason="operations halted")
    elif kind == "withdraw":
        base.update(mode=draw(st.sampled_from(("voluntary", "imposed"))), reason="internal reasons")
    elif kind == "retract":
        base.update(target=draw(st.floats(0, 1)), reason="recorded by mistake")
    elif kind == "audit":
        base.update(body="IMO Swiss AG", kind="recertification")
        base["finding"] = draw(st.lists(st.sampled_from(FINDINGS), max_size=3))
    elif kind == "correct":
        base.update(draw(corrections))
    elif kind == "close-finding":
        base.update(finding=draw(st.floats(0, 1)), evidence="fixed and checked")
    return base


FINDINGS = ("major:health-safety:no ventilation", "minor:traceability:sales book by hand",
            "observation:environmental:pits not revegetated")
corrections = st.fixed_dictionaries({}, optional={
    "name": st.sampled_from(("Oro Aurífera", "Minera del Sur", "Cooperativa Ñuñoa")),
    "country": st.sampled_from(("pe", "BO", "co")),
    "region": st.sampled_from(("Puno", "Ananea, Puno", "La Paz", "Nariño")),
    "legal_form": st.sampled_from(("cooperative", "company")),
    "deposit": st.sampled_from(("alluvial", "hard-rock")),
}).filter(bool)


def resolve(template: dict[str, Any], last: dict[str, date], versions: dict[str, int]) -> dict[str, Any]:
    command = {k: v for k, v in template.items() if k != "gap"}
    day = min(max(last[command["org"]] + timedelta(days=template["gap"]), START), today_utc())
    command["date"] = day.isoformat()
    for relative in ("valid_until", "resolve_by", "until"):
        if relative in command:
            command[relative] = (day + timedelta(days=command[relative])).isoformat()
    if "target" in command:
        command["target"] = 2 + int(command["target"] * max(versions[command["org"]] - 1, 0))
    if command["command"] == "close-finding":
        command["finding"] = f"{2 + int(command['finding'] * max(versions[command['org']] - 1, 0))}.1"
    return command


@st.composite
def beginnings(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Every organization registered in the first year, and most of them certified soon after."""
    result = []
    for org in ORGS:
        registered = START + timedelta(days=draw(st.integers(0, 365)))
        result.append({"command": "register", "org": org, "name": org.title(), "country": "PE",
                       "date": registered.isoformat()})
        if draw(st.integers(0, 3)):
            certified = registered + timedelta(days=draw(st.integers(0, 200)))
            result.append({"command": "certify", "org": org, "date": certified.isoformat(),
                           "standard": draw(st.sampled_from(STANDARDS))})
    return result


def without_known_at(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != "known_at"} for r in records]


# ---------------------------------------------------------------- the reference: the pure fold, one organization at a time

def reference_streaks(ledger: CertificationLedger, day: date) -> list[dict[str, Any]]:
    covered = [r for r in ledger.statuses(day) if r["consecutive_years"] > 0]
    return sorted(covered, key=lambda r: (-r["consecutive_years"], r["certified_since"], r["org"]))


def reference_report(ledger: CertificationLedger, start: date, end: date, known_at: int | None = None
                     ) -> dict[str, Any]:
    seen = ledger.known_at(known_at)
    certified = [r["org"] for r in ledger.statuses(end, known_at) if r["status"] == "certified"]
    sections: dict[str, list[tuple[Any, ...]]] = {k: [] for k in ("newly_certified", "recertified", "denied",
                                                                 "suspended", "withdrawn", "expired")}
    for org in ledger.organizations(seen):
        pairs = ledger.events_of(org, seen)
        events = [e for _, e in pairs]
        position = {e.originator_version: row.position for row, e in pairs}
        for event in timeline.effective(events):
            if not start <= event.date <= end:
                continue
            key = (event.date.isoformat(), position[event.originator_version])
            day = event.date.isoformat()
            if isinstance(event, CertificationGranted):
                sections["newly_certified"].append((key, {"org": org, "date": day, "standard": event.standard}))
            elif isinstance(event, Recertified):
                years = timeline.state_on(events, event.date).describe(event.date)["consecutive_years"]
                sections["recertified"].append((key, {"org": org, "date": day, "standard": event.standard,
                                                      "consecutive_years": years}))
            elif isinstance(event, CertificationDenied):
                sections["denied"].append((key, {"org": org, "date": day, "stage": event.stage,
                                                 "reason_category": event.reason_category, "reason": event.reason}))
            elif isinstance(event, CertificationSuspended):
                sections["suspended"].append((key, {"org": org, "date": day, "reason": event.reason,
                                                    "resolve_by": event.resolve_by.isoformat()
                                                    if event.resolve_by else None}))
            elif isinstance(event, CertificationWithdrawn):
                sections["withdrawn"].append((key, {"org": org, "date": day, "mode": event.mode,
                                                    "reason": event.reason}))
        for chain in timeline.fold(events).chains:
            first_expired = chain.latest.valid_until + timedelta(days=1)
            if chain.withdrawn is None and start <= first_expired <= end:
                sections["expired"].append(((first_expired.isoformat(), org),
                                            {"org": org, "date": first_expired.isoformat(),
                                             "valid_until": chain.latest.valid_until.isoformat()}))
    return {"from": start.isoformat(), "to": end.isoformat(), "certified_at_end": len(certified),
            "certified": certified,
            **{k: [item for _, item in sorted(v, key=lambda pair: pair[0])] for k, v in sections.items()}}


def reference_changes(ledger: CertificationLedger, known_at: int | None = None) -> list[dict[str, Any]]:
    seen = ledger.known_at(known_at)
    entries = [{**entry, "org": org} for org in ledger.organizations(seen) for entry in ledger.history(org, seen)]
    return sorted(entries, key=lambda e: e["position"])


SEARCHES = ({"country": "BO"}, {"region": "puno"}, {"q": "aurifera"}, {"q": "alpha"}, {"expiring_within": 90},
            {"country": "pe", "region": "ananea"})


def answers(views: Views) -> list[Any]:
    result: list[Any] = []
    for day in AS_OF:
        result += [without_known_at(views.registry(day)), without_known_at(views.streaks(day)), views.covered(day)]
        result += [without_known_at(views.registry(day, **search)) for search in SEARCHES]
    result += [views.year_report(year) for year in YEARS]
    result.append(views.changes(0, 10_000))
    return result


# ---------------------------------------------------------------- the property

@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(beginning=beginnings(), steps=st.lists(st.tuples(commands(), st.booleans()), min_size=10, max_size=50),
       batch_size=st.sampled_from((1, 3, 500)), following=st.sampled_from(("never", "always", "midway")))
def test_incremental_views_equal_the_rebuild_and_the_pure_fold(beginning: list[dict[str, Any]],
                                                               steps: list[tuple[dict[str, Any], bool]],
                                                               batch_size: int, following: str) -> None:
    """``following``: the views kept in each recording's transaction from the start, from the middle on (they
    are behind then, and followed again once a catch-up brings them up), or only by catch-ups."""
    with tempfile.TemporaryDirectory() as folder:
        ledger = CertificationLedger(str(Path(folder) / "ledger.db"))
        try:
            views = Views(ledger.log, batch_size=batch_size)
            if following == "always":
                ledger.writer.follower = ViewsFollower(views.store)
            last: dict[str, date] = {}
            versions = {org: 0 for org in ORGS}
            for command in beginning:
                ledger.record(command)
                last[command["org"]] = date.fromisoformat(command["date"])
                versions[command["org"]] += 1
            for step, (template, catch_up_now) in enumerate(steps):
                if following == "midway" and step == len(steps) // 2:
                    ledger.writer.follower = ViewsFollower(views.store, kept_events=5)
                command = resolve(template, last, versions)
                try:
                    ledger.record(command)
                except LedgerError:
                    pass  # an illegal command is refused and writes nothing
                else:
                    event(f"accepted {command['command']}")
                    last[command["org"]] = date.fromisoformat(command["date"])
                    versions[command["org"]] += 1
                if catch_up_now:
                    views.catch_up()

            for day in AS_OF:
                assert without_known_at(views.registry(day)) == without_known_at(ledger.statuses(day)), day
                assert without_known_at(views.streaks(day)) == without_known_at(reference_streaks(ledger, day)), day
                assert views.covered(day) == [r["org"] for r in ledger.statuses(day)
                                              if r["status"] in ("certified", "suspended")], day
            for year in YEARS:
                assert views.year_report(year) == reference_report(ledger, date(year, 1, 1), date(year, 12, 31))
            assert views.changes(0, 10_000) == reference_changes(ledger)

            middle = ledger.recorder.max_position() // 2
            if middle:
                for day in AS_OF[2:6]:
                    assert views.registry(day, known_at=middle) == ledger.statuses(day, known_at=middle)
                for year in (2016, 2018):
                    assert views.year_report(year, known_at=middle) == reference_report(
                        ledger, date(year, 1, 1), date(year, 12, 31), middle)
                assert views.changes(0, 10_000, known_at=middle) == reference_changes(ledger, middle)

            assert compare_with_rebuild(ledger.log) == []
            before = answers(views)
            views.rebuild()
            assert answers(views) == before
        finally:
            ledger.close()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(beginning=beginnings(), steps=st.lists(commands(), min_size=5, max_size=30),
       correction=corrections, org=orgs, gap=st.integers(-400, 400))
def test_a_correction_then_a_rebuild_gives_the_registry_of_the_incremental_views(
        beginning: list[dict[str, Any]], steps: list[dict[str, Any]], correction: dict[str, Any], org: str,
        gap: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        ledger = CertificationLedger(str(Path(folder) / "ledger.db"))
        try:
            views = Views(ledger.log)
            last: dict[str, date] = {}
            versions = {name: 0 for name in ORGS}
            for command in beginning:
                ledger.record(command)
                last[command["org"]] = date.fromisoformat(command["date"])
                versions[command["org"]] += 1
            for template in steps:
                command = resolve(template, last, versions)
                try:
                    ledger.record(command)
                except LedgerError:
                    continue
                last[command["org"]] = date.fromisoformat(command["date"])
                versions[command["org"]] += 1
            views.catch_up()
            corrected = resolve({"command": "correct", "org": org, "gap": gap, **correction}, last, versions)
            try:
                ledger.record(corrected)
            except LedgerError:
                event("correction refused (dated before the registration)")
            else:
                event("correction recorded")
            incremental = answers(views)
            for day in AS_OF:
                assert without_known_at(views.registry(day)) == without_known_at(ledger.statuses(day)), day
                assert without_known_at(views.registry(day, country="BO")) == without_known_at(
                    [r for r in ledger.statuses(day) if r["country"] == "BO"]), day
            views.rebuild()
            assert answers(views) == incremental
            assert compare_with_rebuild(ledger.log) == []
        finally:
            ledger.close()
