"""The views kept in the recording's own write transaction: committed with the events or not at all."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Iterator

import pytest

from conftest import fresh_postgres_schema, server_connection
from ledger.application import CertificationLedger
from ledger.errors import InvalidInput, RuleViolation
from ledger.transfer.importing import import_lines
from projections import Views, compare_with_rebuild
from projections.in_transaction import ViewsFollower
from service import LedgerService


@pytest.fixture
def views(ledger: CertificationLedger) -> Views:
    return Views(ledger.log)


def follow(ledger: CertificationLedger, views: Views, kept_events: int = 20_000) -> ViewsFollower:
    follower = ViewsFollower(views.store, kept_events)
    ledger.writer.follower = follower
    return follower


def history(org: str, start: int = 2016) -> list[dict[str, Any]]:
    return [
        {"command": "register", "org": org, "name": org.title(), "country": "PE", "date": f"{start}-01-10"},
        {"command": "certify", "org": org, "date": f"{start}-06-15", "standard": "fairmined"},
        {"command": "recertify", "org": org, "date": f"{start + 1}-06-01"},
        {"command": "suspend", "org": org, "date": f"{start + 1}-09-01", "reason": "records missing"},
        {"command": "reinstate", "org": org, "date": f"{start + 1}-10-01"},
    ]


def interleaved(orgs: int) -> list[dict[str, Any]]:
    """The histories of ``orgs`` organizations, step by step across them (as a file in date order is)."""
    histories = [history(f"org-{n}", 2016 + n % 3) for n in range(orgs)]
    return [h[step] for step in range(5) for h in histories]


def test_a_recording_commits_its_view_rows_and_position_with_its_event(ledger: CertificationLedger,
                                                                      views: Views) -> None:
    follow(ledger, views)
    for command in history("alpha"):
        ledger.record(command)
        # Nobody caught the views up: the recording's transaction moved them.
        assert views.store.tracked_position() == ledger.storage.max_position()
    assert compare_with_rebuild(ledger.log) == []
    assert views.status("alpha", "2017-07-01")["status"] == "certified"  # type: ignore[index]


def test_a_retraction_and_a_back_dated_event_in_the_transaction_equal_a_rebuild(ledger: CertificationLedger,
                                                                               views: Views) -> None:
    follow(ledger, views)
    for command in history("alpha"):
        ledger.record(command)
    ledger.retract("alpha", 5, date="2017-10-02", reason="recorded by mistake")
    ledger.retract("alpha", 4, date="2017-10-02", reason="recorded by mistake")
    ledger.extend("alpha", date="2018-05-20", until="2018-08-31", reason="floods")
    ledger.deny("alpha", date="2016-03-01", reason_category="other", reason="first audit failed")
    assert views.store.tracked_position() == ledger.storage.max_position()
    assert compare_with_rebuild(ledger.log) == []


def test_a_refused_line_leaves_the_views_exactly_as_they_were(ledger: CertificationLedger, views: Views) -> None:
    follow(ledger, views)
    for command in history("alpha"):
        ledger.record(command)
    before = views.store.snapshot()
    lines = history("beta") + [{"command": "reinstate", "org": "alpha", "date": "2019-01-01"}]
    with pytest.raises(RuleViolation):
        import_lines(ledger, lines, batch_size=2)  # two batches written before the refused line
    assert views.store.snapshot() == before


def test_views_behind_the_ledger_are_not_followed_until_caught_up(ledger: CertificationLedger,
                                                                  views: Views) -> None:
    ledger.record(history("alpha")[0])  # recorded by a writer that does not follow the views
    follow(ledger, views)
    ledger.record(history("alpha")[1])
    assert views.store.tracked_position() == 0  # declined: the rows of position 1 are not there to build on
    views.catch_up()
    ledger.record(history("alpha")[2])
    assert views.store.tracked_position() == ledger.storage.max_position() == 3
    assert compare_with_rebuild(ledger.log) == []


def test_an_import_projects_its_lines_in_its_own_pass_with_bounded_working_sets(ledger: CertificationLedger,
                                                                                views: Views) -> None:
    follow(ledger, views, kept_events=12)  # projectors leave and are made again from the pipeline's events
    ledger.record(history("first")[0])
    summary = import_lines(ledger, interleaved(12), batch_size=7, max_cached_events=20)
    assert summary.recorded == 60
    assert views.store.tracked_position() == ledger.storage.max_position() == 61
    assert compare_with_rebuild(ledger.log) == []
    # The projectors kept after the commit carry on with the next recording.
    ledger.recertify("org-0", date="2018-06-01")
    assert compare_with_rebuild(ledger.log) == []


def test_a_check_writes_no_view_rows(ledger: CertificationLedger, views: Views) -> None:
    follow(ledger, views)
    ledger.record(history("alpha")[0])
    before = views.store.snapshot()
    summary = import_lines(ledger, history("beta"), check=True)
    assert summary.checked and summary.recorded == 5
    assert views.store.snapshot() == before


def test_an_account_event_moves_the_views_position_on(ledger: CertificationLedger, views: Views) -> None:
    follow(ledger, views)
    ledger.record(history("alpha")[0])
    ledger.open_account("clerk", role="office")
    assert views.store.tracked_position() == ledger.storage.max_position() == 2
    ledger.record(history("alpha")[1])
    assert views.store.tracked_position() == 3
    assert compare_with_rebuild(ledger.log) == []


def test_the_service_follows_the_views_of_an_existing_ledger(db_url: str) -> None:
    service = LedgerService(db_url, by="clerk")
    try:
        service.record(history("alpha")[0])  # creates the ledger: its views are filled after the commit
        position = service.record(history("alpha")[1]).position
        assert service.ledger().writer.follower is not None
        assert service.views().store.tracked_position() == position
        with pytest.raises(InvalidInput):
            service.record({"command": "certify", "org": "alpha", "date": "2016-13-01", "standard": "fairmined"})
        assert service.views().store.tracked_position() == position
    finally:
        service.close()


@pytest.fixture
def postgres_ledger() -> Iterator[CertificationLedger]:
    for url in fresh_postgres_schema():
        ledger = CertificationLedger(url)
        yield ledger
        ledger.close()


@pytest.mark.postgres
def test_a_recording_does_not_wait_while_another_writer_has_the_views_turn(postgres_ledger: CertificationLedger
                                                                          ) -> None:
    ledger = postgres_ledger
    views = Views(ledger.log)
    follow(ledger, views)
    ledger.record(history("alpha")[0])
    schema = ledger.storage.datastore.schema  # type: ignore[attr-defined]
    with server_connection() as other:
        with other.transaction():
            other.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"certledger:views:{schema}",))
            ledger.record(history("alpha")[1])  # not blocked: the views are left to the catch-up
            assert views.store.tracked_position() == 1
    views.catch_up()
    assert views.store.tracked_position() == 2
    assert compare_with_rebuild(ledger.log) == []


def test_after_a_recording_that_kept_the_views_nothing_catches_them_up_again(db_url: str,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    service = LedgerService(db_url, by="clerk")
    try:
        service.record(history("alpha")[0])
        service.record(history("alpha")[1])  # the first recording with the follower
        caught_up: list[int] = []
        monkeypatch.setattr(Views, "catch_up", lambda views, *args, **kwargs: caught_up.append(1) or 0)
        service.record(history("alpha")[2])
        assert caught_up == []
        monkeypatch.undo()
        # A writer that does not follow the views leaves them behind: the next recording declines, and catches up.
        other = CertificationLedger(db_url)
        try:
            other.record(history("alpha")[3])
        finally:
            other.close()
        position = service.record(history("alpha")[4]).position
        assert service.views().store.tracked_position() == position == 5
        assert compare_with_rebuild(service.ledger().log) == []
    finally:
        service.close()


# The child imports a file through the command line, and lingers where the views used to be caught up, after the
# import's commit, so that the kill lands between the commit and anything that could come after it.
CHILD = textwrap.dedent("""
    import sys, time
    import service

    def linger(self, recorded=None):
        print("committed", flush=True)
        time.sleep(60)

    service.LedgerService.catch_up_quietly = linger
    from cli import main
    sys.argv = ["certledger", "--db", sys.argv[1], "import", sys.argv[2], "--quiet"]
    main()
""")


def test_a_kill_right_after_an_import_commits_leaves_views_that_hold_all_of_it(db_url: str, tmp_path: Path) -> None:
    service = LedgerService(db_url, by="clerk")
    try:
        for command in history("alpha"):
            service.record(command)
    finally:
        service.close()
    source = tmp_path / "lines.jsonl"
    source.write_text("".join(json.dumps(c) + "\n" for c in interleaved(8)), encoding="utf-8")
    child = subprocess.Popen([sys.executable, "-c", CHILD, db_url, str(source)], stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "committed"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    ledger = CertificationLedger(db_url)
    try:
        assert ledger.storage.max_position() == 45
        assert Views(ledger.log).store.tracked_position() == 45  # no catch-up ran: the import's commit moved them
        assert compare_with_rebuild(ledger.log) == []
    finally:
        ledger.close()
