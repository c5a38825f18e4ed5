"""Command-line manners: progress bars on a terminal only, hints for options in the wrong place and for
mistyped organization ids, tables that fit 100 columns, shell completion of organization ids, --again."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.shell_completion import ShellComplete
from click.testing import CliRunner, Result

import cli as cli_module
from cli import RecordingCommand, cli

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
LONG_NAME = "Cooperativa Minera Aurífera " + "de los Andes " * 36  # about 500 characters
LONG_ORG = "o" + "-la-cooperativa-de-puno" * 2 + "-x" * 8  # 63 characters


def invoke(db: str, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, ["--db", db, *args], input=input)


def ok(db: str, *args: str) -> str:
    result = invoke(db, *args)
    assert result.exit_code == 0, result.stderr
    return result.stdout


@pytest.fixture
def db(db_url: str) -> str:
    for args in (
        ["register", "cecomip", "--name", "CECOMIP", "--country", "PE", "--date", "2016-01-10"],
        ["certify", "cecomip", "--date", "2016-06-15", "--standard", "fairmined", "--certificate", "FM-PE-0001"],
        ["register", "oro-puno", "--name", "Oro Puno", "--country", "PE", "--date", "2017-01-10"],
        ["register", "chede", "--name", "Chede", "--country", "CO", "--date", "2018-01-10"],
    ):
        ok(db_url, *args)
    return db_url


# ---------------------------------------------------------------- progress bars, on a terminal only


PROGRESS = [
    pytest.param(["verify"], ["Checking the hash chain", "Comparing the projections"], id="verify"),
    pytest.param(["export", "{dir}/backup.jsonl"], ["Exporting"], id="export"),
    pytest.param(["rebuild"], ["Rebuilding the projections"], id="rebuild"),
    pytest.param(["copy", "--to", "{dir}/copy.db"], ["Copying"], id="copy"),
    # The views are bitemporal: an earlier position is read from them, with no replay and so no bar.
    pytest.param(["registry", "--known-at", "2"], [], id="registry-known-at"),
    pytest.param(["streaks", "--known-at", "2"], [], id="streaks-known-at"),
    pytest.param(["report", "--year", "2016", "--known-at", "2"], [], id="report-known-at"),
]


@pytest.mark.parametrize("args, labels", PROGRESS)
def test_a_long_command_draws_no_progress_bar_when_standard_error_is_not_a_terminal(
        db: str, tmp_path: Path, args: list[str], labels: list[str]) -> None:
    result = invoke(db, *[arg.replace("{dir}", str(tmp_path)) for arg in args])

    assert (result.exit_code, result.stderr) == (0, "")


@pytest.mark.parametrize("args, labels", PROGRESS)
def test_a_long_command_shows_its_progress_on_a_terminal(db: str, tmp_path: Path, args: list[str],
                                                         labels: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_module, "stderr_is_terminal", lambda: True)

    result = invoke(db, *[arg.replace("{dir}", str(tmp_path)) for arg in args])

    assert result.exit_code == 0
    assert result.stderr.splitlines() == labels  # the runner's stream is no terminal: click writes each label once


def test_an_answer_from_the_live_views_needs_no_replay_and_shows_no_bar(db: str,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_module, "stderr_is_terminal", lambda: True)

    assert invoke(db, "registry", "--known-at", "4").stderr == ""


# ---------------------------------------------------------------- global options after the command


@pytest.mark.parametrize("args, named, line", [
    (["status", "--db", "x.db"], "--db", "certledger --db x.db status"),
    (["status", "cecomip", "--as-of", "2019-12-31", "--db=x.db"], "--db",
     "certledger --db=x.db status cecomip --as-of 2019-12-31"),
    (["register", "a1", "--by", "María José", "--db", "x.db"], "--by", "certledger --by 'María José' --db x.db register a1"),
    (["status", "--version"], "--version", "certledger --version"),
], ids=["db", "db-equals", "by-and-db", "version"])
def test_a_global_option_after_the_command_gets_a_hint_to_put_it_first(args: list[str], named: str,
                                                                        line: str) -> None:
    result = CliRunner().invoke(cli, args)

    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.splitlines()[-1] == (
        f"Error: No such option '{named}'. Global options go before the command: {line}")


def test_an_unknown_option_that_is_not_global_gets_no_such_hint() -> None:
    result = CliRunner().invoke(cli, ["status", "--dbb", "x.db"])

    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == "Error: No such option '--dbb'."


# ---------------------------------------------------------------- unknown organization ids


@pytest.mark.parametrize("command", [["status"], ["history"]], ids=["status", "history"])
def test_an_unknown_organization_id_gets_the_close_ones_as_suggestions(db: str, command: list[str]) -> None:
    result = invoke(db, *command, "cecomp")

    assert (result.exit_code, result.stderr) == (1, "Error: unknown organization cecomp (did you mean cecomip?)\n")


def test_several_close_ids_are_all_suggested(db: str) -> None:
    ok(db, "register", "oro-puna", "--name", "Oro Puna", "--country", "PE", "--date", "2017-01-10")

    assert invoke(db, "status", "oro-pun").stderr == (
        "Error: unknown organization oro-pun (did you mean oro-puna or oro-puno?)\n")


@pytest.mark.parametrize("command", [["status"], ["history"]], ids=["status", "history"])
def test_a_certificate_number_given_as_an_organization_names_its_holder(db: str, command: list[str]) -> None:
    result = invoke(db, *command, "fm-pe-0001")

    assert (result.exit_code, result.stderr) == (1, "Error: unknown organization fm-pe-0001 (fm-pe-0001 is a "
                                                    "certificate number, held by cecomip: look it up as a certificate)\n")


def test_an_id_like_none_in_the_ledger_gets_no_suggestion(db: str) -> None:
    assert invoke(db, "status", "xamodx").stderr == "Error: unknown organization xamodx\n"


@pytest.mark.parametrize("command", [["status"], ["history"], ["findings"]], ids=["status", "history", "findings"])
def test_known_at_before_an_organization_was_recorded_says_it_was_not_yet_recorded(
        db: str, command: list[str]) -> None:
    result = invoke(db, *command, "chede", "--known-at", "2")

    assert result.exit_code == 1
    assert re.fullmatch(r"Error: chede was not yet recorded at position 2 \(first recorded at position 4, "
                        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z\)\n", result.stderr), result.stderr


@pytest.mark.parametrize("command", ["status", "findings"])
def test_known_at_an_instant_before_the_recording_names_that_instant(db: str, command: str) -> None:
    result = invoke(db, command, "cecomip", "--known-at", "2000-01-01")

    assert result.stderr.startswith("Error: cecomip was not yet recorded at 2000-01-01 (first recorded at position 1, ")


# ---------------------------------------------------------------- tables fit 100 columns; --wide shows everything


@pytest.fixture
def wide_values(db: str) -> str:
    ok(db, "register", LONG_ORG, "--name", LONG_NAME, "--country", "BO", "--date", "2016-01-10")
    ok(db, "certify", LONG_ORG, "--date", "2016-02-01", "--standard", "ecological",
       "--certificate", "FM-BO-2016-000000000000001")
    ok(db, "deny", LONG_ORG, "--date", "2016-03-01", "--reason-category", "other", "--reason", LONG_NAME)
    ok(db, "suspend", LONG_ORG, "--date", "2016-04-01", "--reason", LONG_NAME, "--resolve-by", "2016-05-01")
    ok(db, "withdraw", LONG_ORG, "--date", "2016-05-02", "--imposed", "--reason", LONG_NAME)
    return db


TABLES = [
    ["status", "--as-of", "2016-04-15"], ["registry", "--as-of", "2016-04-15"], ["streaks", "--as-of", "2016-04-15"],
    ["history", LONG_ORG], ["changes"], ["report", "--year", "2016"],
]


@pytest.mark.parametrize("args", TABLES, ids=lambda args: args[0])
def test_every_table_fits_100_columns_by_default(wide_values: str, args: list[str]) -> None:
    lines = ok(wide_values, *args).splitlines()

    assert max(len(line) for line in lines) <= 100, "\n".join(line for line in lines if len(line) > 100)
    assert any(LONG_ORG[:8] in line for line in lines)


@pytest.mark.parametrize("args", TABLES, ids=lambda args: args[0])
def test_wide_shows_every_value_whole(wide_values: str, args: list[str]) -> None:
    text = ok(wide_values, *args, "--wide")

    assert LONG_ORG in text and "…" not in text
    if args[0] != "streaks":
        assert LONG_NAME.strip() in text


def test_the_default_status_table_keeps_the_columns_a_reader_scans_for(db: str) -> None:
    lines = ok(db, "registry", "--as-of", "2016-12-31").splitlines()

    assert lines[0].split() == ["org", "name", "country", "status", "standard", "certificate", "valid_until", "years"]
    assert lines[2].split() == ["cecomip", "CECOMIP", "PE", "certified", "fairmined", "FM-PE-0001", "2017-06-14", "1"]


def test_the_wide_status_table_has_every_column(db: str) -> None:
    header = ok(db, "registry", "--as-of", "2016-12-31", "--wide").splitlines()[0].split()

    assert header == ["org", "name", "country", "status", "standard", "certificate", "valid_from", "valid_until",
                      "since", "years", "suspended", "last_denial", "recerts", "std_years", "withdrawn",
                      "open_findings"]


def test_the_streaks_table_shows_since_and_years(db: str) -> None:
    lines = ok(db, "streaks", "--as-of", "2016-12-31").splitlines()

    assert lines[0].split() == ["org", "name", "country", "status", "standard", "since", "years", "valid_until"]
    assert lines[2].split() == ["cecomip", "CECOMIP", "PE", "certified", "fairmined", "2016-06-15", "1", "2017-06-14"]


# ---------------------------------------------------------------- shell completion of organization ids


def completions(args: list[str], incomplete: str) -> list[str]:
    completer = ShellComplete(cli, {}, "certledger", "_CERTLEDGER_COMPLETE")
    return [item.value for item in completer.get_completions(args, incomplete)]


@pytest.mark.parametrize("command", ["status", "history", "audit", "certify", "suspend", "retract"])
def test_organization_ids_complete_from_the_ledger_named_by_db(db: str, command: str) -> None:
    assert completions(["--db", db, command], "c") == ["cecomip", "chede"]
    assert completions(["--db", db, command], "") == ["cecomip", "chede", "oro-puno"]


def test_organization_ids_complete_from_the_ledger_named_by_the_environment(
        db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CERTLEDGER_DB", db)

    assert completions(["status"], "o") == ["oro-puno"]


def test_completion_without_a_ledger_offers_nothing_and_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"

    assert completions(["--db", str(missing), "status"], "") == []
    assert not missing.exists()


def test_completion_on_a_damaged_file_fails_silently(tmp_path: Path) -> None:
    damaged = tmp_path / "ledger.db"
    damaged.write_text("not a database")

    assert completions(["--db", str(damaged), "status"], "") == []
    assert damaged.read_text() == "not a database"


# ---------------------------------------------------------------- --again, and the README


def test_an_identical_command_is_refused_unless_again_is_given(db: str) -> None:
    audit = ["audit", "cecomip", "--date", "2016-08-10", "--body", "IMO", "--kind", "surveillance"]
    ok(db, *audit)

    refused = invoke(db, *audit)
    again = invoke(db, *audit, "--again")

    assert (refused.exit_code, refused.stderr) == (1, (
        "Error: audit refused: an identical AuditConducted of 2016-08-10 is already recorded for cecomip "
        "(position 5, version 3); give --again to record it anyway\n"))
    assert again.stdout == "Recorded AuditConducted for cecomip at position 6 (version 4, 2016-08-10)\n"


def test_an_identical_command_to_a_retracted_entry_says_it_was_retracted(db: str) -> None:
    audit = ["audit", "cecomip", "--date", "2016-08-10", "--body", "IMO", "--kind", "surveillance"]
    ok(db, *audit)
    ok(db, "retract", "cecomip", "3", "--date", "2016-08-11", "--reason", "entered under the wrong organization")
    refused = invoke(db, *audit)
    assert (refused.exit_code, refused.stderr) == (1, (
        "Error: audit refused: an identical AuditConducted of 2016-08-10 is already recorded for cecomip "
        "(position 5, version 3, retracted by version 4); give --again to record it anyway\n"))


@pytest.mark.parametrize("args", [["registry"], ["streaks"], ["history", "cecomip"], ["changes"], ["accounts", "list"],
                                  ["findings", "cecomip"], ["report", "--year", "2016"]])
def test_json_and_csv_together_are_a_usage_error(db: str, args: list[str]) -> None:
    both = invoke(db, *args, "--json", "--csv")
    assert both.exit_code == 2 and both.stderr.endswith(
        "Error: --json and --csv cannot be combined: choose one output format\n")


@pytest.mark.parametrize("query", ["status", "history", "findings"])
def test_an_organization_id_of_undecodable_bytes_is_a_usage_error(db: str, query: str) -> None:
    typed = invoke(db, query, "\udcff")  # how Python hands over a byte 0xFF of the command line
    assert typed.exit_code == 2 and typed.stderr.endswith("'\\udcff' holds bytes that are not UTF-8 text\n")
    assert "Traceback" not in typed.output and "unexpected failure" not in typed.stderr


def test_every_recording_command_takes_again() -> None:
    """Every recording command takes --again (SPEC section 5); a correction's refusal tells to give it."""
    assert all(any(p.name == "again" for p in command.params) for name, command in cli.commands.items()
               if isinstance(command, RecordingCommand)), "a recording command without --again"


def test_a_repeated_correction_is_refused_then_recorded_with_again(db: str) -> None:
    correct = ["correct", "chede", "--date", "2019-02-01", "--name", "Chede Ltda."]
    ok(db, *correct)
    refused = invoke(db, *correct)
    assert refused.exit_code == 1 and refused.stderr.endswith("give --again to record it anyway\n")
    assert ok(db, *correct, "--again").startswith("Recorded OrganizationDetailsCorrected for chede")


def test_the_readme_says_how_to_put_certledger_on_the_path_and_how_to_complete_ids() -> None:
    assert ". .venv/bin/activate" in README
    for shell in ("bash", "zsh", "fish"):
        assert f"_CERTLEDGER_COMPLETE={shell}_source certledger" in README


def test_a_recording_whose_output_cannot_be_written_says_it_was_recorded(tmp_path: Path) -> None:
    """The event is committed before it is printed: a full disk or a closed output must not make it look
    refused (typing it again would be refused as a double entry)."""
    db = str(tmp_path / "full.db")
    root = Path(__file__).resolve().parent.parent
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-c", "from cli import main; main()", "--db", db, "register", "ddd",
                               "--name", "D", "--country", "PE", "--date", "2019-01-01"],
                              stdout=full, stderr=subprocess.PIPE, text=True, cwd=root, timeout=60)
    assert done.returncode == 1
    assert done.stderr == ("Error: OrganizationRegistered for ddd was recorded at position 1, but printing it "
                           "failed: No space left on device\n")
    assert invoke(db, "history", "ddd", "--json").exit_code == 0
