"""The benchmark runs end to end at tiny sizes and prints every workload: it never rots.

No timing is asserted here; the figures of a tiny run mean nothing.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

RUN = Path(__file__).resolve().parent.parent / "benchmarks" / "run.py"
WORKLOADS = ("B1 record, 1 command/txn", "B1 record + views", "B2 import", "B3 rebuild", "B4 state_at",
             "B4 registry --as-of", "B5 verify chain", "B5 `certledger verify` process",
             "B6 `certledger status ORG` process", "B7 B1 ratio to raw", "B7 B4 state_at", "B7 B4 registry")


def table_of(output: str) -> tuple[str, list[str]]:
    """The table's header and rows (the notes that follow the table are left out)."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("workload"))
    end = lines.index("", start)
    return lines[start], lines[start + 2:end]


@pytest.mark.slow
def test_a_tiny_benchmark_run_prints_one_row_per_workload_with_its_baseline_and_target(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(RUN), "--tiny", "--no-postgres", "--keep", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    header, table = table_of(done.stdout)
    assert header.split() == ["workload", "ours", "raw", "baseline", "ratio", "target"]
    for workload in WORKLOADS:
        rows = [line for line in table if line.startswith(workload)]
        assert rows, f"no row for {workload}"
        assert all(line.rstrip().endswith(("met", "MISSED", "n/a")) for line in rows)


@pytest.mark.slow
@pytest.mark.postgres
def test_the_postgresql_variants_run_and_drop_their_schemas(tmp_path: Path) -> None:
    from conftest import postgres_unavailable, server_connection

    reason = postgres_unavailable()
    if reason:
        pytest.skip(reason)
    prefix = f"bench_smoke_{secrets.token_hex(4)}"
    done = subprocess.run([sys.executable, str(RUN), "--tiny", "--keep", str(tmp_path)], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "CERTLEDGER_BENCH_SCHEMA_PREFIX": prefix})
    assert done.returncode == 0, done.stderr
    postgres_rows = [line for line in table_of(done.stdout)[1] if "PostgreSQL)" in line]
    for workload in ("B1 record, 1 command/txn", "B2 import", "B3 rebuild"):
        assert [line for line in postgres_rows if line.startswith(workload)], f"no PostgreSQL row for {workload}"
    with server_connection() as conn:
        left = conn.execute("SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s)", (prefix,)).fetchall()
    assert left == []


@pytest.mark.slow
def test_the_write_floor_writes_exactly_the_rows_the_ledger_wrote(tmp_path: Path) -> None:
    """``benchmarks/write_floor.py`` times raw writes of a recording's rows; they are its rows only if writing them
    into the fixture gives, table for table, the database the recordings made."""
    import sqlite3

    sys.path[:0] = [str(RUN.parent)]
    try:
        import write_floor
    finally:
        del sys.path[0]
    from projections import tables

    base = write_floor.fixture(tmp_path, 40)
    with sqlite3.connect(base) as conn:
        after = conn.execute("SELECT MAX(rowid) FROM stored_events").fetchone()[0]
    recorded = write_floor.copy_of(base, "recorded.db")
    write_floor.record(recorded, write_floor.command_stream(120, "floor"), views=True)
    replayed = write_floor.copy_of(base, "replayed.db")
    write_floor.replay_raw(replayed, write_floor.written(recorded, after, views=True))
    with sqlite3.connect(recorded) as ours, sqlite3.connect(replayed) as raw:
        for table in ["stored_events", "ledger_chain", "ledger_keys", "ledger_claims", "tracking",
                      *(t.name for t in tables.TABLES)]:
            rows = sorted(ours.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
            assert rows == sorted(raw.execute(f"SELECT * FROM {table}").fetchall(), key=repr), table
        assert ours.execute("SELECT COUNT(*) FROM event_feed WHERE known_from > ?", (after,)).fetchone()[0] == 120


def test_the_fold_benchmark_folds_every_row_the_views_hold(tmp_path: Path) -> None:
    """``benchmarks/fold_rows.py`` times the fold alone: what it folds must be what a rebuild writes, row for row."""
    import re
    import sqlite3

    from projections import tables
    from service import LedgerService

    db = str(tmp_path / "ledger.db")
    service = LedgerService(db, "bench")
    for command in [
        {"command": "register", "org": "mina", "name": "Mina", "country": "PE", "date": "2016-01-10"},
        {"command": "certify", "org": "mina", "date": "2016-06-15", "standard": "fairmined"},
        {"command": "recertify", "org": "mina", "date": "2017-06-01"},
        {"command": "register", "org": "oro", "name": "Oro", "country": "BO", "date": "2017-03-01"},
        {"command": "deny", "org": "oro", "date": "2017-05-01", "reason_category": "other", "reason": "late"},
    ]:
        service.record(command)
    service.rebuild()
    service.close()
    done = subprocess.run([sys.executable, str(RUN.parent / "fold_rows.py"), db, "--repeats", "2"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    folded = re.search(r"^5 events of 2 organizations folded into ([0-9,]+) rows: best of 2 ", done.stdout)
    assert folded, done.stdout
    with sqlite3.connect(db) as conn:
        stored = sum(conn.execute(f"SELECT COUNT(*) FROM {t.name}").fetchone()[0] for t in tables.TABLES)
    assert int(folded.group(1).replace(",", "")) == stored
