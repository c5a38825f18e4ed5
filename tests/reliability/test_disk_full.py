"""Disk full: a write that cannot grow a file fails with one clear error and leaves the ledger whole.

Two ways to run out of room, both in a real child process:
- RLIMIT_FSIZE set in the child (``preexec_fn``): any write past the limit fails with EFBIG
  (Python ignores SIGXFSZ, so the write fails instead of the process dying);
- a small tmpfs filesystem filled to the brim (ENOSPC), where mounting is permitted.
"""

from __future__ import annotations

import errno
import os
import subprocess
import uuid
from pathlib import Path

import pytest

from harness import (
    assert_clean_refusal,
    assert_verifies,
    event_count,
    file_size_limit,
    ledger_digest,
    run_certledger,
    seed_ledger,
)

SHARED_MEMORY_FILE = 32768  # the -shm file SQLite creates beside a WAL database
REGISTER = ["register", "newcomer", "--name", "N" * 500, "--country", "PE", "--date", "2018-01-10"]


@pytest.mark.parametrize("limit", [0, 4000, 30000, 40000, 70000])
def test_recording_past_a_file_size_limit_either_succeeds_whole_or_changes_nothing(tmp_path: Path,
                                                                                   limit: int) -> None:
    db = tmp_path / "ledger.db"
    seed_ledger(db, organizations=6)
    before, events = ledger_digest(db), event_count(db)

    completed = run_certledger(db, *REGISTER, preexec_fn=file_size_limit(limit))

    if completed.returncode == 0:
        assert event_count(db) == events + 1
    else:
        assert_clean_refusal(completed.returncode, completed.stdout, completed.stderr, mentions=str(db))
        assert ledger_digest(db) == before
    assert run_certledger(db, "status", "seed-00").returncode == 0
    assert_verifies(db)


def test_a_limit_below_one_log_page_refuses_the_write_and_names_the_cause(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    seed_ledger(db)
    before = ledger_digest(db)

    completed = run_certledger(db, *REGISTER, preexec_fn=file_size_limit(4000))

    assert_clean_refusal(completed.returncode, completed.stdout, completed.stderr, mentions=str(db))
    assert "disk" in completed.stderr
    assert ledger_digest(db) == before
    assert_verifies(db)
    retried = run_certledger(db, *REGISTER)
    assert retried.returncode == 0, retried.stderr
    assert ledger_digest(db) != before


@pytest.mark.parametrize("limit", [0, 1000, 8192, 40000])
def test_creating_a_ledger_on_a_full_disk_fails_cleanly_and_leaves_nothing_half_made(tmp_path: Path,
                                                                                      limit: int) -> None:
    db = tmp_path / "ledger.db"

    completed = run_certledger(db, *REGISTER, preexec_fn=file_size_limit(limit))

    assert_clean_refusal(completed.returncode, completed.stdout, completed.stderr, mentions=str(db))
    later = run_certledger(db, *REGISTER)
    assert later.returncode == 0, later.stderr
    assert event_count(db) == 1
    assert_verifies(db)


def test_every_write_acknowledged_before_the_disk_filled_is_kept(tmp_path: Path) -> None:
    """One process records until the limit stops it; every position it reported is in the ledger."""
    db = tmp_path / "ledger.db"
    seed_ledger(db, organizations=1)
    limit = max(db.stat().st_size, SHARED_MEMORY_FILE) + 4096
    acknowledged: list[str] = []
    refusal = None
    for n in range(20):
        completed = run_certledger(db, "audit", "seed-00", "--date", "2018-01-10", "--body", f"Body {n}",
                                   "--kind", "surveillance", "--reference", "R" * 500,
                                   preexec_fn=file_size_limit(limit))
        if completed.returncode != 0:
            refusal = completed
            break
        acknowledged.append(f"Body {n}")
    assert refusal is not None, "the limit never stopped a write"
    assert_clean_refusal(refusal.returncode, refusal.stdout, refusal.stderr, mentions=str(db))

    assert run_certledger(db, "status", "seed-00").returncode == 0
    history = run_certledger(db, "history", "seed-00", "--json")
    assert history.returncode == 0, history.stderr
    for body in acknowledged:
        assert f'"body": "{body}"' in history.stdout
    assert f'"body": "Body {len(acknowledged)}"' not in history.stdout
    assert_verifies(db)


# ---------------------------------------------------------------- a real full filesystem

@pytest.fixture
def small_filesystem(tmp_path: Path):
    """A 2 MiB tmpfs, where this process may mount one (root with CAP_SYS_ADMIN); else skip."""
    mountpoint = tmp_path / f"small-{uuid.uuid4().hex[:8]}"
    mountpoint.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mountpoint)],
                             capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root with CAP_SYS_ADMIN)")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False)


def fill(directory: Path, leave_free: int) -> Path:
    """Fill the filesystem with one file, then give back ``leave_free`` bytes."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as error:
        assert error.errno == errno.ENOSPC
    finally:
        os.close(fd)
    os.truncate(filler, max(filler.stat().st_size - leave_free, 0))
    return filler


@pytest.mark.parametrize("free", [0, 36 * 1024, 48 * 1024, 128 * 1024])
def test_recording_on_a_full_filesystem_succeeds_whole_or_changes_nothing(small_filesystem: Path, free: int) -> None:
    db = small_filesystem / "ledger.db"
    seed_ledger(db, organizations=3)
    before, events = ledger_digest(db), event_count(db)
    filler = fill(small_filesystem, leave_free=free)

    completed = run_certledger(db, *REGISTER)

    os.remove(filler)
    if completed.returncode == 0:
        assert event_count(db) == events + 1
    else:
        assert_clean_refusal(completed.returncode, completed.stdout, completed.stderr, mentions=str(db))
        assert "disk" in completed.stderr
        assert ledger_digest(db) == before
    retried = run_certledger(db, *REGISTER)
    assert retried.returncode in (0, 1), retried.stderr
    assert event_count(db) == events + 1
    assert_verifies(db)


# ---------------------------------------------------------------- an import that fills the disk

def generated_import(path: Path, orgs: int, years: int) -> int:
    import importlib.util
    import json

    spec = importlib.util.spec_from_file_location("generate", Path(__file__).resolve().parents[2] / "benchmarks"
                                                  / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    commands = list(module.generate(orgs, years, 11, 2010))
    path.write_text("".join(json.dumps(c) + "\n" for c in commands), encoding="utf-8")
    return len(commands)


@pytest.mark.parametrize("room", [64 * 1024, 256 * 1024])
def test_an_import_that_fills_the_disk_writes_nothing_and_can_be_run_again(tmp_path: Path, room: int) -> None:
    db = tmp_path / "ledger.db"
    seed_ledger(db)
    source = tmp_path / "import.jsonl"
    lines = generated_import(source, 40, 10)
    before, events = ledger_digest(db), event_count(db)

    completed = run_certledger(db, "import", str(source),
                               preexec_fn=file_size_limit(max(db.stat().st_size, SHARED_MEMORY_FILE) + room))

    assert_clean_refusal(completed.returncode, completed.stdout, completed.stderr, mentions=str(db))
    assert ledger_digest(db) == before
    assert_verifies(db)
    again = run_certledger(db, "import", str(source))
    assert again.returncode == 0, again.stderr
    assert event_count(db) == events + lines
    assert_verifies(db)
