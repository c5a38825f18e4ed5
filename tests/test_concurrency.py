"""Concurrent writers, as real OS processes, on both backends: nothing lost, nothing duplicated,
one winner per natural key, and clear errors for the others."""

from __future__ import annotations

import threading

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ledger.application import CertificationLedger
from ledger.errors import ConcurrencyConflict, DuplicateCertificate
from ledger.domain.organization import organization_id
from projections import Views, compare_with_rebuild

pytestmark = pytest.mark.slow  # real processes: about a second each

WORKER = Path(__file__).with_name("race_worker.py")
START_DELAY = 0.6  # seconds for every process to open the ledger before the common start


def register(org: str, date: str = "2019-01-10") -> dict[str, Any]:
    return {"command": "register", "org": org, "name": org.upper(), "country": "PE", "date": date}


def audit(org: str, reference: str) -> dict[str, Any]:
    return {"command": "audit", "org": org, "date": "2019-03-01", "body": "IMO", "kind": "surveillance",
            "reference": reference}


def race(db: str, *batches: list[dict[str, Any]], through: tuple[str, ...] = ()) -> list[list[dict[str, Any]]]:
    """Run each batch of commands in its own process, all starting at the same instant (``through``: how each
    process records, "service" or "ledger"; all through the Python API by default)."""
    start = time.time() + START_DELAY
    ways = through or ("ledger",) * len(batches)
    processes = [subprocess.Popen([sys.executable, str(WORKER), db, str(start), json.dumps(batch),
                                   *(["service"] if way == "service" else [])],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for batch, way in zip(batches, ways, strict=True)]
    outcomes = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        assert "Traceback" not in err
        outcomes.append([json.loads(line) for line in out.splitlines()])
    return outcomes


def run_cli(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "cli", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def test_four_processes_recording_25_audits_each_on_one_organization_lose_and_duplicate_nothing(
        ledger: CertificationLedger, db_url: str) -> None:
    ledger.record(register("oro-puno"))

    outcomes = race(db_url, *[[audit("oro-puno", f"p{p}-{n}") for n in range(25)] for p in range(4)])

    assert [o for batch in outcomes for o in batch if "error" in o] == []
    history = ledger.history("oro-puno")
    references = [e["fields"]["reference"] for e in history if e["type"] == "AuditConducted"]
    assert sorted(references) == sorted(f"p{p}-{n}" for p in range(4) for n in range(25))
    assert [e["version"] for e in history] == list(range(1, 102))
    assert [e["position"] for e in history] == list(range(1, 102))
    recorded_at = [e["recorded_at"] for e in history]
    assert recorded_at == sorted(recorded_at)
    head = ledger.recorder.chain_head()
    assert head is not None and (head.seq, head.notification_id) == (101, 101)


def test_processes_recording_for_their_own_and_a_shared_organization_lose_and_duplicate_nothing_nor_skip_positions(
        ledger: CertificationLedger, db_url: str) -> None:
    ledger.record(register("shared"))

    outcomes = race(db_url, *[[register(f"own-{p}")] + [audit(org, f"p{p}-{n}") for n in range(8)
                                                         for org in (f"own-{p}", "shared")] for p in range(3)])

    assert [o for batch in outcomes for o in batch if "error" in o] == []
    assert ledger.organizations() == ["own-0", "own-1", "own-2", "shared"]
    assert len(ledger.history("shared")) == 1 + 3 * 8
    assert all(len(ledger.history(f"own-{p}")) == 1 + 8 for p in range(3))
    positions = [row.position for row in ledger.recorder.select_rows(0, 1000)]
    assert positions == list(range(1, 1 + 1 + 3 * 8 + 3 * 9))
    head = ledger.recorder.chain_head()
    assert head is not None and (head.seq, head.notification_id) == (positions[-1], positions[-1])


@pytest.mark.parametrize("through", [("service",) * 3, ("service", "ledger", "service")],
                         ids=["all-keeping-views", "one-leaving-them-behind"])
def test_processes_recording_with_the_views_in_their_transactions_keep_them_equal_to_a_rebuild(
        ledger: CertificationLedger, db_url: str, through: tuple[str, ...]) -> None:
    ledger.record(register("shared"))
    Views(ledger.log).catch_up()

    outcomes = race(db_url, *[[register(f"own-{p}")] + [audit(org, f"p{p}-{n}") for n in range(6)
                                                         for org in (f"own-{p}", "shared")] for p in range(3)],
                    through=through)

    assert [o for batch in outcomes for o in batch if "error" in o] == []
    views = Views(ledger.log)
    if "ledger" not in through:
        # Each recording kept the views in its transaction, or (another process had their turn) caught them up
        # after its commit: the last one leaves them at the last position.
        assert views.store.tracked_position() == ledger.recorder.max_position() == 1 + 3 * 13
    assert compare_with_rebuild(ledger.log) == []


def test_processes_registering_the_same_id_at_once_leave_one_winner_and_clear_errors(
        ledger: CertificationLedger, db_url: str) -> None:
    outcomes = race(db_url, *[[register("cecomip")] for _ in range(4)])

    results = [batch[0] for batch in outcomes]
    assert sum("position" in r for r in results) == 1
    assert sorted(r.get("message", "") for r in results if "error" in r) == [
        "organization cecomip is already registered"] * 3
    assert len(ledger.history("cecomip")) == 1


def test_command_line_registration_race_on_a_new_ledger_gives_exactly_one_success_and_no_traceback(
        db_url: str) -> None:
    processes = [run_cli("--db", db_url, "register", "la-cascada", "--name", "La Cascada", "--country", "PE",
                         "--date", "2019-01-10") for _ in range(4)]
    results = [(p.wait(timeout=60), *p.communicate()) for p in processes]

    assert sorted(code for code, _, _ in results) == [0, 1, 1, 1]
    for code, out, err in results:
        assert "Traceback" not in err
        if code == 1:
            assert err.strip() == "Error: organization la-cascada is already registered"


def test_two_organizations_granted_the_same_certificate_number_at_once_leave_one_holder(
        ledger: CertificationLedger, db_url: str) -> None:
    for org in ("aurifera", "cecomip"):
        ledger.record(register(org))

    outcomes = race(db_url, *[[{"command": "certify", "org": org, "date": "2019-06-01", "standard": "fairmined",
                                "certificate": "FM-PE-0007"}] for org in ("aurifera", "cecomip")])

    results = [batch[0] for batch in outcomes]
    assert sum("position" in r for r in results) == 1
    [refusal] = [r for r in results if "error" in r]
    assert refusal["error"] == "DuplicateCertificate"
    assert "certificate FM-PE-0007 is already held by" in refusal["message"]


def test_a_conflict_is_decided_again_on_the_fresh_state(ledger: CertificationLedger, db_url: str) -> None:
    ledger.record(register("oro-puno"))
    ledger.certify("oro-puno", date="2019-02-01", standard="fairmined")
    ledger.suspend("oro-puno", date="2019-03-01", reason="traceability records missing")

    outcomes = race(db_url, *[[{"command": "reinstate", "org": "oro-puno", "date": "2019-04-01"}] for _ in range(3)])

    results = [batch[0] for batch in outcomes]
    assert sum("position" in r for r in results) == 1
    assert [r["error"] for r in results if "error" in r] == ["RuleViolation"] * 2
    assert ledger.state_at("oro-puno", "2019-04-01")["status"] == "certified"


def test_a_writer_waits_for_another_writers_transaction_and_says_so(ledger: CertificationLedger, db_url: str) -> None:
    ledger.record(register("oro-puno"))
    holder = CertificationLedger(db_url)
    said: list[float] = []
    started = time.monotonic()
    released = threading.Event()

    def hold_the_lock() -> None:
        with holder.storage.write():
            released.wait(10)

    thread = threading.Thread(target=hold_the_lock)
    thread.start()
    try:
        time.sleep(0.2)
        timer = threading.Timer(1.6, released.set)
        timer.start()
        recorded = ledger.record(audit("oro-puno", "waited"), on_wait=lambda: said.append(time.monotonic() - started))
    finally:
        released.set()
        thread.join()
        holder.close()
    assert len(said) == 1 and 0.9 < said[0] < 1.6, said
    assert recorded.position == 2
    assert [e["fields"].get("reference") for e in ledger.history("oro-puno")] == [None, "waited"]


def test_one_writer_records_while_the_other_waits_and_no_claim_is_decided_on_stale_state(
        ledger: CertificationLedger, db_url: str) -> None:
    for org in ("aurifera", "cecomip"):
        ledger.record(register(org))
    rival = CertificationLedger(db_url)
    try:
        outcomes = race(db_url, [{"command": "certify", "org": "aurifera", "date": "2019-06-01",
                                  "standard": "fairmined", "certificate": "FM-PE-0007"}],
                        [{"command": "certify", "org": "cecomip", "date": "2019-06-01", "standard": "fairmined",
                          "certificate": "fm-pe-0007"}])
    finally:
        rival.close()
    results = [batch[0] for batch in outcomes]
    assert sum("position" in r for r in results) == 1
    assert [r["error"] for r in results if "error" in r] == ["DuplicateCertificate"]
