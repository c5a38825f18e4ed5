"""The pure fold: an organization's events -> its status record on any date. No database.

Events are built by hand here, with every derived value (valid_from, valid_until, stage)
spelled out, so that these tests pin the fold and nothing else.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any
from uuid import uuid4

import pytest

from ledger.errors import RuleViolation
from ledger.domain.events import (
    AuditConducted,
    CertificationDenied,
    CertificationGranted,
    CertificationSuspended,
    CertificationWithdrawn,
    EntryRetracted,
    OrganizationEvent,
    OrganizationRegistered,
    Recertified,
    SuspensionLifted,
    ValidityExtended,
)
from ledger.domain.timeline import check, effective, segment_on, segments, state_on
from ledger.domain.values import anniversary_eve


def day(text: str) -> date:
    return date.fromisoformat(text)


class Story:
    """One organization's events in recording order; dates may be given in any order."""

    def __init__(self, registered: str = "2016-01-10"):
        self.id = uuid4()
        self.events: list[OrganizationEvent] = []
        self.add(OrganizationRegistered, registered, originator_topic="ledger.domain.organization:Organization",
                 org="cecomip", name="CECOMIP", country="PE")

    def add(self, cls: type[OrganizationEvent], on: str, **fields: Any) -> OrganizationEvent:
        event = cls(originator_id=self.id, originator_version=len(self.events) + 1,
                    timestamp=datetime.now(timezone.utc), date=day(on), recorded_by="tester", key="", **fields)
        self.events.append(event)
        return event

    def granted(self, on: str, until: str | None = None, standard: str = "fairmined",
                certificate: str | None = "FM-PE-0001") -> OrganizationEvent:
        return self.add(CertificationGranted, on, standard=standard, certificate=certificate, valid_from=day(on),
                        valid_until=day(until) if until else anniversary_eve(day(on)))

    def recertified(self, on: str, valid_from: str, until: str | None = None, standard: str = "fairmined",
                    certificate: str | None = "FM-PE-0001") -> OrganizationEvent:
        return self.add(Recertified, on, standard=standard, certificate=certificate, valid_from=day(valid_from),
                        valid_until=day(until) if until else anniversary_eve(day(valid_from)))

    def denied(self, on: str, stage: str, reason: str = "commercial requirements not met") -> OrganizationEvent:
        return self.add(CertificationDenied, on, stage=stage, reason_category="commercial", reason=reason)

    def suspended(self, on: str) -> OrganizationEvent:
        return self.add(CertificationSuspended, on, reason="traceability records missing")

    def reinstated(self, on: str) -> OrganizationEvent:
        return self.add(SuspensionLifted, on)

    def extended(self, on: str, until: str) -> OrganizationEvent:
        return self.add(ValidityExtended, on, until=day(until), reason="operations halted")

    def withdrawn(self, on: str, mode: str = "voluntary") -> OrganizationEvent:
        return self.add(CertificationWithdrawn, on, mode=mode, reason="decided not to continue")

    def audited(self, on: str) -> OrganizationEvent:
        return self.add(AuditConducted, on, body="IMO Swiss AG", kind="surveillance")

    def retracted(self, on: str, target: int) -> OrganizationEvent:
        return self.add(EntryRetracted, on, target=target, reason="recorded by mistake")

    def record(self, on: str) -> dict[str, Any]:
        return state_on(self.events, day(on)).describe(day(on))

    def status(self, on: str) -> str:
        return self.record(on)["status"]

    def streak(self, on: str) -> tuple[int, int, int]:
        record = self.record(on)
        return record["consecutive_years"], record["recertifications"], record["standard_years"]


# ---------------------------------------------------------------- statuses

def test_an_organization_never_certified_is_registered() -> None:
    story = Story(registered="2016-01-10")
    story.audited("2016-05-18")
    assert story.status("2016-01-10") == "registered"
    assert story.status("2030-01-01") == "registered"


def test_an_organization_denied_only_at_the_initial_stage_is_registered() -> None:
    story = Story()
    story.denied("2016-05-30", stage="initial")
    assert story.status("2016-12-31") == "registered"


def test_a_certificate_covers_its_first_and_last_day() -> None:
    story = Story()
    story.granted("2016-06-15", until="2017-06-14")
    assert story.status("2016-06-14") == "registered"
    assert story.status("2016-06-15") == "certified"
    assert story.status("2017-06-14") == "certified"


def test_time_passing_alone_expires_a_certificate() -> None:
    story = Story()
    story.granted("2016-06-15", until="2017-06-14")
    assert story.status("2017-06-15") == "expired"
    assert len(story.events) == 2


def test_an_expired_status_still_shows_the_last_certificate() -> None:
    story = Story()
    story.granted("2016-06-15", until="2017-06-14", standard="ecological", certificate="FM-PE-2016-01")
    record = story.record("2018-01-01")
    assert {k: record[k] for k in ("status", "standard", "certificate", "valid_from", "valid_until",
                                   "certified_since", "suspended_since", "consecutive_years")} == {
        "status": "expired", "standard": "ecological", "certificate": "FM-PE-2016-01",
        "valid_from": "2016-06-15", "valid_until": "2017-06-14", "certified_since": None,
        "suspended_since": None, "consecutive_years": 0}


def test_a_suspended_certificate_is_suspended_until_reinstated() -> None:
    story = Story()
    story.granted("2016-06-15")
    story.suspended("2016-09-01")
    story.reinstated("2016-10-15")
    assert story.status("2016-08-31") == "certified"
    assert story.status("2016-09-01") == "suspended"
    assert story.record("2016-09-30")["suspended_since"] == "2016-09-01"
    assert story.status("2016-10-15") == "certified"
    assert story.record("2016-10-15")["suspended_since"] is None


def test_a_suspended_certificate_still_expires_at_its_end_date() -> None:
    story = Story()
    story.granted("2016-06-15", until="2017-06-14")
    story.suspended("2017-05-01")
    assert story.status("2017-06-14") == "suspended"
    assert story.status("2017-06-15") == "expired"
    assert story.record("2017-06-15")["suspended_since"] is None


def test_a_withdrawal_dated_d_makes_the_status_as_of_d_withdrawn() -> None:
    story = Story()
    story.granted("2016-06-15", until="2017-06-14", certificate="FM-PE-2016-01")
    story.withdrawn("2017-02-01")
    assert story.status("2017-01-31") == "certified"
    record = story.record("2017-02-01")
    assert record["status"] == "withdrawn"
    assert (record["certificate"], record["valid_until"], record["certified_since"]) == (
        "FM-PE-2016-01", "2017-06-14", None)
    assert story.status("2019-01-01") == "withdrawn"


def test_withdrawing_a_suspended_certificate_ends_the_suspension() -> None:
    story = Story()
    story.granted("2016-06-15")
    story.suspended("2016-09-01")
    story.withdrawn("2016-10-01", mode="imposed")
    record = story.record("2016-10-01")
    assert (record["status"], record["suspended_since"]) == ("withdrawn", None)


def test_a_new_grant_after_a_withdrawal_starts_a_new_chain() -> None:
    story = Story()
    story.granted("2016-06-15")
    story.withdrawn("2016-10-01")
    story.granted("2018-03-01", certificate="FM-PE-2018-07")
    record = story.record("2018-03-01")
    assert (record["status"], record["certified_since"], record["consecutive_years"]) == (
        "certified", "2018-03-01", 1)


def test_a_status_record_has_the_fields_of_the_spec_in_order() -> None:
    story = Story()
    story.granted("2016-06-15")
    assert list(story.record("2016-06-15")) == [
        "org", "name", "country", "status", "standard", "certificate", "valid_from", "valid_until",
        "certified_since", "consecutive_years", "recertifications", "standard_years", "suspended_since",
        "last_denial", "withdrawn_on", "open_findings"]


def test_an_organization_has_no_status_before_its_registration() -> None:
    story = Story(registered="2016-01-10")
    with pytest.raises(ValueError):
        story.record("2016-01-09")


# ---------------------------------------------------------------- extensions

def test_an_extension_moves_the_end_date_of_the_current_certificate() -> None:
    story = Story()
    story.granted("2019-04-20", until="2020-04-19")
    story.extended("2020-04-02", until="2020-08-19")
    assert story.status("2020-04-20") == "certified"
    assert story.record("2020-04-20")["valid_until"] == "2020-08-19"
    assert story.status("2020-08-20") == "expired"


def test_a_renewal_after_an_extension_follows_the_extended_period() -> None:
    story = Story()
    story.granted("2019-04-20", until="2020-04-19")
    story.extended("2020-04-02", until="2020-08-19")
    story.recertified("2020-04-28", valid_from="2020-08-20")
    state = check(story.events)
    assert [(p.valid_from, p.valid_until) for p in state.chain.periods] == [
        (day("2019-04-20"), day("2020-08-19")), (day("2020-08-20"), day("2021-08-19"))]
    assert story.streak("2020-12-31") == (2, 1, 2)


def test_an_extension_of_a_period_already_renewed_is_illegal() -> None:
    story = Story()
    story.granted("2019-04-20", until="2020-04-19")
    story.recertified("2020-03-01", valid_from="2020-04-20")
    story.extended("2020-04-02", until="2020-08-19")
    with pytest.raises(RuleViolation, match=r"ValidityExtended of 2020-04-02 .*already renewed on 2020-03-01"):
        check(story.events)


def test_a_back_dated_extension_before_a_renewal_invalidates_the_renewal() -> None:
    story = Story()
    story.granted("2019-04-20", until="2020-04-19")
    story.recertified("2020-04-28", valid_from="2020-04-20")
    story.extended("2020-04-02", until="2020-08-19")
    with pytest.raises(RuleViolation, match=r"Recertified of 2020-04-28 .*starts on 2020-04-20.*2020-08-19"):
        check(story.events)


# ---------------------------------------------------------------- streaks (SPEC section 6)

def cecomip_2016_to_2019() -> Story:
    story = Story()
    story.granted("2016-06-15")
    story.recertified("2017-05-24", valid_from="2017-06-15")
    story.recertified("2018-05-23", valid_from="2018-06-15")
    story.recertified("2019-05-22", valid_from="2019-06-15")
    return story


def test_a_grant_and_three_renewals_make_four_consecutive_years_and_three_recertifications() -> None:
    assert cecomip_2016_to_2019().streak("2019-12-31") == (4, 3, 4)


def test_a_streak_counts_the_grants_and_renewals_dated_up_to_the_day() -> None:
    story = cecomip_2016_to_2019()
    assert story.streak("2016-06-14") == (0, 0, 0)
    assert story.streak("2016-06-15") == (1, 0, 1)
    assert story.streak("2017-05-23") == (1, 0, 1)
    assert story.streak("2017-05-24") == (2, 1, 2)
    assert story.streak("2018-12-31") == (3, 2, 3)


def test_status_shows_the_period_covering_the_day_even_after_its_renewal_was_decided() -> None:
    record = cecomip_2016_to_2019().record("2019-05-31")
    assert (record["valid_from"], record["valid_until"], record["consecutive_years"]) == (
        "2018-06-15", "2019-06-14", 4)


def test_status_shows_the_renewed_period_from_the_day_it_starts() -> None:
    story = cecomip_2016_to_2019()
    assert (story.record("2019-06-14")["valid_from"], story.record("2019-06-15")["valid_from"]) == (
        "2018-06-15", "2019-06-15")
    assert [s.start.isoformat() for s in segments(story.events)][-3:] == ["2019-05-22", "2019-06-15", "2020-06-15"]


def test_a_pending_change_of_standard_shows_from_the_day_its_period_starts() -> None:
    story = Story()
    story.granted("2020-06-15", standard="fairmined")
    story.recertified("2021-05-20", valid_from="2021-06-15", standard="ecological")
    before = story.record("2021-06-01")
    after = story.record("2021-06-15")
    assert (before["standard"], before["consecutive_years"], before["standard_years"]) == ("fairmined", 2, 1)
    assert (after["standard"], after["consecutive_years"], after["standard_years"]) == ("ecological", 2, 1)


def test_a_withdrawn_chain_shows_the_period_in_force_on_the_withdrawal_date() -> None:
    story = cecomip_2016_to_2019()
    story.withdrawn("2019-06-01")
    record = story.record("2019-12-31")
    assert (record["status"], record["valid_from"], record["valid_until"], record["withdrawn_on"]) == (
        "withdrawn", "2018-06-15", "2019-06-14", "2019-06-01")


def test_a_streak_ends_when_the_chain_expires() -> None:
    story = cecomip_2016_to_2019()
    assert story.streak("2020-06-14") == (4, 3, 4)
    assert story.streak("2020-06-15") == (0, 0, 0)


def test_a_streak_ends_with_a_withdrawal_and_restarts_with_a_new_grant() -> None:
    story = cecomip_2016_to_2019()
    story.withdrawn("2019-09-01")
    story.granted("2019-10-01", certificate="FM-PE-2019-09")
    assert story.streak("2019-08-31") == (4, 3, 4)
    assert story.streak("2019-09-01") == (0, 0, 0)
    assert story.streak("2019-10-01") == (1, 0, 1)


def test_suspensions_and_extensions_neither_break_nor_lengthen_a_streak() -> None:
    story = Story()
    story.granted("2016-06-15")
    story.suspended("2016-09-01")
    story.reinstated("2016-10-15")
    story.extended("2017-05-01", until="2017-08-31")
    story.recertified("2017-08-01", valid_from="2017-09-01")
    assert story.streak("2016-09-30") == (1, 0, 1)
    assert story.streak("2017-07-01") == (1, 0, 1)
    assert story.streak("2017-12-31") == (2, 1, 2)


def test_standard_years_count_the_trailing_renewals_with_the_current_standard() -> None:
    story = Story()
    story.granted("2016-06-15", standard="fairmined")
    for year in range(2017, 2021):
        story.recertified(f"{year}-05-20", valid_from=f"{year}-06-15", standard="fairmined")
    story.recertified("2021-05-20", valid_from="2021-06-15", standard="ecological")
    story.recertified("2022-05-20", valid_from="2022-06-15", standard="ecological")
    assert story.streak("2020-12-31") == (5, 4, 5)
    assert story.streak("2021-12-31") == (6, 5, 1)
    assert story.record("2021-12-31")["standard"] == "ecological"
    assert story.streak("2022-12-31") == (7, 6, 2)


def test_moving_back_to_fairmined_counts_only_the_trailing_run() -> None:
    story = Story()
    story.granted("2016-06-15", standard="fairmined")
    story.recertified("2017-05-20", valid_from="2017-06-15", standard="ecological")
    story.recertified("2018-05-20", valid_from="2018-06-15", standard="fairmined")
    assert story.streak("2018-12-31") == (3, 2, 1)


# ---------------------------------------------------------------- last denial

def test_there_is_no_last_denial_until_a_denial() -> None:
    story = Story()
    story.granted("2019-04-01")
    assert story.record("2019-12-31")["last_denial"] is None


def test_a_refused_renewal_lets_the_certificate_run_to_its_end_date() -> None:
    story = Story()
    story.granted("2019-04-01", until="2020-03-31")
    story.denied("2019-11-15", stage="recertification", reason="health-and-safety conditions")
    assert story.status("2020-03-31") == "certified"
    assert story.status("2020-04-01") == "expired"
    assert story.record("2020-04-01")["last_denial"] == {
        "date": "2019-11-15", "stage": "recertification", "reason_category": "commercial",
        "reason": "health-and-safety conditions"}


def test_a_denial_is_not_shown_before_its_date() -> None:
    story = Story()
    story.granted("2019-04-01")
    story.denied("2019-11-15", stage="recertification")
    assert story.record("2019-11-14")["last_denial"] is None


def test_an_initial_denial_is_the_last_denial_of_a_never_certified_organization() -> None:
    story = Story()
    story.denied("2016-05-30", stage="initial")
    assert story.record("2016-12-31")["last_denial"]["stage"] == "initial"


def test_a_denial_before_the_current_chain_is_not_its_last_denial() -> None:
    story = Story()
    story.denied("2016-05-30", stage="initial")
    story.granted("2017-02-01")
    assert story.record("2017-12-31")["last_denial"] is None


def test_the_latest_of_several_denials_is_shown() -> None:
    story = Story()
    story.granted("2019-04-01")
    story.denied("2019-11-15", stage="recertification", reason="first")
    story.denied("2020-02-01", stage="recertification", reason="second")
    assert story.record("2020-12-31")["last_denial"]["reason"] == "second"


# ---------------------------------------------------------------- order, retraction, legality

def test_events_are_folded_in_effective_date_order_not_recording_order() -> None:
    story = Story()
    story.recertified("2017-05-24", valid_from="2017-06-15")
    story.granted("2016-06-15")
    assert [type(e).__name__ for e in effective(story.events)] == [
        "OrganizationRegistered", "CertificationGranted", "Recertified"]
    assert story.streak("2017-12-31") == (2, 1, 2)


def test_events_of_one_day_are_folded_in_recording_order() -> None:
    story = Story()
    story.granted("2016-06-15")
    story.suspended("2016-09-01")
    story.reinstated("2016-09-01")
    assert story.status("2016-09-01") == "certified"


def test_a_retracted_event_and_its_retraction_take_no_part_in_valid_time() -> None:
    story = Story()
    story.granted("2016-06-15")
    suspension = story.suspended("2016-09-01")
    story.retracted("2016-10-01", target=suspension.originator_version)
    assert [type(e).__name__ for e in effective(story.events)] == [
        "OrganizationRegistered", "CertificationGranted"]
    assert story.status("2016-09-15") == "certified"


def test_check_returns_the_final_state_of_a_legal_timeline() -> None:
    state = check(cecomip_2016_to_2019().events)
    assert len(state.chain.periods) == 4


def test_check_names_the_event_at_which_a_timeline_stops_being_legal() -> None:
    story = Story()
    story.granted("2016-06-15")
    story.reinstated("2016-07-01")
    with pytest.raises(RuleViolation) as refused:
        check(story.events)
    assert str(refused.value) == (
        "the timeline is not legal at SuspensionLifted of 2016-07-01 (version 3): only a suspended certificate "
        "can be reinstated, and the organization is certified on 2016-07-01")


def test_an_event_before_the_registration_is_illegal_naming_both_dates() -> None:
    story = Story(registered="2016-01-10")
    story.audited("2015-12-01")
    with pytest.raises(RuleViolation, match="2015-12-01 is before the registration on 2016-01-10"):
        check(story.events)


def test_the_fold_keeps_answering_over_a_tampered_timeline() -> None:
    story = Story()
    story.granted("2016-06-15")
    story.reinstated("2016-07-01")
    assert story.status("2016-12-31") == "certified"


# ---------------------------------------------------------------- valid-time segments

def test_segments_change_on_event_dates_and_on_expiry_without_an_event() -> None:
    story = Story(registered="2016-01-10")
    story.granted("2016-06-15", until="2017-06-14")
    story.suspended("2016-09-01")
    story.reinstated("2016-10-15")
    story.recertified("2017-05-24", valid_from="2017-06-15")
    story.withdrawn("2018-02-01")
    story.granted("2019-03-01", until="2019-12-31", certificate="FM-PE-2019-02")
    assert [(s.start.isoformat(), s.record["status"], s.record["consecutive_years"])
            for s in segments(story.events)] == [
        ("2016-01-10", "registered", 0),
        ("2016-06-15", "certified", 1),
        ("2016-09-01", "suspended", 1),
        ("2016-10-15", "certified", 1),
        ("2017-05-24", "certified", 2),
        ("2017-06-15", "certified", 2),
        ("2018-02-01", "withdrawn", 0),
        ("2019-03-01", "certified", 1),
        ("2020-01-01", "expired", 0),
    ]


def test_each_segment_carries_the_status_record_of_every_day_it_covers() -> None:
    story = cecomip_2016_to_2019()
    story.suspended("2019-08-01")
    story.extended("2019-09-01", until="2020-09-30")
    segs = segments(story.events)
    first, last = day("2016-01-10"), day("2021-01-31")
    for offset in range(0, (last - first).days, 7):
        on = first + timedelta(days=offset)
        assert segment_on(segs, on).record == story.record(on.isoformat()), on


def test_an_audit_alone_does_not_start_a_segment() -> None:
    story = Story(registered="2016-01-10")
    story.audited("2016-05-18")
    assert [s.start.isoformat() for s in segments(story.events)] == ["2016-01-10"]


def test_there_is_no_segment_before_the_registration() -> None:
    story = Story(registered="2016-01-10")
    assert segment_on(segments(story.events), day("2016-01-09")) is None
