"""A ledger written by the first release opens, answers as it did, verifies, and takes new commands.

The fixture (tests/fixtures/ledger-v1.db) was written by certledger 0.1.0: its events carry the
event topics of that release (``ledger.events:...``) and its chain hashes them as stored.
Answers gained fields since (``withdrawn_on``, ``open_findings``, ...): every field the first
release gave must still be given, with the same value.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from ledger.application import CertificationLedger
from projections import Views

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def old_ledger(tmp_path: Path) -> Any:
    path = tmp_path / "ledger-v1.db"
    shutil.copy(FIXTURES / "ledger-v1.db", path)
    ledger = CertificationLedger(str(path), must_exist=True)
    yield ledger
    ledger.close()


def answers() -> dict[str, Any]:
    return json.loads((FIXTURES / "ledger-v1-answers.json").read_text(encoding="utf-8"))


def without_query_time(value: Any) -> Any:
    if isinstance(value, list):
        return [without_query_time(item) for item in value]
    if isinstance(value, dict):
        return {k: without_query_time(v) for k, v in value.items() if k != "known_at"}
    return value


# The first release showed, between a renewal's decision and the start of its period, the renewal's period;
# status now shows the period covering the as-of date (SPEC section 4: "a certificate covers D"). On those
# records only the period's fields may differ, and the period now shown must cover the date.
PERIOD_FIELDS = ("standard", "certificate", "valid_from", "valid_until", "standard_years")


def showed_a_period_not_started(old: Any) -> bool:
    return isinstance(old, dict) and isinstance(old.get("valid_from"), str) and isinstance(old.get("as_of"), str) \
        and old["valid_from"] > old["as_of"]


def keeps(old: Any, new: Any) -> bool:
    """``new`` gives every field of ``old`` with the same value (it may give more)."""
    if showed_a_period_not_started(old):
        if not (isinstance(new, dict) and new.get("valid_from", "~") <= old["as_of"] <= new.get("valid_until", "")):
            return False
        old = {k: v for k, v in old.items() if k not in PERIOD_FIELDS}
    if isinstance(old, dict):
        return isinstance(new, dict) and all(k in new and keeps(v, new[k]) for k, v in old.items())
    if isinstance(old, list):
        return isinstance(new, list) and len(old) == len(new) and all(keeps(a, b) for a, b in zip(old, new))
    return old == new


def current_answer(ledger: CertificationLedger, views: Views, question: str) -> Any:
    words = question.split()
    if words[0] in ("registry", "streaks"):
        known_at = words[3] if len(words) > 3 else None
        query = views.registry if words[0] == "registry" else views.streaks
        return without_query_time(query(words[1], known_at=known_at))
    if words[0] == "history":
        return ledger.history(words[1], known_at=words[3] if len(words) > 3 else None)
    if words[0] == "report":
        return views.year_report(int(words[1]))
    if words[0] == "changes":
        return views.changes(0, 1000)
    raise AssertionError(f"unknown question {question!r}")


def test_every_answer_of_the_first_release_is_given_again(old_ledger: CertificationLedger) -> None:
    views = Views(old_ledger.log)
    expected = answers()
    assert len(expected) > 50
    differing = [question for question, old in expected.items()
                 if not keeps(old, current_answer(old_ledger, views, question))]
    assert differing == []


def test_only_the_records_that_showed_a_period_before_it_started_now_show_another_period(
        old_ledger: CertificationLedger) -> None:
    views = Views(old_ledger.log)
    changed = sorted((question, record["org"], record["valid_from"], new["valid_from"])
                     for question, old in answers().items() if question.split()[0] in ("registry", "streaks")
                     for record in old if showed_a_period_not_started(record)
                     for new in current_answer(old_ledger, views, question) if new["org"] == record["org"])
    assert changed == [
        ("registry 2019-05-31", "cecomip", "2019-06-15", "2018-06-15"),
        ("registry 2020-06-30", "oro-puno", "2020-08-20", "2019-04-20"),
        ("streaks 2019-05-31", "cecomip", "2019-06-15", "2018-06-15"),
        ("streaks 2020-06-30", "oro-puno", "2020-08-20", "2019-04-20"),
    ]


def test_the_old_ledger_verifies_and_its_views_rebuild_to_the_same_answers(old_ledger: CertificationLedger) -> None:
    from cli import cli
    from click.testing import CliRunner

    runner = CliRunner()
    result = runner.invoke(cli, ["--db", old_ledger.db, "verify"])
    assert result.exit_code == 0, result.output
    assert "176 events checked" in result.output
    assert runner.invoke(cli, ["--db", old_ledger.db, "rebuild"]).exit_code == 0
    views = Views(old_ledger.log)
    old = answers()["registry 2019-12-31"]
    assert keeps(old, without_query_time(views.registry("2019-12-31")))


def test_the_old_ledger_accepts_new_commands_and_still_verifies(old_ledger: CertificationLedger) -> None:
    from cli import cli
    from click.testing import CliRunner

    recorded = old_ledger.audit("test-upgrade", date="2021-03-01", body="IMO Swiss AG", kind="surveillance",
                                reference="UPG-2")
    assert recorded.position == 177
    result = CliRunner().invoke(cli, ["--db", old_ledger.db, "verify"])
    assert result.exit_code == 0, result.output
    assert "177 events checked" in result.output


def test_the_old_ledger_takes_a_correction_and_a_finding_closure(old_ledger: CertificationLedger) -> None:
    corrected = old_ledger.correct("test-upgrade", date="2021-06-01", name="Upgrade Test Cooperative Ltda.",
                                   region="Puno, Peru")
    closed = old_ledger.close_finding("test-upgrade", "2.1", date="2020-08-01", evidence="ventilation installed")
    assert (corrected.position, closed.position) == (177, 178)
    assert old_ledger.state_at("test-upgrade", as_of="2021-06-01")["name"] == "Upgrade Test Cooperative Ltda."
    assert old_ledger.state_at("test-upgrade", as_of="2021-05-31")["name"] == "Upgrade Test Cooperative"
    assert old_ledger.state_at("test-upgrade", as_of="2020-07-31")["open_findings"] == {"major": 1, "minor": 1}
    assert old_ledger.state_at("test-upgrade", as_of="2020-08-01")["open_findings"] == {"major": 0, "minor": 1}
    assert [(f["id"], f["closed_on"]) for f in old_ledger.findings("test-upgrade", as_of="2021-12-31")] == [
        ("2.1", "2020-08-01"), ("2.2", None)]
    views = Views(old_ledger.log)
    assert [r["org"] for r in views.registry("2021-06-30", q="cooperative ltda")] == ["test-upgrade"]
    from cli import cli
    from click.testing import CliRunner

    result = CliRunner().invoke(cli, ["--db", old_ledger.db, "verify"])
    assert result.exit_code == 0, result.output
    assert "178 events checked" in result.output


def test_the_old_ledger_answers_for_a_certificate(old_ledger: CertificationLedger) -> None:
    views = Views(old_ledger.log)
    answer = views.certificate("fm-pe-upg-01", as_of="2021-06-30")
    assert {k: answer[k] for k in ("certificate", "org", "state", "valid_from", "valid_until")} == {
        "certificate": "FM-PE-UPG-01", "org": "test-upgrade", "state": "valid", "valid_from": "2021-03-01",
        "valid_until": "2022-02-28"}


@pytest.mark.parametrize("typed", ["FM-CASE-01", "fm-case-01", "Fm-Case-01"])
def test_a_number_the_first_release_let_two_organizations_hold_answers_for_its_first_holder(
        old_ledger: CertificationLedger, typed: str) -> None:
    """case-a recorded ``fm-case-01`` (position 174) before case-b recorded ``FM-CASE-01`` (position 176)."""
    answer = Views(old_ledger.log).certificate(typed, as_of="2020-06-30")
    assert {k: answer[k] for k in ("certificate", "org", "name", "state", "valid_from", "valid_until")} == {
        "certificate": "fm-case-01", "org": "case-a", "name": "Case A", "state": "valid",
        "valid_from": "2020-02-01", "valid_until": "2021-01-31"}
