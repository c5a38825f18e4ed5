"""The PostgreSQL view store: the same tables, statements and answers as on SQLite."""

from __future__ import annotations

import json
import uuid
from datetime import date
from pathlib import Path
from typing import Iterator

import pytest

from eventsourcing.persistence import IntegrityError

from ledger.application import CertificationLedger
from projections import registry as reg
from projections import report as rep
from projections import tables
from projections.rows import Version
from projections.runner import replay
from projections.views import scratch

psycopg = pytest.importorskip("psycopg")
pytestmark = pytest.mark.postgres

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SERVER = dict(host="127.0.0.1", port=5432, user="postgres", password="", dbname="test")


@pytest.fixture
def schema() -> Iterator[str]:
    name = f"views_{uuid.uuid4().hex[:12]}"
    try:
        conn = psycopg.connect(**SERVER, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError:
        pytest.skip("no PostgreSQL server")
    with conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
        yield name
        conn.execute(f'DROP SCHEMA "{name}" CASCADE')


@pytest.fixture
def store(schema: str):
    from eventsourcing.postgres import PostgresDatastore

    from projections.postgres_store import PostgresViewStore

    datastore = PostgresDatastore(SERVER["dbname"], SERVER["host"], SERVER["port"], SERVER["user"],
                                  SERVER["password"], schema=schema)
    view_store = PostgresViewStore(datastore)
    view_store.create_table()
    yield view_store
    datastore.close()


@pytest.fixture
def demo_rows(tmp_path: Path) -> list[Version]:
    ledger = CertificationLedger(str(tmp_path / "demo.db"))
    for line in (EXAMPLES / "fairmined-2019.jsonl").read_text(encoding="utf-8").splitlines():
        ledger.record(json.loads(line))
    rows = replay(ledger.log, ledger.recorder.max_position())
    ledger.close()
    return rows


def test_an_empty_postgres_store_starts_at_position_zero(store) -> None:
    assert store.tracked_position() == 0
    with store.reading() as c:
        assert reg.registry(c, store.dialect, date(2019, 12, 31), 0) == []


def test_postgres_store_answers_like_the_sqlite_tables(store, demo_rows: list[Version]) -> None:
    store.apply_batch([], demo_rows, 38, 0)
    assert store.tracked_position() == 38
    with store.reading() as pg, scratch(demo_rows) as lite:
        for known in (10, 25, 38):
            for day in (date(2016, 1, 1), date(2018, 6, 30), date(2019, 12, 31)):
                assert reg.registry(pg, store.dialect, day, known) == reg.registry(lite, tables.SQLITE, day, known)
                assert reg.registry(pg, store.dialect, day, known, ("certified",), "PE", "fairmined") == reg.registry(
                    lite, tables.SQLITE, day, known, ("certified",), "PE", "fairmined")
                assert reg.streaks(pg, store.dialect, day, known) == reg.streaks(lite, tables.SQLITE, day, known)
                assert reg.covered(pg, store.dialect, day, known) == reg.covered(lite, tables.SQLITE, day, known)
            assert rep.report(pg, store.dialect, date(2019, 1, 1), date(2019, 12, 31), known) == rep.report(
                lite, tables.SQLITE, date(2019, 1, 1), date(2019, 12, 31), known)


def test_postgres_store_refuses_a_position_already_applied(store, demo_rows: list[Version]) -> None:
    store.apply_batch([], demo_rows[:2], 10, 0)
    with pytest.raises(IntegrityError):
        store.apply_batch([], demo_rows[2:], 10, 10)
    with pytest.raises(IntegrityError):
        store.apply_batch([], demo_rows[2:], 9, 10)
    with pytest.raises(IntegrityError):
        store.apply_batch([], demo_rows[2:], 12, 0)
    position, contents = store.snapshot()
    assert position == 10
    assert set(contents["status_segments"] + contents["certification_periods"] + contents["event_feed"]) == {
        version.stored() for version in demo_rows[:2]}


def test_postgres_store_replaces_everything_in_one_go(store, demo_rows: list[Version]) -> None:
    store.apply_batch([], demo_rows, 38, 0)
    store.replace_all([tables.stored_rows(demo_rows[:1])], 5)
    position, contents = store.snapshot()
    assert position == 5
    assert sum(len(rows) for rows in contents.values()) == 1
