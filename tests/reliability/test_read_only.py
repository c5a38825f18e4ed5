"""Read-only ledgers: a write is refused with one clear error; queries still answer where SQLite can read.

File permission bits do not stop root, and these tests often run as root. So a child that
must meet a read-only file runs without the two capabilities that let root ignore
permission bits (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, dropped from its bounding set
before exec); as an ordinary user no such step is needed. A second variant makes the file
immutable (``chattr +i``), which stops even a fully privileged root, where the filesystem
and the capabilities allow it.
"""

from __future__ import annotations

import os
import subprocess
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from harness import (
    assert_clean_refusal,
    assert_verifies,
    can_drop_capabilities,
    ledger_digest,
    permission_bits_bind,
    run_certledger,
    seed_ledger,
)

REGISTER = ["register", "newcomer", "--name", "Newcomer", "--country", "PE", "--date", "2018-01-10"]
SUSPEND = ["suspend", "seed-00", "--date", "2018-02-01", "--reason", "records missing"]

pytestmark = pytest.mark.skipif(not can_drop_capabilities(), reason="cannot run a child bound by permission bits")


@contextmanager
def mode(path: Path, bits: int) -> Iterator[None]:
    original = path.stat().st_mode & 0o7777
    path.chmod(bits)
    try:
        yield
    finally:
        path.chmod(original)


def run_bound(db: Path, *args: str):
    return run_certledger(db, *args, preexec_fn=permission_bits_bind())


@pytest.fixture
def ledger_file(tmp_path: Path) -> Path:
    directory = tmp_path / "ledger"
    directory.mkdir()
    db = directory / "ledger.db"
    seed_ledger(db)
    return db


@pytest.mark.parametrize("command", [REGISTER, SUSPEND], ids=["register", "suspend"])
def test_recording_into_a_read_only_file_is_refused_and_writes_nothing(ledger_file: Path, command) -> None:
    before = ledger_digest(ledger_file)
    with mode(ledger_file, 0o444):
        completed = run_bound(ledger_file, *command)
    assert_clean_refusal(completed.returncode, completed.stdout, completed.stderr, mentions=str(ledger_file))
    assert "read-only" in completed.stderr
    assert ledger_digest(ledger_file) == before
    assert_verifies(ledger_file)


def test_a_read_only_file_still_answers_queries_even_with_its_views_behind(ledger_file: Path) -> None:
    with mode(ledger_file, 0o444):
        status = run_bound(ledger_file, "status", "seed-00", "--as-of", "2017-12-31", "--json")
        history = run_bound(ledger_file, "history", "seed-00")
        registry = run_bound(ledger_file, "registry", "--as-of", "2017-12-31", "--json")
    assert status.returncode == 0, status.stderr
    assert '"status": "certified"' in status.stdout
    assert history.returncode == 0, history.stderr
    assert registry.returncode == 0, registry.stderr
    assert '"org": "seed-02"' in registry.stdout


def test_an_import_into_a_read_only_file_is_refused_and_writes_nothing(ledger_file: Path, tmp_path: Path) -> None:
    source = tmp_path / "import.jsonl"
    source.write_text('{"command": "register", "org": "imported", "name": "Imported", "country": "BO", '
                      '"date": "2018-01-10"}\n', encoding="utf-8")
    before = ledger_digest(ledger_file)
    with mode(ledger_file, 0o444):
        completed = run_bound(ledger_file, "import", str(source))
    assert_clean_refusal(completed.returncode, completed.stdout, completed.stderr, mentions=str(ledger_file))
    assert ledger_digest(ledger_file) == before
    assert_verifies(ledger_file)


def test_recording_in_a_read_only_directory_is_refused_and_writes_nothing(ledger_file: Path) -> None:
    before = ledger_digest(ledger_file)
    with mode(ledger_file.parent, 0o555):
        completed = run_bound(ledger_file, *REGISTER)
    assert_clean_refusal(completed.returncode, completed.stdout, completed.stderr, mentions=str(ledger_file))
    assert ledger_digest(ledger_file) == before
    assert_verifies(ledger_file)


def test_a_query_in_a_read_only_directory_explains_what_sqlite_needs(ledger_file: Path) -> None:
    """SQLite must create NAME-shm beside a WAL database to read it; the error says so."""
    with mode(ledger_file.parent, 0o555):
        completed = run_bound(ledger_file, "status")
    if completed.returncode != 0:
        assert_clean_refusal(completed.returncode, completed.stdout, completed.stderr, mentions=str(ledger_file))
        assert "-shm" in completed.stderr


def test_a_new_ledger_in_a_read_only_directory_is_refused_and_nothing_is_created(tmp_path: Path) -> None:
    directory = tmp_path / "locked"
    directory.mkdir()
    db = directory / "ledger.db"
    with mode(directory, 0o555):
        completed = run_bound(db, *REGISTER)
    assert_clean_refusal(completed.returncode, completed.stdout, completed.stderr, mentions=str(db))
    assert list(directory.iterdir()) == []


@pytest.fixture
def immutable(ledger_file: Path) -> Iterator[Path]:
    made = subprocess.run(["chattr", "+i", str(ledger_file)], capture_output=True)
    if made.returncode != 0:
        pytest.skip("chattr +i is not available here (filesystem or CAP_LINUX_IMMUTABLE)")
    try:
        yield ledger_file
    finally:
        subprocess.run(["chattr", "-i", str(ledger_file)], check=True)


def test_recording_into_an_immutable_file_is_refused_even_for_root(immutable: Path) -> None:
    before = ledger_digest(immutable)
    completed = run_certledger(immutable, *REGISTER)
    assert_clean_refusal(completed.returncode, completed.stdout, completed.stderr, mentions=str(immutable))
    assert ledger_digest(immutable) == before
    assert os.path.getsize(immutable) > 0
    subprocess.run(["chattr", "-i", str(immutable)], check=True)
    assert_verifies(immutable)


def test_every_registry_query_answers_from_a_read_only_file_whose_views_were_never_built(ledger_file: Path) -> None:
    """Found here: the first query tried to create the view tables and failed on the read-only file."""
    with mode(ledger_file, 0o444):
        for args in (["streaks", "--as-of", "2017-12-31"], ["report", "--year", "2017"], ["changes", "--limit", "3"],
                     ["registry", "--known-at", "3"]):
            completed = run_bound(ledger_file, *args)
            assert completed.returncode == 0, (args, completed.stderr)


def test_verify_checks_a_read_only_file_whether_or_not_its_views_are_built_or_current(ledger_file: Path) -> None:
    """Found here: verify tried to catch the views up first, and failed on the read-only file."""
    with mode(ledger_file, 0o444):
        never_built = run_bound(ledger_file, "verify")
    assert never_built.returncode == 0, never_built.stderr
    assert "no projections to compare" in never_built.stdout
    assert run_certledger(ledger_file, "registry").returncode == 0
    assert run_certledger(ledger_file, *REGISTER).returncode == 0
    with mode(ledger_file, 0o444):
        behind = run_bound(ledger_file, "verify")
    assert behind.returncode == 0, behind.stderr
    assert "projections match" in behind.stdout


def test_verify_in_worker_processes_checks_a_read_only_file(tmp_path: Path) -> None:
    """An auditor's read-only copy: the workers that fold verify's batches open it as the asking process does."""
    db = tmp_path / "ledger.db"
    seed_ledger(db, organizations=120)  # more than one batch of a replay (a hundred organizations)
    assert run_certledger(db, "registry").returncode == 0  # the views built, then left behind by one more event
    assert run_certledger(db, *REGISTER).returncode == 0
    with mode(db, 0o444):
        verified = run_certledger(db, "verify", preexec_fn=permission_bits_bind(), env={"CERTLEDGER_WORKERS": "2"})
    assert verified.returncode == 0, verified.stderr
    assert "projections match" in verified.stdout
