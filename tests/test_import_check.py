"""Import at the command line: --check lists every bad line and writes nothing; hints name the likely
cause of a bad file; Ctrl-C says that nothing was imported; the summary comes once the views are current."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import service
from cli import cli
from ledger.application import CertificationLedger
from ledger.application import recording

REGISTER = {"command": "register", "org": "cecomip", "name": "CECOMIP", "country": "PE", "date": "2016-01-10"}
CERTIFY = {"command": "certify", "org": "cecomip", "date": "2016-06-15", "standard": "fairmined"}
BAD_DATE = {"command": "audit", "org": "cecomip", "date": "2016-02-30", "body": "IMO", "kind": "initial"}
UNKNOWN_ORG = {"command": "certify", "org": "nobody", "date": "2016-06-15", "standard": "fairmined"}


def invoke(db: str, *args: str, input: str | bytes | None = None) -> Result:
    return CliRunner().invoke(cli, ["--db", db, *args], input=input)


def write_lines(path: Path, lines: list[Any]) -> Path:
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines),
                    encoding="utf-8")
    return path


def positions(db: str) -> int:
    ledger = CertificationLedger(db, must_exist=True)
    try:
        return ledger.storage.max_position()
    finally:
        ledger.close()


@pytest.fixture
def registered(db_url: str) -> str:
    assert invoke(db_url, "register", "cecomip", "--name", "CECOMIP", "--country", "PE", "--date",
                  "2016-01-10").exit_code == 0
    return db_url


# ---------------------------------------------------------------- --check


def test_check_lists_every_bad_line_writes_nothing_and_exits_1(registered: str, tmp_path: Path) -> None:
    source = write_lines(tmp_path / "lines.jsonl", [CERTIFY, BAD_DATE, UNKNOWN_ORG, '{"command": "audit", '])

    result = invoke(registered, "import", "--check", str(source))

    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        "  line 2: date: '2016-02-30' is not a real calendar date\n"
        "  line 3: unknown organization nobody (register it first)\n"
        "  line 4: not valid JSON: Expecting property name enclosed in double quotes at the end of the line\n"
        f"Error: {source}: 3 bad lines; nothing was written\n")
    assert positions(registered) == 1


def test_check_of_a_good_file_says_what_would_be_recorded_and_writes_nothing(registered: str,
                                                                           tmp_path: Path) -> None:
    source = write_lines(tmp_path / "lines.jsonl", [REGISTER, CERTIFY])

    result = invoke(registered, "import", "--check", str(source))

    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == (f"Checked {source}: every line can be recorded (1 new, 1 already present); "
                             "nothing was written\n")
    assert positions(registered) == 1


def test_check_where_no_ledger_exists_checks_against_an_empty_one_and_creates_nothing(db_url: str,
                                                                                     tmp_path: Path) -> None:
    source = write_lines(tmp_path / "lines.jsonl", [REGISTER, CERTIFY, UNKNOWN_ORG])

    result = invoke(db_url, "import", "--check", str(source))

    assert result.exit_code == 1
    assert result.stderr.splitlines() == ["  line 3: unknown organization nobody (register it first)",
                                          f"Error: {source}: 1 bad line; nothing was written"]
    assert invoke(db_url, "status").stderr.startswith("Error: no ledger at ")


def test_check_lists_the_first_100_bad_lines_of_many(registered: str, tmp_path: Path) -> None:
    source = write_lines(tmp_path / "lines.jsonl", [{**UNKNOWN_ORG, "org": f"nobody-{n}"} for n in range(150)])

    result = invoke(registered, "import", "--check", str(source))

    lines = result.stderr.splitlines()
    assert (result.exit_code, len(lines)) == (1, 101)
    assert lines[99] == "  line 100: unknown organization nobody-99 (register it first)"
    assert lines[100] == f"Error: {source}: 150 bad lines (the first 100 are listed); nothing was written"


def test_check_with_json_prints_the_bad_lines_in_the_summary(registered: str, tmp_path: Path) -> None:
    source = write_lines(tmp_path / "lines.jsonl", [CERTIFY, BAD_DATE])

    result = invoke(registered, "import", "--check", "--json", str(source))

    summary = json.loads(result.stdout)
    assert (result.exit_code, result.stderr) == (1, f"Error: {source}: 1 bad line; nothing was written\n")
    assert (summary["checked"], summary["recorded"], summary["error_count"], summary["errors"]) == (
        True, 1, 1, ["line 2: date: '2016-02-30' is not a real calendar date"])


def test_check_goes_on_past_a_line_that_is_not_utf8(registered: str, tmp_path: Path) -> None:
    source = tmp_path / "lines.jsonl"
    source.write_bytes(json.dumps(CERTIFY).encode() + b"\n"
                       + b'{"command": "audit", "org": "cecomip", "date": "2016-03-01", "body": "Aur\xedfera", '
                         b'"kind": "initial"}\n' + json.dumps(UNKNOWN_ORG).encode() + b"\n")

    result = invoke(registered, "import", "--check", str(source))

    assert result.stderr.splitlines() == [
        "  line 2: not valid UTF-8: byte 74 of the line is 0xED (in Windows-1252 that would be 'Aurífera'); "
        "re-save the file as UTF-8",
        "  line 3: unknown organization nobody (register it first)",
        f"Error: {source}: 2 bad lines; nothing was written"]


TOO_LONG = dict(BAD_DATE, date="2016-03-01", body="x" * (1 << 20))


@pytest.mark.parametrize("name, text, listed", [
    ("lines.jsonl", "".join(json.dumps(line) + "\n" for line in [BAD_DATE, TOO_LONG, UNKNOWN_ORG, CERTIFY]),
     ["line 1: date: '2016-02-30' is not a real calendar date", "line 2: longer than 1048576 bytes",
      "line 3: unknown organization nobody (register it first)"]),
    ("lines.csv", "command,org,date,body,kind\naudit,cecomip,2016-02-30,IMO,initial\n"
                  "audit,cecomip,2016-03-01,IMO,initial,extra\naudit,nobody,2016-03-01,IMO,initial\n",
     ["line 2: date: '2016-02-30' is not a real calendar date", "line 3: 6 cells, but the header names 5 columns",
      "line 4: unknown organization nobody (register it first)"]),
], ids=["a line too long to hold", "a CSV row wider than its header"])
def test_check_goes_on_past_a_line_it_cannot_split_into_fields(registered: str, tmp_path: Path, name: str, text: str,
                                                               listed: list[str]) -> None:
    """A line too long to hold is read past, not held whole; both are listed like any other bad line."""
    source = tmp_path / name
    source.write_text(text, encoding="utf-8")

    result = invoke(registered, "import", "--check", str(source))

    assert result.stderr.splitlines() == [f"  {line}" for line in listed] + [
        f"Error: {source}: 3 bad lines; nothing was written"]


# ---------------------------------------------------------------- hints that name the likely cause


@pytest.mark.parametrize("text, message", [
    ("command;org;date;name;country\nregister;a1;2016-01-10;A;PE\n",
     "line 1: the header is split by ';', not by commas: certledger reads comma-separated CSV; save the file "
     "again with ',' as the delimiter"),
    ("command\torg\tdate\tname\tcountry\nregister\ta1\t2016-01-10\tA\tPE\n",
     "line 1: the header is split by tabs, not by commas: certledger reads comma-separated CSV; save the file "
     "again with ',' as the delimiter"),
    ("Command,Org,date,name,Country\nregister,a1,2016-01-10,A,PE\n",
     "line 1: column 'Command' should be 'command'; column 'Org' should be 'org'; column 'Country' should be "
     "'country' (header names are the import keys: lower case, with underscores)"),
    ("command,org,date,name,country,legal-form\nregister,a1,2016-01-10,A,PE,cooperative\n",
     "line 1: column 'legal-form' should be 'legal_form' (header names are the import keys: lower case, with "
     "underscores)"),
], ids=["semicolons", "tabs", "letter-case", "hyphen"])
def test_a_csv_header_in_another_shape_gets_a_hint(db_url: str, tmp_path: Path, text: str, message: str) -> None:
    source = tmp_path / "lines.csv"
    source.write_text(text, encoding="utf-8")

    result = invoke(db_url, "import", str(source))

    assert (result.exit_code, result.stderr) == (1, f"Error: {message}\n")


def test_a_json_line_with_keys_in_another_case_gets_a_hint(db_url: str, tmp_path: Path) -> None:
    source = write_lines(tmp_path / "lines.jsonl", [{"Command": "register", "Org": "a1", "name": "A",
                                                     "country": "PE", "date": "2016-01-10"}])

    result = invoke(db_url, "import", str(source))

    assert result.stderr == ("Error: line 1: key 'Command' should be 'command'; key 'Org' should be 'org' "
                             "(import keys are lower case, with underscores)\n")


def test_a_byte_that_is_not_utf8_is_named_with_the_way_out(db_url: str, tmp_path: Path) -> None:
    source = tmp_path / "lines.csv"
    source.write_bytes(b"command,org,date,name,country\nregister,a1,2016-01-10,Aur\xedfera Yani,BO\n")

    result = invoke(db_url, "import", str(source))

    assert result.stderr == ("Error: line 2: not valid UTF-8: byte 27 of the line is 0xED (in Windows-1252 that "
                             "would be 'Aurífera'); re-save the file as UTF-8\n")


def test_a_utf16_file_is_named_as_such(db_url: str, tmp_path: Path) -> None:
    source = tmp_path / "lines.jsonl"
    source.write_bytes(json.dumps(REGISTER).encode("utf-16"))

    result = invoke(db_url, "import", str(source))

    assert result.stderr == "Error: line 1: not valid UTF-8: the file is UTF-16; re-save the file as UTF-8\n"


# ---------------------------------------------------------------- Ctrl-C, and the summary after the views


def test_ctrl_c_during_an_import_says_nothing_was_imported_and_nothing_is(registered: str, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    source = write_lines(tmp_path / "lines.jsonl", [CERTIFY, {**CERTIFY, "command": "recertify",
                                                              "date": "2017-06-01"}])
    real_submit = recording.Submission.submit

    def interrupted_at_line_2(self: recording.Submission, number: int | None, value: Any) -> None:
        if number == 2:
            raise KeyboardInterrupt
        real_submit(self, number, value)

    monkeypatch.setattr(recording.Submission, "submit", interrupted_at_line_2)

    result = invoke(registered, "import", str(source))

    assert (result.exit_code, result.stdout) == (130, "")
    assert result.stderr == "Error: interrupted: nothing was imported (an import is all or nothing; run it again)\n"
    assert positions(registered) == 1


def test_ctrl_c_after_the_commit_says_the_import_may_have_been_recorded(registered: str, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    source = write_lines(tmp_path / "lines.jsonl", [CERTIFY])

    def interrupted(self: service.LedgerService, recorded: int | None = None) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(service.LedgerService, "catch_up_quietly", interrupted)

    result = invoke(registered, "import", str(source))

    assert (result.exit_code, result.stdout) == (130, "")
    assert result.stderr == ("Error: interrupted while the import was being committed: it may have been recorded; "
                             "run it again to be sure (lines already recorded are skipped)\n")
    assert positions(registered) == 2


def test_the_summary_is_printed_only_once_the_views_are_caught_up(registered: str, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    source = write_lines(tmp_path / "lines.jsonl", [CERTIFY])
    real_catch_up = service.LedgerService.catch_up_quietly

    def catch_up(self: service.LedgerService, recorded: int | None = None) -> str | None:
        print("catching up")
        return real_catch_up(self, recorded)

    monkeypatch.setattr(service.LedgerService, "catch_up_quietly", catch_up)

    lines = invoke(registered, "import", str(source)).stdout.splitlines()

    assert lines[0] == "catching up" and lines[-1].startswith("Imported 1 events (0 skipped as already present)")
