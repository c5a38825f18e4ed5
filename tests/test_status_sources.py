"""Where ``status ORG`` comes from: the views when they hold the moment asked, else the organization's events.

A short question is a whole process: its time is mostly the modules it loads. Answered from views that
are up to date, ``status ORG``, ``registry`` and ``--help`` load neither pydantic's models nor the event
and command classes; a recording does, and so does a question the views cannot answer yet.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ledger.application import CertificationLedger
from ledger.errors import UnknownOrganization
from projections import Views
from service import LedgerService

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("pydantic.main", "ledger.domain.events", "ledger.domain.commands", "projections.rows")

# Runs one command in a fresh interpreter, then prints which of the heavy modules it loaded.
PROBE = """
import json, sys
sys.argv = ["certledger", *sys.argv[1:]]
import cli
try:
    cli.main()
except SystemExit as stop:
    code = stop.code
print(json.dumps({"code": code, "loaded": [m for m in %r if m in sys.modules]}), file=sys.stderr)
""" % (HEAVY,)


def loaded_by(db: Path, *args: str) -> list[str]:
    process = subprocess.run([sys.executable, "-c", PROBE, "--db", str(db), *args], cwd=ROOT, capture_output=True,
                             text=True, timeout=60)
    report = json.loads(process.stderr.strip().splitlines()[-1])
    assert report["code"] in (0, None), process.stderr
    return report["loaded"]


def fill(db: str) -> None:
    """Two events, and views up to date with them."""
    ledger = CertificationLedger(db)
    try:
        ledger.record({"command": "register", "org": "cecomip", "name": "CECOMIP", "country": "PE",
                       "date": "2016-01-10"})
        ledger.record({"command": "certify", "org": "cecomip", "date": "2016-06-15", "standard": "fairmined",
                       "certificate": "FM-PE-0001"})
        Views(ledger.log).catch_up()
    finally:
        ledger.close()


def test_questions_the_views_answer_load_no_models_and_a_recording_does(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    fill(str(db))
    assert loaded_by(db, "registry") == []
    assert loaded_by(db, "status", "cecomip", "--as-of", "2016-07-01") == []
    assert loaded_by(db, "status", "cecomip", "--known-at", "1") == []
    assert loaded_by(db, "--help") == []
    assert "ledger.domain.events" in loaded_by(db, "history", "cecomip")
    # A recording builds its command's model and catches the views up (its event applied: the projectors).
    recording = loaded_by(db, "suspend", "cecomip", "--date", "2017-01-05", "--reason", "a major finding")
    assert set(recording) == set(HEAVY)
    assert loaded_by(db, "status", "cecomip") == []


def test_a_status_the_views_do_not_hold_yet_comes_from_the_events(db_url: str) -> None:
    fill(db_url)
    service = LedgerService(db_url, "tester")
    try:
        service.views().catch_up()
        assert service.status("cecomip", "2016-07-01")["status"] == "certified"
        # Recorded without catching the views up: they are behind, and status must not wait for them.
        service.ledger().record({"command": "suspend", "org": "cecomip", "date": "2016-08-01", "reason": "x"})
        behind = service.status("cecomip", "2016-09-01")
        assert behind["status"] == "suspended"
        assert behind.position == service.ledger().storage.max_position()
        assert service.views().tracked_position() < behind.position  # answered without moving the views on
        service.views().catch_up()
        caught_up = service.status("cecomip", "2016-09-01")
        assert without_instant(caught_up) == without_instant(behind) and caught_up.position == behind.position
    finally:
        service.close()


def without_instant(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "known_at"}


@pytest.mark.parametrize("org, message", [
    ("nosuch", "unknown organization nosuch"),
    ("CECOMIP", "unknown organization CECOMIP"),
    ("FM-PE-0001", "certificate"),
])
def test_an_organization_the_views_do_not_hold_is_refused_as_the_events_word_it(db_url: str, org: str,
                                                                               message: str) -> None:
    fill(db_url)
    service = LedgerService(db_url, "tester")
    try:
        service.views().catch_up()
        with pytest.raises(UnknownOrganization, match=message):
            service.status(org, "2016-07-01")
        with pytest.raises(UnknownOrganization, match="not registered on 2015-01-01"):
            service.status("cecomip", "2015-01-01")
    finally:
        service.close()
