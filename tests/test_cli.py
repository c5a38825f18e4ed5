"""The command line through click's CliRunner: every recording command, status, history, and errors."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path
from typing import Any, Iterator

import pytest
from click.testing import CliRunner, Result

from cli import cli
from ledger.application import CertificationLedger

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

STATUS_KEYS = ["org", "name", "country", "status", "standard", "certificate", "valid_from", "valid_until",
               "certified_since", "consecutive_years", "recertifications", "standard_years", "suspended_since",
               "last_denial", "withdrawn_on", "open_findings", "as_of", "known_at"]
HISTORY_KEYS = ["position", "version", "recorded_at", "recorded_by", "type", "date", "fields", "retracted",
                "retracted_by"]


class Cli:
    """Runs certledger against one database and can tell whether anything was written."""

    def __init__(self, db_url: str):
        self.db_url = db_url
        self.runner = CliRunner()

    def __call__(self, *args: str, env: dict[str, str] | None = None) -> Result:
        return self.runner.invoke(cli, ["--db", self.db_url, *args], env=env)

    def ok(self, *args: str) -> str:
        result = self(*args)
        assert result.exit_code == 0, result.stderr
        assert result.stderr == ""
        return result.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json"))

    def stored_rows_digest(self) -> str:
        ledger = CertificationLedger(self.db_url)
        try:
            rows = ledger.recorder.select_notifications(start=1, limit=10**9)
        finally:
            ledger.close()
        digest = hashlib.sha256()
        for row in rows:
            digest.update(f"{row.id}|{row.originator_id}|{row.originator_version}|{row.topic}|".encode())
            digest.update(bytes(row.state))
        return f"{len(rows)}:{digest.hexdigest()}"

    def error(self, *args: str, exit_code: int = 1) -> str:
        """Run a command that must fail, write nothing and print one clean error; return the message."""
        before = self.stored_rows_digest()
        result = self(*args)
        assert result.exit_code == exit_code, (result.stdout, result.stderr)
        assert self.stored_rows_digest() == before, "a refused command must write nothing"
        assert result.stdout == ""
        assert "Traceback" not in result.stderr
        assert result.exception is None or isinstance(result.exception, SystemExit)
        if exit_code == 1:
            assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, result.stderr
            return result.stderr[len("Error: "):].rstrip("\n")
        assert "Error: " in result.stderr
        return result.stderr


@pytest.fixture
def run(db_url: str) -> Iterator[Cli]:
    yield Cli(db_url)


@pytest.fixture
def cecomip(run: Cli) -> Cli:
    """CECOMIP registered in 2016 and certified from 2016-06-15 to 2017-06-14 (certificate FM-PE-0001)."""
    run.ok("register", "cecomip", "--name", "CECOMIP", "--country", "PE", "--date", "2016-01-10")
    run.ok("certify", "cecomip", "--date", "2016-06-15", "--standard", "fairmined", "--certificate", "FM-PE-0001")
    return run


@pytest.fixture
def fairmined_2019(run: Cli) -> Cli:
    ledger = CertificationLedger(run.db_url)
    try:
        for line in (EXAMPLES / "fairmined-2019.jsonl").read_text(encoding="utf-8").splitlines():
            ledger.record(json.loads(line))
    finally:
        ledger.close()
    return run


# ---------------------------------------------------------------- recording commands

def test_register_prints_the_recorded_event_and_its_position(run: Cli) -> None:
    assert run.ok("register", "cecomip", "--name", "Aurífera CECOMIP", "--country", "PE", "--region", "Puno",
                  "--legal-form", "central-cooperative", "--deposit", "alluvial", "--date", "2016-01-10") == (
        "Recorded OrganizationRegistered for cecomip at position 1 (version 1, 2016-01-10)\n")


def test_every_recording_command_records_its_event(cecomip: Cli) -> None:
    lines = [
        cecomip.ok("audit", "cecomip", "--date", "2016-08-10", "--body", "IMO Swiss AG", "--kind", "surveillance",
                   "--reference", "IMO-1", "--finding", "minor:health-safety:first aid",
                   "--finding", "observation:traceability:paper register"),
        cecomip.ok("deny", "cecomip", "--date", "2016-08-20", "--reason-category", "commercial",
                   "--reason", "commercial requirements not met"),
        cecomip.ok("suspend", "cecomip", "--date", "2016-09-01", "--reason", "traceability",
                   "--resolve-by", "2016-10-31"),
        cecomip.ok("reinstate", "cecomip", "--date", "2016-10-15"),
        cecomip.ok("extend", "cecomip", "--date", "2017-04-15", "--until", "2017-08-14", "--reason", "halted"),
        cecomip.ok("recertify", "cecomip", "--date", "2017-08-01", "--standard", "ecological",
                   "--valid-until", "2018-06-30", "--audit", "IMO-1"),
        cecomip.ok("withdraw", "cecomip", "--date", "2018-01-10", "--imposed", "--reason", "mercury found"),
        cecomip.ok("retract", "cecomip", "4", "--date", "2018-01-12", "--reason", "wrong organization"),
        cecomip.ok("certify", "cecomip", "--date", "2018-02-01", "--standard", "ecological",
                   "--valid-until", "2018-12-31", "--audit", "IMO-1"),
    ]
    assert [line.split(" at position")[0] for line in lines] == [
        "Recorded AuditConducted for cecomip", "Recorded CertificationDenied for cecomip",
        "Recorded CertificationSuspended for cecomip", "Recorded SuspensionLifted for cecomip",
        "Recorded ValidityExtended for cecomip", "Recorded Recertified for cecomip",
        "Recorded CertificationWithdrawn for cecomip", "Recorded EntryRetracted for cecomip",
        "Recorded CertificationGranted for cecomip"]
    assert lines[-1] == "Recorded CertificationGranted for cecomip at position 11 (version 11, 2018-02-01)\n"
    history = cecomip.json("history", "cecomip")
    assert history[7]["fields"] == {"standard": "ecological", "certificate": "FM-PE-0001",
                                    "valid_from": "2017-08-15", "valid_until": "2018-06-30", "audit": "IMO-1"}
    assert history[2]["fields"]["findings"] == [
        {"severity": "minor", "category": "health-safety", "text": "first aid"},
        {"severity": "observation", "category": "traceability", "text": "paper register"}]
    assert (history[3]["fields"]["stage"], history[3]["retracted"], history[8]["fields"]["mode"]) == (
        "recertification", True, "imposed")


def test_withdraw_voluntary_records_the_mode(cecomip: Cli) -> None:
    cecomip.ok("withdraw", "cecomip", "--date", "2016-12-01", "--voluntary", "--reason", "internal reasons")
    assert cecomip.json("history", "cecomip")[-1]["fields"] == {"mode": "voluntary", "reason": "internal reasons"}


def test_a_recording_command_with_json_prints_the_event(cecomip: Cli) -> None:
    event = cecomip.json("suspend", "cecomip", "--date", "2016-09-01", "--reason", "traceability")
    assert list(event) == HISTORY_KEYS
    assert {k: v for k, v in event.items() if k != "recorded_at"} == {
        "position": 3, "version": 3, "recorded_by": "tester", "type": "CertificationSuspended",
        "date": "2016-09-01", "fields": {"reason": "traceability", "resolve_by": None},
        "retracted": False, "retracted_by": None}
    assert event == cecomip.json("history", "cecomip")[-1]


def test_by_names_who_records_else_the_environment(run: Cli) -> None:
    run.ok("--by", "maria", "register", "cecomip", "--name", "CECOMIP", "--country", "PE", "--date", "2016-01-10")
    result = run("audit", "cecomip", "--date", "2016-02-01", "--body", "IMO", "--kind", "initial",
                 env={"CERTLEDGER_USER": "jose"})
    assert result.exit_code == 0
    assert [e["recorded_by"] for e in run.json("history", "cecomip")] == ["maria", "jose"]


def test_the_database_may_come_from_the_environment(db_url: str) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["register", "cecomip", "--name", "C", "--country", "PE", "--date", "2016-01-10"],
                           env={"CERTLEDGER_DB": db_url})
    assert result.exit_code == 0, result.stderr
    assert Cli(db_url).json("history", "cecomip")[0]["type"] == "OrganizationRegistered"


# ---------------------------------------------------------------- status

def test_status_json_has_the_shape_of_the_spec(fairmined_2019: Cli) -> None:
    record = fairmined_2019.json("status", "cecomip", "--as-of", "2019-12-31")
    assert list(record) == STATUS_KEYS
    assert record["known_at"].endswith("Z")
    assert {k: v for k, v in record.items() if k != "known_at"} == {
        "org": "cecomip", "name": "Central de Cooperativas Minero Metalúrgicas de Puno Ltda. (CECOMIP)",
        "country": "PE", "status": "certified", "standard": "fairmined", "certificate": "FM-PE-2016-01",
        "valid_from": "2019-06-15", "valid_until": "2020-06-14", "certified_since": "2016-06-15",
        "consecutive_years": 4, "recertifications": 3, "standard_years": 4, "suspended_since": None,
        "last_denial": None, "withdrawn_on": None, "open_findings": {"major": 0, "minor": 2}, "as_of": "2019-12-31"}


def test_as_of_2019_cecomip_and_oro_puno_have_their_streaks(fairmined_2019: Cli) -> None:
    streaks = {r["org"]: (r["consecutive_years"], r["recertifications"])
               for r in fairmined_2019.json("status", "--as-of", "2019-12-31")}
    assert (streaks["cecomip"], streaks["oro-puno"]) == ((4, 3), (2, 1))


def test_status_of_all_is_a_list_of_records_sorted_by_organization(fairmined_2019: Cli) -> None:
    records = fairmined_2019.json("status", "--as-of", "2019-12-31")
    assert [r["org"] for r in records] == sorted(r["org"] for r in records)
    assert all(list(r) == STATUS_KEYS for r in records)


def test_status_prints_a_readable_record(fairmined_2019: Cli) -> None:
    out = fairmined_2019.ok("status", "oro-puno", "--as-of", "2019-12-31")
    assert "status             certified\n" in out
    assert "consecutive_years  2\n" in out
    assert "last_denial        -\n" in out


def test_status_of_all_prints_a_table_with_one_row_each(fairmined_2019: Cli) -> None:
    lines = fairmined_2019.ok("status", "--as-of", "2019-12-31").splitlines()
    assert lines[0].split()[:4] == ["org", "name", "country", "status"]
    assert len(lines) == 2 + len(fairmined_2019.json("status", "--as-of", "2019-12-31"))


def test_status_csv_has_the_fixed_header_and_a_denial_as_json_text_in_one_cell(fairmined_2019: Cli) -> None:
    rows = list(csv.DictReader(io.StringIO(fairmined_2019.ok("status", "--as-of", "2019-12-31", "--csv"))))
    assert list(rows[0]) == ["org", "name", "country", "status", "standard", "certificate", "valid_from",
                             "valid_until", "certified_since", "consecutive_years", "recertifications",
                             "standard_years", "suspended_since", "last_denial", "withdrawn_on", "open_findings",
                             "as_of", "known_at"]
    xamodx = next(row for row in rows if row["org"] == "xamodx")
    assert json.loads(xamodx["last_denial"]) == {
        "date": "2019-05-29", "stage": "recertification", "reason_category": "health-safety",
        "reason": "health and safety conditions do not meet the requirements of the standard"}


def test_status_known_at_before_a_back_dated_event_does_not_show_it(cecomip: Cli) -> None:
    cecomip.ok("audit", "cecomip", "--date", "2016-12-01", "--body", "IMO", "--kind", "surveillance")
    recorded = cecomip.json("suspend", "cecomip", "--date", "2016-09-01", "--reason", "found late")
    before = cecomip.json("status", "cecomip", "--as-of", "2016-12-31", "--known-at", str(recorded["position"] - 1))
    after = cecomip.json("status", "cecomip", "--as-of", "2016-12-31", "--known-at", str(recorded["position"]))
    by_instant = cecomip.json("status", "cecomip", "--as-of", "2016-12-31", "--known-at", recorded["recorded_at"])
    assert (before["status"], after["status"], by_instant["status"]) == ("certified", "suspended", "suspended")
    assert after["known_at"] == by_instant["known_at"] == recorded["recorded_at"]


def test_status_before_the_registration_date_fails(cecomip: Cli) -> None:
    assert cecomip.error("status", "cecomip", "--as-of", "2015-12-31") == (
        "cecomip is not registered on 2015-12-31 (registered on 2016-01-10)")


def test_status_of_all_before_any_registration_is_empty(cecomip: Cli) -> None:
    assert cecomip.json("status", "--as-of", "2015-12-31") == []


# ---------------------------------------------------------------- history

def test_history_lists_every_event_in_position_order_with_retractions_marked(cecomip: Cli) -> None:
    cecomip.ok("suspend", "cecomip", "--date", "2016-09-01", "--reason", "wrong org")
    cecomip.ok("retract", "cecomip", "3", "--date", "2016-09-02", "--reason", "wrong org")
    history = cecomip.json("history", "cecomip")
    assert [(e["position"], e["version"], e["type"], e["retracted"]) for e in history] == [
        (1, 1, "OrganizationRegistered", False), (2, 2, "CertificationGranted", False),
        (3, 3, "CertificationSuspended", True), (4, 4, "EntryRetracted", False)]
    assert all(list(e) == HISTORY_KEYS for e in history)
    table = cecomip.ok("history", "cecomip").splitlines()
    assert table[0].split() == ["position", "version", "type", "date", "details", "retracted"]
    assert table[4].rstrip().endswith("by v4")
    wide = cecomip.ok("history", "cecomip", "--wide").splitlines()
    assert wide[0].split() == ["position", "version", "recorded_at", "recorded_by", "type", "date", "details",
                               "retracted"]


def test_history_json_gives_the_same_bytes_every_time(cecomip: Cli) -> None:
    assert cecomip.ok("history", "cecomip", "--json") == cecomip.ok("history", "cecomip", "--json")


def test_history_known_at_shows_what_was_recorded_by_then(cecomip: Cli) -> None:
    assert len(cecomip.json("history", "cecomip", "--known-at", "1")) == 1


def test_history_csv_has_one_line_per_event(cecomip: Cli) -> None:
    assert len(cecomip.ok("history", "cecomip", "--csv").splitlines()) == 3


# ---------------------------------------------------------------- every rule refuses: exit 1, nothing written

RULE_REFUSALS = [
    pytest.param(["audit", "cecomip", "--date", "2015-12-01", "--body", "IMO", "--kind", "initial"],
                 "audit on 2015-12-01 refused: 2015-12-01 is before the registration on 2016-01-10",
                 id="before-registration"),
    pytest.param(["audit", "cecomip", "--date", "2999-01-01", "--body", "IMO", "--kind", "initial"],
                 "date: 2999-01-01 is in the future (the ledger records facts, not plans)", id="future"),
    pytest.param(["register", "cecomip", "--name", "Again", "--country", "PE", "--date", "2016-02-01"],
                 "organization cecomip is already registered", id="registered-twice"),
    pytest.param(["certify", "cecomip", "--date", "2016-09-01", "--standard", "fairmined"],
                 "certify on 2016-09-01 refused: the organization is already certified on 2016-09-01 "
                 "(certificate valid 2016-06-15 to 2017-06-14); a current certificate is renewed with recertify",
                 id="certify-while-certified"),
    pytest.param(["recertify", "cecomip", "--date", "2017-07-01"],
                 "recertify on 2017-07-01 refused: the certificate expired after 2017-06-14, so on 2017-07-01 "
                 "there is nothing to renew; grant a new certificate with certify", id="recertify-expired"),
    pytest.param(["recertify", "cecomip", "--date", "2015-12-31"],
                 "recertify on 2015-12-31 refused: 2015-12-31 is before the registration on 2016-01-10",
                 id="recertify-before-registration"),
    pytest.param(["recertify", "cecomip", "--date", "2016-05-01"],
                 "recertify on 2016-05-01 refused: the organization is not certified on 2016-05-01; "
                 "use certify for a first certificate", id="recertify-never-certified"),
    pytest.param(["recertify", "cecomip", "--date", "2017-05-01", "--valid-until", "2017-06-01"],
                 "recertify on 2017-05-01 refused: valid_until 2017-06-01 is before valid_from 2017-06-15",
                 id="recertify-ends-before-start"),
    pytest.param(["reinstate", "cecomip", "--date", "2016-09-01"],
                 "reinstate on 2016-09-01 refused: only a suspended certificate can be reinstated, and the "
                 "organization is certified on 2016-09-01", id="reinstate-not-suspended"),
    pytest.param(["suspend", "cecomip", "--date", "2016-09-01", "--reason", "x", "--resolve-by", "2016-08-31"],
                 "resolve_by 2016-08-31 is before the suspension's date 2016-09-01", id="resolved-before-suspended"),
    pytest.param(["suspend", "cecomip", "--date", "2016-03-01", "--reason", "x"],
                 "suspend on 2016-03-01 refused: only a certified organization can be suspended, and it is "
                 "registered on 2016-03-01", id="suspend-not-certified"),
    pytest.param(["extend", "cecomip", "--date", "2017-07-01", "--until", "2017-12-31", "--reason", "x"],
                 "extend on 2017-07-01 refused: only a current certificate can be extended, and the organization "
                 "is expired on 2017-07-01", id="extend-expired"),
    pytest.param(["extend", "cecomip", "--date", "2017-01-01", "--until", "2017-06-01", "--reason", "x"],
                 "extend on 2017-01-01 refused: the extension must end after the current valid_until 2017-06-14 "
                 "(got 2017-06-01)", id="extend-not-later"),
    pytest.param(["withdraw", "cecomip", "--date", "2017-07-01", "--voluntary", "--reason", "x"],
                 "withdraw on 2017-07-01 refused: only a current certificate can be withdrawn, and the "
                 "organization is expired on 2017-07-01", id="withdraw-expired"),
    pytest.param(["retract", "cecomip", "1", "--date", "2016-07-01", "--reason", "x"],
                 "retract of version 1 on 2016-07-01 refused: the registration cannot be retracted",
                 id="retract-registration"),
    pytest.param(["retract", "cecomip", "2", "--date", "2016-06-01", "--reason", "x"],
                 "retract of version 2 on 2016-06-01 refused: the correction is dated before the event it retracts "
                 "(CertificationGranted of 2016-06-15 (version 2))", id="retract-before-target"),
    pytest.param(["retract", "cecomip", "5", "--date", "2016-07-01", "--reason", "x"],
                 "retract of version 5 on 2016-07-01 refused: cecomip has no version 5 (it has 1 to 2)",
                 id="retract-unknown-version"),
    pytest.param(["certify", "cecomip", "--date", "2017-07-01", "--standard", "fairmined",
                  "--valid-until", "2017-06-30"],
                 "certify on 2017-07-01 refused: valid_until 2017-06-30 is before valid_from 2017-07-01",
                 id="certify-ends-before-start"),
    pytest.param(["certify", "cecomip", "--date", "2017-07-01", "--standard", "fairmined",
                  "--certificate", "FM-PE-0001"],
                 "certify on 2017-07-01 refused: certificate FM-PE-0001 is already held by cecomip (version 2); "
                 "certificate numbers are unique in the ledger, letter case aside", id="certificate-number-taken"),
    pytest.param(["certify", "nobody", "--date", "2017-07-01", "--standard", "fairmined"],
                 "unknown organization nobody (register it first)", id="unknown-organization"),
]


@pytest.mark.parametrize("args, message", RULE_REFUSALS)
def test_a_refused_command_prints_the_rule_exits_1_and_writes_nothing(cecomip: Cli, args: list[str],
                                                                      message: str) -> None:
    assert cecomip.error(*args) == message


def test_a_refusal_that_depends_on_history_writes_nothing(cecomip: Cli) -> None:
    cecomip.ok("recertify", "cecomip", "--date", "2017-05-24")
    # The period named is the one that covers the day, not the renewal decided to start after it.
    assert cecomip.error("certify", "cecomip", "--date", "2017-06-01", "--standard", "fairmined") == (
        "certify on 2017-06-01 refused: the organization is already certified on 2017-06-01 (certificate valid "
        "2016-06-15 to 2017-06-14); a current certificate is renewed with recertify")
    cecomip.ok("suspend", "cecomip", "--date", "2017-09-01", "--reason", "x")
    assert cecomip.error("recertify", "cecomip", "--date", "2017-06-01").endswith("a period is renewed only once")
    assert cecomip.error("suspend", "cecomip", "--date", "2017-10-01", "--reason", "x").startswith(
        "suspend on 2017-10-01 refused: only a certified organization can be suspended, and it is suspended")
    assert cecomip.error("recertify", "cecomip", "--date", "2017-10-01").endswith(
        "reinstate it before renewing (an extension keeps it from expiring meanwhile)")
    assert cecomip.error("extend", "cecomip", "--date", "2017-06-01", "--until", "2017-12-31", "--reason", "x") == (
        "extend on 2017-06-01 refused: the period covering 2017-06-01 was already renewed on 2017-05-24; "
        "only the latest period can be extended")
    assert cecomip.error("withdraw", "cecomip", "--date", "2017-05-01", "--imposed", "--reason", "x").startswith(
        "withdraw on 2017-05-01 refused: it would invalidate the later Recertified of 2017-05-24 (version 3)")
    cecomip.ok("retract", "cecomip", "4", "--date", "2017-09-02", "--reason", "x")
    assert cecomip.error("retract", "cecomip", "4", "--date", "2017-09-03", "--reason", "x") == (
        "retract of version 4 on 2017-09-03 refused: version 4 is already retracted")
    assert cecomip.error("retract", "cecomip", "5", "--date", "2017-09-03", "--reason", "x") == (
        "retract of version 5 on 2017-09-03 refused: a retraction cannot be retracted")
    assert cecomip.error("retract", "cecomip", "2", "--date", "2017-09-03", "--reason", "x").startswith(
        "retract of version 2 on 2017-09-03 refused: it would invalidate the later Recertified of 2017-05-24")


@pytest.mark.parametrize("args, message", [
    (["register", "Bad", "--name", "X", "--country", "PE", "--date", "2016-01-10"], "org: 'Bad' is not a valid"),
    (["register", "new-org", "--name", " ", "--country", "PE", "--date", "2016-01-10"], "name: must not be empty"),
    (["register", "new-org", "--name", "X", "--country", "XX", "--date", "2016-01-10"],
     "country: 'XX' is not an ISO 3166-1 alpha-2 country code: it names no country"),
    (["audit", "cecomip", "--date", "2023-02-29", "--body", "X", "--kind", "initial"],
     "date: '2023-02-29' is not a real calendar date"),
    (["audit", "cecomip", "--date", "2016-07-01", "--body", "X", "--kind", "initial", "--finding", "bad"],
     "finding.0: 'bad' is not SEVERITY:CATEGORY:TEXT"),
    (["extend", "cecomip", "--date", "2016-07-01", "--until", "soon", "--reason", "x"],
     "until: 'soon' is not a calendar date"),
    (["status", "cecomip", "--as-of", "2019-02-30"], "--as-of: '2019-02-30' is not a real calendar date"),
    (["status", "cecomip", "--as-of", "２０１９-０１-０１"], "--as-of: '２０１９-０１-０１' is not a calendar date (YYYY-MM-DD)"),
    (["status", "cecomip", "--known-at", "last week"], "--known-at: 'last week' is neither a ledger position"),
    (["history", "nobody"], "unknown organization nobody"),
])
def test_bad_input_prints_one_error_line_and_exits_1(cecomip: Cli, args: list[str], message: str) -> None:
    assert cecomip.error(*args).startswith(message)


@pytest.mark.parametrize("args", [
    ["certify", "cecomip", "--standard", "fairmined"],
    ["certify", "cecomip", "--date", "2017-07-01", "--standard", "gold"],
    ["withdraw", "cecomip", "--date", "2016-07-01", "--reason", "x"],
    ["withdraw", "cecomip", "--date", "2016-07-01", "--voluntary", "--imposed", "--reason", "x"],
    ["retract", "cecomip", "0", "--date", "2016-07-01", "--reason", "x"],
    ["retract", "cecomip", "two", "--date", "2016-07-01", "--reason", "x"],
    ["register", "x1", "--name", "X", "--country", "PE", "--date", "2016-01-10", "--legal-form", "cartel"],
    ["promote", "cecomip"],
    ["status", "--bogus"],
])
def test_usage_errors_exit_2_and_write_nothing(cecomip: Cli, args: list[str]) -> None:
    cecomip.error(*args, exit_code=2)


def test_a_query_on_a_missing_database_fails_without_creating_it(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    result = CliRunner().invoke(cli, ["--db", str(missing), "status"])
    assert (result.exit_code, result.stderr.startswith(f"Error: no ledger at {missing}")) == (1, True)
    assert not missing.exists()


def test_a_directory_is_not_a_database(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--db", str(tmp_path), "register", "cecomip", "--name", "C",
                                      "--country", "PE", "--date", "2016-01-10"])
    assert (result.exit_code, result.stderr) == (1, f"Error: cannot open database {tmp_path}: it is a directory\n")


def test_a_file_that_is_not_a_ledger_is_refused(tmp_path: Path) -> None:
    text = tmp_path / "notes.db"
    text.write_text("not a database")
    result = CliRunner().invoke(cli, ["--db", str(text), "status"])
    assert result.exit_code == 1
    assert result.stderr == f"Error: {text} is not a certledger database (not an SQLite file)\n"
    assert text.read_text() == "not a database"


def test_version_and_help(run: Cli) -> None:
    assert run.ok("--version").startswith("certledger, version ")
    assert "Usage:" in run.ok("-h")
    assert "certledger certify" in run.ok("certify", "--help")
