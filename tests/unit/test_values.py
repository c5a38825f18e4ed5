"""Values: periods, calendar dates, the future-date cut-off, ids, countries and free texts."""

from __future__ import annotations

import unicodedata

from datetime import date, datetime, timedelta, timezone

import pytest

from ledger.domain.commands import parse_command
from ledger.errors import InvalidInput
from ledger.domain.values import anniversary_eve, latest_acceptable_date, parse_date


def register_line(**overrides: object) -> dict[str, object]:
    line: dict[str, object] = {"command": "register", "org": "cecomip", "name": "CECOMIP", "country": "PE",
                               "date": "2016-01-10"}
    line.update(overrides)
    return line


def refusal(line: dict[str, object]) -> str:
    with pytest.raises(InvalidInput) as refused:
        parse_command(line)
    return str(refused.value)


# ---------------------------------------------------------------- anniversary_eve

@pytest.mark.parametrize("start, eve", [
    ("2019-04-01", "2020-03-31"),
    ("2016-06-15", "2017-06-14"),
    ("2019-01-01", "2019-12-31"),
    ("2016-02-29", "2017-02-28"),
    ("2019-03-01", "2020-02-29"),
    ("2020-02-28", "2021-02-27"),
    ("2019-12-31", "2020-12-30"),
])
def test_a_period_ends_on_the_eve_of_its_first_anniversary(start: str, eve: str) -> None:
    assert anniversary_eve(date.fromisoformat(start)) == date.fromisoformat(eve)


def test_the_anniversary_of_29_february_is_1_march() -> None:
    assert anniversary_eve(date(2016, 2, 29)) + timedelta(days=1) == date(2017, 3, 1)


# ---------------------------------------------------------------- dates

def test_a_calendar_date_is_parsed_strictly_from_iso_text() -> None:
    assert parse_date("2019-05-10") == date(2019, 5, 10)
    assert parse_date(" 2019-05-10 ") == date(2019, 5, 10)


@pytest.mark.parametrize("text", ["2019-5-10", "10/05/2019", "20190510", "2019-05-10T00:00", "yesterday", ""])
def test_text_that_is_not_yyyy_mm_dd_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a calendar date"):
        parse_date(text)


def test_29_february_of_a_common_year_is_not_a_real_date() -> None:
    with pytest.raises(ValueError, match="'2023-02-29' is not a real calendar date"):
        parse_date("2023-02-29")


def test_29_february_of_a_leap_year_is_a_real_date() -> None:
    assert parse_date("2024-02-29") == date(2024, 2, 29)


def test_a_date_time_is_not_a_calendar_date() -> None:
    with pytest.raises(ValueError, match="not a date-time"):
        parse_date(datetime(2019, 5, 10, 12, 0))


def test_a_command_with_an_impossible_date_is_refused_naming_the_field() -> None:
    assert refusal(register_line(date="2023-02-29")) == "date: '2023-02-29' is not a real calendar date"


# ---------------------------------------------------------------- the future-date cut-off

def test_the_latest_acceptable_date_is_today_in_the_easternmost_time_zone() -> None:
    assert latest_acceptable_date() == datetime.now(timezone(timedelta(hours=14))).date()


def test_the_latest_acceptable_date_is_never_before_today_in_utc() -> None:
    assert latest_acceptable_date() >= datetime.now(timezone.utc).date()


def test_an_effective_date_that_is_today_somewhere_on_earth_is_accepted() -> None:
    today_east = latest_acceptable_date().isoformat()
    assert parse_command(register_line(date=today_east)).date.isoformat() == today_east


def test_an_effective_date_after_today_everywhere_is_refused_as_a_plan() -> None:
    tomorrow_east = (latest_acceptable_date() + timedelta(days=1)).isoformat()
    assert refusal(register_line(date=tomorrow_east)) == (
        f"date: {tomorrow_east} is in the future (the ledger records facts, not plans)")


def test_end_dates_may_lie_in_the_future() -> None:
    next_year = (latest_acceptable_date() + timedelta(days=365)).isoformat()
    certify = parse_command({"command": "certify", "org": "cecomip", "date": "2016-06-15", "standard": "fairmined",
                             "valid_until": next_year})
    extend = parse_command({"command": "extend", "org": "cecomip", "date": "2016-06-15", "until": next_year,
                            "reason": "operations halted"})
    suspend = parse_command({"command": "suspend", "org": "cecomip", "date": "2016-06-15", "reason": "audit",
                             "resolve_by": next_year})
    assert certify.valid_until.isoformat() == extend.until.isoformat() == suspend.resolve_by.isoformat() == next_year


# ---------------------------------------------------------------- organization ids

@pytest.mark.parametrize("org", ["oro-puno", "cecomip", "a1", "9-de-julio", "x" * 64])
def test_a_slug_of_lower_case_letters_digits_and_dashes_is_an_organization_id(org: str) -> None:
    assert parse_command(register_line(org=org)).org == org


@pytest.mark.parametrize("org", ["Cecomip", "-cecomip", "a", "x" * 65, "oro puno", "oro_puno", "año", ""])
def test_anything_else_is_refused_as_an_organization_id(org: str) -> None:
    assert refusal(register_line(org=org)).startswith(f"org: {org!r} is not a valid organization id")


# ---------------------------------------------------------------- countries

@pytest.mark.parametrize("country", ["PE", "BO", "MN", "CO", "DE", "AQ"])
def test_a_country_is_an_assigned_alpha_2_code(country: str) -> None:
    assert parse_command(register_line(country=country)).country == country


@pytest.mark.parametrize("typed, stored", [("pe", "PE"), ("Bo", "BO"), ("mN", "MN")])
def test_a_country_typed_in_any_case_is_stored_upper_case(typed: str, stored: str) -> None:
    assert parse_command(register_line(country=typed)).country == stored


@pytest.mark.parametrize("country", ["XX", "ZZ", "EU", "xx", "eu", "UK", "AA"])
def test_a_code_that_names_no_country_is_refused(country: str) -> None:
    assert refusal(register_line(country=country)) == (
        f"country: {country!r} is not an ISO 3166-1 alpha-2 country code: it names no country")


@pytest.mark.parametrize("country", ["PER", "P", "P1", "", " PE", "PE ", "Ñu", "12"])
def test_a_country_that_is_not_two_letters_is_refused(country: str) -> None:
    assert refusal(register_line(country=country)) == (
        f"country: {country!r} is not an ISO 3166-1 alpha-2 country code (two letters, e.g. PE)")


def test_the_country_list_is_the_kept_standard_not_a_hand_typed_one() -> None:
    import pycountry

    from ledger.domain.values import assigned_country_codes

    assert assigned_country_codes() == {country.alpha_2 for country in pycountry.countries}
    assert len(assigned_country_codes()) == 249


# ---------------------------------------------------------------- names and free texts

def test_a_name_may_be_any_unicode_and_is_trimmed() -> None:
    assert parse_command(register_line(name="  Aurífera Yani R.L. ")).name == "Aurífera Yani R.L."


def test_a_name_that_is_blank_after_trimming_is_refused() -> None:
    assert refusal(register_line(name="   ")) == "name: must not be empty"


def test_a_text_of_500_characters_is_accepted_and_one_of_501_refused() -> None:
    assert parse_command(register_line(name="ñ" * 500)).name == "ñ" * 500
    assert refusal(register_line(name="ñ" * 501)) == "name: must be at most 500 characters (got 501)"


@pytest.mark.parametrize("bad", ["\t", "\n", "\r", "\x00", "\x1b", "\x7f", "\x85", "\x9f", "\u2028", "\u2029"])
@pytest.mark.parametrize("where", ["inside", "at the start", "at the end"])
def test_a_control_character_or_line_separator_is_refused_anywhere_in_a_text(bad: str, where: str) -> None:
    name = {"inside": f"Oro{bad}Puno", "at the start": f"{bad}Oro Puno", "at the end": f"Oro Puno{bad}"}[where]
    assert refusal(register_line(name=name)) == (
        "name: must not contain control characters (tab included) or line separators (U+2028, U+2029)")


@pytest.mark.parametrize("field, line", [
    ("reason", {"command": "deny", "org": "cecomip", "date": "2019-11-20", "reason_category": "commercial"}),
    ("body", {"command": "audit", "org": "cecomip", "date": "2019-11-20", "kind": "initial"}),
    ("reference", {"command": "audit", "org": "cecomip", "date": "2019-11-20", "kind": "initial", "body": "IMO"}),
    ("evidence", {"command": "close-finding", "org": "cecomip", "date": "2019-11-20", "finding": "2.1"}),
    ("region", {"command": "correct", "org": "cecomip", "date": "2019-11-20"}),
    ("certificate", {"command": "certify", "org": "cecomip", "date": "2019-11-20", "standard": "fairmined"}),
    ("audit", {"command": "recertify", "org": "cecomip", "date": "2019-11-20"}),
])
def test_every_free_text_refuses_a_tab_and_a_line_separator(field: str, line: dict[str, object]) -> None:
    for bad in ("a\tb", "a\u2028b", "a\u2029b"):
        assert refusal({**line, field: bad}) == (
            f"{field}: must not contain control characters (tab included) or line separators (U+2028, U+2029)")


@pytest.mark.parametrize("finding", ["minor:health\tsafety:first aid", "minor:health-safety:first\u2028aid",
                                     "minor:health-safety:\tfirst aid", "minor\t:x:y"])
def test_a_finding_refuses_a_tab_or_line_separator_in_its_category_or_text(finding: str) -> None:
    line = {"command": "audit", "org": "cecomip", "date": "2019-05-08", "body": "IMO", "kind": "initial",
            "finding": [finding]}
    assert "must not contain control characters (tab included)" in refusal(line)


@pytest.mark.parametrize("name, message", [
    ("\u200b", "name: must not be empty (it holds no visible character)"),
    ("\u0301\u200b ", "name: must not be empty (it holds no visible character)"),
    ("Oro\uffffPuno", "name: must hold printable characters only (U+FFFF is a noncharacter)"),
    ("Oro\ufdd0", "name: must hold printable characters only (U+FDD0 is a noncharacter)"),
    ("Oro\u0378", f"name: must hold printable characters only (U+0378 is a character that Unicode "
                  f"{unicodedata.unidata_version} does not assign)"),
    ("Oro \ue000", "name: must hold printable characters only (U+E000 is a private-use character)"),
    ("Oro \u202eonuP", "name: must not hold bidirectional controls (U+202E), which make a text show something "
                       "other than what it holds"),
    ("\u2066Oro\u2069", "name: must not hold bidirectional controls (U+2066), which make a text show something "
                        "other than what it holds"),
])
def test_a_text_must_print_what_it_holds(name: str, message: str) -> None:
    """SPEC section 2: names and free texts are "any printable Unicode"."""
    assert refusal(register_line(name=name)) == message


@pytest.mark.parametrize("name", ["Aurífera Yani R.L.", "Шижир Хишиг", "نرگس\u200cزاده", "👩\u200d🔬 Lab",
                                  "Oro\u00a0Puno", "Coöperatie", "e\u0301", "\u05d0\u200f1"])
def test_printable_text_in_any_script_is_kept_as_given(name: str) -> None:
    """Joiners that scripts and emoji need inside words, combining accents and right-to-left marks are kept."""
    assert parse_command(register_line(name=name)).name == name


def test_a_certificate_number_is_trimmed() -> None:
    line = {"command": "certify", "org": "cecomip", "date": "2019-11-20", "standard": "fairmined",
            "certificate": "  FM-PE-2019-01 "}
    assert parse_command(line).certificate == "FM-PE-2019-01"


def test_a_reason_is_a_free_text_too() -> None:
    line = {"command": "deny", "org": "cecomip", "date": "2019-11-20", "reason_category": "commercial", "reason": ""}
    assert refusal(line) == "reason: must not be empty"


def test_a_finding_needs_a_known_severity_a_category_and_a_text() -> None:
    def audit(finding: str) -> dict[str, object]:
        return {"command": "audit", "org": "cecomip", "date": "2019-05-08", "body": "IMO Swiss AG",
                "kind": "recertification", "finding": [finding]}

    assert parse_command(audit("minor:health-safety:first aid")).finding == ("minor:health-safety:first aid",)
    assert "is not SEVERITY:CATEGORY:TEXT" in refusal(audit("minor-first aid"))
    assert "severity 'grave' is not one of major, minor, observation" in refusal(audit("grave:x:y"))
    assert "empty category" in refusal(audit("minor::first aid"))
    assert "empty text" in refusal(audit("minor:health-safety: "))


def test_unknown_vocabulary_and_unknown_fields_are_refused() -> None:
    assert "legal_form" in refusal(register_line(legal_form="cartel"))
    assert refusal(register_line(colour="gold")) == "colour: unknown field"
    assert refusal({"command": "promote", "org": "cecomip"}).startswith("command: unknown command")


def test_an_end_date_beyond_the_calendar_the_ledger_can_renew_into_is_refused() -> None:
    line = {"command": "extend", "org": "cecomip", "date": "2016-06-15", "until": "9999-12-31", "reason": "x"}
    assert refusal(line) == "until: 9999-12-31 is after 9997-12-31, the latest end date the ledger takes"
    assert parse_command({**line, "until": "9997-12-31"}).until.isoformat() == "9997-12-31"
