"""CSV output: one fixed header per command, whatever the rows hold, so that pages concatenate;
nested values are JSON text in one cell; booleans are true/false; never a Python repr."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

import rendering
from cli import cli

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")

STATUS_HEADER = ("org,name,country,status,standard,certificate,valid_from,valid_until,certified_since,"
                 "consecutive_years,recertifications,standard_years,suspended_since,last_denial,withdrawn_on,"
                 "open_findings,as_of,known_at")
HISTORY_HEADER = "position,version,recorded_at,recorded_by,type,date,fields,retracted,retracted_by"
CHANGES_HEADER = "position,org,version,recorded_at,recorded_by,type,date,fields,retracted,retracted_by"
REPORT_HEADER = ("from,to,section,org,date,standard,consecutive_years,stage,reason_category,reason,mode,resolve_by,"
                 "valid_until")


def out(db: str, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--db", db, *args])
    assert result.exit_code == 0, result.stderr
    return result.stdout


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def db(db_url: str) -> str:
    for args in (
        ["register", "cecomip", "--name", "CECOMIP, Puno", "--country", "PE", "--date", "2016-01-10"],
        ["register", "oro-puno", "--name", "Aurífera \"Oro\" Puno", "--country", "PE", "--date", "2016-02-01"],
        ["audit", "cecomip", "--date", "2016-05-20", "--body", "IMO", "--kind", "initial",
         "--finding", "minor:health-safety:first aid kits"],
        ["certify", "cecomip", "--date", "2016-06-15", "--standard", "fairmined", "--certificate", "FM-1"],
        ["deny", "oro-puno", "--date", "2016-07-01", "--reason-category", "labour", "--reason", "contracts"],
        ["suspend", "cecomip", "--date", "2016-08-01", "--reason", "records", "--resolve-by", "2016-09-30"],
        ["retract", "cecomip", "4", "--date", "2016-08-02", "--reason", "entered twice"],
        ["withdraw", "cecomip", "--date", "2016-10-01", "--voluntary", "--reason", "internal reasons"],
    ):
        out(db_url, *args)
    return db_url


@pytest.mark.parametrize("args, header", [
    (["status", "--as-of", "2016-12-31"], STATUS_HEADER), (["status", "cecomip", "--as-of", "2016-12-31"], STATUS_HEADER),
    (["registry", "--as-of", "2016-12-31"], STATUS_HEADER), (["streaks", "--as-of", "2016-07-01"], STATUS_HEADER),
    (["history", "cecomip"], HISTORY_HEADER), (["changes"], CHANGES_HEADER), (["report", "--year", "2016"], REPORT_HEADER),
], ids=["status", "status-one", "registry", "streaks", "history", "changes", "report"])
def test_each_command_prints_its_documented_header(db: str, args: list[str], header: str) -> None:
    text = out(db, *args, "--csv")

    assert text.splitlines()[0] == header
    assert len(text.splitlines()) > 1


@pytest.mark.parametrize("args, header", [
    (["status", "--as-of", "2015-12-31"], STATUS_HEADER),
    (["registry", "--status", "suspended", "--as-of", "2016-12-31"], STATUS_HEADER),
    (["streaks", "--as-of", "2016-03-01"], STATUS_HEADER),
    (["changes", "--since", "99"], CHANGES_HEADER),
    (["report", "--year", "2015"], REPORT_HEADER),
], ids=["status", "registry", "streaks", "changes", "report"])
def test_an_empty_answer_is_the_header_alone(db: str, args: list[str], header: str) -> None:
    assert out(db, *args, "--csv") == header + "\n"


def test_pages_of_changes_share_one_header_and_concatenate_to_the_whole_feed(db: str) -> None:
    pages = [out(db, "changes", "--since", str(since), "--limit", "3", "--csv") for since in (0, 3, 6)]
    whole = out(db, "changes", "--csv")

    assert {page.splitlines()[0] for page in pages} == {CHANGES_HEADER}
    assert [page.count("\n") - 1 for page in pages] == [3, 3, 2]  # audits, grants, denials... on different pages
    assert pages[0] + "".join(page.split("\n", 1)[1] for page in pages[1:]) == whole


def test_status_csv_pages_on_different_dates_share_one_header(db: str) -> None:
    dates = ("2015-12-31", "2016-01-31", "2016-06-30", "2016-12-31")
    headers = {out(db, "registry", "--as-of", day, "--csv").splitlines()[0] for day in dates}

    assert headers == {STATUS_HEADER}


def test_nested_values_are_json_text_in_one_cell_and_booleans_are_true_or_false(db: str) -> None:
    history = rows(out(db, "history", "cecomip", "--csv"))
    status = rows(out(db, "status", "oro-puno", "--as-of", "2016-12-31", "--csv"))[0]

    assert json.loads(history[1]["fields"])["findings"] == [
        {"severity": "minor", "category": "health-safety", "text": "first aid kits"}]
    assert [(r["version"], r["retracted"], r["retracted_by"]) for r in history] == [
        ("1", "false", ""), ("2", "false", ""), ("3", "false", ""), ("4", "true", "5"), ("5", "false", ""),
        ("6", "false", "")]
    assert json.loads(status["last_denial"]) == {"date": "2016-07-01", "stage": "initial",
                                                 "reason_category": "labour", "reason": "contracts"}
    assert (status["name"], status["suspended_since"], status["consecutive_years"]) == (
        'Aurífera "Oro" Puno', "", "0")


def test_no_cell_holds_a_python_repr(db: str) -> None:
    texts = [out(db, "history", "cecomip", "--csv"), out(db, "changes", "--csv"),
             out(db, "status", "--as-of", "2016-12-31", "--csv"), out(db, "report", "--year", "2016", "--csv")]

    for text in texts:
        assert not re.search(r"\{'|\['|\bTrue\b|\bFalse\b|\bNone\b", text), text


def test_report_csv_has_one_row_per_listed_item_named_by_its_section(db: str) -> None:
    report = rows(out(db, "report", "--year", "2016", "--csv"))

    assert [(r["section"], r["org"], r["date"]) for r in report] == [
        ("newly_certified", "cecomip", "2016-06-15"), ("denied", "oro-puno", "2016-07-01"),
        ("withdrawn", "cecomip", "2016-10-01")]
    assert {(r["from"], r["to"]) for r in report} == {("2016-01-01", "2016-12-31")}
    assert (report[1]["stage"], report[1]["reason_category"], report[1]["reason"], report[1]["mode"]) == (
        "initial", "labour", "contracts", "")
    assert (report[2]["mode"], report[2]["reason"]) == ("voluntary", "internal reasons")


def test_report_csv_lists_the_organizations_certified_at_the_end(db: str) -> None:
    out(db, "certify", "cecomip", "--date", "2016-11-01", "--standard", "ecological")
    report = rows(out(db, "report", "--from", "2016-10-01", "--to", "2016-12-31", "--csv"))

    assert [(r["section"], r["org"], r["date"], r["standard"]) for r in report] == [
        ("certified", "cecomip", "2016-12-31", ""), ("newly_certified", "cecomip", "2016-11-01", "ecological"),
        ("withdrawn", "cecomip", "2016-10-01", "")]


def test_accounts_list_takes_csv_as_every_list_does(db: str) -> None:
    out(db, "accounts", "add", "imo-swiss", "--role", "body", "--org", "cecomip")
    out(db, "accounts", "add", "clerk", "--role", "office")
    out(db, "accounts", "revoke", "clerk")
    listed = out(db, "accounts", "list", "--csv")
    assert listed.splitlines()[0] == ",".join(rendering.ACCOUNTS_CSV_COLUMNS)
    assert [(r["name"], r["role"], r["orgs"], bool(r["revoked_on"])) for r in rows(listed)] == [
        ("imo-swiss", "body", '["cecomip"]', False), ("clerk", "office", "[]", True)]


def test_the_readme_lists_every_csv_header() -> None:
    for command, columns in rendering.CSV_COLUMNS.items():
        assert ",".join(columns) in README, f"README does not list the CSV header of {command}"
