"""Output contract: aligned tables by default, --json and --csv, stable columns, ISO dates, no colour, helpful --help."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

import click
import pytest
from click.testing import CliRunner

from cli import cli
import rendering as formats

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ANSI_ESCAPE = "\x1b["


def run(db: str, *args: str) -> Any:
    result = CliRunner().invoke(cli, ["--db", db, *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def db(db_url: str) -> str:
    run(db_url, "register", "cecomip", "--name", "CECOMIP", "--country", "PE", "--date", "2016-01-10")
    run(db_url, "register", "oro-puno", "--name", "Aurífera Oro Puno", "--country", "PE", "--date", "2016-02-01")
    run(db_url, "certify", "cecomip", "--date", "2016-06-15", "--standard", "fairmined", "--certificate", "FM-1")
    run(db_url, "deny", "oro-puno", "--date", "2016-07-01", "--reason-category", "labour", "--reason", "contracts")
    return db_url


def commands() -> list[tuple[str, click.Command]]:
    return sorted(cli.commands.items())


@pytest.mark.parametrize("name, command", commands())
def test_every_command_has_a_one_line_summary_and_an_example_in_its_help(name: str, command: click.Command) -> None:
    result = CliRunner().invoke(cli, [name, "--help"])

    assert result.exit_code == 0
    summary = (command.help or "").strip().splitlines()[0]
    assert summary.endswith(".") and len(summary) <= 76  # one line in an 80-column terminal
    assert f"  {summary}\n" in result.output
    assert re.search(r"Example:\s+certledger " + re.escape(name) + r"\b", result.output), result.output


def test_the_group_help_lists_every_command_with_its_summary() -> None:
    result = CliRunner().invoke(cli, ["--help"])

    for name, _ in commands():
        assert re.search(rf"^\s+{re.escape(name)}\s+\S", result.output, re.MULTILINE), name


def test_a_list_renders_as_a_table_whose_columns_line_up(db: str) -> None:
    lines = run(db, "status", "--as-of", "2016-12-31").output.splitlines()

    header, rule, *rows = lines
    assert header.split()[:4] == ["org", "name", "country", "status"]
    starts = [m.start() for m in re.finditer(r"-+", rule)]
    for row in rows:
        for start in starts[1:]:
            assert row[start - 2:start] == "  ", row
    assert len(rows) == 2


def test_one_organization_renders_as_aligned_fields(db: str) -> None:
    lines = run(db, "status", "cecomip", "--as-of", "2016-12-31").output.splitlines()

    value_columns = {len(line) - len(line.split("  ", 1)[1].lstrip()) for line in lines}
    assert len(value_columns) == 1
    assert lines[0].split() == ["org", "cecomip"]


def test_json_output_keeps_the_documented_key_order_and_iso_dates(db: str) -> None:
    record = json.loads(run(db, "status", "cecomip", "--as-of", "2016-12-31", "--json").output)

    assert list(record) == [*formats.STATUS_COLUMNS, "as_of", "known_at"]
    for key in ("valid_from", "valid_until", "certified_since", "as_of"):
        assert ISO_DATE.match(record[key]), key
    assert record["known_at"].endswith("Z")


def test_csv_output_has_a_stable_header_for_lists(db: str) -> None:
    first = run(db, "status", "--as-of", "2016-12-31", "--csv").output
    again = run(db, "status", "--as-of", "2017-12-31", "--csv").output

    rows = list(csv.reader(io.StringIO(first)))
    assert rows[0] == formats.status_csv_columns()
    assert rows[0] == next(csv.reader(io.StringIO(again)))
    assert [row[0] for row in rows[1:]] == ["cecomip", "oro-puno"]


def test_history_is_a_table_by_default_and_the_same_bytes_as_json(db: str) -> None:
    table = run(db, "history", "cecomip").output
    once = run(db, "history", "cecomip", "--json").output
    twice = run(db, "history", "cecomip", "--json").output

    assert table.splitlines()[0].split() == ["position", "version", "type", "date", "details", "retracted"]
    assert once == twice


@pytest.mark.parametrize("args", [
    ["status"], ["status", "--json"], ["status", "--csv"], ["status", "cecomip"], ["history", "cecomip"],
    ["history", "cecomip", "--csv"], ["export"],
])
def test_no_colour_is_written_when_output_is_not_a_terminal(db: str, args: list[str]) -> None:
    assert ANSI_ESCAPE not in run(db, *args).output
