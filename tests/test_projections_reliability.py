"""A process killed in the middle of keeping the views up loses nothing and counts nothing twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from typing import Any

import pytest

from ledger.application import CertificationLedger
from projections import Views, compare_with_rebuild
from projections import tables
from projections.runner import replay
from projections.views import scratch

pytestmark = pytest.mark.slow

# The child lets its first batches commit, then lingers inside the next one's open transaction,
# after writing its view rows, so that the kill lands between the writes and the commit.
CHILD = textwrap.dedent("""
    import sys, time
    from ledger.application import CertificationLedger
    from projections import Views, tables

    write = tables.{patched}
    writes = 0

    def lingering(*args, **kwargs):
        global writes
        write(*args, **kwargs)
        writes += 1
        print("writing", flush=True)
        if writes > {commits}:
            time.sleep(30)

    tables.{patched} = lingering
    views = Views(CertificationLedger(sys.argv[1]).log, batch_size=2)
    views.{call}
""")


def record_history(ledger: CertificationLedger, organizations: int = 4) -> int:
    for n in range(organizations):
        org = f"org-{n}"
        ledger.register(org, name=f"Org {n}", country="PE", date="2016-01-10")
        ledger.certify(org, date="2016-06-15", standard="fairmined")
        ledger.recertify(org, date="2017-06-01")
        ledger.suspend(org, date="2017-09-01", reason="records missing")
        ledger.reinstate(org, date="2017-10-01")
    return ledger.recorder.max_position()


def run_child_until_killed(db_url: str, patched: str, call: str, commits_before_kill: int) -> list[str]:
    """Start the child, wait until it has committed ``commits_before_kill`` batches and is inside the next, kill -9."""
    script = CHILD.format(patched=patched, call=call, commits=commits_before_kill)
    child = subprocess.Popen([sys.executable, "-c", script, db_url], stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONUNBUFFERED": "1"})
    seen: list[str] = []
    try:
        assert child.stdout is not None
        for line in child.stdout:
            seen.append(line.strip())
            if seen.count("writing") == commits_before_kill + 1:
                os.kill(child.pid, signal.SIGKILL)
                break
    finally:
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    return seen


def replay_writer(db_url: str) -> str:
    """The function through which a replay writes its rows: PostgreSQL's COPY (``PostgresViewStore.write_slice``),
    else row inserts."""
    return "copy_rows" if db_url.startswith("postgresql") else "insert_rows"


def replayed_contents(ledger: CertificationLedger, position: int) -> dict[str, list[tuple[Any, ...]]]:
    with scratch(replay(ledger.log, position)) as c:
        return {t.name: tables.table_contents(c, tables.SQLITE, t) for t in tables.TABLES}


def test_kill_9_during_catch_up_resumes_with_nothing_lost_or_counted_twice(ledger: CertificationLedger,
                                                                         db_url: str) -> None:
    total = record_history(ledger)

    run_child_until_killed(db_url, "insert_versions", "catch_up()", commits_before_kill=3)

    views = Views(ledger.log)
    position, contents = views.store.snapshot()
    assert position == 6  # three batches of two committed; the fourth died before its commit
    assert contents == replayed_contents(ledger, 6)

    assert views.catch_up() == total - 6
    assert views.tracked_position() == total
    feed = views.changes(0, 1000)
    assert [e["position"] for e in feed] == list(range(1, total + 1))
    assert compare_with_rebuild(ledger.log) == []


def test_kill_9_during_rebuild_leaves_the_previous_views(ledger: CertificationLedger, db_url: str) -> None:
    total = record_history(ledger)
    views = Views(ledger.log)
    views.catch_up()
    before = views.store.snapshot()

    run_child_until_killed(db_url, replay_writer(db_url), "rebuild()", commits_before_kill=0)

    assert views.store.snapshot() == before
    assert views.tracked_position() == total
    assert compare_with_rebuild(ledger.log) == []
