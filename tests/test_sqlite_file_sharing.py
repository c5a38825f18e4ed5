"""Several ledger objects and processes on one SQLite file never lose each other's writes."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from ledger.application import CertificationLedger


def test_opening_a_second_ledger_on_the_same_file_keeps_the_write_ahead_log_of_the_first(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    first = CertificationLedger(str(path))
    first.register("oro-puno", name="Oro Puno", country="PE", date="2019-01-10")

    # given a second ledger object on the same file in this process
    second = CertificationLedger(str(path))
    # when another process opens and closes the file
    subprocess.run([sys.executable, "-c", "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
                    "c.execute('SELECT count(*) FROM stored_events').fetchone(); c.close()", str(path)], check=True)
    first.audit("oro-puno", date="2019-02-01", body="IMO Swiss AG", kind="initial")

    # then the write-ahead log is still shared, and every event is there for a fresh reader
    assert Path(f"{path}-wal").exists()
    with sqlite3.connect(path) as reader:
        assert reader.execute("SELECT count(*) FROM stored_events").fetchone() == (2,)
    second.close()
    first.close()
