"""Bulk import and export: atomic, idempotent, streaming; export -> import gives the same answers."""

from __future__ import annotations

import hashlib
import json
import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Iterable

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli import cli
from ledger.transfer import export, line_files
from ledger.transfer import importing as bulk
from ledger.domain import commands as cmd
from ledger.application import CertificationLedger
from ledger.errors import LedgerError

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

HISTORY = [
    {"command": "register", "org": "cecomip", "date": "2015-01-10", "name": "CECOMIP", "country": "PE",
     "legal_form": "cooperative"},
    {"command": "register", "org": "oro-puno", "date": "2015-02-01", "name": "Oro Puno", "country": "PE"},
    {"command": "audit", "org": "cecomip", "date": "2015-05-20", "body": "IMO Swiss AG", "kind": "initial",
     "finding": ["minor:health-safety:first aid kits incomplete", "observation:traceability:logbook late"]},
    {"command": "certify", "org": "cecomip", "date": "2015-06-15", "standard": "fairmined", "certificate": "FM-1"},
    {"command": "certify", "org": "oro-puno", "date": "2015-07-01", "standard": "ecological"},
    {"command": "recertify", "org": "cecomip", "date": "2016-06-01"},
    {"command": "suspend", "org": "oro-puno", "date": "2015-09-01", "reason": "records missing"},
    {"command": "reinstate", "org": "oro-puno", "date": "2015-10-01"},
    {"command": "extend", "org": "cecomip", "date": "2017-05-01", "until": "2017-09-30", "reason": "halted"},
    {"command": "deny", "org": "oro-puno", "date": "2016-05-01", "reason_category": "commercial",
     "reason": "commercial requirements not met"},
    {"command": "withdraw", "org": "cecomip", "date": "2017-08-01", "mode": "voluntary", "reason": "internal"},
]


def write_jsonl(path: Path, lines: Iterable[Any]) -> Path:
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line, ensure_ascii=False)) + "\n"
                            for line in lines), encoding="utf-8")
    return path


def run(db: str, *args: str, input: str | bytes | None = None) -> Any:
    return CliRunner().invoke(cli, ["--db", db, *args], input=input, catch_exceptions=False)


def stored_digest(ledger: CertificationLedger) -> str:
    """A digest of every stored event row: any write changes it."""
    digest = hashlib.sha256()
    for row in ledger.recorder.select_rows(0, 1_000_000):
        digest.update(f"{row.position}|{row.originator_id}|{row.originator_version}|{row.topic}|".encode())
        digest.update(row.state)
    return digest.hexdigest()


def answers(ledger: CertificationLedger) -> dict[tuple[str, str], dict[str, Any]]:
    """Every organization's status record on every event date (and the day before and after each)."""
    days: set[date] = set()
    for line in export.export_lines(ledger):
        for key in ("date", "valid_until", "until"):
            if key in line:
                day = date.fromisoformat(line[key])
                days.update({day - timedelta(days=1), day, day + timedelta(days=1)})
    result = {}
    for org in ledger.organizations():
        for day in sorted(days):
            try:
                record = ledger.state_at(org, day)
            except LedgerError:
                continue
            result[(org, day.isoformat())] = {k: v for k, v in record.items() if k != "known_at"}
    return result


def import_lines(ledger: CertificationLedger, lines: Iterable[Any], **options: Any) -> bulk.ImportSummary:
    return bulk.import_lines(ledger, lines, **options)


# ---------------------------------------------------------------- importing


def test_a_json_lines_file_is_recorded_and_summarised(db_url: str, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "history.jsonl", HISTORY)

    result = run(db_url, "import", str(source))

    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Imported {len(HISTORY)} events (0 skipped as already present) from {source} in ")
    assert result.output.rstrip().endswith(" s")
    ledger = CertificationLedger(db_url)
    assert ledger.state_at("cecomip", "2016-12-31")["consecutive_years"] == 2
    assert ledger.state_at("oro-puno", "2016-05-02")["last_denial"]["stage"] == "recertification"


def test_a_csv_file_with_a_header_row_is_recorded_like_json_lines(db_url: str, tmp_path: Path) -> None:
    source = tmp_path / "history.csv"
    source.write_text(
        "command,org,date,name,country,body,kind,finding,standard,certificate,mode,reason\n"
        "register,cecomip,2015-01-10,CECOMIP,PE,,,,,,,\n"
        "audit,cecomip,2015-05-20,,,IMO Swiss AG,initial,minor:health-safety:first aid|observation:x:late,,,,\n"
        "certify,cecomip,2015-06-15,,,,,,fairmined,FM-1,,\n"
        "\n"
        "withdraw,cecomip,2015-08-01,,,,,,,,imposed,\"mercury, cyanide\"\n", encoding="utf-8")

    result = run(db_url, "import", str(source))

    assert result.exit_code == 0, result.output
    assert "Imported 4 events" in result.output
    ledger = CertificationLedger(db_url)
    findings = ledger.history("cecomip")[1]["fields"]["findings"]
    assert [f["text"] for f in findings] == ["first aid", "late"]
    assert ledger.state_at("cecomip", "2015-08-01")["status"] == "withdrawn"


def test_the_format_option_overrides_the_file_extension(db_url: str, tmp_path: Path) -> None:
    source = tmp_path / "history.txt"
    source.write_text("command,org,date,name,country\nregister,cecomip,2015-01-10,CECOMIP,PE\n", encoding="utf-8")

    result = run(db_url, "import", "--format", "csv", str(source))

    assert result.exit_code == 0, result.output
    assert "Imported 1 events" in result.output


def test_standard_input_is_read_with_a_dash(db_url: str) -> None:
    result = run(db_url, "import", "-", input="".join(json.dumps(line) + "\n" for line in HISTORY[:2]))

    assert result.exit_code == 0, result.output
    assert "Imported 2 events (0 skipped as already present) from stdin" in result.output


def test_blank_lines_are_ignored(db_url: str, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "h.jsonl", ["", json.dumps(HISTORY[0]), "   ", json.dumps(HISTORY[1])])

    assert "Imported 2 events" in run(db_url, "import", str(source)).output


def test_the_summary_is_available_as_json(db_url: str, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "h.jsonl", HISTORY[:2])

    summary = json.loads(run(db_url, "import", "--json", str(source)).output)

    assert summary["recorded"] == 2 and summary["skipped"] == 0
    assert summary["first_position"] == 1 and summary["last_position"] == 2


def test_no_progress_bar_is_drawn_when_output_is_not_a_terminal(db_url: str, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "h.jsonl", HISTORY)

    result = CliRunner().invoke(cli, ["--db", db_url, "import", str(source)])

    assert result.stderr == ""
    assert "\x1b" not in result.stdout


# ---------------------------------------------------------------- idempotence


def test_importing_the_same_file_again_records_nothing_and_counts_the_lines_skipped(db_url: str,
                                                                                      tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "history.jsonl", HISTORY)
    run(db_url, "import", str(source))
    before = stored_digest(CertificationLedger(db_url))

    result = run(db_url, "import", str(source))

    assert result.exit_code == 0, result.output
    assert f"Imported 0 events ({len(HISTORY)} skipped as already present)" in result.output
    assert stored_digest(CertificationLedger(db_url)) == before


def test_identical_lines_are_each_recorded_once_and_each_skipped_on_reimport(ledger: CertificationLedger) -> None:
    audit = {"command": "audit", "org": "cecomip", "date": "2015-05-20", "body": "IMO", "kind": "surveillance"}
    lines = [HISTORY[0], audit, audit]

    first = import_lines(ledger, lines)
    again = import_lines(ledger, lines + [audit])

    assert (first.recorded, first.skipped) == (3, 0)
    assert (again.recorded, again.skipped) == (1, 3)


def test_a_command_recorded_from_the_command_line_is_skipped_by_an_import(ledger: CertificationLedger) -> None:
    ledger.record(HISTORY[0])
    ledger.record(HISTORY[2])

    summary = import_lines(ledger, HISTORY[:4])

    assert (summary.recorded, summary.skipped) == (2, 2)


def test_a_line_whose_defaults_resolve_to_an_existing_event_is_skipped(ledger: CertificationLedger) -> None:
    import_lines(ledger, HISTORY[:4])
    resolved = {**HISTORY[3], "valid_until": "2016-06-14"}

    summary = import_lines(ledger, [resolved])

    assert (summary.recorded, summary.skipped) == (0, 1)


def test_an_export_imported_into_the_ledger_it_came_from_records_nothing(ledger: CertificationLedger,
                                                                         tmp_path: Path) -> None:
    for line in HISTORY:
        ledger.record(line)
    ledger.record({"command": "audit", "org": "cecomip", "date": "2016-05-20", "body": "IMO", "kind": "surveillance"})
    ledger.record({"command": "audit", "org": "cecomip", "date": "2016-05-20", "body": "IMO", "kind": "surveillance"},
                  again=True)
    ledger.record({"command": "retract", "org": "oro-puno", "target": 5, "date": "2016-06-01", "reason": "error"})
    before = stored_digest(ledger)
    exported = tmp_path / "export.jsonl"
    export.export_file(ledger, str(exported))

    summary = bulk.import_file(ledger, str(exported))

    assert (summary.recorded, summary.skipped) == (0, len(HISTORY) + 3)
    assert stored_digest(ledger) == before


def test_a_renewal_whose_grant_was_retracted_since_is_still_skipped_on_reimport(ledger: CertificationLedger) -> None:
    lines = [HISTORY[0], HISTORY[3], {"command": "recertify", "org": "cecomip", "date": "2016-06-01"}]
    import_lines(ledger, lines)
    ledger.record({"command": "retract", "org": "cecomip", "target": 3, "date": "2016-07-01", "reason": "error"})
    ledger.record({"command": "retract", "org": "cecomip", "target": 2, "date": "2016-07-01", "reason": "error"})

    summary = import_lines(ledger, lines)

    assert (summary.recorded, summary.skipped) == (0, 3)


# ---------------------------------------------------------------- atomic rejection


@pytest.mark.parametrize("bad_line, message", [
    ({"command": "audit", "org": "cecomip", "date": "2015-02-30", "body": "IMO", "kind": "initial"},
     "Error: line 3: date: '2015-02-30' is not a real calendar date"),
    ({"command": "certify", "org": "cecomip", "date": "2015-03-01", "standard": "gold"},
     "Error: line 3: standard: "),
    ({"command": "certify", "org": "cecomip", "date": "2015-03-01", "standard": "fairmined", "colour": "red"},
     "Error: line 3: colour: unknown field"),
    ({"command": "launch", "org": "cecomip", "date": "2015-03-01"}, "Error: line 3: command: unknown command"),
    ([1, 2, 3], "Error: line 3: a command must be a JSON object"),
    ('{"command": "audit", "org": ', "Error: line 3: not valid JSON: "),
    ("[" * 100_000 + "]" * 100_000, "Error: line 3: "),
    ('{"command": "retract", "org": "cecomip", "target": ' + "9" * 5000 + ', "date": "2015-07-01", "reason": "x"}',
     "Error: line 3: not valid JSON: a number of 5000 digits (at most 30)"),
    ({"command": "audit", "org": "cecomip", "date": "2015-07-01", "body": "IMO", "kind": "initial",
      "finding": "minor:labour:x"},
     'Error: line 3: finding: a list of "SEVERITY:CATEGORY:TEXT" strings (a repeatable option is a list)'),
    ({"command": "retract", "org": "cecomip", "target": True, "date": "2015-07-01", "reason": "x"},
     "Error: line 3: target: a version is a whole number written with the digits 0-9, as history shows it (not True)"),
    ({"command": "recertify", "org": "cecomip", "date": "2019-01-01"},
     "Error: line 3: recertify on 2019-01-01 refused: the certificate expired after 2016-06-14"),
    ({"command": "suspend", "org": "nobody", "date": "2015-03-01", "reason": "x"},
     "Error: line 3: unknown organization nobody (register it first)"),
    ({"command": "register", "org": "cecomip", "date": "2015-03-01", "name": "Other", "country": "PE"},
     "Error: line 3: organization cecomip is already registered"),
    ('{"command": "suspend", "org": "cecomip", "date": "2015-07-01", "reason": "\\ud800"}',
     "Error: line 3: reason: must be valid Unicode text"),
    (json.dumps({"command": "suspend", "org": "cecomip", "date": "2015-07-01", "reason": "x" * (1 << 20)}),
     "Error: line 3: longer than 1048576 bytes"),
])
def test_a_bad_line_rejects_the_whole_file_and_names_the_line(db_url: str, tmp_path: Path, bad_line: Any,
                                                              message: str) -> None:
    run(db_url, "import", str(write_jsonl(tmp_path / "base.jsonl", [HISTORY[0], HISTORY[1]])))
    before = stored_digest(CertificationLedger(db_url))
    certify = {"command": "certify", "org": "cecomip", "date": "2015-06-15", "standard": "fairmined"}
    source = write_jsonl(tmp_path / "bad.jsonl", [HISTORY[2], certify, bad_line, HISTORY[4]])

    result = CliRunner().invoke(cli, ["--db", db_url, "import", str(source)])

    assert result.exit_code == 1
    assert result.stderr.startswith(message), result.stderr
    assert "Traceback" not in result.stderr
    assert stored_digest(CertificationLedger(db_url)) == before


def test_a_line_validated_from_its_json_text_equals_the_same_line_parsed_as_a_mapping(
        ledger: CertificationLedger) -> None:
    import_lines(ledger, (json.loads(text) for text in (EXAMPLES / "fairmined-history.jsonl").open(encoding="utf-8")))
    exported = [json.dumps(line, ensure_ascii=False) for line in export.export_lines(ledger)]
    for text in [*(EXAMPLES / "fairmined-history.jsonl").read_text(encoding="utf-8").splitlines(), *exported]:
        fast = line_files.line_model().validate_json(text)
        slow = cmd.parse_command(json.loads(text))
        assert isinstance(fast, type(slow))
        assert fast.model_dump() == slow.model_dump()


def test_invalid_utf8_is_a_clean_line_error(db_url: str, tmp_path: Path) -> None:
    source = tmp_path / "bad.jsonl"
    source.write_bytes(json.dumps(HISTORY[0]).encode() + b"\n" + b'{"command": "\xff"}\n')

    result = CliRunner().invoke(cli, ["--db", db_url, "import", str(source)])

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: line 2: not valid UTF-8")


@pytest.mark.parametrize("text, message", [
    ("command,org,date,org\nregister,a1,2015-01-01,a1\n", "Error: line 1: duplicate column org"),
    ("command,org,date\nregister,a1,2015-01-01,extra\n", "Error: line 2: 4 cells, but the header names 3 columns"),
    ("command,org,date,name,country\nregister,a1,2015-01-01,\"A1,PE\n", "Error: line 2: not valid CSV: unexpected end of data"),
    ("command,org,date,name,country\n\nregister,a1,2015-01-01,A1,PE\nregister,a2,2015-01-01,,PE\n",
     "Error: line 4: name: Field required"),
])
def test_a_bad_csv_file_is_rejected_naming_the_line(db_url: str, tmp_path: Path, text: str, message: str) -> None:
    source = tmp_path / "bad.csv"
    source.write_text(text, encoding="utf-8")

    result = CliRunner().invoke(cli, ["--db", db_url, "import", str(source)])

    assert result.exit_code == 1
    assert result.stderr.startswith(message), result.stderr
    assert CertificationLedger(db_url).organizations() == []


def test_progress_is_reported_in_bytes_read_up_to_the_whole_file(ledger: CertificationLedger, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "h.jsonl", HISTORY)
    seen: list[int] = []

    bulk.import_file(ledger, str(source), progress=seen.append)

    assert seen == sorted(seen) and seen[-1] == source.stat().st_size


def test_a_rejection_after_many_batches_still_writes_nothing(ledger: CertificationLedger) -> None:
    lines: list[Any] = [{"command": "register", "org": f"org-{i:03d}", "date": "2015-01-01", "name": f"Org {i}",
                         "country": "PE"} for i in range(50)]
    lines.append({"command": "certify", "org": "org-007", "date": "2014-12-31", "standard": "fairmined"})
    before = stored_digest(ledger)

    with pytest.raises(LedgerError, match=r"^line 51: certify on 2014-12-31 refused: 2014-12-31 is before"):
        import_lines(ledger, lines, batch_size=7)

    assert stored_digest(ledger) == before
    assert ledger.organizations() == []


def test_a_certificate_number_already_held_rejects_the_file(ledger: CertificationLedger) -> None:
    taken = {"command": "certify", "org": "oro-puno", "date": "2015-08-01", "standard": "fairmined",
             "certificate": "FM-1"}

    with pytest.raises(LedgerError, match=r"^line 5: certify on 2015-08-01 refused: certificate FM-1 is already "
                                          r"held by cecomip \(version 2\)"):
        import_lines(ledger, [HISTORY[0], HISTORY[1], HISTORY[3], HISTORY[2], taken], batch_size=2)

    assert ledger.recorder.max_position() == 0


def test_a_certificate_number_freed_by_a_retraction_in_the_file_can_be_granted_again(
        ledger: CertificationLedger) -> None:
    lines = [HISTORY[0], HISTORY[1], HISTORY[3],
             {"command": "retract", "org": "cecomip", "target": 2, "date": "2015-07-01", "reason": "wrong org"},
             {"command": "certify", "org": "oro-puno", "date": "2015-07-02", "standard": "fairmined",
              "certificate": "FM-1"}]

    summary = import_lines(ledger, lines)

    assert summary.recorded == 5
    assert ledger.state_at("oro-puno", "2015-07-02")["certificate"] == "FM-1"


# ---------------------------------------------------------------- bounded working set


def interleaved(orgs: int, years: int) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = [{"command": "register", "org": f"org-{i:03d}", "date": "2010-01-01",
                                    "name": f"Org {i}", "country": "BO"} for i in range(orgs)]
    for year in range(2010, 2010 + years):
        for i in range(orgs):
            org = f"org-{i:03d}"
            audit = {"command": "audit", "org": org, "date": f"{year}-03-01", "body": "FLO", "kind": "surveillance"}
            lines += [audit, audit]
            verb = "certify" if year == 2010 else "recertify"
            lines.append({"command": verb, "org": org, "date": f"{year}-04-01", "standard": "fairmined"}
                         if verb == "certify" else {"command": verb, "org": org, "date": f"{year}-03-15"})
    return lines


def test_organizations_evicted_from_the_working_set_are_reloaded_with_their_line_counts(
        db_url: str, tmp_path: Path) -> None:
    lines = interleaved(orgs=6, years=4)
    lines.append(lines[6])  # the same audit again, long after its organization left the working set
    small = CertificationLedger(db_url)
    roomy = CertificationLedger(str(tmp_path / "roomy.db"))

    evicting = import_lines(small, lines, batch_size=3, max_cached_events=4)
    keeping = import_lines(roomy, lines)
    again = import_lines(small, lines, batch_size=3, max_cached_events=4)
    extra = {"command": "audit", "org": "org-001", "date": "2011-03-01", "body": "FLO", "kind": "surveillance"}
    more = import_lines(small, lines[:40] + [extra] + lines[40:] + [extra], batch_size=3, max_cached_events=4)

    assert evicting.recorded == keeping.recorded == len(lines)
    assert answers(small) == answers(roomy)
    assert [e["fields"] for e in small.history("org-003")] == [e["fields"] for e in roomy.history("org-003")]
    assert (again.recorded, again.skipped) == (0, len(lines))
    assert (more.recorded, more.skipped) == (2, len(lines))


# ---------------------------------------------------------------- export and round trip


def test_export_writes_every_event_in_position_order_with_resolved_values_and_metadata(
        ledger: CertificationLedger) -> None:
    for line in HISTORY:
        ledger.record(line, by="ana")

    lines = list(export.export_lines(ledger))

    assert [line["position"] for line in lines] == list(range(1, len(HISTORY) + 1))
    certify = lines[3]
    assert certify == {"command": "certify", "org": "cecomip", "date": "2015-06-15", "standard": "fairmined",
                       "certificate": "FM-1", "valid_until": "2016-06-14", "position": 4, "version": 3,
                       "recorded_at": certify["recorded_at"], "recorded_by": "ana"}
    assert lines[5]["standard"] == "fairmined" and "valid_from" not in lines[5]
    assert "stage" not in lines[9]
    assert lines[10]["mode"] == "voluntary"


def test_export_to_a_file_reports_the_count_and_to_stdout_prints_json_lines(db_url: str, tmp_path: Path) -> None:
    run(db_url, "import", str(write_jsonl(tmp_path / "h.jsonl", HISTORY)))
    target = tmp_path / "out.jsonl"

    to_file = run(db_url, "export", str(target))
    to_stdout = run(db_url, "export")

    assert to_file.output == f"Exported {len(HISTORY)} events to {target}\n"
    assert target.read_text(encoding="utf-8") == to_stdout.output
    assert [json.loads(line)["command"] for line in to_stdout.output.splitlines()] == \
        [line["command"] for line in HISTORY]


def test_an_export_imported_into_an_empty_ledger_answers_every_as_of_query_the_same(
        db_url: str, tmp_path: Path) -> None:
    original = CertificationLedger(db_url)
    bulk.import_file(original, str(EXAMPLES / "fairmined-history.jsonl"))
    original.record({"command": "retract", "org": "sotrami", "target": 12, "date": "2020-01-01", "reason": "error"})
    exported = tmp_path / "export.jsonl"
    export.export_file(original, str(exported))
    copy = CertificationLedger(str(tmp_path / "copy.db"))

    summary = bulk.import_file(copy, str(exported))

    expected = answers(original)
    assert summary.recorded == original.recorder.max_position()
    assert answers(copy) == expected
    assert len({org for org, _ in expected}) > 5 and len(expected) > 500


def test_csv_export_and_import_round_trip(db_url: str, tmp_path: Path) -> None:
    original = CertificationLedger(db_url)
    import_lines(original, HISTORY + [{"command": "retract", "org": "oro-puno", "target": 5, "date": "2016-06-01",
                                       "reason": "recorded twice, \"by mistake\""}])
    exported = tmp_path / "export.csv"
    export.export_file(original, str(exported))
    copy = CertificationLedger(str(tmp_path / "copy.db"))

    bulk.import_file(copy, str(exported))

    assert exported.read_text(encoding="utf-8").splitlines()[0] == ",".join(line_files.EXPORT_COLUMNS)
    assert answers(copy) == answers(original)
    assert bulk.import_file(original, str(exported)).skipped == len(HISTORY) + 1


def test_csv_export_refuses_a_finding_that_contains_the_separator(ledger: CertificationLedger,
                                                                  tmp_path: Path) -> None:
    ledger.record(HISTORY[0])
    ledger.record({"command": "audit", "org": "cecomip", "date": "2015-05-20", "body": "IMO", "kind": "initial",
                   "finding": ["minor:traceability:either|or"]})

    with pytest.raises(LedgerError, match="position 2: a finding contains '|'"):
        export.export_file(ledger, str(tmp_path / "out.csv"))

    assert not (tmp_path / "out.csv").exists()


VERBS = ("audit", "certify", "recertify", "deny", "suspend", "reinstate", "extend", "withdraw", "retract")
ORGS = ("alpha-coop", "beta-mine")


def generated_command(verb: str, org: int, day: int, variant: int) -> dict[str, Any]:
    on = (date(2014, 1, 1) + timedelta(days=day)).isoformat()
    line: dict[str, Any] = {"command": verb, "org": ORGS[org], "date": on}
    if verb == "audit":
        line.update(body="IMO", kind="surveillance", finding=["minor:labour:contracts"] * (variant % 2))
    elif verb == "certify":
        line.update(standard=("fairmined", "ecological")[variant % 2])
        if variant % 3 == 0:
            line["certificate"] = f"FM-{variant}"
    elif verb == "recertify" and variant % 2:
        line["standard"] = "ecological"
    elif verb == "deny":
        line.update(reason_category="labour", reason="contracts missing")
    elif verb == "suspend":
        line.update(reason="records missing")
    elif verb == "extend":
        line.update(until=(date(2014, 1, 1) + timedelta(days=day + 400)).isoformat(), reason="halted")
    elif verb == "withdraw":
        line.update(mode=("voluntary", "imposed")[variant % 2], reason="stopped")
    elif verb == "retract":
        line.update(target=variant + 2, reason="error")
    return line


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(VERBS), st.integers(0, 1), st.integers(0, 1500), st.integers(0, 5)),
                max_size=25))
def test_round_trip_of_any_generated_ledger_gives_the_same_answers(steps: list[tuple[str, int, int, int]]) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        original = CertificationLedger(str(Path(scratch) / "original.db"))
        for org in ORGS:
            original.record({"command": "register", "org": org, "date": "2014-01-01", "name": org, "country": "CO"})
        for verb, org, day, variant in steps:
            try:
                original.record(generated_command(verb, org, day, variant))
            except LedgerError:
                continue
        exported = Path(scratch) / "export.jsonl"
        export.export_file(original, str(exported))
        copy = CertificationLedger(str(Path(scratch) / "copy.db"))

        bulk.import_file(copy, str(exported))
        again = bulk.import_file(original, str(exported))

        assert answers(copy) == answers(original)
        assert again.recorded == 0
        original.close()
        copy.close()
