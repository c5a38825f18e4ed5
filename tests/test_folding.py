"""Replays folded in worker processes give exactly what one process gives, on both backends.

The worker processes are real (started fresh, each with its own connection to the ledger); the
ledger is the example history, cut into batches of a few organizations so that several batches
are under way in the workers at once.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Sequence
from uuid import UUID

import pytest

from ledger.application import CertificationLedger
from ledger.application.log import EventLog
from ledger.errors import InvalidInput, StorageError
from projections import Views, compare_with_rebuild
from projections import compare, folding
from projections.folding import PARALLEL_FROM, WORKERS_VARIABLE, by_organizations, folded_batches, workers_for
from service import LedgerService

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
CERTLEDGER = str(Path(sys.executable).with_name("certledger"))


def record_examples(ledger: CertificationLedger) -> None:
    for line in (EXAMPLES / "fairmined-history.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            ledger.record(json.loads(line))


def as_plain(batches: Sequence[Sequence[folding.Folded]]) -> list[tuple[str, int, Any]]:
    return [(f.org, f.events, f.rows) for batch in batches for f in batch]


def no_children_left() -> bool:
    return multiprocessing.active_children() == []


# ---------------------------------------------------------------- how many workers

def test_short_replays_fold_in_the_asking_process_and_long_ones_use_every_usable_processor(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(WORKERS_VARIABLE, raising=False)
    usable = len(os.sched_getaffinity(0))
    assert workers_for(PARALLEL_FROM - 1) == 0
    assert workers_for(PARALLEL_FROM) == (usable if usable > 1 else 0)


@pytest.mark.parametrize("setting, workers", [("1", 0), ("2", 2), ("3", 3), (" 4 ", 4)])
def test_the_setting_applies_to_replays_of_any_length(monkeypatch: pytest.MonkeyPatch, setting: str,
                                                      workers: int) -> None:
    monkeypatch.setenv(WORKERS_VARIABLE, setting)
    assert workers_for(10) == workers_for(10 * PARALLEL_FROM) == workers


@pytest.mark.parametrize("setting", ["0", "-1", "two", "1.5", "\u0663"])
def test_a_setting_that_is_not_a_count_of_processes_is_refused_with_its_name(monkeypatch: pytest.MonkeyPatch,
                                                                            setting: str) -> None:
    monkeypatch.setenv(WORKERS_VARIABLE, setting)
    with pytest.raises(InvalidInput, match=WORKERS_VARIABLE):
        workers_for(10)


# ---------------------------------------------------------------- the same rows, the same order

def test_workers_fold_exactly_the_rows_of_one_process_in_registration_order(ledger: CertificationLedger) -> None:
    record_examples(ledger)
    log, upto = ledger.log, ledger.recorder.max_position()
    progress: list[tuple[int, int]] = []
    here = list(folded_batches(log, upto, organizations=2, workers=0))
    there = list(folded_batches(log, upto, organizations=2, progress=lambda done, total: progress.append((done, total)),
                                workers=2))
    assert len(here) > 2 * folding.IN_FLIGHT_PER_WORKER  # more batches than are ever under way at once
    assert as_plain(there) == as_plain(here)
    assert [f.org for batch in here for f in batch][:2] == ["cotapata", "sotrami"]
    organizations = len(log.organization_ids())
    assert progress[-1] == (organizations, organizations) and progress == sorted(progress)
    assert no_children_left()


def test_workers_fold_only_the_events_up_to_the_position_asked(ledger: CertificationLedger) -> None:
    record_examples(ledger)
    half = ledger.recorder.max_position() // 2
    here = as_plain(list(folded_batches(ledger.log, half, organizations=2, workers=0)))
    assert as_plain(list(folded_batches(ledger.log, half, organizations=2, workers=2))) == here
    assert sum(events for _, events, _ in here) == half


def test_a_rebuild_and_the_replay_of_a_new_ledger_write_the_same_views_with_workers_or_without(
        ledger: CertificationLedger, monkeypatch: pytest.MonkeyPatch) -> None:
    record_examples(ledger)
    views = Views(ledger.log)
    monkeypatch.setenv(WORKERS_VARIABLE, "1")
    views.rebuild()
    alone = views.store.snapshot()
    monkeypatch.setenv(WORKERS_VARIABLE, "2")
    summary = views.rebuild()
    assert views.store.snapshot() == alone
    assert summary.events == ledger.recorder.max_position() and summary.organizations == 19
    views.store.replace_all([], 0)  # as a new ledger's views, filled by one replay on the first catch-up
    assert Views(ledger.log, replay_from_empty=1).catch_up() == ledger.recorder.max_position()
    assert views.store.snapshot() == alone
    assert no_children_left()


def test_the_rebuild_and_verify_commands_with_workers_answer_as_without(db_url: str) -> None:
    ledger = CertificationLedger(db_url)
    record_examples(ledger)
    ledger.close()
    outputs = {}
    for setting in ("1", "2"):
        env = {**os.environ, WORKERS_VARIABLE: setting}
        rebuilt = subprocess.run([CERTLEDGER, "--db", db_url, "rebuild"], env=env, capture_output=True, text=True)
        verified = subprocess.run([CERTLEDGER, "--db", db_url, "verify"], env=env, capture_output=True, text=True)
        assert rebuilt.returncode == 0 and verified.returncode == 0, rebuilt.stderr + verified.stderr
        outputs[setting] = (rebuilt.stdout.split(",")[:2], verified.stdout.split(";")[0])
        assert "projections match" in verified.stdout
    assert outputs["1"] == outputs["2"]


def test_a_bad_setting_is_an_error_line_from_the_commands_and_changes_nothing(tmp_path: Path) -> None:
    db = str(tmp_path / "ledger.db")
    ledger = CertificationLedger(db)
    record_examples(ledger)
    Views(ledger.log).catch_up()
    before = Views(ledger.log).store.snapshot()
    ledger.close()
    for command in (["rebuild"], ["verify"]):
        done = subprocess.run([CERTLEDGER, "--db", db, *command], env={**os.environ, WORKERS_VARIABLE: "many"},
                              capture_output=True, text=True)
        assert done.returncode != 0
        assert done.stderr.startswith("Error: ") and WORKERS_VARIABLE in done.stderr
        assert "Traceback" not in done.stderr
    assert Views(CertificationLedger(db).log).store.snapshot() == before


# ---------------------------------------------------------------- verify's comparison in workers

def test_verify_in_workers_names_a_tampered_row_and_rows_of_an_organization_the_log_lacks(
        ledger: CertificationLedger, monkeypatch: pytest.MonkeyPatch) -> None:
    record_examples(ledger)
    views = Views(ledger.log)
    views.catch_up()
    monkeypatch.setenv(WORKERS_VARIABLE, "2")
    assert compare_with_rebuild(ledger.log) == []
    with views.store.datastore.transaction(commit=True) as c:
        c.execute(views.store.dialect.sql("UPDATE {status_segments} SET status = 'withdrawn' WHERE org = 'sotrami'"))
        c.execute(views.store.dialect.sql(
            "INSERT INTO {event_feed} (position, org, version, type, date, recorded_by, fields, in_effect, "
            "known_from) VALUES (999999, 'ghost', 1, 'OrganizationRegistered', '2020-01-01', 'x', '{{}}', 1, 1)"))
    problems = compare_with_rebuild(ledger.log)
    assert any(p.startswith("status_segments: sotrami:") for p in problems)
    assert "event_feed: ghost: the live view has rows of an organization the log does not hold" in problems
    monkeypatch.setenv(WORKERS_VARIABLE, "1")
    assert compare_with_rebuild(ledger.log) == problems
    assert no_children_left()


def test_verify_in_workers_agrees_while_another_writer_keeps_recording(db_url: str,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Each batch is compared at the position the views held when it was read, while a service records (and
    keeps the views in its transactions) and so moves them on between batches."""
    ledger = CertificationLedger(db_url)
    record_examples(ledger)
    Views(ledger.log).catch_up()
    monkeypatch.setenv(WORKERS_VARIABLE, "2")
    stop = threading.Event()
    recorded: list[int] = []

    def keep_recording() -> None:
        service = LedgerService(db_url, by="tester")
        try:
            while not stop.is_set() and len(recorded) < 400:
                n = len(recorded)
                recorded.append(service.record({"command": "audit", "org": "cotapata", "date": "2020-06-01",
                                                "body": "IMO Swiss AG", "kind": "surveillance",
                                                "reference": f"moving-{n}"}).position)
        finally:
            service.close()

    writer = threading.Thread(target=keep_recording)
    writer.start()
    try:
        for _ in range(3):
            assert compare_with_rebuild(ledger.log) == []
    finally:
        stop.set()
        writer.join()
    assert recorded, "the writer recorded nothing while verify ran"
    assert compare_with_rebuild(ledger.log) == []
    ledger.close()


# ---------------------------------------------------------------- workers end with the work

def test_a_consumer_that_stops_early_leaves_no_worker_behind(ledger: CertificationLedger) -> None:
    record_examples(ledger)
    batches = folded_batches(ledger.log, ledger.recorder.max_position(), organizations=2, workers=2)
    assert next(batches)
    assert multiprocessing.active_children()  # the workers are at work on the next batches
    batches.close()
    assert no_children_left()


def die(log: EventLog, originators: Sequence[UUID]) -> None:
    if originators and log.organization_ids()[-1] in originators:
        os._exit(3)  # a worker killed (out of memory, say) on the last batch


def test_a_worker_that_dies_is_a_storage_error_and_no_worker_is_left(ledger: CertificationLedger) -> None:
    record_examples(ledger)
    with pytest.raises(StorageError, match=f"ended unexpectedly.*{WORKERS_VARIABLE}=1"):
        list(by_organizations(ledger.log, die, (), events=1, organizations=4, workers=2))
    assert no_children_left()


UNGUARDED_SCRIPT = """
import json, sys
from ledger.application import CertificationLedger
from projections import Views

ledger = CertificationLedger(sys.argv[1])
ledger.audit("cotapata", date="2020-06-01", body="IMO Swiss AG", kind="surveillance")
print("recorded", flush=True)
print(json.dumps(Views(ledger.log).rebuild().events), flush=True)
"""


def test_a_script_without_a_main_guard_is_not_run_again_by_the_workers(db_url: str, tmp_path: Path) -> None:
    """Started workers would run the asking program's main module again: a script with no
    ``if __name__ == "__main__":`` would record (and rebuild) once more in every worker."""
    ledger = CertificationLedger(db_url)
    record_examples(ledger)
    # More organizations than one batch of a replay holds, so that the rebuild hands batches to workers.
    ledger.record_lines([(n, {"command": "register", "org": f"coop-{n}", "name": f"Coop {n}", "country": "PE",
                              "date": "2015-01-10"}) for n in range(folding.REPLAY_ORGANIZATIONS)])
    before = ledger.recorder.max_position()
    ledger.close()
    script = tmp_path / "unguarded.py"
    script.write_text(UNGUARDED_SCRIPT, encoding="utf-8")
    done = subprocess.run([sys.executable, str(script), db_url], env={**os.environ, WORKERS_VARIABLE: "2"},
                          capture_output=True, text=True, timeout=120, cwd=Path(__file__).resolve().parent.parent)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["recorded", str(before + 1)]
    ledger = CertificationLedger(db_url)
    assert ledger.recorder.max_position() == before + 1
    ledger.close()


STOPPED_CONSUMER = """
import sys, time
from ledger.application import CertificationLedger
from projections.folding import folded_batches

if __name__ == "__main__":
    ledger = CertificationLedger(sys.argv[1], must_exist=True)
    batches = folded_batches(ledger.log, ledger.recorder.max_position(), organizations=1, workers=2)
    next(batches)
    print("folding", flush=True)
    time.sleep(60)
"""


def worker_pids(parent: int) -> list[int]:
    """Processes started by ``parent`` (from /proc: each one's parent is the fourth field of its stat line)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        if int(fields[1]) == parent:
            found.append(int(stat.parent.name))
    return found


def running(pid: int) -> bool:
    """Whether ``pid`` is a process that has not ended (an ended one may stay a zombie until reaped)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_workers_end_when_the_process_that_asked_is_killed(tmp_path: Path) -> None:
    """kill -9 of a rebuild or a verify must not leave its workers waiting for tasks forever."""
    import signal

    db = str(tmp_path / "ledger.db")
    ledger = CertificationLedger(db)
    record_examples(ledger)
    ledger.close()
    script = tmp_path / "stopped.py"
    script.write_text(STOPPED_CONSUMER, encoding="utf-8")
    asker = subprocess.Popen([sys.executable, str(script), db], stdout=subprocess.PIPE, text=True,
                             cwd=Path(__file__).resolve().parent.parent)
    try:
        assert asker.stdout is not None and asker.stdout.readline().strip() == "folding"
        workers = [pid for pid in worker_pids(asker.pid)
                   if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]
        assert len(workers) == 2
        asker.send_signal(signal.SIGKILL)
        asker.wait()
        deadline = time.monotonic() + 10 * folding.PARENT_CHECK_SECONDS
        while any(map(running, workers)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(map(running, workers)), "workers outlived the killed process"
    finally:
        asker.kill()


@pytest.mark.postgres
def test_a_batch_folded_for_longer_than_postgresqls_idle_limit_is_still_compared(
        postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each batch's transaction of the views stays open while its organizations are folded; the ledger's
    PostgreSQL sessions are ended after 5 s idle in a transaction, unless the transaction says otherwise."""
    ledger = CertificationLedger(postgres_url)
    record_examples(ledger)
    Views(ledger.log).catch_up()
    slow = {"left": 1}

    def slow_fold(log: EventLog, originators: Sequence[UUID], upto: int) -> list[folding.Folded]:
        if slow["left"]:
            slow["left"] -= 1
            time.sleep(6)  # longer than the 5 s idle limit
        return folding.fold(log, originators, upto)

    monkeypatch.setattr(compare, "fold", slow_fold)
    assert compare.compare_with_rebuild(ledger.log) == []
    assert slow["left"] == 0
    ledger.close()
