"""kill -9 at random moments: during a bulk import (views behind, or written in its transaction), a projection
catch-up and a rebuild.

Each trial starts the real program on a copy of a ledger of a few thousand generated events,
sends SIGKILL after a seeded random delay inside the command's running time, and then checks:
- the ledger holds only whole imports (an import is one transaction: all of it or none);
- the views left behind are exactly a replay of the log up to the position they track
  (exactly-once), and after catching up they equal a rebuild;
- ``verify`` passes;
- re-running the interrupted command finishes the job, and an import then holds every line
  exactly once.

CERTLEDGER_KILL_TRIALS sets the trials per scenario (default 5: 20 in all); the seed is fixed,
so a failure replays with the same delays.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Iterator

import pytest
from click.testing import CliRunner

from cli import cli
from harness import CERTLEDGER, assert_verifies, event_count, ledger_digest, seed_ledger
from ledger.application import CertificationLedger

TRIALS = int(os.environ.get("CERTLEDGER_KILL_TRIALS", "5"))
SEED = 20240611
ROOT = Path(__file__).resolve().parents[2]


def generated_commands(orgs: int, years: int) -> list[dict]:
    spec = importlib.util.spec_from_file_location("generate", ROOT / "benchmarks" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(module.generate(orgs, years, 7, 2010))


def needs(command: str) -> None:
    if command not in cli.commands:
        pytest.skip(f"the {command} command is not in this build")


@pytest.fixture(scope="module")
def events_without_views(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ledger of 3,489 events whose views were never built (imported through the Python API,
    which, unlike the command, does not catch the views up)."""
    directory = tmp_path_factory.mktemp("template")
    source = directory / "events.jsonl"
    source.write_text("".join(json.dumps(c) + "\n" for c in generated_commands(100, 10)), encoding="utf-8")
    path = directory / "ledger.db"
    app = CertificationLedger(str(path))
    try:
        from ledger.transfer.importing import import_file

        import_file(app, str(source))
    finally:
        app.close()
    checkpoint(path)
    assert tracked_position(path) == 0
    return path


def tracked_position(db: Path | str) -> int:
    from projections.views import Views

    ledger = CertificationLedger(str(db), must_exist=True)
    try:
        return Views(ledger.log).tracked_position()
    finally:
        ledger.close()


def checkpoint(path: Path) -> None:
    """Move everything into the main file, so that copying the file alone copies the ledger."""
    with sqlite3.connect(path) as conn:
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    assert busy == 0


@pytest.fixture(scope="module")
def events_with_views(events_without_views: Path) -> Path:
    path = events_without_views.with_name("with-views.db")
    shutil.copyfile(events_without_views, path)
    assert CliRunner().invoke(cli, ["--db", str(path), "registry"]).exit_code == 0
    checkpoint(path)
    return path


# ---------------------------------------------------------------- running and killing

def start(db: Path | str, *args: str) -> subprocess.Popen:
    env = {**os.environ, "CERTLEDGER_USER": "tester"}
    env.pop("CERTLEDGER_DB", None)
    return subprocess.Popen([CERTLEDGER, "--db", str(db), *args], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def running_time(db: Path | str, *args: str) -> float:
    """How long the command takes, uninterrupted, on this copy (the copy is spent)."""
    began = time.perf_counter()
    process = start(db, *args)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    return time.perf_counter() - began


def kill_after(db: Path | str, delay: float, *args: str) -> bool:
    """Run the command and SIGKILL it after ``delay`` seconds; True if it was killed, False if it finished."""
    process = start(db, *args)
    try:
        process.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.wait()
        return True
    finally:
        if process.stderr:
            process.stderr.close()
    return False


def start_up_time() -> float:
    """How long the program takes to start (importing everything) and do nothing: kills before this are wasted."""
    began = time.perf_counter()
    subprocess.run([CERTLEDGER, "--version"], check=True, capture_output=True, timeout=60)
    return time.perf_counter() - began


def delays(duration: float, near_the_end: bool = False) -> Iterator[float]:
    """Seeded delays inside the command's working time (after start-up); with ``near_the_end``, every other
    one lands around the end (where an import commits), so that some trials die just before and some after."""
    rng = random.Random(SEED)
    working_from = min(0.7 * start_up_time(), 0.8 * duration)
    for trial in range(TRIALS):
        if near_the_end and trial % 2:
            yield rng.uniform(0.85 * duration, 1.05 * duration)
        else:
            yield rng.uniform(working_from, duration)


# ---------------------------------------------------------------- what must hold afterwards

def assert_views_are_a_replay_at_their_tracked_position(db: Path | str) -> int:
    """The views left by a killed process: exactly the log up to the position they track."""
    from projections import tables
    from projections.runner import replay
    from projections.views import Views, scratch

    ledger = CertificationLedger(str(db), must_exist=True)
    try:
        position, live = Views(ledger.log).store.snapshot()
        with scratch(replay(ledger.log, position)) as c:
            fresh = {t.name: tables.table_contents(c, tables.SQLITE, t) for t in tables.TABLES}
        assert live == fresh, f"views at position {position} differ from a replay"
        return position
    finally:
        ledger.close()


def catch_up_views(db: Path | str) -> None:
    from projections.views import Views

    ledger = CertificationLedger(str(db), must_exist=True)
    try:
        Views(ledger.log).catch_up()
    finally:
        ledger.close()


def registry_answers(db: Path) -> list:
    answers = []
    for as_of in ("2013-12-31", "2019-12-31"):
        result = CliRunner().invoke(cli, ["--db", str(db), "registry", "--json", "--as-of", as_of])
        assert result.exit_code == 0, result.output
        answers.append([{k: v for k, v in row.items() if k != "known_at"} for row in json.loads(result.stdout)])
    return answers


# ---------------------------------------------------------------- the scenarios

def test_kill_during_a_projection_catch_up_leaves_views_that_resume_to_equal_a_rebuild(
        tmp_path: Path, events_without_views: Path) -> None:
    needs("registry")
    calibration = tmp_path / "calibration.db"
    shutil.copyfile(events_without_views, calibration)
    duration = running_time(calibration, "registry")
    expected = registry_answers(calibration)
    events = ledger_digest(events_without_views)
    tracked = []

    for trial, delay in enumerate(delays(duration)):
        db = tmp_path / f"trial-{trial}.db"
        shutil.copyfile(events_without_views, db)

        kill_after(db, delay, "registry")

        tracked.append(assert_views_are_a_replay_at_their_tracked_position(db))
        assert ledger_digest(db) == events
        assert registry_answers(db) == expected
        assert_verifies(db)  # the hash chain, and the views against a scratch rebuild
    print(f"catch-up trials: tracked positions after the kill {tracked}")


def test_kill_during_a_rebuild_leaves_the_old_or_the_new_views_and_a_rerun_completes(
        tmp_path: Path, events_with_views: Path) -> None:
    needs("rebuild")
    calibration = tmp_path / "calibration.db"
    shutil.copyfile(events_with_views, calibration)
    duration = running_time(calibration, "rebuild")
    expected = registry_answers(calibration)
    events = ledger_digest(events_with_views)

    for trial, delay in enumerate(delays(duration)):
        db = tmp_path / f"trial-{trial}.db"
        shutil.copyfile(events_with_views, db)

        kill_after(db, delay, "rebuild")

        assert_views_are_a_replay_at_their_tracked_position(db)
        assert ledger_digest(db) == events
        rerun = CliRunner().invoke(cli, ["--db", str(db), "rebuild"])
        assert rerun.exit_code == 0, rerun.output
        assert registry_answers(db) == expected
        assert_verifies(db)


def command_identity(entry: dict) -> tuple:
    return entry["org"], entry["version"], entry["type"], entry["date"], json.dumps(entry["fields"], sort_keys=True)


def ledger_contents(db: Path) -> list[tuple]:
    app = CertificationLedger(str(db), must_exist=True)
    try:
        return sorted(command_identity({**entry, "org": org}) for org in app.organizations()
                      for entry in app.history(org))
    finally:
        app.close()


def test_kill_during_a_bulk_import_leaves_all_or_nothing_and_a_rerun_completes_without_duplicates(
        tmp_path: Path) -> None:
    import_trials(tmp_path, views_current=False)


def test_kill_during_an_import_that_writes_the_views_in_its_transaction_never_leaves_them_behind(
        tmp_path: Path) -> None:
    """The views are current before the import, so it writes their rows in its own transaction: after any kill
    they hold exactly the events that are there, with no catch-up."""
    import_trials(tmp_path, views_current=True)


def import_trials(tmp_path: Path, *, views_current: bool) -> None:
    needs("import")
    source = tmp_path / "import.jsonl"
    source.write_text("".join(json.dumps(c) + "\n" for c in generated_commands(60, 10)), encoding="utf-8")
    lines = len(source.read_text(encoding="utf-8").splitlines())
    base = tmp_path / "base.db"
    seed_ledger(base)
    if views_current:
        catch_up_views(base)
    before = event_count(base)
    reference = tmp_path / "reference.db"
    shutil.copyfile(base, reference)
    duration = running_time(reference, "import", str(source))
    assert event_count(reference) == before + lines
    expected = ledger_contents(reference)
    outcomes = []

    for trial, delay in enumerate(delays(duration, near_the_end=True)):
        db = tmp_path / f"trial-{trial}.db"
        shutil.copyfile(base, db)
        for suffix in ("-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)

        killed = kill_after(db, delay, "import", str(source))

        count = event_count(db)
        assert count in (before, before + lines), f"a partial import: {count - before} of {lines} lines"
        outcomes.append("none" if count == before else "all")
        assert_verifies(db)
        position = assert_views_are_a_replay_at_their_tracked_position(db)
        if views_current:
            assert position == count, f"views at position {position} behind the {count} events committed"
        rerun = CliRunner().invoke(cli, ["--db", str(db), "import", str(source)])
        assert rerun.exit_code == 0, rerun.output
        assert event_count(db) == before + lines
        assert ledger_contents(db) == expected
        assert_verifies(db)  # the hash chain, and the views against a scratch rebuild
        assert killed or count == before + lines
    print(f"import trials: {outcomes}")


# ---------------------------------------------------------------- the same on PostgreSQL

POSTGRES_TRIALS = int(os.environ.get("CERTLEDGER_KILL_TRIALS_POSTGRES", "2"))


def renamed(commands: list[dict], prefix: str) -> list[dict]:
    """The same histories under other organization ids and certificate numbers (both unique in a ledger)."""
    result = []
    for command in commands:
        command = {**command, "org": f"{prefix}-{command['org']}"}
        if "certificate" in command:
            command["certificate"] = f"{prefix.upper()}-{command['certificate']}"
        result.append(command)
    return result


def write_import(path: Path, commands: list[dict]) -> int:
    path.write_text("".join(json.dumps(c) + "\n" for c in commands), encoding="utf-8")
    return len(commands)


def finish_import_leaving_the_views_behind(db: str, source: Path) -> None:
    """Re-run the import through the Python API, which (unlike the command) does not catch the views up,
    so that the next query has a catch-up to be killed in."""
    from ledger.transfer.importing import import_file

    app = CertificationLedger(db, must_exist=True)
    try:
        import_file(app, str(source))
    finally:
        app.close()


def test_kill_during_an_import_and_a_catch_up_on_postgresql(db_url: str, tmp_path: Path) -> None:
    """Each trial imports fresh organizations into one shared schema, so no copy of the database is needed."""
    if not db_url.startswith("postgresql"):
        pytest.skip("the SQLite trials above run on copies of a ledger file")
    needs("import")
    commands = generated_commands(30, 10)
    calibration = tmp_path / "calibration.jsonl"
    write_import(calibration, renamed(commands, "cal"))
    import_time = running_time(db_url, "import", str(calibration))
    catch_up_time = running_time(db_url, "registry")
    rng = random.Random(SEED)

    for trial in range(POSTGRES_TRIALS):
        source = tmp_path / f"trial-{trial}.jsonl"
        lines = write_import(source, renamed(commands, f"t{trial}"))
        before = event_count(db_url)

        kill_after(db_url, rng.uniform(0.1 * import_time, 1.05 * import_time), "import", str(source))

        assert event_count(db_url) in (before, before + lines)
        assert_verifies(db_url)
        finish_import_leaving_the_views_behind(db_url, source)
        assert event_count(db_url) == before + lines

        kill_after(db_url, rng.uniform(0.1 * catch_up_time, catch_up_time), "registry")

        assert_views_are_a_replay_at_their_tracked_position(db_url)
        assert_verifies(db_url)  # the hash chain, and the views against a scratch rebuild
