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


def keeps(old: Any, new: Any) -> bool:
    """``new`` gives every field of ``old`` with the same value (it may give more)."""
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
