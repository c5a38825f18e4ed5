"""Readings of the SPEC at the command line: a finding's parts are free texts each, an export writes the
certificate a renewal keeps, a held number is named as first recorded, and a body's account lists
registered organizations."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from ledger.application import CertificationLedger
from ledger.domain.commands import command_key
from tests.test_cli import Cli


@pytest.fixture
def run(db_url: str) -> Cli:
    return Cli(db_url)


def register(run: Cli, org: str) -> None:
    run.ok("register", org, "--name", org.upper(), "--country", "PE", "--date", "2016-01-10")


def write_lines(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def keys_of(db: str, org: str) -> list[str]:
    ledger = CertificationLedger(db)
    try:
        return [event.key for _, event in ledger.events_of(org)]
    finally:
        ledger.close()


def history(run: Cli, org: str) -> list[tuple[str, str, dict[str, Any]]]:
    return [(entry["type"], entry["date"], entry["fields"]) for entry in run.json("history", org)]


# ---------------------------------------------------------------- SPEC 2: a finding's category and text

AUDIT = ["audit", "o-1", "--date", "2017-01-01", "--body", "IMO", "--kind", "initial"]


def test_a_finding_text_and_category_of_500_characters_each_are_recorded_and_shown_whole(run: Cli) -> None:
    register(run, "o-1")
    category, text = "c" * 500, "x" * 499 + ":"  # a text may hold the separator: only the first two split

    run.ok(*AUDIT, "--finding", f"minor: {category} :{text}")

    finding = run.json("findings", "o-1")[0]
    assert (finding["severity"], finding["category"], finding["text"]) == ("minor", category, text)


@pytest.mark.parametrize("finding, message", [
    ("minor:cat:" + "x" * 501, "finding.0: the finding's text must be at most 500 characters (got 501)"),
    ("minor:" + "c" * 501 + ":text", "finding.0: the finding's category must be at most 500 characters (got 501)"),
    ("minor:cat:first\taid", "finding.0: must not contain control characters"),
    ("minor:cat: ", "finding.0: 'minor:cat: ' has an empty text"),
])
def test_a_finding_part_beyond_the_free_text_rules_is_refused_naming_the_finding(run: Cli, finding: str,
                                                                                 message: str) -> None:
    register(run, "o-1")
    assert run.error(*AUDIT, "--finding", "minor:cat:fine", "--finding", finding).startswith(
        message.replace("finding.0", "finding.1"))


def test_an_import_line_takes_the_same_finding_rule(run: Cli, tmp_path: Path) -> None:
    register(run, "o-1")
    audit = {"command": "audit", "org": "o-1", "date": "2017-01-01", "body": "IMO", "kind": "initial"}
    too_long = write_lines(tmp_path / "long.jsonl", [{**audit, "finding": ["major:cat:" + "x" * 501]}])
    longest = write_lines(tmp_path / "longest.jsonl", [{**audit, "finding": ["major:cat:" + "x" * 500]}])

    assert run.error("import", str(too_long)) == (
        "line 1: finding.0: the finding's text must be at most 500 characters (got 501)")
    run.ok("import", str(longest))
    assert run.json("findings", "o-1")[0]["text"] == "x" * 500


# ---------------------------------------------------------------- SPEC 8: export writes the kept certificate

def renewals(run: Cli) -> None:
    """FM-PE-2020-01 granted 2016, kept by the 2017 renewal; renumbered FM-PE-0002 in 2018, kept in 2019."""
    register(run, "o-1")
    run.ok("certify", "o-1", "--date", "2016-06-15", "--standard", "fairmined", "--certificate", "FM-PE-2020-01")
    run.ok("recertify", "o-1", "--date", "2017-06-01")
    run.ok("recertify", "o-1", "--date", "2018-06-01", "--certificate", "FM-PE-0002")
    run.ok("recertify", "o-1", "--date", "2019-06-01")


def test_export_writes_the_certificate_on_every_renewal_line(run: Cli) -> None:
    renewals(run)

    lines = [json.loads(line) for line in run.ok("export").splitlines()]

    assert [(line["command"], line.get("certificate")) for line in lines] == [
        ("register", None), ("certify", "FM-PE-2020-01"), ("recertify", "FM-PE-2020-01"),
        ("recertify", "FM-PE-0002"), ("recertify", "FM-PE-0002")]


def test_the_key_of_a_renewal_keeping_its_number_is_computed_without_it_as_before(run: Cli) -> None:
    # Keys are stored: those of renewals recorded before export wrote the kept number must not change.
    renewals(run)
    kept = {"command": "recertify", "org": "o-1", "date": "2017-06-01", "standard": "fairmined",
            "valid_until": "2018-06-14"}
    renumbered = {"command": "recertify", "org": "o-1", "date": "2018-06-01", "standard": "fairmined",
                  "certificate": "FM-PE-0002", "valid_until": "2019-06-14"}
    assert keys_of(run.db_url, "o-1")[2:4] == [command_key(kept, 0), command_key(renumbered, 0)]


@pytest.mark.parametrize("given", ["FM-PE-2020-01", "fm-pe-2020-01", " Fm-Pe-2020-01 "])
def test_a_renewal_given_the_number_it_keeps_is_recorded_as_one_without_it(db_url: str, tmp_path: Path,
                                                                           given: str) -> None:
    plain, with_number = Cli(db_url), Cli(str(tmp_path / "other.db"))
    for run in (plain, with_number):
        register(run, "o-1")
        run.ok("certify", "o-1", "--date", "2016-06-15", "--standard", "fairmined", "--certificate",
               "FM-PE-2020-01")
    plain.ok("recertify", "o-1", "--date", "2017-06-01")
    with_number.ok("recertify", "o-1", "--date", "2017-06-01", "--certificate", given)

    assert history(with_number, "o-1") == history(plain, "o-1")
    assert history(plain, "o-1")[2][2]["certificate"] == "FM-PE-2020-01"  # as first recorded, not renumbered
    assert keys_of(with_number.db_url, "o-1") == keys_of(plain.db_url, "o-1")


def without_recorded_at(exported: str) -> str:
    """The export's bytes with each line's recorded_at left out: the one value a copy cannot keep."""
    return re.sub(r', "recorded_at": "[^"]*"', "", exported)


def test_an_export_imports_into_a_fresh_ledger_as_the_same_events_and_exports_the_same(run: Cli,
                                                                                        tmp_path: Path) -> None:
    renewals(run)
    register(run, "o-2")
    run.ok("audit", "o-2", "--date", "2017-01-01", "--body", "IMO", "--kind", "initial",
           "--finding", "minor:cat:" + "x" * 500)
    exported = tmp_path / "export.jsonl"
    run.ok("export", str(exported))
    copy = Cli(str(tmp_path / "copy.db"))

    copy.ok("import", str(exported))

    for org in ("o-1", "o-2"):
        assert history(copy, org) == history(run, org)
        assert keys_of(copy.db_url, org) == keys_of(run.db_url, org)
    assert without_recorded_at(copy.ok("export")) == without_recorded_at(exported.read_text(encoding="utf-8"))


def test_an_export_imported_into_the_ledger_it_came_from_skips_every_line(run: Cli, tmp_path: Path) -> None:
    renewals(run)
    # A renewal whose grant was retracted since no longer resolves, yet its line (now with its number) is skipped.
    register(run, "o-2")
    run.ok("certify", "o-2", "--date", "2016-06-15", "--standard", "fairmined", "--certificate", "FM-PE-0003")
    run.ok("recertify", "o-2", "--date", "2017-06-01")
    run.ok("retract", "o-2", "3", "--date", "2017-07-01", "--reason", "recorded for the wrong organization")
    run.ok("retract", "o-2", "2", "--date", "2017-07-01", "--reason", "recorded for the wrong organization")
    exported = tmp_path / "export.jsonl"
    run.ok("export", str(exported))
    assert '"org": "o-2", "date": "2017-06-01", "standard": "fairmined", "certificate": "FM-PE-0003"' in \
        exported.read_text(encoding="utf-8")
    before = run.stored_rows_digest()

    assert "Imported 0 events (10 skipped as already present)" in run.ok("import", str(exported))
    assert run.stored_rows_digest() == before


# ---------------------------------------------------------------- SPEC 2: a held number, as first recorded

def test_a_number_held_by_another_organization_is_named_as_first_recorded(run: Cli) -> None:
    renewals(run)
    register(run, "o-2")

    assert run.error("certify", "o-2", "--date", "2016-06-15", "--standard", "fairmined",
                     "--certificate", "fm-pe-2020-01").startswith(
        "certify on 2016-06-15 refused: certificate FM-PE-2020-01 is already held by o-1 (version 2); ")
    run.ok("certify", "o-2", "--date", "2016-06-15", "--standard", "fairmined", "--certificate", "FM-PE-0003")
    assert run.error("recertify", "o-2", "--date", "2017-06-01", "--certificate", "fm-pe-0002").startswith(
        "recertify on 2017-06-01 refused: certificate FM-PE-0002 is already held by o-1 (version 4); ")


def test_a_number_claimed_earlier_in_the_same_import_is_named_as_that_line_spelled_it(run: Cli,
                                                                                       tmp_path: Path) -> None:
    lines = [{"command": "register", "org": org, "date": "2016-01-10", "name": org, "country": "PE"}
             for org in ("o-1", "o-2")]
    lines += [{"command": "certify", "org": org, "date": "2016-06-15", "standard": "fairmined",
               "certificate": number} for org, number in (("o-1", "Fm-Pe-7"), ("o-2", "FM-PE-7"))]

    assert run.error("import", str(write_lines(tmp_path / "lines.jsonl", lines))).startswith(
        "line 4: certify on 2016-06-15 refused: certificate Fm-Pe-7 is already held by o-1 (version 2); ")


# ---------------------------------------------------------------- SPEC 11: a body's organizations

def test_a_body_account_needs_an_organization(run: Cli) -> None:
    register(run, "o-1")
    assert run.error("accounts", "add", "b2", "--role", "body") == (
        "a certification body's account needs at least one organization (--org ORG)")


@pytest.mark.parametrize("orgs", [["nope"], ["o-1", "nope"]])
def test_a_body_account_lists_registered_organizations_only(run: Cli, orgs: list[str]) -> None:
    register(run, "o-1")
    args = [arg for org in orgs for arg in ("--org", org)]
    assert run.error("accounts", "add", "b3", "--role", "body", *args) == (
        "account b3 refused: nope is not a registered organization (register it first)")
    assert run.json("accounts", "list") == []


def test_a_body_account_for_registered_organizations_is_opened(run: Cli) -> None:
    register(run, "o-1")
    register(run, "o-2")
    opened = run.json("accounts", "add", "b4", "--role", "body", "--org", "o-1", "--org", "o-2")
    assert (opened["role"], opened["orgs"]) == ("body", ["o-1", "o-2"])


@pytest.mark.parametrize("role", ["office", "reader"])
def test_org_stays_a_usage_error_for_other_roles(run: Cli, role: str) -> None:
    register(run, "o-1")
    assert "--org is for accounts with the body role" in run.error(
        "accounts", "add", "a1", "--role", role, "--org", "o-1", exit_code=2)
