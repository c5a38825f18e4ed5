"""Hostile input: whatever is typed, the answer is one ``Error:`` line, exit 1 or 2, and an unchanged ledger.

Each recording command starts from an invocation that the seeded ledger accepts; hypothesis
then spoils exactly one argument with a value that the contract (SPEC sections 2 and 8)
makes invalid for that argument: wrong types, impossible and far-future dates, empty and
100,000-character strings, control characters, SQL-looking strings, invalid UTF-8 (as
Python carries it: lone surrogates), unknown options and commands. The ledger's content
digest (every stored event and ledger_* row) must not move.

Values that only *look* hostile but are valid (SQL, quotes, any Unicode, 500 characters) must
be stored verbatim instead.
"""

from __future__ import annotations

import json
import unicodedata
import re
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import pycountry

from cli import cli
from harness import assert_clean_refusal, hostile_examples, ledger_digest, run_certledger, seed_ledger

# The contract's own patterns (SPEC section 2), not the product's code.
ORG_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{1,63}")
COUNTRY_PATTERN = re.compile(r"[A-Za-z]{2}")  # either case; the code must also name a country
ASSIGNED_COUNTRIES = {country.alpha_2 for country in pycountry.countries}  # the kept list of the standard
FINDING_ID = re.compile(r"[0-9]+\.[0-9]+")
DATE_SHAPE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
CLICK_EAGER = {"-h", "--help", "--version"}

@dataclass(frozen=True)
class Slot:
    """A place in an invocation that a user fills in: its kind decides which values are invalid there."""

    kind: str
    value: str


# Each is accepted as it stands by the seeded ledger (see test_every_base_invocation_is_accepted_as_it_stands).
BASE_INVOCATIONS: dict[str, list[str | Slot]] = {
    "register": ["register", Slot("new-org", "newcomer"), "--name", Slot("text", "Newcomer"),
                 "--country", Slot("country", "PE"), "--region", Slot("text", "Puno"),
                 "--legal-form", Slot("choice", "cooperative"), "--deposit", Slot("choice", "alluvial"),
                 "--date", Slot("registration-date", "2018-01-10")],
    "audit": ["audit", Slot("org", "seed-00"), "--date", Slot("effective-date", "2018-05-20"),
              "--body", Slot("text", "IMO"), "--kind", Slot("choice", "surveillance"),
              "--reference", Slot("text", "R-1"), "--finding", Slot("finding", "minor:health-safety:kits")],
    "certify": ["certify", Slot("org", "seed-02"), "--date", Slot("effective-date", "2018-06-15"),
                "--standard", Slot("choice", "ecological"), "--certificate", Slot("text", "FM-NEW-1"),
                "--valid-until", Slot("end-date", "2019-06-14"), "--audit", Slot("audit-ref", "R-1")],
    "recertify": ["recertify", Slot("org", "seed-00"), "--date", Slot("effective-date", "2018-05-01"),
                  "--standard", Slot("choice", "fairmined"), "--valid-until", Slot("end-date", "2019-05-31"),
                  "--audit", Slot("audit-ref", "R-1")],
    "deny": ["deny", Slot("org", "seed-00"), "--date", Slot("effective-date", "2018-02-20"),
             "--reason-category", Slot("choice", "commercial"), "--reason", Slot("text", "requirements")],
    "suspend": ["suspend", Slot("org", "seed-00"), "--date", Slot("effective-date", "2018-02-01"),
                "--reason", Slot("text", "records"), "--resolve-by", Slot("end-date", "2018-03-31")],
    "reinstate": ["reinstate", Slot("org", "seed-01"), "--date", Slot("effective-date", "2017-10-15")],
    "extend": ["extend", Slot("org", "seed-00"), "--date", Slot("effective-date", "2018-04-15"),
               "--until", Slot("end-date", "2018-09-30"), "--reason", Slot("text", "halted")],
    "withdraw": ["withdraw", Slot("org", "seed-00"), "--date", Slot("effective-date", "2018-03-02"),
                 "--imposed", "--reason", Slot("text", "fraud")],
    "retract": ["retract", Slot("org", "seed-00"), Slot("version", "2"), "--date", Slot("effective-date", "2018-08-01"),
                "--reason", Slot("text", "recorded for the wrong organization")],
    "correct": ["correct", Slot("org", "seed-00"), "--date", Slot("effective-date", "2018-05-20"),
                "--name", Slot("text", "Seed Renamed"), "--country", Slot("country", "bo"),
                "--region", Slot("text", "La Paz"), "--legal-form", Slot("choice", "association"),
                "--deposit", Slot("choice", "hard-rock")],
    "close-finding": ["close-finding", Slot("org", "seed-00"), Slot("finding-id", "2.1"),
                      "--date", Slot("effective-date", "2018-05-20"), "--evidence", Slot("text", "kits restocked")],
}
QUERY_INVOCATIONS: dict[str, list[str | Slot]] = {
    "status": ["status", Slot("any-org", "seed-00"), "--as-of", Slot("end-date", "2017-12-31"),
               "--known-at", Slot("known-at", "3")],
    "history": ["history", Slot("any-org", "seed-00"), "--known-at", Slot("known-at", "2030-01-01")],
    "registry": ["registry", "--status", Slot("any", "certified"), "--country", Slot("any", "PE"),
                 "--standard", Slot("any", "fairmined"), "--as-of", Slot("end-date", "2017-12-31"),
                 "--known-at", Slot("known-at", "5")],
    "streaks": ["streaks", "--as-of", Slot("end-date", "2017-12-31"), "--known-at", Slot("known-at", "5")],
    "report": ["report", "--from", Slot("end-date", "2017-01-01"), "--to", Slot("end-date", "2017-12-31"),
               "--known-at", Slot("known-at", "5")],
    "report-year": ["report", "--year", Slot("number", "2017")],
    "changes": ["changes", "--since", Slot("number", "2"), "--limit", Slot("number", "5"),
                "--known-at", Slot("known-at", "5")],
    "registry-search": ["registry", "--region", Slot("any-text", "Puno"), "--q", Slot("any-text", "seed"),
                        "--expiring-within", Slot("number", "30"), "--country", Slot("any", "pe"),
                        "--as-of", Slot("end-date", "2017-12-31"), "--known-at", Slot("known-at", "5")],
    "findings": ["findings", Slot("any-org", "seed-00"), "--open", "--as-of", Slot("end-date", "2017-12-31"),
                 "--known-at", Slot("known-at", "5")],
    "certificate": ["certificate", Slot("any-text", "FM-SEED-0000"), "--as-of", Slot("end-date", "2017-12-31"),
                    "--known-at", Slot("known-at", "5")],
}
QUERY_INVOCATIONS = {name: args for name, args in QUERY_INVOCATIONS.items() if args[0] in cli.commands}

SQL_LOOKING = ["'; DROP TABLE stored_events; --", "1 OR 1=1", "Robert'); DROP TABLE ledger_chain;--",
               "\" OR \"\"=\"", "%s%s%n", "{}", "[]", "null", "$(rm -rf /)", "`reboot`"]
CONTROL = [chr(c) for c in (*range(0, 32), 0x7F, 0x85, 0x9B, 0x2028, 0x2029)]  # Cc (tab included), U+2028/9
SURROGATES = ["\udcff", "\udc80\udcfe", "\ud800"]
HUGE = "x" * 100_000


def embedded(values: list[str]) -> st.SearchStrategy[str]:
    """A bad character inside ordinary text (at the ends it may be trimmed away, as whitespace is)."""
    return st.builds(lambda bad, left, right: f"{left}{bad}{right}", st.sampled_from(values),
                     st.sampled_from(["a", "Oro Puno"]), st.sampled_from(["b", " coop"]))


INVALID_TEXT = st.one_of(
    st.sampled_from(["", " ", "\t", "   \t  ", HUGE, "y" * 501]),
    st.integers(min_value=501, max_value=5000).map(lambda n: "z" * n),
    embedded(CONTROL), embedded(SURROGATES),
)
INVALID_ORG = st.one_of(
    st.sampled_from([value for value in ["", "a", "A", "Seed-00", "-seed", "seed_00", "seed 00", "x" * 65, "ñandú",
                                         HUGE, *SQL_LOOKING, *SURROGATES, "seed-00\x00", "seed\n00"]
                     if not ORG_PATTERN.fullmatch(value)]),
    st.text(max_size=80).filter(lambda s: not ORG_PATTERN.fullmatch(s)),
)
IMPOSSIBLE_DATES = ["2023-02-29", "2019-04-31", "2019-13-01", "2019-00-10", "2019-01-00", "0000-01-01",
                    "2019-1-1", "20190101", "2019/01/01", "2019-01-01T00:00:00", "+2019-01-01", " 2019-01-01x",
                    "\u0662\u0660\u0661\u0669-\u0660\u0661-\u0660\u0661", "2019-01-01\x00", "", HUGE,
                    *SQL_LOOKING, *SURROGATES]
INVALID_CALENDAR_DATE = st.one_of(
    st.sampled_from(IMPOSSIBLE_DATES),
    st.text(max_size=30).filter(lambda s: not DATE_SHAPE.fullmatch(s.strip())),
)
FAR_FUTURE = st.dates(min_value=date.today() + timedelta(days=2)).map(date.isoformat)
INVALID_EFFECTIVE_DATE = st.one_of(INVALID_CALENDAR_DATE, FAR_FUTURE)
INVALID_CHOICE = st.one_of(st.sampled_from(["", "FAIRMINED", "gold", HUGE, *SQL_LOOKING, *SURROGATES]),
                           st.text(max_size=30))
INVALID_COUNTRY = st.one_of(st.sampled_from(["", "PER", "P", "Ñ", "P1", "PE ", " pe", "XX", "ZZ", "EU", "xx", "eu",
                                             "UK", "ÀB", HUGE, *SURROGATES]),
                            st.text(max_size=5).filter(lambda s: not (COUNTRY_PATTERN.fullmatch(s)
                                                                      and s.upper() in ASSIGNED_COUNTRIES)))
INVALID_AUDIT_REF = st.one_of(INVALID_TEXT, st.sampled_from(["R-2", "r-1", "R-1x", "NO-SUCH-AUDIT", *SQL_LOOKING]))
INVALID_FINDING_ID = st.one_of(
    st.sampled_from(["0.1", "2.0", "2.2", "1.1", "3.1", "99.1", "2", "2.", ".1", "a.b", "2.1.1", "-2.1", "",
                     "2.1\t", "\u0662.1", HUGE, *SQL_LOOKING, *SURROGATES]),
    st.text(max_size=12).filter(lambda s: not FINDING_ID.fullmatch(s.strip())),
)
INVALID_VERSION = st.sampled_from(["0", "-1", "abc", "1.5", "", "0x10", "1e3", "99999999999999999999999",
                                   HUGE, *SQL_LOOKING, *SURROGATES])
INVALID_FINDING = st.one_of(
    st.sampled_from(["nocolon", "minor", "minor:", "minor:x", "critical:x:y", ":x:y", "minor::y", "minor: :y",
                     HUGE, *SURROGATES]),
    embedded(CONTROL).map(lambda text: f"minor:health-safety:{text}"),
)
INVALID_KNOWN_AT = st.sampled_from(["yesterday", "2019-13-01", "2023-02-29", "0001-01-01T00:00:00+01:00",
                                    "9999-12-31T23:59:59-01:00", "-1", "1.5", "", HUGE, *SQL_LOOKING, *SURROGATES])
INVALID: dict[str, st.SearchStrategy[str]] = {
    "text": INVALID_TEXT,
    "org": st.one_of(INVALID_ORG, st.just("ghost-org")),
    "new-org": st.one_of(INVALID_ORG, st.just("seed-00")),
    "effective-date": st.one_of(INVALID_EFFECTIVE_DATE, st.just("1900-01-01")),
    "registration-date": INVALID_EFFECTIVE_DATE,
    "end-date": INVALID_CALENDAR_DATE,
    "choice": INVALID_CHOICE,
    "country": INVALID_COUNTRY,
    "version": INVALID_VERSION,
    "finding": INVALID_FINDING,
    "audit-ref": INVALID_AUDIT_REF,
    "finding-id": INVALID_FINDING_ID,
}
# For queries, anything goes: the answer may be an answer, but the ledger must not move.
QUERY_VALUES: dict[str, st.SearchStrategy[str]] = {
    "any-org": st.one_of(INVALID_ORG, st.just("ghost-org")),
    "end-date": INVALID_CALENDAR_DATE,
    "known-at": st.one_of(INVALID_KNOWN_AT, st.integers(min_value=0, max_value=10**30).map(str)),
    "number": st.one_of(st.integers(min_value=-10**30, max_value=10**30).map(str),
                        st.sampled_from(["", "1.5", "1e3", "0x10", HUGE, *SQL_LOOKING, *SURROGATES])),
    "any": st.one_of(INVALID_CHOICE, INVALID_COUNTRY),
    "any-text": st.one_of(INVALID_TEXT, st.text(max_size=60)),
}


def plain(invocation: list[str | Slot]) -> list[str]:
    return [part.value if isinstance(part, Slot) else part for part in invocation]


@st.composite
def spoiled(draw: st.DrawFn, invocations: dict[str, list[str | Slot]],
            values: dict[str, st.SearchStrategy[str]]) -> list[str]:
    """A valid invocation with one argument replaced by a value that is invalid there."""
    invocation = invocations[draw(st.sampled_from(sorted(invocations)))]
    slots = [i for i, part in enumerate(invocation) if isinstance(part, Slot) and part.kind in values]
    position = draw(st.sampled_from(slots))
    args = plain(invocation)
    value = draw(values[invocation[position].kind])
    assume(value not in CLICK_EAGER)
    args[position] = value
    return args


@st.composite
def misshapen(draw: st.DrawFn) -> list[str]:
    """A valid invocation with an unknown option, a required option missing, or an unknown command."""
    name = draw(st.sampled_from(sorted(BASE_INVOCATIONS)))
    args = plain(BASE_INVOCATIONS[name])
    how = draw(st.sampled_from(["unknown option", "missing option", "unknown command", "extra argument"]))
    if how == "unknown option":
        option = draw(st.sampled_from(["--bogus", "--org", "--key", "--recorded-by", "--position", "-x"]))
        return args + [option, "x"]
    if how == "missing option":
        option = draw(st.sampled_from(REQUIRED_OPTIONS[name]))
        i = args.index(option)
        return args[:i] + args[i + (1 if option == "--imposed" else 2):]
    if how == "unknown command":
        name = draw(st.one_of(st.sampled_from(["registr", "REGISTER", "delete", "drop", "sql", "", *SQL_LOOKING]),
                              st.text(max_size=20)))
        assume(name not in cli.commands and name not in CLICK_EAGER and not name.startswith("-"))
        return [name, *args[1:]]
    return args + ["surplus"]


# From the SPEC's synopsis of each command (section 8).
REQUIRED_OPTIONS = {
    "register": ["--name", "--country", "--date"], "audit": ["--date", "--body", "--kind"],
    "certify": ["--date", "--standard"], "recertify": ["--date"],
    "deny": ["--date", "--reason-category", "--reason"], "suspend": ["--date", "--reason"],
    "reinstate": ["--date"], "extend": ["--date", "--until", "--reason"],
    "withdraw": ["--date", "--imposed", "--reason"], "retract": ["--date", "--reason"],
    "correct": ["--date"], "close-finding": ["--date", "--evidence"],
}


def invoke(db: str, args: list[str]):
    return CliRunner().invoke(cli, ["--db", db, *args])


@pytest.fixture
def seeded(db_url: str) -> str:
    seed_ledger(db_url)
    return db_url


def assert_refused_without_trace(db: str, args: list[str], before: str) -> None:
    result = invoke(db, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), (args, repr(result.exception))
    assert_clean_refusal(result.exit_code, result.stdout, result.stderr)
    assert ledger_digest(db) == before, args


@pytest.mark.parametrize("name", sorted(BASE_INVOCATIONS))
def test_every_base_invocation_is_accepted_as_it_stands(tmp_path, name: str) -> None:
    """So that in the tests below, the one spoiled argument is what the ledger refuses."""
    db = str(tmp_path / "ledger.db")
    seed_ledger(db)
    result = invoke(db, plain(BASE_INVOCATIONS[name]))
    assert result.exit_code == 0, result.output


def test_a_recording_command_with_one_invalid_argument_is_refused_and_changes_nothing(seeded: str) -> None:
    @hostile_examples(seeded)
    @given(args=spoiled(BASE_INVOCATIONS, INVALID))
    def refused(args: list[str]) -> None:
        assert_refused_without_trace(seeded, args, ledger_digest(seeded))

    refused()


def test_unknown_options_missing_options_and_unknown_commands_are_refused(seeded: str) -> None:
    @hostile_examples(seeded)
    @given(args=misshapen())
    def refused(args: list[str]) -> None:
        assert_refused_without_trace(seeded, args, ledger_digest(seeded))

    refused()


def test_an_invalid_recorder_name_is_refused_and_changes_nothing(seeded: str) -> None:
    @hostile_examples(seeded)
    @given(by=INVALID_TEXT.filter(lambda text: text.strip() != ""), name=st.sampled_from(sorted(BASE_INVOCATIONS)))
    def refused(by: str, name: str) -> None:
        before = ledger_digest(seeded)
        result = CliRunner().invoke(cli, ["--db", seeded, "--by", by, *plain(BASE_INVOCATIONS[name])])
        assert_clean_refusal(result.exit_code, result.stdout, result.stderr, mentions="--by")
        assert ledger_digest(seeded) == before

    refused()


def test_a_query_with_hostile_arguments_answers_or_refuses_cleanly_and_changes_nothing(seeded: str) -> None:
    @hostile_examples(seeded)
    @given(args=spoiled(QUERY_INVOCATIONS, QUERY_VALUES))
    def answered_or_refused(args: list[str]) -> None:
        before = ledger_digest(seeded)
        result = invoke(seeded, args)
        assert result.exception is None or isinstance(result.exception, SystemExit), (args, repr(result.exception))
        assert "Traceback" not in result.output
        if result.exit_code != 0:
            assert_clean_refusal(result.exit_code, result.stdout, result.stderr)
        assert ledger_digest(seeded) == before

    answered_or_refused()


def printable(text: str) -> bool:
    """SPEC section 2's names, as the README reads "any printable Unicode": no control character or line separator,
    nothing unassigned, private-use or a noncharacter, no bidirectional control, and something visible."""
    return (not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F or c in "\u2028\u2029" for c in text)
            and not any(unicodedata.category(c) in ("Cn", "Co") or "\u202a" <= c <= "\u202e" or "\u2066" <= c <= "\u2069"
                        for c in text)
            and any(unicodedata.category(c)[0] not in "CZM" for c in text.strip()))


VALID_TEXT = st.text(min_size=1, max_size=500).filter(printable)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.one_of(st.sampled_from([*SQL_LOOKING, "Aurífera Yani R.L.", "\u200fevil\u200e", "🪙 oro",
                                       "w" * 500, "nbsp\u00a0inside", "zero\u200bwidth"]), VALID_TEXT))
def test_a_hostile_looking_but_valid_name_is_stored_verbatim(seeded: str, name: str) -> None:
    org = f"n-{abs(hash(name)) % 10**12}"
    registered = invoke(seeded, ["register", org, "--name", name, "--country", "PE", "--date", "2018-01-10"])
    if registered.exit_code == 1 and "already registered" in registered.stderr:
        return  # hypothesis replays a name it has already tried
    assert registered.exit_code == 0, registered.output
    history = invoke(seeded, ["history", org, "--json"])
    assert json.loads(history.stdout)[0]["fields"]["name"] == name.strip()


# ---------------------------------------------------------------- the real program, real argv bytes

@pytest.mark.parametrize("argument", [
    b"\xff\xfe", b"caf\xe9", b"\xc0\xaf", b"\xed\xa0\x80", b"ok\x1bok", b"\x7f",
], ids=["ff-fe", "latin-1", "overlong", "encoded-surrogate", "escape", "delete"])
def test_invalid_utf8_and_control_bytes_in_argv_are_refused_by_the_real_program(tmp_path, argument: bytes) -> None:
    db = tmp_path / "ledger.db"
    seed_ledger(db)
    before = ledger_digest(db)
    for args in (["register", "newcomer", "--name", argument, "--country", "PE", "--date", "2018-01-10"],
                 ["deny", "seed-00", "--date", "2018-02-20", "--reason-category", "commercial", "--reason", argument],
                 ["history", argument]):
        completed = run_certledger(db, *args)
        assert_clean_refusal(completed.returncode, completed.stdout, completed.stderr)
    assert ledger_digest(db) == before


def test_a_hundred_thousand_character_argument_is_refused_by_the_real_program(tmp_path) -> None:
    db = tmp_path / "ledger.db"
    seed_ledger(db)
    before = ledger_digest(db)
    for args in (["register", HUGE[:64] + "-x", "--name", "x", "--country", "PE", "--date", "2018-01-10"],
                 ["suspend", "seed-00", "--date", "2018-02-01", "--reason", HUGE],
                 ["status", "seed-00", "--as-of", HUGE],
                 [HUGE]):
        completed = run_certledger(db, *args)
        assert_clean_refusal(completed.returncode, completed.stdout, completed.stderr)
    assert ledger_digest(db) == before


# ---------------------------------------------------------------- findings, pinned

def test_invalid_utf8_in_a_text_is_refused_as_invalid_text_rather_than_failing_to_encode(seeded: str) -> None:
    result = invoke(seeded, ["suspend", "seed-00", "--date", "2018-02-01", "--reason", "caf\udce9"])
    assert_clean_refusal(result.exit_code, result.stdout, result.stderr, mentions="valid Unicode")


def test_a_c1_control_character_in_a_name_is_refused(seeded: str) -> None:
    result = invoke(seeded, ["register", "newcomer", "--name", "Oro\x85Puno", "--country", "PE",
                             "--date", "2018-01-10"])
    assert_clean_refusal(result.exit_code, result.stdout, result.stderr, mentions="control characters")


def test_a_known_at_position_beyond_the_ledger_means_everything_recorded_so_far(seeded: str) -> None:
    now = invoke(seeded, ["status", "seed-00", "--as-of", "2017-12-31", "--json"])
    beyond = invoke(seeded, ["status", "seed-00", "--as-of", "2017-12-31", "--json", "--known-at", "9" * 30])
    assert beyond.exit_code == 0, beyond.output
    assert json.loads(beyond.stdout)["status"] == json.loads(now.stdout)["status"]


@pytest.mark.parametrize("instant", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_a_known_at_instant_that_cannot_be_expressed_in_utc_is_refused(seeded: str, instant: str) -> None:
    result = invoke(seeded, ["status", "seed-00", "--known-at", instant])
    assert_clean_refusal(result.exit_code, result.stdout, result.stderr, mentions="out of range")


def test_an_error_naming_a_path_with_a_newline_stays_on_one_line(tmp_path) -> None:
    result = invoke(str(tmp_path / "no\nsuch" / "ledger.db"), ["status"])
    assert_clean_refusal(result.exit_code, result.stdout, result.stderr)
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("bad", ["\t", "\u2028", "\u2029"], ids=["tab", "line-separator", "paragraph-separator"])
def test_a_tab_or_a_line_separator_in_any_text_is_refused(seeded: str, bad: str) -> None:
    for args in (["register", "newcomer", "--name", f"Oro{bad}Puno", "--country", "PE", "--date", "2018-01-10"],
                 ["correct", "seed-00", "--date", "2018-01-10", "--region", f"{bad}Puno"],
                 ["close-finding", "seed-00", "2.1", "--date", "2018-01-10", "--evidence", f"kits{bad}"],
                 ["audit", "seed-00", "--date", "2018-01-10", "--body", "IMO", "--kind", "initial",
                  "--finding", f"minor:health{bad}safety:kits"]):
        before = ledger_digest(seeded)
        result = invoke(seeded, args)
        assert_clean_refusal(result.exit_code, result.stdout, result.stderr, mentions="control characters")
        assert ledger_digest(seeded) == before


def test_a_country_in_either_case_is_stored_upper_case_and_one_naming_no_country_refused(seeded: str) -> None:
    assert invoke(seeded, ["register", "newcomer", "--name", "N", "--country", "mn", "--date", "2018-01-10"]
                  ).exit_code == 0
    assert json.loads(invoke(seeded, ["history", "newcomer", "--json"]).stdout)[0]["fields"]["country"] == "MN"
    before = ledger_digest(seeded)
    result = invoke(seeded, ["correct", "newcomer", "--date", "2018-01-10", "--country", "EU"])
    assert_clean_refusal(result.exit_code, result.stdout, result.stderr, mentions="names no country")
    assert ledger_digest(seeded) == before
