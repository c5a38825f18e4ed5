"""A second ledger object on the same file must not strip the first one's SQLite locks.

POSIX record locks belong to the process, and closing *any* descriptor of a file drops all of
them. SQLite works around this for its own connections, but a plain ``open()``/``close()`` of
the database file elsewhere in the process silently unlocks every SQLite connection to it:
another process may then checkpoint and delete the write-ahead log under a reader's feet.
The soak test first showed this as rare "disk I/O error" (SQLITE_IOERR_SHORT_READ) refusals.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from harness import seed_ledger
from ledger.application import CertificationLedger

# SQLite's lock bytes (os_unix.c): every open connection holds a read lock on the shared range.
SHARED_FIRST = 0x40000000 + 2
SHARED_SIZE = 510

TRY_EXCLUSIVE = f"""
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
try:
    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, {SHARED_SIZE}, {SHARED_FIRST}, 0)
    print("free")
except OSError:
    print("held")
"""


def shared_range_seen_from_another_process(db: Path) -> str:
    return subprocess.run([sys.executable, "-c", TRY_EXCLUSIVE, str(db)], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_opening_a_second_ledger_on_the_same_file_keeps_the_first_ones_locks(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    seed_ledger(db)
    first = CertificationLedger(str(db))
    try:
        with first.recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute("SELECT COUNT(*) FROM stored_events")
            cursor.fetchall()
            assert shared_range_seen_from_another_process(db) == "held"

            second = CertificationLedger(str(db))

            assert shared_range_seen_from_another_process(db) == "held"
            second.close()
    finally:
        first.close()
