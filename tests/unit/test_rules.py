"""SPEC section 5, rule by rule, on the Organization aggregate without storage.

Every refusal names the rule and the dates involved, and leaves the aggregate as it was.
(Rules that need the whole ledger - an id registered twice, certificate numbers - are in
tests/test_application.py.)
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from ledger.domain.commands import parse_command
from ledger.errors import LedgerError
from ledger.domain.events import OrganizationEvent
from ledger.domain.organization import Organization, project_organization
from ledger.domain.timeline import segments
from ledger.domain.values import latest_acceptable_date


@pytest.fixture(autouse=True, params=["kept in memory", "reloaded for each command"])
def aggregate_life(request: pytest.FixtureRequest) -> None:
    """Every rule holds alike when only the new event is checked (the aggregate checked its timeline
    before) and when the whole timeline is checked (an aggregate freshly read from storage)."""
    Org.reload_each_command = request.param == "reloaded for each command"


class Org:
    """An organization driven by commands the way the application drives it, minus the database."""

    reload_each_command = False

    def __init__(self, registered: str = "2016-01-10"):
        command = parse_command({"command": "register", "org": "cecomip", "name": "CECOMIP", "country": "PE",
                                 "date": registered})
        self.aggregate = Organization.register(command, "tester", key="key-1")

    def do(self, command: str, **fields: Any) -> OrganizationEvent:
        if self.reload_each_command:
            self.aggregate = project_organization(None, list(self.aggregate.events))
        parsed = parse_command({"command": command, "org": "cecomip", **fields})
        candidate = self.aggregate.decide(parsed, "tester")
        return self.aggregate.record(candidate, key=f"key-{self.aggregate.version + 1}")

    def refusal(self, command: str, **fields: Any) -> str:
        before = list(self.aggregate.events)
        with pytest.raises(LedgerError) as refused:
            self.do(command, **fields)
        assert self.aggregate.events == before, "a refused command must leave the organization unchanged"
        return str(refused.value)

    # Short-hands for the stories below.

    def certify(self, on: str, **fields: Any) -> OrganizationEvent:
        return self.do("certify", date=on, standard=fields.pop("standard", "fairmined"), **fields)

    def recertify(self, on: str, **fields: Any) -> OrganizationEvent:
        return self.do("recertify", date=on, **fields)

    def suspend(self, on: str) -> OrganizationEvent:
        return self.do("suspend", date=on, reason="traceability records missing")

    def reinstate(self, on: str) -> OrganizationEvent:
        return self.do("reinstate", date=on)

    def extend(self, on: str, until: str) -> OrganizationEvent:
        return self.do("extend", date=on, until=until, reason="operations halted")

    def withdraw(self, on: str) -> OrganizationEvent:
        return self.do("withdraw", date=on, mode="voluntary", reason="decided not to continue")

    def deny(self, on: str) -> OrganizationEvent:
        return self.do("deny", date=on, reason_category="commercial", reason="commercial requirements not met")

    def retract(self, version: int, on: str) -> OrganizationEvent:
        return self.do("retract", target=version, date=on, reason="recorded by mistake")


@pytest.fixture
def org() -> Org:
    return Org(registered="2016-01-10")


@pytest.fixture
def certified() -> Org:
    """Certified from 2016-06-15 to 2017-06-14."""
    org = Org(registered="2016-01-10")
    org.certify("2016-06-15")
    return org


# ---------------------------------------------------------------- dates

def test_no_event_is_dated_before_the_registration(org: Org) -> None:
    assert org.refusal("audit", date="2015-12-01", body="IMO Swiss AG", kind="initial") == (
        "audit on 2015-12-01 refused: 2015-12-01 is before the registration on 2016-01-10")


def test_an_event_on_the_registration_day_is_accepted(org: Org) -> None:
    assert org.certify("2016-01-10").valid_from.isoformat() == "2016-01-10"


def test_no_event_is_dated_in_the_future(org: Org) -> None:
    tomorrow = (latest_acceptable_date() + timedelta(days=1)).isoformat()
    assert org.refusal("certify", date=tomorrow, standard="fairmined") == (
        f"date: {tomorrow} is in the future (the ledger records facts, not plans)")


# ---------------------------------------------------------------- certify (grant)

def test_a_first_grant_runs_to_the_eve_of_its_anniversary(org: Org) -> None:
    grant = org.certify("2019-04-01", standard="ecological", certificate="FM-PE-2019-01")
    assert (grant.standard, grant.certificate, grant.valid_from.isoformat(), grant.valid_until.isoformat()) == (
        "ecological", "FM-PE-2019-01", "2019-04-01", "2020-03-31")


def test_a_grant_is_refused_while_certified(certified: Org) -> None:
    assert certified.refusal("certify", date="2016-09-01", standard="fairmined") == (
        "certify on 2016-09-01 refused: the organization is already certified on 2016-09-01 (certificate valid "
        "2016-06-15 to 2017-06-14); a current certificate is renewed with recertify")


def test_a_grant_is_refused_while_suspended(certified: Org) -> None:
    certified.suspend("2016-09-01")
    assert certified.refusal("certify", date="2016-10-01", standard="fairmined") == (
        "certify on 2016-10-01 refused: the organization is already suspended on 2016-10-01 (certificate valid "
        "2016-06-15 to 2017-06-14); a current certificate is renewed with recertify")


def test_a_grant_is_accepted_after_expiry_and_after_withdrawal(certified: Org) -> None:
    certified.certify("2017-09-01")
    certified.withdraw("2017-10-01")
    assert certified.certify("2017-11-01").valid_until.isoformat() == "2018-10-31"


def test_a_grant_may_not_end_before_it_starts(org: Org) -> None:
    assert org.refusal("certify", date="2016-06-15", standard="fairmined", valid_until="2016-06-14") == (
        "certify on 2016-06-15 refused: valid_until 2016-06-14 is before valid_from 2016-06-15")


def test_a_grant_may_end_on_the_day_it_starts(org: Org) -> None:
    assert org.certify("2016-06-15", valid_until="2016-06-15").valid_until.isoformat() == "2016-06-15"


# ---------------------------------------------------------------- recertify

def test_a_renewal_follows_the_period_it_renews_and_keeps_standard_and_certificate(org: Org) -> None:
    org.certify("2016-06-15", standard="ecological", certificate="FM-PE-2016-01")
    renewal = org.recertify("2017-05-24")
    assert (renewal.standard, renewal.certificate, renewal.valid_from.isoformat(),
            renewal.valid_until.isoformat()) == ("ecological", "FM-PE-2016-01", "2017-06-15", "2018-06-14")


def test_a_renewal_may_change_the_standard_and_the_end_date(certified: Org) -> None:
    renewal = certified.recertify("2017-05-24", standard="ecological", valid_until="2018-03-31")
    assert (renewal.standard, renewal.valid_until.isoformat()) == ("ecological", "2018-03-31")


def test_a_renewal_may_not_end_before_it_starts(certified: Org) -> None:
    assert certified.refusal("recertify", date="2017-05-24", valid_until="2017-06-01") == (
        "recertify on 2017-05-24 refused: valid_until 2017-06-01 is before valid_from 2017-06-15")


def test_a_period_is_renewed_only_once(certified: Org) -> None:
    certified.recertify("2017-05-24")
    assert certified.refusal("recertify", date="2017-06-01") == (
        "recertify on 2017-06-01 refused: the period covering 2017-06-01 was already renewed on 2017-05-24 "
        "(new period 2017-06-15 to 2018-06-14); a period is renewed only once")


def test_the_next_period_can_be_renewed_once_it_has_started(certified: Org) -> None:
    certified.recertify("2017-05-24")
    assert certified.recertify("2018-05-23").valid_from.isoformat() == "2018-06-15"


def test_an_expired_certificate_is_granted_anew_with_certify(certified: Org) -> None:
    assert certified.refusal("recertify", date="2017-07-01") == (
        "recertify on 2017-07-01 refused: the certificate expired after 2017-06-14, so on 2017-07-01 there is "
        "nothing to renew; grant a new certificate with certify")


def test_a_suspended_certificate_must_be_reinstated_before_renewal(certified: Org) -> None:
    certified.suspend("2017-03-01")
    assert certified.refusal("recertify", date="2017-05-24") == (
        "recertify on 2017-05-24 refused: the certificate is suspended on 2017-05-24 (since 2017-03-01); "
        "reinstate it before renewing (an extension keeps it from expiring meanwhile)")


def test_a_withdrawn_certificate_is_not_renewed(certified: Org) -> None:
    certified.withdraw("2017-03-01")
    assert certified.refusal("recertify", date="2017-05-24") == (
        "recertify on 2017-05-24 refused: the certificate was withdrawn on 2017-03-01; "
        "grant a new certificate with certify")


def test_a_never_certified_organization_has_nothing_to_renew(org: Org) -> None:
    assert org.refusal("recertify", date="2016-05-24") == (
        "recertify on 2016-05-24 refused: the organization is not certified on 2016-05-24; "
        "use certify for a first certificate")


# ---------------------------------------------------------------- deny

def test_a_denial_before_any_certificate_is_at_the_initial_stage(org: Org) -> None:
    assert org.deny("2016-05-30").stage == "initial"


def test_a_denial_while_certified_or_suspended_is_at_the_recertification_stage(certified: Org) -> None:
    assert certified.deny("2016-11-20").stage == "recertification"
    certified.suspend("2016-12-01")
    assert certified.deny("2016-12-20").stage == "recertification"


def test_a_denial_after_expiry_is_at_the_initial_stage(certified: Org) -> None:
    assert certified.deny("2017-07-01").stage == "initial"


def test_a_denial_is_refused_before_the_registration(org: Org) -> None:
    assert "2015-01-01 is before the registration on 2016-01-10" in org.refusal(
        "deny", date="2015-01-01", reason_category="other", reason="x")


# ---------------------------------------------------------------- suspend and reinstate

def test_only_a_certified_organization_can_be_suspended(org: Org) -> None:
    assert org.refusal("suspend", date="2016-03-01", reason="x") == (
        "suspend on 2016-03-01 refused: only a certified organization can be suspended, "
        "and it is registered on 2016-03-01")


def test_a_suspended_certificate_is_not_suspended_again(certified: Org) -> None:
    certified.suspend("2016-09-01")
    assert certified.refusal("suspend", date="2016-09-10", reason="x") == (
        "suspend on 2016-09-10 refused: only a certified organization can be suspended, "
        "and it is suspended on 2016-09-10")


def test_only_a_suspended_certificate_can_be_reinstated(certified: Org) -> None:
    assert certified.refusal("reinstate", date="2016-09-10") == (
        "reinstate on 2016-09-10 refused: only a suspended certificate can be reinstated, "
        "and the organization is certified on 2016-09-10")


def test_an_expired_suspension_cannot_be_reinstated(certified: Org) -> None:
    certified.suspend("2017-05-01")
    assert certified.refusal("reinstate", date="2017-07-01") == (
        "reinstate on 2017-07-01 refused: only a suspended certificate can be reinstated, "
        "and the organization is expired on 2017-07-01")


# ---------------------------------------------------------------- extend

def test_a_current_certificate_is_extended_to_a_later_end(certified: Org) -> None:
    assert certified.extend("2017-04-15", until="2017-10-14").until.isoformat() == "2017-10-14"


def test_a_suspended_certificate_can_be_extended(certified: Org) -> None:
    certified.suspend("2017-03-01")
    certified.extend("2017-04-15", until="2017-10-14")


def test_an_extension_must_end_after_the_current_end(certified: Org) -> None:
    assert certified.refusal("extend", date="2017-04-15", until="2017-06-14", reason="x") == (
        "extend on 2017-04-15 refused: the extension must end after the current valid_until 2017-06-14 "
        "(got 2017-06-14)")


def test_an_expired_certificate_cannot_be_extended(certified: Org) -> None:
    assert certified.refusal("extend", date="2017-06-15", until="2017-10-14", reason="x") == (
        "extend on 2017-06-15 refused: only a current certificate can be extended, "
        "and the organization is expired on 2017-06-15")


def test_only_the_latest_period_can_be_extended(certified: Org) -> None:
    certified.recertify("2017-05-24")
    assert certified.refusal("extend", date="2017-06-01", until="2017-10-14", reason="x") == (
        "extend on 2017-06-01 refused: the period covering 2017-06-01 was already renewed on 2017-05-24; "
        "only the latest period can be extended")


def test_the_renewed_period_itself_can_be_extended_once_it_has_started(certified: Org) -> None:
    certified.recertify("2017-05-24")
    assert certified.extend("2017-07-01", until="2018-10-14").until.isoformat() == "2018-10-14"


# ---------------------------------------------------------------- withdraw

def test_a_certified_or_suspended_certificate_can_be_withdrawn(certified: Org) -> None:
    certified.suspend("2016-09-01")
    assert certified.withdraw("2016-10-01").mode == "voluntary"


def test_only_a_current_certificate_can_be_withdrawn(org: Org) -> None:
    assert org.refusal("withdraw", date="2016-03-01", mode="imposed", reason="x") == (
        "withdraw on 2016-03-01 refused: only a current certificate can be withdrawn, "
        "and the organization is registered on 2016-03-01")


def test_a_withdrawn_certificate_is_not_withdrawn_again(certified: Org) -> None:
    certified.withdraw("2016-10-01")
    assert certified.refusal("withdraw", date="2016-10-02", mode="imposed", reason="x") == (
        "withdraw on 2016-10-02 refused: only a current certificate can be withdrawn, "
        "and the organization is withdrawn on 2016-10-02")


# ---------------------------------------------------------------- back-dated events

def test_a_back_dated_event_is_accepted_when_the_timeline_stays_legal(certified: Org) -> None:
    certified.extend("2017-04-15", until="2017-10-14")
    certified.suspend("2016-09-01")
    certified.reinstate("2016-10-15")
    certified.deny("2016-08-01")
    assert [e.date.isoformat() for e in certified.aggregate.events] == [
        "2016-01-10", "2016-06-15", "2017-04-15", "2016-09-01", "2016-10-15", "2016-08-01"]


def test_a_back_dated_grant_is_accepted_before_later_renewals(org: Org) -> None:
    org.certify("2018-01-01", certificate="FM-PE-2018-01")
    org.certify("2016-06-15", valid_until="2017-06-14")
    assert len(org.aggregate.events) == 3


def test_a_back_dated_event_is_refused_naming_the_later_event_it_would_invalidate(certified: Org) -> None:
    certified.recertify("2017-05-24")
    assert certified.refusal("suspend", date="2017-03-01", reason="x") == (
        "suspend on 2017-03-01 refused: it would invalidate the later Recertified of 2017-05-24 (version 3): "
        "the certificate is suspended on 2017-05-24 (since 2017-03-01); reinstate it before renewing (an extension keeps it from expiring meanwhile)")


def test_a_back_dated_withdrawal_is_refused_before_a_later_suspension(certified: Org) -> None:
    certified.suspend("2016-12-01")
    assert certified.refusal("withdraw", date="2016-09-01", mode="imposed", reason="x") == (
        "withdraw on 2016-09-01 refused: it would invalidate the later CertificationSuspended of 2016-12-01 "
        "(version 3): only a certified organization can be suspended, and it is withdrawn on 2016-12-01")


def test_a_back_dated_grant_is_refused_when_it_would_change_a_later_denial_stage(org: Org) -> None:
    org.deny("2016-08-01")
    assert org.refusal("certify", date="2016-06-15", standard="fairmined") == (
        "certify on 2016-06-15 refused: it would invalidate the later CertificationDenied of 2016-08-01 "
        "(version 2): the denial on 2016-08-01 was recorded at the initial stage, but the organization would be "
        "certified on that date")


def test_a_back_dated_extension_is_refused_when_a_renewal_already_follows_the_period(certified: Org) -> None:
    certified.recertify("2017-05-24")
    assert certified.refusal("extend", date="2017-04-15", until="2017-10-14", reason="x") == (
        "extend on 2017-04-15 refused: it would invalidate the later Recertified of 2017-05-24 (version 3): "
        "the renewal on 2017-05-24 starts on 2017-06-15, but the period it renews (2016-06-15 to 2017-10-14) "
        "would end on 2017-10-14")


def test_a_back_dated_renewal_is_refused_when_the_period_was_renewed_later(certified: Org) -> None:
    certified.recertify("2017-05-24")
    assert certified.refusal("recertify", date="2017-05-01") == (
        "recertify on 2017-05-01 refused: it would invalidate the later Recertified of 2017-05-24 (version 3): "
        "the period covering 2017-05-24 was already renewed on 2017-05-01 (new period 2017-06-15 to 2018-06-14); "
        "a period is renewed only once")


# ---------------------------------------------------------------- retract

def test_a_retraction_removes_its_target_from_valid_time(certified: Org) -> None:
    suspension = certified.suspend("2016-09-01")
    retraction = certified.retract(suspension.originator_version, "2016-09-05")
    assert retraction.target == 3
    certified.suspend("2016-10-01")


def test_the_registration_cannot_be_retracted(certified: Org) -> None:
    assert certified.refusal("retract", target=1, date="2017-01-01", reason="x") == (
        "retract of version 1 on 2017-01-01 refused: the registration cannot be retracted")


def test_a_retraction_cannot_be_retracted(certified: Org) -> None:
    suspension = certified.suspend("2016-09-01")
    retraction = certified.retract(suspension.originator_version, "2016-09-05")
    assert certified.refusal("retract", target=retraction.originator_version, date="2016-09-06", reason="x") == (
        "retract of version 4 on 2016-09-06 refused: a retraction cannot be retracted")


def test_an_event_is_retracted_only_once(certified: Org) -> None:
    suspension = certified.suspend("2016-09-01")
    certified.retract(suspension.originator_version, "2016-09-05")
    assert certified.refusal("retract", target=3, date="2016-09-06", reason="x") == (
        "retract of version 3 on 2016-09-06 refused: version 3 is already retracted")


def test_an_unknown_version_cannot_be_retracted(certified: Org) -> None:
    assert certified.refusal("retract", target=7, date="2017-01-01", reason="x") == (
        "retract of version 7 on 2017-01-01 refused: cecomip has no version 7 (it has 1 to 2)")


def test_a_correction_is_not_dated_before_the_event_it_retracts(certified: Org) -> None:
    assert certified.refusal("retract", target=2, date="2016-06-14", reason="x") == (
        "retract of version 2 on 2016-06-14 refused: the correction is dated before the event it retracts "
        "(CertificationGranted of 2016-06-15 (version 2))")


def test_a_correction_may_be_decided_long_after_its_target(certified: Org) -> None:
    certified.retract(2, "2019-01-01")


def test_a_retraction_is_refused_when_the_timeline_without_its_target_is_illegal(certified: Org) -> None:
    certified.suspend("2016-09-01")
    assert certified.refusal("retract", target=2, date="2016-09-05", reason="x") == (
        "retract of version 2 on 2016-09-05 refused: it would invalidate the later CertificationSuspended of "
        "2016-09-01 (version 3): only a certified organization can be suspended, and it is registered on 2016-09-01")


def test_retracting_a_suspension_makes_its_reinstatement_illegal(certified: Org) -> None:
    certified.suspend("2016-09-01")
    certified.reinstate("2016-10-15")
    assert "it would invalidate the later SuspensionLifted of 2016-10-15 (version 4)" in certified.refusal(
        "retract", target=3, date="2016-11-01", reason="x")


def test_an_event_retracted_then_recorded_again_is_legal(certified: Org) -> None:
    renewal = certified.recertify("2017-05-24")
    certified.retract(renewal.originator_version, "2017-05-25")
    assert certified.recertify("2017-05-26").valid_from.isoformat() == "2017-06-15"


def test_a_renewal_whose_default_end_would_pass_the_latest_end_date_is_refused(org: Org) -> None:
    org.certify("2016-06-15", valid_until="9997-12-31")
    assert org.refusal("recertify", date="2017-01-01") == (
        "recertify on 2017-01-01 refused: valid_until 9998-12-31 is after 9997-12-31, "
        "the latest end date the ledger takes")
    assert segments(org.aggregate.events)[-1].record["valid_until"] == "9997-12-31"


# ---------------------------------------------------------------- --audit REF (certify, recertify)

def audited(org: Org, on: str, reference: str, *findings: str) -> OrganizationEvent:
    return org.do("audit", date=on, body="IMO Swiss AG", kind="initial", reference=reference, finding=list(findings))


def test_a_decision_may_name_an_audit_of_the_organization_dated_on_or_before_it(org: Org) -> None:
    audited(org, "2016-05-20", "IMO-PE-16-01")
    audited(org, "2017-05-10", "IMO-PE-17-02")
    assert org.certify("2016-06-15", audit="IMO-PE-16-01").audit == "IMO-PE-16-01"
    assert org.recertify("2017-05-10", audit="IMO-PE-17-02").audit == "IMO-PE-17-02"


def test_a_decision_naming_an_audit_that_does_not_exist_is_refused(org: Org) -> None:
    audited(org, "2016-05-20", "IMO-PE-16-01")
    assert org.refusal("certify", date="2016-06-15", standard="fairmined", audit="IMO-PE-16-09") == (
        "certify on 2016-06-15 refused: the decision on 2016-06-15 names audit IMO-PE-16-09, "
        "but cecomip has no audit with that reference")


def test_a_decision_naming_a_later_audit_is_refused_with_both_dates(certified: Org) -> None:
    audited(certified, "2017-05-30", "IMO-PE-17-02")
    assert certified.refusal("recertify", date="2017-05-24", audit="IMO-PE-17-02") == (
        "recertify on 2017-05-24 refused: the decision on 2017-05-24 names audit IMO-PE-17-02, "
        "but that audit is dated 2017-05-30, after the decision (an audit must come first)")


def test_a_decision_naming_a_retracted_audit_is_refused(org: Org) -> None:
    audit = audited(org, "2016-05-20", "IMO-PE-16-01")
    org.retract(audit.originator_version, "2016-05-25")
    assert org.refusal("certify", date="2016-06-15", standard="fairmined", audit="IMO-PE-16-01") == (
        "certify on 2016-06-15 refused: the decision on 2016-06-15 names audit IMO-PE-16-01, "
        "but that audit (of 2016-05-20, version 2) is retracted")


def test_an_audit_reference_is_matched_exactly(org: Org) -> None:
    audited(org, "2016-05-20", "IMO-PE-16-01")
    assert "has no audit with that reference" in org.refusal("certify", date="2016-06-15", standard="fairmined",
                                                             audit="imo-pe-16-01")


def test_the_audit_a_decision_rests_on_cannot_be_retracted(org: Org) -> None:
    audited(org, "2016-05-20", "IMO-PE-16-01")
    org.certify("2016-06-15", audit="IMO-PE-16-01")
    assert org.refusal("retract", target=2, date="2016-07-01", reason="x") == (
        "retract of version 2 on 2016-07-01 refused: it would invalidate the later CertificationGranted of "
        "2016-06-15 (version 3): the decision on 2016-06-15 names audit IMO-PE-16-01, but that audit "
        "(of 2016-05-20, version 2) is retracted")


def test_an_audit_with_the_same_reference_keeps_a_decision_legal_when_the_other_is_retracted(org: Org) -> None:
    audited(org, "2016-05-20", "IMO-PE-16-01")
    audited(org, "2016-05-21", "IMO-PE-16-01")
    org.certify("2016-06-15", audit="IMO-PE-16-01")
    org.retract(2, "2016-07-01")


def test_an_audit_of_another_organization_does_not_count() -> None:
    other = Org(registered="2016-01-10")
    audited(other, "2016-05-20", "IMO-PE-16-01")
    org = Org(registered="2016-01-10")
    assert "cecomip has no audit with that reference" in org.refusal(
        "certify", date="2016-06-15", standard="fairmined", audit="IMO-PE-16-01")


# ---------------------------------------------------------------- correct

def test_a_correction_records_the_details_it_replaced(org: Org) -> None:
    correction = org.do("correct", date="2017-03-01", name="CECOMIP Ltda.", country="bo")
    assert (correction.name, correction.country, correction.previous) == (
        "CECOMIP Ltda.", "BO", {"name": "CECOMIP", "country": "PE"})


def test_a_correction_needs_at_least_one_detail(org: Org) -> None:
    assert org.refusal("correct", date="2017-03-01") == (
        "give at least one detail to correct (name, country, region, legal_form, deposit)")


def test_a_correction_is_not_dated_before_the_registration(org: Org) -> None:
    assert org.refusal("correct", date="2016-01-09", name="CECOMIP Ltda.") == (
        "correct on 2016-01-09 refused: 2016-01-09 is before the registration on 2016-01-10")


def test_a_correction_on_the_registration_day_is_accepted(org: Org) -> None:
    assert org.do("correct", date="2016-01-10", region="Puno").region == "Puno"


@pytest.mark.parametrize("fields, message", [
    ({"country": "XX"}, "country: 'XX' is not an ISO 3166-1 alpha-2 country code: it names no country"),
    ({"country": "PER"}, "country: 'PER' is not an ISO 3166-1 alpha-2 country code (two letters, e.g. PE)"),
    ({"name": " "}, "name: must not be empty"),
    ({"name": "a\tb"}, "name: must not contain control characters (tab included) or line separators "
                       "(U+2028, U+2029)"),
    ({"region": "x" * 501}, "region: must be at most 500 characters (got 501)"),
    ({"legal_form": "cartel"}, "legal_form: Input should be 'company', 'cooperative', 'central-cooperative', "
                               "'association' or 'other'"),
    ({"deposit": "placer"}, "deposit: Input should be 'alluvial', 'hard-rock' or 'other'"),
])
def test_each_corrected_detail_must_be_valid_as_at_registration(org: Org, fields: dict[str, Any],
                                                                 message: str) -> None:
    assert org.refusal("correct", date="2017-03-01", **fields) == message


def test_a_correction_can_be_retracted(org: Org) -> None:
    org.do("correct", date="2017-03-01", name="CECOMIP Ltda.")
    org.retract(2, "2017-03-02")
    assert segments(org.aggregate.events)[-1].record["name"] == "CECOMIP"


# ---------------------------------------------------------------- close-finding

@pytest.fixture
def with_findings(org: Org) -> Org:
    """An audit at version 2 (2016-05-20) with a major finding (2.1) and a minor one (2.2)."""
    audited(org, "2016-05-20", "IMO-PE-16-01", "major:health-safety:no ventilation", "minor:traceability:book")
    return org


def close(org: Org, finding: str, on: str) -> OrganizationEvent:
    return org.do("close-finding", finding=finding, date=on, evidence="fixed and checked on site")


def test_a_finding_is_closed_by_its_id(with_findings: Org) -> None:
    closure = close(with_findings, "2.2", "2016-06-01")
    assert (closure.finding, closure.evidence) == ("2.2", "fixed and checked on site")


def test_a_closure_on_the_audit_day_is_accepted(with_findings: Org) -> None:
    close(with_findings, "2.1", "2016-05-20")


@pytest.mark.parametrize("finding, message", [
    ("9.1", "close-finding on 2016-06-01 refused: finding 9.1: cecomip has no version 9"),
    ("1.1", "close-finding on 2016-06-01 refused: finding 1.1: version 1 is OrganizationRegistered of 2016-01-10 "
            "(version 1), not an audit"),
    ("2.3", "close-finding on 2016-06-01 refused: finding 2.3: the audit of 2016-05-20 (version 2) has 2 findings"),
])
def test_a_closure_must_name_a_finding_of_an_audit_of_the_organization(with_findings: Org, finding: str,
                                                                       message: str) -> None:
    assert with_findings.refusal("close-finding", finding=finding, date="2016-06-01", evidence="x") == message


def test_a_closure_is_not_dated_before_the_audit(with_findings: Org) -> None:
    assert with_findings.refusal("close-finding", finding="2.1", date="2016-05-19", evidence="x") == (
        "close-finding on 2016-05-19 refused: finding 2.1: the closure on 2016-05-19 is dated before the audit "
        "of 2016-05-20 (version 2)")


def test_a_finding_is_closed_only_once(with_findings: Org) -> None:
    close(with_findings, "2.1", "2016-06-01")
    assert with_findings.refusal("close-finding", finding="2.1", date="2016-07-01", evidence="x") == (
        "close-finding on 2016-07-01 refused: finding 2.1 was already closed on 2016-06-01 (version 3); "
        "a finding is closed once")


def test_a_back_dated_second_closure_is_refused_naming_the_later_one(with_findings: Org) -> None:
    close(with_findings, "2.1", "2016-06-01")
    assert with_findings.refusal("close-finding", finding="2.1", date="2016-05-25", evidence="x") == (
        "close-finding on 2016-05-25 refused: it would invalidate the later FindingClosed of 2016-06-01 "
        "(version 3): finding 2.1 was already closed on 2016-05-25 (version 4); a finding is closed once")


def test_a_finding_of_a_retracted_audit_cannot_be_closed(with_findings: Org) -> None:
    with_findings.retract(2, "2016-05-21")
    assert with_findings.refusal("close-finding", finding="2.1", date="2016-06-01", evidence="x") == (
        "close-finding on 2016-06-01 refused: finding 2.1: the audit of 2016-05-20 (version 2) is retracted")


def test_an_audit_with_a_closed_finding_cannot_be_retracted(with_findings: Org) -> None:
    close(with_findings, "2.1", "2016-06-01")
    assert with_findings.refusal("retract", target=2, date="2016-07-01", reason="x") == (
        "retract of version 2 on 2016-07-01 refused: it would invalidate the later FindingClosed of 2016-06-01 "
        "(version 3): finding 2.1: the audit of 2016-05-20 (version 2) is retracted")


def test_a_retracted_closure_reopens_its_finding_and_it_can_be_closed_again(with_findings: Org) -> None:
    close(with_findings, "2.1", "2016-06-01")
    with_findings.retract(3, "2016-06-02")
    close(with_findings, "2.1", "2016-06-10")
    assert segments(with_findings.aggregate.events)[-1].record["open_findings"] == {"major": 0, "minor": 1}


@pytest.mark.parametrize("finding", ["2", "2.", ".1", "2.0", "0.1", "2.1.1", "a.b", "2,1", "-2.1", "².1", ""])
def test_a_finding_id_is_two_positive_numbers(with_findings: Org, finding: str) -> None:
    assert with_findings.refusal("close-finding", finding=finding, date="2016-06-01", evidence="x").startswith(
        f"finding: {finding!r} is not a finding id V.N")


# ---------------------------------------------------------------- the new refusals at the command line
# Each: the rule's message after "Error: ", exit 1, and the stored rows unchanged (on SQLite and PostgreSQL).

NEW_REFUSALS = [
    pytest.param(["register", "newcomer", "--name", "Newcomer", "--country", "XX", "--date", "2016-01-10"],
                 "country: 'XX' is not an ISO 3166-1 alpha-2 country code: it names no country", id="country-XX"),
    pytest.param(["register", "newcomer", "--name", "Newcomer", "--country", "eu", "--date", "2016-01-10"],
                 "country: 'eu' is not an ISO 3166-1 alpha-2 country code: it names no country", id="country-eu"),
    pytest.param(["register", "newcomer", "--name", "New\tcomer", "--country", "PE", "--date", "2016-01-10"],
                 "name: must not contain control characters (tab included) or line separators (U+2028, U+2029)",
                 id="tab-in-name"),
    pytest.param(["deny", "cecomip", "--date", "2016-08-01", "--reason-category", "other", "--reason", "a\u2028b"],
                 "reason: must not contain control characters (tab included) or line separators (U+2028, U+2029)",
                 id="line-separator-in-reason"),
    pytest.param(["audit", "cecomip", "--date", "2016-08-01", "--body", "IMO\u2029", "--kind", "initial"],
                 "body: must not contain control characters (tab included) or line separators (U+2028, U+2029)",
                 id="paragraph-separator-in-body"),
    pytest.param(["--by", "office\tclerk", "reinstate", "cecomip", "--date", "2016-08-01"],
                 "--by: must not contain control characters (tab included) or line separators (U+2028, U+2029)",
                 id="tab-in-by"),
    pytest.param(["recertify", "cecomip", "--date", "2017-05-24", "--audit", "IMO-99"],
                 "recertify on 2017-05-24 refused: the decision on 2017-05-24 names audit IMO-99, but cecomip has "
                 "no audit with that reference", id="audit-unknown"),
    pytest.param(["recertify", "cecomip", "--date", "2017-05-24", "--audit", "IMO-17"],
                 "recertify on 2017-05-24 refused: the decision on 2017-05-24 names audit IMO-17, but that audit is "
                 "dated 2017-06-01, after the decision (an audit must come first)", id="audit-later"),
    pytest.param(["retract", "cecomip", "2", "--date", "2016-07-01", "--reason", "wrong organization"],
                 "retract of version 2 on 2016-07-01 refused: it would invalidate the later CertificationGranted of "
                 "2016-06-15 (version 3): the decision on 2016-06-15 names audit IMO-16, but that audit (of "
                 "2016-05-20, version 2) is retracted", id="retract-audit-a-decision-rests-on"),
    pytest.param(["correct", "cecomip", "--date", "2016-07-01"],
                 "give at least one detail to correct (name, country, region, legal_form, deposit)",
                 id="correct-nothing"),
    pytest.param(["correct", "cecomip", "--date", "2016-01-09", "--name", "CECOMIP Ltda."],
                 "correct on 2016-01-09 refused: 2016-01-09 is before the registration on 2016-01-10",
                 id="correct-before-registration"),
    pytest.param(["correct", "cecomip", "--date", "2016-07-01", "--country", "ZZ"],
                 "country: 'ZZ' is not an ISO 3166-1 alpha-2 country code: it names no country",
                 id="correct-country-ZZ"),
    pytest.param(["correct", "ghost-org", "--date", "2016-07-01", "--name", "Ghost"],
                 "unknown organization ghost-org (register it first)", id="correct-unknown-org"),
    pytest.param(["close-finding", "cecomip", "2.3", "--date", "2016-07-01", "--evidence", "fixed"],
                 "close-finding on 2016-07-01 refused: finding 2.3: the audit of 2016-05-20 (version 2) has "
                 "2 findings", id="close-no-such-finding"),
    pytest.param(["close-finding", "cecomip", "3.1", "--date", "2016-07-01", "--evidence", "fixed"],
                 "close-finding on 2016-07-01 refused: finding 3.1: version 3 is CertificationGranted of 2016-06-15 "
                 "(version 3), not an audit", id="close-not-an-audit"),
    pytest.param(["close-finding", "cecomip", "2.1", "--date", "2016-05-19", "--evidence", "fixed"],
                 "close-finding on 2016-05-19 refused: finding 2.1: the closure on 2016-05-19 is dated before the "
                 "audit of 2016-05-20 (version 2)", id="close-before-audit"),
    pytest.param(["close-finding", "cecomip", "2.2", "--date", "2016-09-01", "--evidence", "fixed again"],
                 "close-finding on 2016-09-01 refused: finding 2.2 was already closed on 2016-08-01 (version 5); "
                 "a finding is closed once", id="close-twice"),
    pytest.param(["close-finding", "cecomip", "2-1", "--date", "2016-09-01", "--evidence", "fixed"],
                 "finding: '2-1' is not a finding id V.N (the audit's version in history and the finding's "
                 "position in it, both from 1; e.g. 4.1)", id="close-bad-id"),
    pytest.param(["certificate", "FM-XX-0001", "--as-of", "2016-12-31"], "unknown certificate FM-XX-0001",
                 id="certificate-unknown"),
    pytest.param(["certificate", "FM-PE-0001", "--as-of", "2016-12-31", "--known-at", "2"],
                 "unknown certificate FM-PE-0001", id="certificate-not-yet-known"),
    pytest.param(["registry", "--country", "XX"],
                 "--country: 'XX' is not an ISO 3166-1 alpha-2 country code: it names no country",
                 id="registry-country-XX"),
    pytest.param(["registry", "--q", "a\tb"],
                 "--q: must not contain control characters (tab included) or line separators (U+2028, U+2029)",
                 id="registry-q-tab"),
    pytest.param(["findings", "cecomip", "--as-of", "2015-12-31"],
                 "cecomip is not registered on 2015-12-31 (registered on 2016-01-10)", id="findings-before"),
]


@pytest.fixture
def recorded(db_url: str) -> Any:
    """cecomip: registered 2016-01-10; audit IMO-16 of 2016-05-20 (version 2) with findings 2.1 (major) and
    2.2 (minor); certified 2016-06-15 on it (version 3, FM-PE-0001); audit IMO-17 of 2017-06-01 (version 4);
    finding 2.2 closed on 2016-08-01 (version 5)."""
    from test_cli import Cli

    run = Cli(db_url)
    run.ok("register", "cecomip", "--name", "CECOMIP", "--country", "PE", "--date", "2016-01-10")
    run.ok("audit", "cecomip", "--date", "2016-05-20", "--body", "IMO Swiss AG", "--kind", "initial",
           "--reference", "IMO-16", "--finding", "major:health-safety:no ventilation",
           "--finding", "minor:traceability:sales book by hand")
    run.ok("certify", "cecomip", "--date", "2016-06-15", "--standard", "fairmined", "--certificate", "FM-PE-0001",
           "--audit", "IMO-16")
    run.ok("audit", "cecomip", "--date", "2017-06-01", "--body", "IMO Swiss AG", "--kind", "recertification",
           "--reference", "IMO-17")
    run.ok("close-finding", "cecomip", "2.2", "--date", "2016-08-01", "--evidence", "electronic register")
    return run


@pytest.mark.parametrize("args, message", NEW_REFUSALS)
def test_a_new_refusal_names_the_rule_exits_1_and_writes_nothing(recorded: Any, args: list[str],
                                                                 message: str) -> None:
    assert recorded.error(*args) == message


def test_a_recertification_with_a_taken_number_is_refused_and_writes_nothing(recorded: Any) -> None:
    recorded.ok("register", "oro-puno", "--name", "Oro Puno", "--country", "PE", "--date", "2016-01-10")
    recorded.ok("certify", "oro-puno", "--date", "2016-06-15", "--standard", "fairmined",
                "--certificate", "FM-PE-0002")
    assert recorded.error("recertify", "cecomip", "--date", "2017-06-01", "--certificate", "fm-pe-0002") == (
        "recertify on 2017-06-01 refused: certificate FM-PE-0002 is already held by oro-puno (version 2); "
        "certificate numbers are unique in the ledger, letter case aside")
