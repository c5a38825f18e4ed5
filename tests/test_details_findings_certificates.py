"""Issue 12, domain half: countries and texts, --audit, corrections, findings, the period a status shows,
certificates (SPEC section 9) and the registry's new filters; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any, Iterator

import pytest

from ledger.application import CertificationLedger
from ledger.errors import InvalidInput, UnknownCertificate, UnknownOrganization
from projections import Views, compare_with_rebuild
from service import LedgerService
from test_cli import EXAMPLES, Cli


@pytest.fixture
def ledger(db_url: str) -> Iterator[CertificationLedger]:
    app = CertificationLedger(db_url)
    yield app
    app.close()


@pytest.fixture
def views(ledger: CertificationLedger) -> Views:
    return Views(ledger.log)


@pytest.fixture
def history(ledger: CertificationLedger) -> CertificationLedger:
    """The scheme's public history (examples/fairmined-history.jsonl)."""
    for line in (EXAMPLES / "fairmined-history.jsonl").read_text(encoding="utf-8").splitlines():
        ledger.record(json.loads(line))
    return ledger


def cecomip(ledger: CertificationLedger) -> CertificationLedger:
    """Registered 2016-01-10; audit IMO-16 (version 2) with a major, a minor and an observation; certified
    2016-06-15 (FM-PE-0001) on that audit; renewed 2017-05-24 for 2017-06-15..2018-06-14."""
    ledger.register("cecomip", name="Central Minera Aurífera CECOMIP", country="pe", region="Ananea, Puno",
                    date="2016-01-10", legal_form="central-cooperative")
    ledger.audit("cecomip", date="2016-05-20", body="IMO Swiss AG", kind="initial", reference="IMO-16",
                 findings=["major:health-safety:no ventilation", "minor:traceability:sales book by hand",
                           "observation:organizational:minutes unsigned"])
    ledger.certify("cecomip", date="2016-06-15", standard="fairmined", certificate="FM-PE-0001", audit="IMO-16")
    ledger.recertify("cecomip", date="2017-05-24")
    return ledger


def pick(record: dict[str, Any], *keys: str) -> tuple[Any, ...]:
    return tuple(record[key] for key in keys)


# ---------------------------------------------------------------- countries and free texts

def test_a_country_typed_in_lower_case_is_stored_and_shown_upper_case(ledger: CertificationLedger) -> None:
    cecomip(ledger)
    assert ledger.history("cecomip")[0]["fields"]["country"] == "PE"
    assert ledger.state_at("cecomip", as_of="2016-12-31")["country"] == "PE"


def test_the_registry_country_filter_takes_either_case_and_refuses_codes_that_name_no_country(
        ledger: CertificationLedger, views: Views) -> None:
    cecomip(ledger)
    assert [r["org"] for r in views.registry("2016-12-31", country="pe")] == ["cecomip"]
    assert [r["org"] for r in views.registry("2016-12-31", country="Pe")] == ["cecomip"]
    assert views.registry("2016-12-31", country="BO") == []
    for code in ("XX", "ZZ", "EU", "eu"):
        with pytest.raises(InvalidInput, match=f"--country: '{code}' is not an ISO 3166-1 alpha-2 country code: "
                                               "it names no country"):
            views.registry("2016-12-31", country=code)


def test_a_tab_in_the_recorder_name_is_refused(ledger: CertificationLedger) -> None:
    with pytest.raises(InvalidInput, match=r"--by: must not contain control characters \(tab included\)"):
        ledger.register("cecomip", name="CECOMIP", country="PE", date="2016-01-10", by="registry\toffice")


# ---------------------------------------------------------------- status shows the period covering the day

def test_status_as_of_a_day_between_a_renewal_and_its_start_shows_the_period_covering_that_day(
        history: CertificationLedger, views: Views) -> None:
    status = history.state_at("cecomip", as_of="2019-05-31")
    assert pick(status, "status", "valid_from", "valid_until", "consecutive_years", "recertifications") == (
        "certified", "2018-06-15", "2019-06-14", 4, 3)
    listed = next(r for r in views.registry("2019-05-31") if r["org"] == "cecomip")
    assert pick(listed, "valid_from", "valid_until") == ("2018-06-15", "2019-06-14")
    renewed = history.state_at("cecomip", as_of="2019-06-15")
    assert pick(renewed, "valid_from", "valid_until") == ("2019-06-15", "2020-06-14")
    assert next(r for r in views.registry("2019-06-15") if r["org"] == "cecomip")["valid_from"] == "2019-06-15"


def test_withdrawn_on_is_the_withdrawal_date_while_withdrawn_and_null_otherwise(
        history: CertificationLedger) -> None:
    assert history.state_at("la-cascada", as_of="2019-06-13")["withdrawn_on"] is None
    withdrawn = history.state_at("la-cascada", as_of="2019-06-14")
    assert pick(withdrawn, "status", "withdrawn_on", "valid_from", "valid_until") == (
        "withdrawn", "2019-06-14", "2018-08-09", "2019-08-08")


# ---------------------------------------------------------------- corrections

def test_a_correction_replaces_the_details_from_its_date_on(ledger: CertificationLedger, views: Views) -> None:
    cecomip(ledger)
    ledger.correct("cecomip", date="2017-03-01", name="CECOMIP Ltda.", country="bo", region="La Paz")
    before, after = ledger.state_at("cecomip", as_of="2017-02-28"), ledger.state_at("cecomip", as_of="2017-03-01")
    assert pick(before, "name", "country") == ("Central Minera Aurífera CECOMIP", "PE")
    assert pick(after, "name", "country") == ("CECOMIP Ltda.", "BO")
    assert [r["name"] for r in views.registry("2017-03-01")] == ["CECOMIP Ltda."]
    assert [r["name"] for r in views.registry("2017-02-28")] == ["Central Minera Aurífera CECOMIP"]
    assert [r["name"] for r in views.streaks("2017-03-01")] == ["CECOMIP Ltda."]
    assert [r["org"] for r in views.registry("2017-03-01", country="BO")] == ["cecomip"]
    assert views.registry("2017-03-01", country="PE") == []
    assert [r["org"] for r in views.registry("2017-02-28", country="PE")] == ["cecomip"]
    assert [r["org"] for r in views.registry("2017-03-01", region="la paz")] == ["cecomip"]
    assert views.registry("2017-03-01", region="puno") == []
    assert [r["org"] for r in views.registry("2017-02-28", region="PUNO")] == ["cecomip"]
    assert [r["org"] for r in views.registry("2017-03-01", q="ltda")] == ["cecomip"]
    assert views.registry("2017-02-28", q="ltda") == []


def test_history_shows_a_correction_with_the_values_it_replaced(ledger: CertificationLedger) -> None:
    cecomip(ledger)
    ledger.correct("cecomip", date="2017-03-01", name="CECOMIP Ltda.", deposit="alluvial")
    entry = ledger.history("cecomip")[-1]
    assert pick(entry, "type", "date", "fields") == (
        "OrganizationDetailsCorrected", "2017-03-01",
        {"name": "CECOMIP Ltda.", "deposit": "alluvial",
         "previous": {"name": "Central Minera Aurífera CECOMIP", "deposit": None}})


def test_a_typo_corrected_on_the_registration_date_is_corrected_for_all_time(ledger: CertificationLedger) -> None:
    cecomip(ledger)
    ledger.correct("cecomip", date="2016-01-10", name="Central Minera Aurifera CECOMIP")
    assert ledger.state_at("cecomip", as_of="2016-01-10")["name"] == "Central Minera Aurifera CECOMIP"


def test_a_retracted_correction_gives_the_registered_details_back(ledger: CertificationLedger,
                                                                  views: Views) -> None:
    cecomip(ledger)
    correction = ledger.correct("cecomip", date="2017-03-01", name="CECOMIP Ltda.")
    ledger.retract("cecomip", correction.version, date="2017-04-01", reason="recorded for the wrong organization")
    assert ledger.state_at("cecomip", as_of="2018-01-01")["name"] == "Central Minera Aurífera CECOMIP"
    assert [r["name"] for r in views.registry("2018-01-01")] == ["Central Minera Aurífera CECOMIP"]
    known_before = ledger.state_at("cecomip", as_of="2018-01-01", known_at=correction.position)
    assert known_before["name"] == "CECOMIP Ltda."


def test_a_correction_leaves_status_and_streaks_as_they_were(ledger: CertificationLedger) -> None:
    cecomip(ledger)
    before = ledger.state_at("cecomip", as_of="2017-12-31")
    ledger.correct("cecomip", date="2017-03-01", name="CECOMIP Ltda.")
    after = ledger.state_at("cecomip", as_of="2017-12-31")
    assert {k: v for k, v in after.items() if k not in ("name", "known_at")} == \
        {k: v for k, v in before.items() if k not in ("name", "known_at")}


# ---------------------------------------------------------------- findings

def test_findings_are_listed_with_their_ids_and_the_fields_of_the_spec(ledger: CertificationLedger) -> None:
    cecomip(ledger)
    assert ledger.findings("cecomip", as_of="2016-12-31") == [
        {"id": "2.1", "audit_date": "2016-05-20", "audit_reference": "IMO-16", "body": "IMO Swiss AG",
         "severity": "major", "category": "health-safety", "text": "no ventilation", "closed_on": None,
         "evidence": None},
        {"id": "2.2", "audit_date": "2016-05-20", "audit_reference": "IMO-16", "body": "IMO Swiss AG",
         "severity": "minor", "category": "traceability", "text": "sales book by hand", "closed_on": None,
         "evidence": None},
        {"id": "2.3", "audit_date": "2016-05-20", "audit_reference": "IMO-16", "body": "IMO Swiss AG",
         "severity": "observation", "category": "organizational", "text": "minutes unsigned", "closed_on": None,
         "evidence": None},
    ]


def test_a_closed_finding_shows_its_closure_from_the_closure_date_on(ledger: CertificationLedger) -> None:
    cecomip(ledger)
    ledger.close_finding("cecomip", "2.1", date="2016-09-30", evidence="ventilation shaft built")
    assert pick(ledger.findings("cecomip", as_of="2016-09-29")[0], "closed_on", "evidence") == (None, None)
    assert pick(ledger.findings("cecomip", as_of="2016-09-30")[0], "closed_on", "evidence") == (
        "2016-09-30", "ventilation shaft built")
    assert [f["id"] for f in ledger.findings("cecomip", as_of="2016-09-30", only_open=True)] == ["2.2", "2.3"]
    assert [f["id"] for f in ledger.findings("cecomip", as_of="2016-09-29", only_open=True)] == ["2.1", "2.2", "2.3"]


def test_findings_of_audits_after_the_as_of_date_are_not_listed(ledger: CertificationLedger) -> None:
    cecomip(ledger)
    ledger.audit("cecomip", date="2017-05-10", body="IMO Swiss AG", kind="recertification",
                 findings=["minor:environmental:mercury"])
    assert [f["id"] for f in ledger.findings("cecomip", as_of="2017-05-09")] == ["2.1", "2.2", "2.3"]
    assert [f["id"] for f in ledger.findings("cecomip", as_of="2017-05-10")] == ["2.1", "2.2", "2.3", "5.1"]


def test_findings_as_known_at_a_position_leave_later_closures_out(ledger: CertificationLedger) -> None:
    cecomip(ledger)
    closure = ledger.close_finding("cecomip", "2.2", date="2016-09-30", evidence="electronic register")
    assert ledger.findings("cecomip", as_of="2019-01-01", known_at=closure.position - 1)[1]["closed_on"] is None
    assert ledger.findings("cecomip", as_of="2019-01-01", known_at=closure.position)[1]["closed_on"] == \
        "2016-09-30"


def test_findings_of_an_organization_not_yet_registered_are_an_error(ledger: CertificationLedger) -> None:
    cecomip(ledger)
    with pytest.raises(UnknownOrganization, match="cecomip is not registered on 2015-12-31"):
        ledger.findings("cecomip", as_of="2015-12-31")
    with pytest.raises(UnknownOrganization, match="unknown organization ghost"):
        ledger.findings("ghost", as_of="2019-12-31")


def test_status_counts_open_major_and_minor_findings_on_the_as_of_date(ledger: CertificationLedger,
                                                                       views: Views) -> None:
    cecomip(ledger)
    assert ledger.state_at("cecomip", as_of="2016-05-19")["open_findings"] == {"major": 0, "minor": 0}
    assert ledger.state_at("cecomip", as_of="2016-05-20")["open_findings"] == {"major": 1, "minor": 1}
    ledger.close_finding("cecomip", "2.1", date="2016-09-30", evidence="ventilation shaft built")
    ledger.close_finding("cecomip", "2.3", date="2016-09-30", evidence="minutes signed")
    assert ledger.state_at("cecomip", as_of="2016-09-29")["open_findings"] == {"major": 1, "minor": 1}
    assert ledger.state_at("cecomip", as_of="2016-09-30")["open_findings"] == {"major": 0, "minor": 1}
    assert [r["open_findings"] for r in views.registry("2016-09-29")] == [{"major": 1, "minor": 1}]
    assert [r["open_findings"] for r in views.registry("2016-09-30")] == [{"major": 0, "minor": 1}]


def test_the_views_with_new_events_equal_a_rebuild(ledger: CertificationLedger, views: Views) -> None:
    cecomip(ledger)
    views.catch_up()
    ledger.correct("cecomip", date="2017-03-01", name="CECOMIP Ltda.", region="Puno")
    views.catch_up()
    ledger.close_finding("cecomip", "2.1", date="2016-09-30", evidence="ventilation shaft built")
    ledger.withdraw("cecomip", date="2018-01-10", mode="imposed", reason="mercury found")
    assert compare_with_rebuild(ledger.log) == []
    incremental = [{k: v for k, v in r.items() if k != "known_at"} for r in views.registry("2018-01-10")]
    views.rebuild()
    assert [{k: v for k, v in r.items() if k != "known_at"} for r in views.registry("2018-01-10")] == incremental


# ---------------------------------------------------------------- registry filters

def test_q_finds_an_organization_by_its_name_letter_case_and_accents_aside(history: CertificationLedger,
                                                                           views: Views) -> None:
    assert [r["org"] for r in views.registry("2019-12-31", q="aurifera yani")] == ["aurifera-yani"]
    assert [r["org"] for r in views.registry("2019-12-31", q="AURÍFERA YANI")] == ["aurifera-yani"]
    assert [r["org"] for r in views.registry("2019-12-31", q="metalurgicas")] == ["cecomip"]


def test_q_finds_an_organization_by_its_id_and_by_a_certificate_number(history: CertificationLedger,
                                                                       views: Views) -> None:
    assert [r["org"] for r in views.registry("2019-12-31", q="oro-pun")] == ["oro-puno"]
    assert [r["org"] for r in views.registry("2019-12-31", q="fm-pe-2016-01")] == ["cecomip"]
    assert views.registry("2015-12-31", q="fm-pe-2016-01") == []  # not granted yet


def test_q_takes_like_wildcards_literally(history: CertificationLedger, views: Views) -> None:
    assert views.registry("2019-12-31", q="%") == []
    assert views.registry("2019-12-31", q="_") == []


def test_region_matches_the_region_or_one_of_its_parts(history: CertificationLedger, views: Views) -> None:
    assert [r["org"] for r in views.registry("2019-12-31", region="ayacucho")] == ["aurelsa", "san-luis", "sotrami"]
    assert [r["org"] for r in views.registry("2019-12-31", region="Santa Filomena, AYACUCHO")] == ["sotrami"]
    assert [r["org"] for r in views.registry("2019-12-31", region="santa filomena")] == ["sotrami"]
    assert views.registry("2019-12-31", region="ayacuch") == []


def test_expiring_within_keeps_certified_organizations_whose_period_ends_soon_with_no_renewal(
        history: CertificationLedger, views: Views) -> None:
    assert [(r["org"], r["valid_until"]) for r in views.registry("2019-12-01", expiring_within=30)] == [
        ("chede", "2019-12-04"), ("shijir-khishig", "2019-12-19")]
    # Chede's renewal was decided on 2019-12-02; Shijir Khishig's on 2019-12-10.
    assert [r["org"] for r in views.registry("2019-12-02", expiring_within=30)] == ["shijir-khishig"]
    assert views.registry("2019-12-10", expiring_within=30) == []


def test_expiring_within_counts_days_after_the_as_of_date_both_ends_included(history: CertificationLedger,
                                                                             views: Views) -> None:
    assert views.registry("2019-12-01", expiring_within=2) == []
    assert [r["org"] for r in views.registry("2019-12-01", expiring_within=3)] == ["chede"]
    assert [r["org"] for r in views.registry("2019-03-05", expiring_within=0)] == ["aurifera-yani"]
    assert views.registry("2019-03-04", expiring_within=0) == []


def test_expiring_within_leaves_suspended_organizations_out(ledger: CertificationLedger, views: Views) -> None:
    cecomip(ledger)
    assert views.registry("2018-06-01", expiring_within=12) == []  # the period ends on 2018-06-14
    assert [r["org"] for r in views.registry("2018-06-01", expiring_within=13)] == ["cecomip"]
    ledger.suspend("cecomip", date="2018-05-01", reason="traceability records missing")
    assert views.registry("2018-06-01", expiring_within=13) == []


def test_the_new_filters_combine_with_the_others_through_the_service(history: CertificationLedger) -> None:
    service = LedgerService(history.db)
    try:
        listing = service.registry("2019-12-01", ["certified"], "co", None, None, region="la llanada",
                                   q="coodmilla", expiring_within=60)
        assert [r["org"] for r in listing] == ["coodmilla"]
        assert listing.position == history.storage.max_position()
    finally:
        service.close()


@pytest.mark.parametrize("filters, message", [
    ({"q": "a\tb"}, "--q: must not contain control characters"),
    ({"q": " "}, "--q: must not be empty"),
    ({"region": "x" * 501}, "--region: must be at most 500 characters"),
    ({"expiring_within": -1}, "--expiring-within: -1 is not a number of days"),
    ({"expiring_within": "7"}, "--expiring-within: '7' is not a number of days"),
])
def test_bad_new_filter_values_are_refused_naming_the_option(ledger: CertificationLedger, views: Views,
                                                              filters: dict[str, Any], message: str) -> None:
    cecomip(ledger)
    with pytest.raises(InvalidInput) as refused:
        views.registry("2019-12-31", **filters)
    assert str(refused.value).startswith(message)


# ---------------------------------------------------------------- certificates

def renumbered_story(ledger: CertificationLedger) -> CertificationLedger:
    """FM-PE-0001 for 2016-06-15..2017-06-14 and 2017-06-15..2018-06-14; renewed on 2018-05-20 under FM-PE-0002
    (2018-06-15..2019-06-14); suspended 2018-09-01, reinstated 2018-10-01; withdrawn 2019-01-15."""
    cecomip(ledger)
    ledger.recertify("cecomip", date="2018-05-20", certificate="FM-PE-0002")
    ledger.suspend("cecomip", date="2018-09-01", reason="traceability records missing")
    ledger.reinstate("cecomip", date="2018-10-01")
    ledger.withdraw("cecomip", date="2019-01-15", mode="imposed", reason="mercury found")
    return ledger


@pytest.mark.parametrize("number, as_of, state, valid_from, valid_until", [
    ("FM-PE-0001", "2016-06-14", "not-yet-valid", "2016-06-15", "2017-06-14"),
    ("FM-PE-0001", "2016-06-15", "valid", "2016-06-15", "2017-06-14"),
    ("FM-PE-0001", "2017-06-15", "valid", "2017-06-15", "2018-06-14"),
    ("FM-PE-0001", "2018-06-15", "superseded", "2017-06-15", "2018-06-14"),
    ("FM-PE-0001", "2019-01-15", "withdrawn", "2017-06-15", "2018-06-14"),
    ("FM-PE-0002", "2018-06-14", "not-yet-valid", "2018-06-15", "2019-06-14"),
    ("FM-PE-0002", "2018-05-01", "not-yet-valid", "2018-06-15", "2019-06-14"),
    ("FM-PE-0002", "2018-09-01", "suspended", "2018-06-15", "2019-06-14"),
    ("FM-PE-0002", "2018-10-01", "valid", "2018-06-15", "2019-06-14"),
    ("FM-PE-0002", "2019-01-14", "valid", "2018-06-15", "2019-06-14"),
    ("FM-PE-0002", "2019-01-15", "withdrawn", "2018-06-15", "2019-06-14"),
    ("FM-PE-0002", "2025-01-01", "withdrawn", "2018-06-15", "2019-06-14"),
])
def test_a_certificate_answers_its_state_and_period_on_the_day(ledger: CertificationLedger, views: Views,
                                                               number: str, as_of: str, state: str,
                                                               valid_from: str, valid_until: str) -> None:
    renumbered_story(ledger)
    answer = views.certificate(number, as_of=as_of)
    assert pick(answer, "certificate", "org", "state", "valid_from", "valid_until") == (
        number, "cecomip", state, valid_from, valid_until)


def test_a_certificate_that_ran_out_without_renewal_is_expired(ledger: CertificationLedger, views: Views) -> None:
    cecomip(ledger)
    answer = views.certificate("FM-PE-0001", as_of="2018-06-15")
    assert pick(answer, "state", "valid_from", "valid_until") == ("expired", "2017-06-15", "2018-06-14")


def test_the_certificate_answer_has_the_shape_of_the_spec(ledger: CertificationLedger, views: Views) -> None:
    cecomip(ledger)
    answer = views.certificate("fm-pe-0001", as_of="2017-12-31")
    assert list(answer) == ["certificate", "org", "name", "country", "standard", "state", "valid_from",
                            "valid_until", "as_of", "known_at"]
    assert {k: v for k, v in answer.items() if k != "known_at"} == {
        "certificate": "FM-PE-0001", "org": "cecomip", "name": "Central Minera Aurífera CECOMIP", "country": "PE",
        "standard": "fairmined", "state": "valid", "valid_from": "2017-06-15", "valid_until": "2018-06-14",
        "as_of": "2017-12-31"}
    assert answer["known_at"].endswith("Z")
    assert answer.position == ledger.storage.max_position()


def test_a_certificate_shows_the_name_in_force_on_the_day(ledger: CertificationLedger, views: Views) -> None:
    cecomip(ledger)
    ledger.correct("cecomip", date="2017-03-01", name="CECOMIP Ltda.")
    assert views.certificate("FM-PE-0001", as_of="2017-02-28")["name"] == "Central Minera Aurífera CECOMIP"
    assert views.certificate("FM-PE-0001", as_of="2017-03-01")["name"] == "CECOMIP Ltda."


def test_a_certificate_number_is_looked_up_trimmed_and_letter_case_aside(ledger: CertificationLedger,
                                                                         views: Views) -> None:
    cecomip(ledger)
    assert views.certificate("  fm-pe-0001 ", as_of="2017-12-31")["certificate"] == "FM-PE-0001"


def test_an_extension_shows_in_the_certificate_period_from_its_date(ledger: CertificationLedger,
                                                                    views: Views) -> None:
    cecomip(ledger)
    ledger.extend("cecomip", date="2018-04-01", until="2018-10-14", reason="operations halted")
    assert views.certificate("FM-PE-0001", as_of="2018-03-31")["valid_until"] == "2018-06-14"
    assert pick(views.certificate("FM-PE-0001", as_of="2018-08-01"), "state", "valid_until") == (
        "valid", "2018-10-14")


def test_an_unknown_certificate_is_an_error(ledger: CertificationLedger, views: Views) -> None:
    cecomip(ledger)
    with pytest.raises(UnknownCertificate, match="^unknown certificate FM-XX-9$"):
        views.certificate(" FM-XX-9 ", as_of="2017-12-31")


def test_a_number_only_on_a_retracted_grant_is_unknown(ledger: CertificationLedger, views: Views) -> None:
    ledger.register("oro-puno", name="Oro Puno", country="PE", date="2016-01-10")
    grant = ledger.certify("oro-puno", date="2016-06-15", standard="fairmined", certificate="FM-PE-0009")
    assert views.certificate("FM-PE-0009", as_of="2016-12-31")["state"] == "valid"
    ledger.retract("oro-puno", grant.version, date="2016-07-01", reason="recorded for the wrong organization")
    with pytest.raises(UnknownCertificate, match="unknown certificate FM-PE-0009"):
        views.certificate("FM-PE-0009", as_of="2016-12-31")
    assert views.certificate("FM-PE-0009", as_of="2016-12-31", known_at=grant.position)["state"] == "valid"


def test_a_number_not_yet_known_at_the_known_at_time_is_unknown(ledger: CertificationLedger, views: Views) -> None:
    cecomip(ledger)
    renewal = ledger.recertify("cecomip", date="2018-05-20", certificate="FM-PE-0002")
    with pytest.raises(UnknownCertificate, match="unknown certificate FM-PE-0002"):
        views.certificate("FM-PE-0002", as_of="2018-12-31", known_at=renewal.position - 1)
    assert views.certificate("FM-PE-0002", as_of="2018-12-31", known_at=renewal.position)["state"] == "valid"


def test_a_freed_number_answers_for_its_new_holder(ledger: CertificationLedger, views: Views) -> None:
    ledger.register("oro-puno", name="Oro Puno", country="PE", date="2016-01-10")
    grant = ledger.certify("oro-puno", date="2016-06-15", standard="fairmined", certificate="FM-PE-0009")
    ledger.retract("oro-puno", grant.version, date="2016-07-01", reason="recorded for the wrong organization")
    ledger.register("san-luis", name="San Luis", country="PE", date="2016-01-10")
    ledger.certify("san-luis", date="2016-08-01", standard="ecological", certificate="fm-pe-0009")
    answer = views.certificate("FM-PE-0009", as_of="2016-12-31")
    assert pick(answer, "certificate", "org", "standard", "state") == ("fm-pe-0009", "san-luis", "ecological",
                                                                       "valid")


def test_verify_certificates_answers_each_entry_in_order(ledger: CertificationLedger) -> None:
    renumbered_story(ledger)
    service = LedgerService(ledger.db)
    try:
        items = service.verify_certificates([
            {"certificate": "FM-PE-0001", "date": "2017-01-01"},
            {"certificate": "nope-1"},
            {"certificate": "fm-pe-0002", "date": "2018-09-15"},
            {"certificate": "FM-PE-0001"},
        ], as_of="2018-07-01")
    finally:
        service.close()
    assert [item.get("state") for item in items] == ["valid", None, "suspended", "superseded"]
    assert items[1] == {"certificate": "nope-1", "found": False}
    assert [item.get("as_of") for item in items] == ["2017-01-01", None, "2018-09-15", "2018-07-01"]
    assert items.position == ledger.storage.max_position()


@pytest.mark.parametrize("entries, message", [
    ([{"certificate": 7}], "entry 1: expected"),
    ([{"certificate": "A", "date": "2019-02-30"}], "entry 1: date: '2019-02-30' is not a real calendar date"),
    ([{"certificate": "A"}, {"certificate": "a\tb"}], "entry 2: certificate: must not contain control characters"),
    ([{"certificate": "A", "colour": "gold"}], "entry 1: unknown field colour"),
    (["A"], "entry 1: expected"),
])
def test_verify_certificates_refuses_a_bad_entry_naming_it(ledger: CertificationLedger, entries: Any,
                                                           message: str) -> None:
    cecomip(ledger)
    with pytest.raises(InvalidInput) as refused:
        Views(ledger.log).verify_certificates(entries)
    assert str(refused.value).startswith(message)


# ---------------------------------------------------------------- the command line

@pytest.fixture
def run(db_url: str) -> Cli:
    return Cli(db_url)


@pytest.fixture
def cli_cecomip(run: Cli) -> Cli:
    run.ok("register", "cecomip", "--name", "Aurífera CECOMIP", "--country", "pe", "--region", "Ananea, Puno",
           "--date", "2016-01-10")
    run.ok("audit", "cecomip", "--date", "2016-05-20", "--body", "IMO Swiss AG", "--kind", "initial",
           "--reference", "IMO-16", "--finding", "major:health-safety:no ventilation",
           "--finding", "minor:traceability:sales book by hand")
    run.ok("certify", "cecomip", "--date", "2016-06-15", "--standard", "fairmined", "--certificate", "FM-PE-0001",
           "--audit", "IMO-16")
    return run


def test_correct_and_close_finding_print_the_recorded_event(cli_cecomip: Cli) -> None:
    assert cli_cecomip.ok("correct", "cecomip", "--date", "2017-03-01", "--name", "CECOMIP Ltda.",
                          "--country", "bo") == (
        "Recorded OrganizationDetailsCorrected for cecomip at position 4 (version 4, 2017-03-01)\n")
    assert cli_cecomip.ok("close-finding", "cecomip", "2.1", "--date", "2016-09-30",
                          "--evidence", "ventilation shaft built") == (
        "Recorded FindingClosed for cecomip at position 5 (version 5, 2016-09-30)\n")
    entry = cli_cecomip.json("close-finding", "cecomip", "2.2", "--date", "2016-10-30", "--evidence", "register")
    assert pick(entry, "type", "fields") == ("FindingClosed", {"finding": "2.2", "evidence": "register"})


def test_recertify_takes_a_new_certificate_number(cli_cecomip: Cli) -> None:
    entry = cli_cecomip.json("recertify", "cecomip", "--date", "2017-05-24", "--certificate", "FM-PE-0002",
                             "--audit", "IMO-16")
    assert entry["fields"]["certificate"] == "FM-PE-0002"
    assert cli_cecomip.json("certificate", "fm-pe-0002", "--as-of", "2017-07-01")["state"] == "valid"
    assert cli_cecomip.json("certificate", "FM-PE-0001", "--as-of", "2017-07-01")["state"] == "superseded"


def test_findings_command_prints_json_csv_and_a_table(cli_cecomip: Cli) -> None:
    cli_cecomip.ok("close-finding", "cecomip", "2.1", "--date", "2016-09-30", "--evidence", "shaft built")
    listed = cli_cecomip.json("findings", "cecomip", "--as-of", "2016-12-31")
    assert [(f["id"], f["closed_on"]) for f in listed] == [("2.1", "2016-09-30"), ("2.2", None)]
    assert [f["id"] for f in cli_cecomip.json("findings", "cecomip", "--open", "--as-of", "2016-12-31")] == ["2.2"]
    assert [f["closed_on"] for f in cli_cecomip.json("findings", "cecomip", "--as-of", "2016-12-31",
                                                     "--known-at", "3")] == [None, None]
    csv_lines = cli_cecomip.ok("findings", "cecomip", "--csv", "--open").splitlines()
    assert csv_lines[0] == "id,audit_date,audit_reference,body,severity,category,text,closed_on,evidence"
    assert csv_lines[1] == "2.2,2016-05-20,IMO-16,IMO Swiss AG,minor,traceability,sales book by hand,,"
    assert cli_cecomip.ok("findings", "cecomip", "--csv", "--open", "--as-of", "2016-01-10").splitlines() == [
        csv_lines[0]]
    table = cli_cecomip.ok("findings", "cecomip").splitlines()
    assert table[0].split() == ["id", "audit_date", "audit_reference", "body", "severity", "category", "text",
                                "closed_on", "evidence"]


def test_status_json_shows_open_findings_and_withdrawn_on_in_the_order_of_the_spec(cli_cecomip: Cli) -> None:
    cli_cecomip.ok("withdraw", "cecomip", "--date", "2017-01-15", "--imposed", "--reason", "mercury found")
    record = cli_cecomip.json("status", "cecomip", "--as-of", "2017-12-31")
    assert list(record)[-4:] == ["withdrawn_on", "open_findings", "as_of", "known_at"]
    assert pick(record, "status", "withdrawn_on", "open_findings") == (
        "withdrawn", "2017-01-15", {"major": 1, "minor": 1})
    header = cli_cecomip.ok("status", "--csv", "--as-of", "2017-12-31").splitlines()[0].split(",")
    assert header[-5:] == ["last_denial", "withdrawn_on", "open_findings", "as_of", "known_at"]


def test_certificate_command_prints_a_record_or_json(cli_cecomip: Cli) -> None:
    answer = cli_cecomip.json("certificate", "fm-pe-0001", "--as-of", "2016-12-31")
    assert pick(answer, "certificate", "state", "valid_until") == ("FM-PE-0001", "valid", "2017-06-14")
    lines = cli_cecomip.ok("certificate", "FM-PE-0001", "--as-of", "2016-12-31").splitlines()
    assert [line.split()[0] for line in lines] == ["certificate", "org", "name", "country", "standard", "state",
                                                   "valid_from", "valid_until", "as_of", "known_at"]


def test_registry_command_takes_the_new_filters(cli_cecomip: Cli) -> None:
    assert [r["org"] for r in cli_cecomip.json("registry", "--q", "AURIFERA", "--region", "puno",
                                                "--expiring-within", "30", "--as-of", "2017-06-01")] == ["cecomip"]
    assert cli_cecomip.json("registry", "--q", "oro", "--as-of", "2017-06-01") == []
    assert cli_cecomip.json("registry", "--expiring-within", "5", "--as-of", "2017-06-01") == []


@pytest.mark.parametrize("suffix", ["jsonl", "csv"])
def test_corrections_and_closures_survive_an_export_and_an_import(ledger: CertificationLedger, tmp_path: Any,
                                                                  suffix: str) -> None:
    from ledger.transfer import export, importing

    cecomip(ledger)
    ledger.correct("cecomip", date="2017-03-01", name="CECOMIP Ltda.", country="bo")
    ledger.close_finding("cecomip", "2.1", date="2016-09-30", evidence="ventilation shaft built")
    exported = tmp_path / f"export.{suffix}"
    export.export_file(ledger, str(exported))
    copy = CertificationLedger(str(tmp_path / "copy.db"))
    try:
        summary = importing.import_file(copy, str(exported))
        assert summary.recorded == ledger.storage.max_position()
        assert [e["fields"] for e in copy.history("cecomip")] == [e["fields"] for e in ledger.history("cecomip")]
        assert importing.import_file(ledger, str(exported)).skipped == ledger.storage.max_position()
    finally:
        copy.close()
