"""The public record as a test: every dated claim about an organization holds in the examples ledger.

Each test is one claim of the public record as the project keeps it (``HISTORY.md``: a row of its
table, or one of its "Other facts") or of the scheme's 2019 news of the Peruvian recertifications
(``the 2019 article``), and its docstring names the source. The ledger is ``examples/fairmined-history.jsonl``, loaded
once per backend through the real ``certledger import``, and asked only through the Python API.
Days the record does not give are those picked in ``examples/README.md``.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Iterator

import pytest
from click.testing import CliRunner

from cli import cli
from conftest import BACKENDS, fresh_postgres_schema
from ledger.application import CertificationLedger
from projections import Views

HISTORY_FILE = Path(__file__).resolve().parent.parent / "examples" / "fairmined-history.jsonl"

ARTICLE_DATE = "2019-07-01"  # the 2019 article's day, as picked in examples/README.md
ARTICLE_EIGHT = ["cecomip", "chede", "coodmilla", "iquira", "la-fortaleza", "oro-puno", "san-luis",
                 "shijir-khishig"]
FOUR_MONTHS_REASON = ("four extra months granted by the certification body: operations halted by the "
                      "COVID-19 state of emergency")
GRANTS = ("CertificationGranted", "Recertified")


# ---------------------------------------------------------------- one ledger per backend, loaded once

@pytest.fixture(scope="module", params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The conftest fixture's backends, once per module: every test reads the same loaded ledger."""
    if request.param == "sqlite":
        yield str(tmp_path_factory.mktemp("public-record") / "ledger.db")
    else:
        yield from fresh_postgres_schema()


@pytest.fixture(scope="module")
def ledger(db_url: str) -> Iterator[CertificationLedger]:
    result = CliRunner().invoke(cli, ["--db", db_url, "import", str(HISTORY_FILE)],
                                env={"CERTLEDGER_USER": "tester", "CERTLEDGER_DB": None})
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Imported 155 events (0 skipped as already present)"), result.output
    app = CertificationLedger(db_url)
    yield app
    app.close()


@pytest.fixture(scope="module")
def views(ledger: CertificationLedger) -> Views:
    return Views(ledger.log)


def entries(ledger: CertificationLedger, org: str, *types: str) -> list[dict[str, Any]]:
    """``org``'s history entries of these types (all if none), retracted ones left out."""
    return [e for e in ledger.history(org) if not e["retracted"] and (not types or e["type"] in types)]


def dates(ledger: CertificationLedger, org: str, *types: str) -> list[str]:
    return [e["date"] for e in entries(ledger, org, *types)]


def audit_of(ledger: CertificationLedger, org: str, reference: str) -> dict[str, Any]:
    [audit] = [e for e in entries(ledger, org, "AuditConducted") if e["fields"]["reference"] == reference]
    return audit


def brief(status: dict[str, Any]) -> tuple[Any, ...]:
    return (status["status"], status["standard"], status["valid_from"], status["valid_until"],
            status["certified_since"], status["consecutive_years"], status["recertifications"])


def certified(views: Views, as_of: str, **filters: Any) -> list[str]:
    return [r["org"] for r in views.registry(as_of, statuses=["certified"], **filters)]


def in_country(ledger: CertificationLedger, country: str) -> list[str]:
    return [org for org in ledger.organizations() if ledger.state_at(org, "2022-02-28")["country"] == country]


def four_months_later(day: str) -> str:
    d = date.fromisoformat(day)
    month = d.month + 4
    return d.replace(year=d.year + (month - 1) // 12, month=(month - 1) % 12 + 1).isoformat()


def assert_four_month_extension_in_2020(ledger: CertificationLedger, org: str, on: str, until: str) -> None:
    [extension] = [e for e in entries(ledger, org, "ValidityExtended") if e["date"].startswith("2020")]
    assert (extension["date"], extension["fields"]) == (on, {"until": until, "reason": FOUR_MONTHS_REASON})
    day_before = (date.fromisoformat(on) - timedelta(days=1)).isoformat()
    before = ledger.state_at(org, day_before, known_at=extension["position"] - 1)
    assert before["status"] == "certified"
    assert four_months_later(before["valid_until"]) == until
    after = ledger.state_at(org, on)
    assert (after["status"], after["valid_until"]) == ("certified", until)


def anniversary_eve(day: date) -> date:
    try:
        anniversary = day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        anniversary = date(day.year + 1, 3, 1)
    return anniversary - timedelta(days=1)


# ---------------------------------------------------------------- the 2019 article

def test_the_2019_article_counts_a_total_of_8_organizations_with_fairmined_certification(views: Views) -> None:
    """The 2019 article: "... creating a total of 8 mining organizations with Fairmined Certification"
    (HISTORY.md, Other facts, quotes it). The day and the eight are those of examples/README.md."""
    assert certified(views, ARTICLE_DATE) == ARTICLE_EIGHT


def test_the_2019_article_comes_after_both_peruvian_recertifications(ledger: CertificationLedger,
                                                                    views: Views) -> None:
    """The 2019 article: "to date, 2 ... organizations located in Peru have been recertified":
    Oro Puno and CECOMIP, and no other Peruvian organization, by the article's day."""
    report = views.year_report(2019)
    peruvian = in_country(ledger, "PE")
    by_the_article = [(r["org"], r["date"]) for r in report["recertified"]
                      if r["date"] <= ARTICLE_DATE and r["org"] in peruvian]
    assert by_the_article == [("oro-puno", "2019-04-05"), ("cecomip", "2019-05-22")]


def test_organizations_the_record_never_shows_renewed_are_not_in_the_2019_count(
        ledger: CertificationLedger) -> None:
    """examples/README.md, from HISTORY.md's silences: SOTRAMI is never shown renewed after Nov 2015,
    La Coqueta has no date at all, La Unión's grant is not dated: none counts on the article's day."""
    assert brief(ledger.state_at("sotrami", ARTICLE_DATE)) == (
        "expired", "fairmined", "2015-12-01", "2016-11-30", None, 0, 0)
    assert brief(ledger.state_at("la-coqueta", ARTICLE_DATE)) == (
        "expired", "fairmined", "2017-09-12", "2018-09-11", None, 0, 0)
    assert ledger.state_at("la-union", ARTICLE_DATE)["status"] == "registered"
    assert dates(ledger, "la-union", *GRANTS) == ["2019-08-14", "2020-09-29"]


def test_in_2019_three_organizations_did_not_continue(views: Views) -> None:
    """HISTORY.md rows Aurífera Yani, XAMODX, La Cascada (and San Luis, told in Nov 2019): the year's
    report shows each with its reason."""
    report = views.year_report(2019)
    assert [(d["org"], d["date"], d["stage"], d["reason_category"]) for d in report["denied"]] == [
        ("aurifera-yani", "2019-02-20", "recertification", "commercial"),
        ("xamodx", "2019-05-29", "recertification", "health-safety"),
        ("san-luis", "2019-11-15", "recertification", "commercial")]
    assert [(w["org"], w["date"], w["mode"]) for w in report["withdrawn"]] == [
        ("la-cascada", "2019-06-14", "voluntary")]
    assert [(x["org"], x["date"]) for x in report["expired"]] == [
        ("aurifera-yani", "2019-03-06"), ("xamodx", "2019-06-12")]
    assert report["certified_at_end"] == 10


# ---------------------------------------------------------------- HISTORY.md, row by row

def test_every_organization_of_the_public_record_is_in_the_ledger_in_its_country(
        ledger: CertificationLedger) -> None:
    """HISTORY.md table, column "Where". La Unión: the row says Peru, the 2020 extension news says
    Colombia; the file follows the news (examples/README.md, conflicting claims)."""
    countries = {org: ledger.state_at(org, "2022-02-28")["country"] for org in ledger.organizations()}
    assert countries == {
        "cotapata": "BO", "sotrami": "PE", "aurelsa": "PE", "iquira": "CO", "xamodx": "MN",
        "15-de-agosto": "BO", "coodmilla": "CO", "la-fortaleza": "CO", "aurifera-yani": "BO",
        "cecomip": "PE", "oro-puno": "PE", "chede": "CO", "san-luis": "PE", "shijir-khishig": "MN",
        "duush-mandal": "MN", "cruz-pata": "PE", "la-union": "CO", "la-cascada": "CO", "la-coqueta": "CO"}


def test_cotapata_was_certified_in_2011_in_the_fairtrade_and_fairmined_era(ledger: CertificationLedger) -> None:
    """HISTORY.md row Cotapata: "Certified 2011 (Fairtrade & Fairmined era)"."""
    [grant] = entries(ledger, "cotapata", "CertificationGranted")
    assert grant["date"] == "2011-01-20"
    assert audit_of(ledger, "cotapata", grant["fields"]["audit"])["fields"]["body"] == "FLO-CERT"
    assert brief(ledger.state_at("cotapata", "2011-06-30"))[:5] == (
        "certified", "fairmined", "2011-01-20", "2012-01-19", "2011-01-20")


def test_cotapata_later_chose_not_to_maintain_its_certification(ledger: CertificationLedger) -> None:
    """HISTORY.md row Cotapata: "later chose not to maintain certification"."""
    [withdrawal] = entries(ledger, "cotapata", "CertificationWithdrawn")
    assert (withdrawal["date"], withdrawal["fields"]["mode"]) == ("2014-11-14", "voluntary")
    assert ledger.state_at("cotapata", "2014-11-13")["status"] == "certified"
    assert ledger.state_at("cotapata", "2014-11-14")["status"] == "withdrawn"


def test_sotrami_was_certified_in_may_2011(ledger: CertificationLedger) -> None:
    """HISTORY.md row SOTRAMI: "Certified May 2011"."""
    assert dates(ledger, "sotrami", "CertificationGranted") == ["2011-05-20"]
    assert ledger.state_at("sotrami", "2011-05-31")["certified_since"] == "2011-05-20"


def test_sotrami_was_renewed_under_standard_v2_in_november_2015_for_another_year(
        ledger: CertificationLedger) -> None:
    """HISTORY.md row SOTRAMI: "renewed under Standard v2.0 in Nov 2015 ('for another year')"; the
    record shows no later renewal, so that year is its last (examples/README.md)."""
    assert dates(ledger, "sotrami", "Recertified")[-1] == "2015-11-09"
    assert brief(ledger.state_at("sotrami", "2016-11-30")) == (
        "certified", "fairmined", "2015-12-01", "2016-11-30", "2011-05-20", 5, 4)
    assert ledger.state_at("sotrami", "2016-12-01")["status"] == "expired"


def test_aurelsa_was_certified_in_may_2012(ledger: CertificationLedger) -> None:
    """HISTORY.md row AURELSA: "Certified May 2012"."""
    assert dates(ledger, "aurelsa", "CertificationGranted") == ["2012-05-15"]
    assert brief(ledger.state_at("aurelsa", "2012-05-31"))[:5] == (
        "certified", "fairmined", "2012-05-15", "2013-05-14", "2012-05-15")


def test_iquira_has_been_certified_since_2014(ledger: CertificationLedger) -> None:
    """HISTORY.md row Íquira: "Certified since 2014" (and still in 2020, when it was extended)."""
    assert dates(ledger, "iquira", "CertificationGranted") == ["2014-12-10"]
    assert ledger.state_at("iquira", "2014-12-31")["certified_since"] == "2014-12-10"
    assert ledger.state_at("iquira", "2020-04-14")["certified_since"] == "2014-12-10"


def test_iquira_recertified_for_the_second_time_in_early_2017(ledger: CertificationLedger) -> None:
    """HISTORY.md row Íquira: "'recertifies for the second time' early 2017"."""
    assert dates(ledger, "iquira", "Recertified")[:2] == ["2016-04-05", "2017-02-21"]
    status = ledger.state_at("iquira", "2017-03-31")
    assert (status["status"], status["certified_since"], status["consecutive_years"],
            status["recertifications"]) == ("certified", "2014-12-10", 3, 2)


def test_iquira_got_a_four_month_extension_in_2020(ledger: CertificationLedger) -> None:
    """HISTORY.md row Íquira: "four-month extension in 2020"."""
    assert_four_month_extension_in_2020(ledger, "iquira", "2020-04-14", "2020-08-30")


def test_xamodx_obtained_ecological_gold_in_2015_the_first_in_asia(ledger: CertificationLedger) -> None:
    """HISTORY.md row XAMODX: "Ecological Gold 2015, first in Asia"."""
    [grant] = entries(ledger, "xamodx", "CertificationGranted")
    assert (grant["date"], grant["fields"]["standard"]) == ("2015-06-12", "ecological")
    asian = in_country(ledger, "MN")  # the only Asian country in the record
    first_ecological = sorted((e["date"], org) for org in asian for e in entries(ledger, org, *GRANTS)
                              if e["fields"]["standard"] == "ecological")[0]
    assert first_ecological == ("2015-06-12", "xamodx")


def test_xamodx_was_recertified_in_may_2016_after_an_audit_by_imo_swiss_ag(ledger: CertificationLedger) -> None:
    """HISTORY.md row XAMODX: "recertified May 2016 (audit by IMO Swiss AG)"."""
    renewal = entries(ledger, "xamodx", "Recertified")[0]
    assert renewal["date"] == "2016-05-25"
    audit = audit_of(ledger, "xamodx", renewal["fields"]["audit"])
    assert (audit["date"], audit["fields"]["body"], audit["fields"]["kind"]) == (
        "2016-05-11", "IMO Swiss AG", "recertification")


def test_xamodx_was_not_recertified_in_2019_for_its_health_and_safety_conditions(
        ledger: CertificationLedger) -> None:
    """HISTORY.md row XAMODX: "not recertified in 2019 (health and safety conditions)"."""
    assert dates(ledger, "xamodx", "Recertified") == ["2016-05-25", "2017-05-24", "2018-05-23"]
    status = ledger.state_at("xamodx", "2019-12-31")
    assert brief(status) == ("expired", "ecological", "2018-06-12", "2019-06-11", None, 0, 0)
    assert (status["last_denial"]["date"], status["last_denial"]["stage"],
            status["last_denial"]["reason_category"]) == ("2019-05-29", "recertification", "health-safety")


def test_15_de_agosto_was_certified_in_october_2015(ledger: CertificationLedger) -> None:
    """HISTORY.md row 15 de Agosto: "Certified Oct 2015"."""
    assert dates(ledger, "15-de-agosto", "CertificationGranted") == ["2015-10-06"]
    assert ledger.state_at("15-de-agosto", "2015-10-31")["certified_since"] == "2015-10-06"


def test_15_de_agosto_later_chose_not_to_maintain_its_certification(ledger: CertificationLedger) -> None:
    """HISTORY.md row 15 de Agosto: "later chose not to maintain certification"."""
    [withdrawal] = entries(ledger, "15-de-agosto", "CertificationWithdrawn")
    assert (withdrawal["date"], withdrawal["fields"]["mode"]) == ("2017-06-30", "voluntary")
    assert ledger.state_at("15-de-agosto", "2017-06-30")["status"] == "withdrawn"


def test_coodmilla_was_certified_as_a_unit_on_16_january_2017(ledger: CertificationLedger) -> None:
    """HISTORY.md row COODMILLA: "cooperative certified as a unit 16 Jan 2017". (Its member mines,
    certified in 2015, are not organizations of the ledger.)"""
    assert dates(ledger, "coodmilla", "CertificationGranted") == ["2017-01-16"]
    assert ledger.state_at("coodmilla", "2016-06-30")["status"] == "registered"
    assert ledger.state_at("coodmilla", "2017-01-15")["status"] == "registered"
    assert brief(ledger.state_at("coodmilla", "2017-01-16")) == (
        "certified", "fairmined", "2017-01-16", "2018-01-15", "2017-01-16", 1, 0)


def test_one_page_says_coodmilla_was_certified_in_2016_and_the_ledger_said_so_until_the_retraction(
        ledger: CertificationLedger) -> None:
    """HISTORY.md row COODMILLA: "(one page says 2016)". The first reading, a 2016 grant, was recorded,
    then retracted: known before the retraction the ledger gives 2016, known now 2017."""
    history = ledger.history("coodmilla")
    [retraction] = [e for e in history if e["type"] == "EntryRetracted"]
    [first_reading] = [e for e in history if e["retracted"]]
    assert (first_reading["version"], first_reading["type"], first_reading["date"]) == (
        2, "CertificationGranted", "2016-01-16")
    assert first_reading["retracted_by"] == retraction["version"]
    assert (retraction["date"], retraction["fields"]["target"]) == ("2017-01-16", 2)
    assert first_reading["fields"]["certificate"] == "FM-CO-2017-01"

    before = ledger.state_at("coodmilla", "2016-06-30", known_at=retraction["position"] - 1)
    assert brief(before) == ("certified", "fairmined", "2016-01-16", "2017-01-15", "2016-01-16", 1, 0)
    now = ledger.state_at("coodmilla", "2016-06-30")
    assert brief(now) == ("registered", None, None, None, None, 0, 0)
    assert ledger.state_at("coodmilla", "2017-06-30")["certified_since"] == "2017-01-16"


def test_la_fortaleza_was_certified_on_19_january_2017(ledger: CertificationLedger) -> None:
    """HISTORY.md row La Fortaleza (Gualconda mine): "Certified 19 Jan 2017"."""
    assert dates(ledger, "la-fortaleza", "CertificationGranted") == ["2017-01-19"]
    assert ledger.state_at("la-fortaleza", "2017-01-18")["status"] == "registered"
    assert ledger.state_at("la-fortaleza", "2017-01-19")["certified_since"] == "2017-01-19"


def test_aurifera_yani_was_certified_on_6_march_2017(ledger: CertificationLedger) -> None:
    """HISTORY.md row Aurífera Yani R.L.: "Certified 6 Mar 2017"."""
    assert dates(ledger, "aurifera-yani", "CertificationGranted") == ["2017-03-06"]
    assert ledger.state_at("aurifera-yani", "2017-03-05")["status"] == "registered"
    assert ledger.state_at("aurifera-yani", "2017-03-06")["certified_since"] == "2017-03-06"


def test_aurifera_yani_was_not_recertified_in_2019_for_the_commercial_requirements(
        ledger: CertificationLedger) -> None:
    """HISTORY.md row Aurífera Yani R.L.: "not recertified in 2019 (commercial requirements of the
    standard)"."""
    assert dates(ledger, "aurifera-yani", "Recertified") == ["2018-02-21"]
    status = ledger.state_at("aurifera-yani", "2019-12-31")
    assert brief(status) == ("expired", "fairmined", "2018-03-06", "2019-03-05", None, 0, 0)
    assert (status["last_denial"]["date"], status["last_denial"]["stage"],
            status["last_denial"]["reason_category"]) == ("2019-02-20", "recertification", "commercial")


def test_cecomip_was_certified_in_2016_the_first_alluvial_mining_organization_in_the_world(
        ledger: CertificationLedger) -> None:
    """HISTORY.md row CECOMIP: "Certified 2016, first alluvial mining organization in the world"
    (the 2019 article says the same)."""
    assert dates(ledger, "cecomip", "CertificationGranted") == ["2016-06-15"]
    alluvial = [org for org in ledger.organizations()
                if entries(ledger, org, "OrganizationRegistered")[0]["fields"]["deposit"] == "alluvial"]
    first_grants = sorted((dates(ledger, org, "CertificationGranted") or ["never"])[0] + " " + org
                          for org in alluvial)
    assert first_grants == ["2016-06-15 cecomip", "2018-04-20 oro-puno"]


def test_cecomip_was_certified_without_immediate_corrective_measures(ledger: CertificationLedger) -> None:
    """HISTORY.md row CECOMIP: "certified without immediate corrective measures": its initial audit
    found nothing that needs correcting (one observation, no major or minor finding)."""
    [grant] = entries(ledger, "cecomip", "CertificationGranted")
    audit = audit_of(ledger, "cecomip", grant["fields"]["audit"])
    assert audit["fields"]["kind"] == "initial"
    assert [f["severity"] for f in audit["fields"]["findings"]] == ["observation"]


def test_cecomip_was_recertified_for_the_third_consecutive_year_in_2019(
        ledger: CertificationLedger, views: Views) -> None:
    """HISTORY.md row CECOMIP: 'recertification "for the third consecutive year" approved 2019';
    the 2019 article: "In 2019 the auditing firm approved their recertification for the third
    consecutive year"."""
    assert dates(ledger, "cecomip", "Recertified")[:3] == ["2017-05-24", "2018-05-23", "2019-05-22"]
    [renewal] = [r for r in views.year_report(2019)["recertified"] if r["org"] == "cecomip"]
    assert (renewal["date"], renewal["consecutive_years"]) == ("2019-05-22", 4)
    assert brief(ledger.state_at("cecomip", ARTICLE_DATE)) == (
        "certified", "fairmined", "2019-06-15", "2020-06-14", "2016-06-15", 4, 3)


def test_cecomip_got_a_four_month_extension_in_2020(ledger: CertificationLedger) -> None:
    """HISTORY.md row CECOMIP: "four-month extension 2020"."""
    assert_four_month_extension_in_2020(ledger, "cecomip", "2020-04-17", "2020-10-14")


def test_cecomip_obtained_ecological_gold_in_august_2021(ledger: CertificationLedger) -> None:
    """HISTORY.md row CECOMIP: "Ecological Gold Aug 2021" (its certification stayed continuous)."""
    renewal = entries(ledger, "cecomip", "Recertified")[-1]
    assert (renewal["date"], renewal["fields"]["standard"], renewal["fields"]["valid_from"]) == (
        "2021-08-06", "ecological", "2021-08-16")
    assert ledger.state_at("cecomip", "2021-07-31")["standard"] == "fairmined"
    august = ledger.state_at("cecomip", "2021-08-31")
    assert (august["standard"], august["standard_years"], august["certified_since"]) == (
        "ecological", 1, "2016-06-15")


def test_cecomip_was_certified_six_years_in_a_row_by_february_2022(
        ledger: CertificationLedger, views: Views) -> None:
    """HISTORY.md row CECOMIP: '"six years in a row" (Feb 2022)'."""
    assert brief(ledger.state_at("cecomip", "2022-02-28")) == (
        "certified", "ecological", "2021-08-16", "2022-08-15", "2016-06-15", 6, 5)
    assert [(s["org"], s["consecutive_years"]) for s in views.streaks("2022-02-28")] == [
        ("cecomip", 6), ("oro-puno", 4), ("cruz-pata", 2)]


def test_oro_puno_obtained_the_first_ecological_gold_certification_in_peru_in_2018(
        ledger: CertificationLedger) -> None:
    """HISTORY.md row Oro Puno: "Ecological Gold 2018, first in Peru"."""
    [grant] = entries(ledger, "oro-puno", "CertificationGranted")
    assert (grant["date"], grant["fields"]["standard"]) == ("2018-04-20", "ecological")
    peruvian = in_country(ledger, "PE")
    first_ecological = sorted((e["date"], org) for org in peruvian for e in entries(ledger, org, *GRANTS)
                              if e["fields"]["standard"] == "ecological")[0]
    assert first_ecological == ("2018-04-20", "oro-puno")


def test_oro_puno_held_ecological_gold_for_the_second_consecutive_year_in_2019(
        ledger: CertificationLedger) -> None:
    """HISTORY.md row Oro Puno: '"second consecutive year" 2019'; the 2019 article: "obtained their
    Fairmined Ecological Gold Certification for the second consecutive year"."""
    assert dates(ledger, "oro-puno", "Recertified")[0] == "2019-04-05"
    status = ledger.state_at("oro-puno", ARTICLE_DATE)
    assert brief(status) == ("certified", "ecological", "2019-04-20", "2020-04-19", "2018-04-20", 2, 1)
    assert status["standard_years"] == 2


def test_oro_puno_was_recertified_ecological_in_april_2020(ledger: CertificationLedger) -> None:
    """HISTORY.md row Oro Puno: "Ecological recertification Apr 2020"."""
    renewal = entries(ledger, "oro-puno", "Recertified")[1]
    assert (renewal["date"], renewal["fields"]["standard"]) == ("2020-04-28", "ecological")
    status = ledger.state_at("oro-puno", "2020-12-31")
    assert (status["standard"], status["standard_years"], status["consecutive_years"]) == ("ecological", 3, 3)


def test_oro_puno_got_a_four_month_extension_in_2020(ledger: CertificationLedger) -> None:
    """HISTORY.md row Oro Puno: "four-month extension 2020"."""
    assert_four_month_extension_in_2020(ledger, "oro-puno", "2020-04-02", "2020-08-19")


def test_chede_was_certified_in_the_first_week_of_december_2018(ledger: CertificationLedger) -> None:
    """HISTORY.md row Chede: "Certified first week of Dec 2018"."""
    assert dates(ledger, "chede", "CertificationGranted") == ["2018-12-05"]
    assert ledger.state_at("chede", "2018-12-07")["certified_since"] == "2018-12-05"


def test_chede_was_recertified_in_december_2019(ledger: CertificationLedger) -> None:
    """HISTORY.md row Chede: "recertified Dec 2019"."""
    assert dates(ledger, "chede", "Recertified")[0] == "2019-12-02"
    assert brief(ledger.state_at("chede", "2019-12-31")) == (
        "certified", "fairmined", "2019-12-05", "2020-12-04", "2018-12-05", 2, 1)


def test_chede_was_later_certified_for_the_third_consecutive_year(ledger: CertificationLedger) -> None:
    """HISTORY.md row Chede: 'later "third consecutive year"'."""
    assert dates(ledger, "chede", "Recertified") == ["2019-12-02", "2020-12-01"]
    assert brief(ledger.state_at("chede", "2020-12-31")) == (
        "certified", "fairmined", "2020-12-05", "2021-12-04", "2018-12-05", 3, 2)


def test_san_luis_was_certified_in_december_2018(ledger: CertificationLedger) -> None:
    """HISTORY.md row San Luis: "Certified Dec 2018"."""
    assert dates(ledger, "san-luis", "CertificationGranted") == ["2018-12-14"]
    assert ledger.state_at("san-luis", "2018-12-31")["certified_since"] == "2018-12-14"


def test_san_luis_was_told_in_november_2019_that_it_would_not_be_recertified(
        ledger: CertificationLedger) -> None:
    """HISTORY.md row San Luis: "in Nov 2019 told it would not be recertified (no sales)": its
    certificate still ran to its end date."""
    [denial] = entries(ledger, "san-luis", "CertificationDenied")
    assert (denial["date"], denial["fields"]["stage"], denial["fields"]["reason_category"]) == (
        "2019-11-15", "recertification", "commercial")
    status = ledger.state_at("san-luis", "2019-11-30")
    assert (status["status"], status["last_denial"]["date"]) == ("certified", "2019-11-15")


def test_san_luis_certification_expired_on_31_march_2020(ledger: CertificationLedger, views: Views) -> None:
    """HISTORY.md row San Luis: "certification expired 31 Mar 2020"."""
    assert brief(ledger.state_at("san-luis", "2020-03-31")) == (
        "certified", "fairmined", "2018-12-14", "2020-03-31", "2018-12-14", 1, 0)
    assert brief(ledger.state_at("san-luis", "2020-04-01")) == (
        "expired", "fairmined", "2018-12-14", "2020-03-31", None, 0, 0)
    assert {"org": "san-luis", "date": "2020-04-01", "valid_until": "2020-03-31"} in \
        views.year_report(2020)["expired"]


def test_shijir_khishig_has_held_ecological_gold_since_2018(ledger: CertificationLedger) -> None:
    """HISTORY.md row Shijir Khishig: "Ecological since 2018"."""
    [grant] = entries(ledger, "shijir-khishig", "CertificationGranted")
    assert (grant["date"], grant["fields"]["standard"]) == ("2018-12-20", "ecological")
    status = ledger.state_at("shijir-khishig", "2019-12-31")
    assert (status["standard"], status["certified_since"], status["standard_years"]) == (
        "ecological", "2018-12-20", 2)


def test_shijir_khishig_was_recertified_in_december_2019(ledger: CertificationLedger) -> None:
    """HISTORY.md row Shijir Khishig: "recertified Dec 2019"."""
    assert dates(ledger, "shijir-khishig", "Recertified") == ["2019-12-10"]
    assert brief(ledger.state_at("shijir-khishig", "2019-12-31")) == (
        "certified", "ecological", "2019-12-20", "2020-12-19", "2018-12-20", 2, 1)


def test_duush_mandal_was_certified_in_december_2019(ledger: CertificationLedger) -> None:
    """HISTORY.md row Duush Mandal: "Certified Dec 2019"."""
    assert dates(ledger, "duush-mandal", "CertificationGranted") == ["2019-12-17"]
    assert brief(ledger.state_at("duush-mandal", "2019-12-31")) == (
        "certified", "fairmined", "2019-12-17", "2020-12-16", "2019-12-17", 1, 0)


def test_cruz_pata_chaquiminas_was_certified_in_march_2020(ledger: CertificationLedger) -> None:
    """HISTORY.md row Cruz Pata Chaquiminas: "Certified Mar 2020"."""
    assert dates(ledger, "cruz-pata", "CertificationGranted") == ["2020-03-06"]
    assert ledger.state_at("cruz-pata", "2020-03-31")["certified_since"] == "2020-03-06"


def test_cruz_pata_chaquiminas_got_a_four_month_extension_in_2020(ledger: CertificationLedger) -> None:
    """HISTORY.md row Cruz Pata Chaquiminas: "four-month extension 2020"."""
    assert_four_month_extension_in_2020(ledger, "cruz-pata", "2020-04-17", "2021-07-05")


def test_la_union_got_a_four_month_extension_in_2020(ledger: CertificationLedger) -> None:
    """HISTORY.md row La Unión: "Four-month extension 2020"."""
    assert_four_month_extension_in_2020(ledger, "la-union", "2020-04-14", "2020-12-13")


def test_the_five_2020_extensions_went_to_cecomip_oro_puno_cruz_pata_la_union_and_iquira(
        ledger: CertificationLedger) -> None:
    """HISTORY.md rows CECOMIP, Oro Puno, Cruz Pata, La Unión, Íquira: five organizations got the
    four extra months in 2020, and no other."""
    extended = sorted(org for org in ledger.organizations()
                      for e in entries(ledger, org, "ValidityExtended") if e["date"].startswith("2020"))
    assert extended == ["cecomip", "cruz-pata", "iquira", "la-union", "oro-puno"]


def test_la_cascada_was_certified(ledger: CertificationLedger) -> None:
    """HISTORY.md row La Cascada: "Certified (date not published in the pages read)"."""
    assert dates(ledger, "la-cascada", "CertificationGranted") == ["2017-08-09"]
    assert ledger.state_at("la-cascada", "2018-12-31")["status"] == "certified"


def test_la_cascada_decided_in_2019_for_internal_reasons_not_to_continue(ledger: CertificationLedger) -> None:
    """HISTORY.md row La Cascada: "in 2019 decided for internal reasons not to continue"."""
    [withdrawal] = entries(ledger, "la-cascada", "CertificationWithdrawn")
    assert (withdrawal["date"], withdrawal["fields"]["mode"]) == ("2019-06-14", "voluntary")
    assert "internal reasons" in withdrawal["fields"]["reason"]
    assert ledger.state_at("la-cascada", "2019-06-13")["status"] == "certified"
    assert ledger.state_at("la-cascada", "2019-06-14")["status"] == "withdrawn"


def test_la_coqueta_was_certified(ledger: CertificationLedger) -> None:
    """HISTORY.md row La Coqueta: "Certified (date not published in the pages read)"."""
    assert dates(ledger, "la-coqueta", "CertificationGranted") == ["2017-09-12"]
    assert dates(ledger, "la-coqueta", "Recertified") == []
    assert ledger.state_at("la-coqueta", "2018-06-30")["status"] == "certified"


# ---------------------------------------------------------------- HISTORY.md, other facts

def test_a_certificate_is_valid_for_one_year(ledger: CertificationLedger) -> None:
    """HISTORY.md, Other facts: "The certificate is valid for one year". Every grant and renewal
    period lasts a year, except the two whose end the record (or its story) fixes: San Luis's
    certificate ran to 31 March 2020, and CECOMIP's 2020 renewal ran to its August 2021 move to
    Ecological Gold."""
    longer_or_shorter = []
    for org in ledger.organizations():
        for e in entries(ledger, org, *GRANTS):
            start, end = (date.fromisoformat(e["fields"][k]) for k in ("valid_from", "valid_until"))
            if anniversary_eve(start) != end:
                longer_or_shorter.append((org, e["date"], e["fields"]["valid_until"]))
    assert longer_or_shorter == [("cecomip", "2020-09-29", "2021-08-15"), ("san-luis", "2018-12-14", "2020-03-31")]


def test_every_certification_and_renewal_follows_an_audit(ledger: CertificationLedger) -> None:
    """HISTORY.md, Other facts: "annual audits": every grant and renewal in force rests on an audit of
    that organization held in the weeks before it (COODMILLA's retracted first reading had none)."""
    for org in ledger.organizations():
        for e in entries(ledger, org, *GRANTS):
            audit = audit_of(ledger, org, e["fields"]["audit"])
            held = date.fromisoformat(e["date"]) - date.fromisoformat(audit["date"])
            assert timedelta(days=7) <= held <= timedelta(days=60), (org, e["date"], audit["date"])


def test_certification_bodies_follow_the_record_flo_cert_then_imo_swiss_ag_then_naturacert_in_colombia(
        ledger: CertificationLedger) -> None:
    """HISTORY.md, Other facts: "FLO-CERT (early years), IMO Swiss AG (from Nov 2013), NaturaCert
    (Colombia, from Mar 2018)"."""
    audits: dict[str, list[tuple[str, str]]] = {}
    for org in ledger.organizations():
        country = ledger.state_at(org, "2022-02-28")["country"]
        for e in entries(ledger, org, "AuditConducted"):
            audits.setdefault(e["fields"]["body"], []).append((e["date"], country))
    assert sorted(audits) == ["FLO-CERT", "IMO Swiss AG", "NaturaCert"]
    assert max(day for day, _ in audits["FLO-CERT"]) < "2013-11-01"
    assert min(day for day, _ in audits["IMO Swiss AG"]) >= "2013-11-01"
    assert min(day for day, _ in audits["NaturaCert"]) >= "2018-03-01"
    assert {country for _, country in audits["NaturaCert"]} == {"CO"}


def test_the_ledger_holds_19_of_the_21_organizations_the_scheme_counts_as_ever_certified(
        ledger: CertificationLedger) -> None:
    """HISTORY.md, Other facts: "21 organizations had held the certification at some point by the
    early 2020s". The public record names 19 of them; every one held a certificate by February 2022."""
    ever_certified = [org for org in ledger.organizations()
                      if any(d <= "2022-02-28" for d in dates(ledger, org, "CertificationGranted"))]
    assert len(ever_certified) == 19 <= 21


# ---------------------------------------------------------------- the file itself

def test_the_history_file_is_in_date_order() -> None:
    """examples/README.md: "Lines are in date order" (same-day lines keep their meaningful order)."""
    days = [json.loads(line)["date"] for line in HISTORY_FILE.read_text(encoding="utf-8").splitlines()]
    assert days == sorted(days)
    assert (len(days), days[0], days[-1]) == (155, "2010-09-01", "2021-08-06")
