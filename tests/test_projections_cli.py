"""The registry query commands: streaks, registry, report, changes, rebuild, and status of all."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import cli
from ledger.application import CertificationLedger
from projections import Views

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture
def run(db_url: str):
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(cli, ["--db", db_url, *args], catch_exceptions=False)

    return invoke


@pytest.fixture
def demo(ledger: CertificationLedger) -> CertificationLedger:
    for line in (EXAMPLES / "fairmined-2019.jsonl").read_text(encoding="utf-8").splitlines():
        ledger.record(json.loads(line))
    return ledger


def test_recording_commands_keep_the_views_caught_up(run, ledger: CertificationLedger) -> None:
    assert run("register", "cecomip", "--name", "CECOMIP", "--country", "PE", "--date", "2016-01-10").exit_code == 0
    assert run("certify", "cecomip", "--date", "2016-06-15", "--standard", "fairmined").exit_code == 0
    assert Views(ledger.log).tracked_position() == 2


def test_registry_as_of_a_date_lists_the_certified_organizations(run, demo: CertificationLedger) -> None:
    result = run("registry", "--as-of", "2019-12-31", "--status", "certified", "--json")
    assert result.exit_code == 0, result.output
    records = json.loads(result.output)
    assert [r["org"] for r in records] == ["cecomip", "oro-puno"]
    assert records[0]["as_of"] == "2019-12-31" and records[0]["consecutive_years"] == 4


def test_registry_filters_combine_and_repeat(run, demo: CertificationLedger) -> None:
    result = run("registry", "--as-of", "2019-12-31", "--status", "expired", "--status", "withdrawn",
                 "--country", "BO", "--json")
    assert [r["org"] for r in json.loads(result.output)] == ["aurifera-yani"]
    result = run("registry", "--as-of", "2019-12-31", "--standard", "ecological", "--json")
    assert [r["org"] for r in json.loads(result.output)] == ["oro-puno", "xamodx"]


def test_registry_prints_a_table_and_csv(run, demo: CertificationLedger) -> None:
    table = run("registry", "--as-of", "2019-12-31").output.splitlines()
    assert table[0].split()[:4] == ["org", "name", "country", "status"]
    assert len(table) == 2 + 5
    rows = list(csv.DictReader(io.StringIO(run("registry", "--as-of", "2019-12-31", "--csv").output)))
    assert [(r["org"], r["status"]) for r in rows] == [("aurifera-yani", "expired"), ("cecomip", "certified"),
                                                      ("la-cascada", "withdrawn"), ("oro-puno", "certified"),
                                                      ("xamodx", "expired")]
    assert json.loads(rows[0]["last_denial"])["reason_category"] == "commercial"


def test_status_of_all_answers_from_the_projection(run, demo: CertificationLedger) -> None:
    result = run("status", "--as-of", "2019-12-31", "--json")
    records = json.loads(result.output)
    expected = demo.statuses("2019-12-31")
    assert [{k: v for k, v in r.items() if k != "known_at"} for r in records] == [
        {k: v for k, v in r.items() if k != "known_at"} for r in expected]


def test_streaks_are_longest_first(run, demo: CertificationLedger) -> None:
    result = run("streaks", "--as-of", "2019-12-31", "--json")
    assert [(r["org"], r["consecutive_years"]) for r in json.loads(result.output)] == [("cecomip", 4),
                                                                                       ("oro-puno", 2)]
    rows = list(csv.DictReader(io.StringIO(run("streaks", "--as-of", "2019-12-31", "--csv").output)))
    assert [r["org"] for r in rows] == ["cecomip", "oro-puno"]


def test_report_for_a_year_as_json(run, demo: CertificationLedger) -> None:
    result = run("report", "--year", "2019", "--json")
    report = json.loads(result.output)
    assert report["from"] == "2019-01-01" and report["to"] == "2019-12-31"
    assert report["certified_at_end"] == 2
    assert [(r["org"], r["consecutive_years"]) for r in report["recertified"]] == [("oro-puno", 2), ("cecomip", 4)]


def test_report_as_a_table_names_each_section(run, demo: CertificationLedger) -> None:
    text = run("report", "--from", "2019-01-01", "--to", "2019-12-31").output
    assert text.startswith("Report 2019-01-01 to 2019-12-31\nCertified at the end: 2 (cecomip, oro-puno)\n")
    for heading in ("Newly certified: 0", "Recertified: 2", "Denied: 2", "Suspended: 0", "Withdrawn: 1",
                    "Expired: 2"):
        assert heading in text


@pytest.mark.parametrize("args", [
    ("report",),
    ("report", "--from", "2019-01-01"),
    ("report", "--to", "2019-12-31"),
    ("report", "--year", "2019", "--from", "2019-01-01", "--to", "2019-12-31"),
    ("report", "--from", "2019-12-31", "--to", "2019-01-01"),
    ("report", "--year", "nineteen"),
    ("registry", "--status", "valid"),
    ("changes", "--since", "-1"),
    ("changes", "--limit", "many"),
])
def test_usage_errors_exit_2(run, demo: CertificationLedger, args: tuple[str, ...]) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert "Error:" in result.output


@pytest.mark.parametrize("args, message", [
    (("registry", "--country", "xx"), "Error: --country: 'xx' is not an ISO 3166-1 alpha-2 country code: it names no country"),
    (("registry", "--as-of", "2019-02-30"), "Error: --as-of:"),
    (("report", "--from", "2019-02-30", "--to", "2019-12-31"), "Error: --from:"),
    (("streaks", "--known-at", "yesterday"), "Error: --known-at:"),
])
def test_bad_values_exit_1_with_one_error_line(run, demo: CertificationLedger, args: tuple[str, ...],
                                               message: str) -> None:
    result = run(*args)
    assert result.exit_code == 1
    assert result.output.startswith(message)
    assert "Traceback" not in result.output


def test_queries_on_a_missing_ledger_fail_without_creating_it(tmp_path: Path) -> None:
    missing = tmp_path / "none.db"
    result = CliRunner().invoke(cli, ["--db", str(missing), "registry"])
    assert result.exit_code == 1 and result.output.startswith("Error: no ledger at")
    assert not missing.exists()


def test_changes_pages_through_the_feed(run, demo: CertificationLedger) -> None:
    page = json.loads(run("changes", "--since", "30", "--limit", "3", "--json").output)
    assert [(e["position"], e["org"], e["type"]) for e in page] == [
        (31, "aurifera-yani", "CertificationDenied"), (32, "oro-puno", "AuditConducted"),
        (33, "oro-puno", "Recertified")]
    assert set(page[0]) == {"position", "org", "version", "recorded_at", "recorded_by", "type", "date", "fields",
                            "retracted", "retracted_by"}
    assert len(json.loads(run("changes", "--json").output)) == 38
    table = run("changes", "--since", "36").output.splitlines()
    assert table[0].split()[:3] == ["position", "org", "version"] and len(table) == 4
    rows = list(csv.DictReader(io.StringIO(run("changes", "--since", "37", "--csv").output)))
    assert rows[0]["org"] == "la-cascada" and json.loads(rows[0]["fields"])["mode"] == "voluntary"


def test_known_at_answers_what_the_ledger_said_then(run, demo: CertificationLedger) -> None:
    now = json.loads(run("registry", "--as-of", "2019-12-31", "--status", "certified", "--json").output)
    then = json.loads(run("registry", "--as-of", "2019-12-31", "--status", "certified", "--known-at", "30",
                          "--json").output)
    assert [r["org"] for r in now] == ["cecomip", "oro-puno"]
    assert then == []  # before position 33 and 36 the 2019 renewals were not yet recorded
    report = json.loads(run("report", "--year", "2019", "--known-at", "33", "--json").output)
    assert [r["org"] for r in report["recertified"]] == ["oro-puno"]
    assert [e["position"] for e in json.loads(run("changes", "--since", "30", "--known-at", "33",
                                                  "--json").output)] == [31, 32, 33]


def test_rebuild_prints_a_summary_and_changes_no_answer(run, demo: CertificationLedger) -> None:
    before = [run("registry", "--as-of", day, "--json").output for day in ("2017-12-31", "2019-12-31")]
    report = run("report", "--year", "2019", "--json").output
    result = run("rebuild")
    assert result.exit_code == 0
    assert result.output.startswith("Rebuilt the projections: 38 events replayed, 5 organizations, ")
    after = [run("registry", "--as-of", day, "--json").output for day in ("2017-12-31", "2019-12-31")]
    strip = lambda out: [{k: v for k, v in r.items() if k != "known_at"} for r in json.loads(out)]  # noqa: E731
    assert [strip(o) for o in after] == [strip(o) for o in before]
    assert run("report", "--year", "2019", "--json").output == report


def test_a_back_dated_suspension_recorded_today_shows_in_the_registry_for_the_past(run,
                                                                                  demo: CertificationLedger) -> None:
    assert run("suspend", "cecomip", "--date", "2019-09-01", "--reason", "traceability records missing").exit_code == 0
    result = run("registry", "--as-of", "2019-10-01", "--status", "suspended", "--json")
    assert [r["org"] for r in json.loads(result.output)] == ["cecomip"]
    result = run("registry", "--as-of", "2019-08-31", "--status", "suspended", "--json")
    assert json.loads(result.output) == []
