"""Damaged files: every command that opens the ledger says what is wrong with which file, and changes nothing.

Given a ledger file that is not a database, truncated, corrupted, another program's
database, a directory, or missing, when any command runs on it, then it exits 1 with one
``Error:`` line naming the file, no traceback, and the file's bytes are as they were.
"""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path
from typing import Callable

import pytest
from click.testing import CliRunner

from cli import cli
from harness import assert_clean_refusal, file_digest, ledger_digest, run_certledger, seed_ledger

# One invocation per command that opens the database. Commands that other parts of the
# product add later join the matrix when they are present in the CLI.
SAMPLE_INVOCATIONS: dict[str, list[str]] = {
    "register": ["register", "newcomer", "--name", "Newcomer", "--country", "PE", "--date", "2018-01-10"],
    "audit": ["audit", "seed-00", "--date", "2018-05-20", "--body", "IMO", "--kind", "surveillance"],
    "certify": ["certify", "seed-02", "--date", "2018-06-15", "--standard", "fairmined"],
    "recertify": ["recertify", "seed-00", "--date", "2018-06-01"],
    "deny": ["deny", "seed-00", "--date", "2018-02-20", "--reason-category", "commercial", "--reason", "x"],
    "suspend": ["suspend", "seed-00", "--date", "2018-02-01", "--reason", "records missing"],
    "reinstate": ["reinstate", "seed-01", "--date", "2017-10-15"],
    "extend": ["extend", "seed-00", "--date", "2018-04-15", "--until", "2018-09-30", "--reason", "halted"],
    "withdraw": ["withdraw", "seed-00", "--date", "2018-03-02", "--imposed", "--reason", "x"],
    "retract": ["retract", "seed-00", "2", "--date", "2018-08-01", "--reason", "wrong organization"],
    "status": ["status"],
    "status-one": ["status", "seed-00", "--as-of", "2017-12-31"],
    "history": ["history", "seed-00"],
    "registry": ["registry"],
    "streaks": ["streaks"],
    "report": ["report", "--year", "2017"],
    "changes": ["changes"],
    "export": ["export", "-"],
    "import": ["import", "-"],
    "rebuild": ["rebuild"],
    "verify": ["verify"],
    "head": ["head"],
    "copy": ["copy", "--to", "{directory}/copy-target.db"],
}
IMPORT_LINE = '{"command": "register", "org": "imported", "name": "Imported", "country": "BO", "date": "2018-01-10"}\n'


def present_invocations() -> list[str]:
    return [name for name, args in SAMPLE_INVOCATIONS.items() if args[0] in cli.commands]


@pytest.fixture(scope="module")
def healthy_ledger(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The bytes of a checkpointed ledger of 30 organizations, queried once (so its views exist)."""
    path = tmp_path_factory.mktemp("healthy") / "ledger.db"
    seed_ledger(path, organizations=30)
    assert CliRunner().invoke(cli, ["--db", str(path), "status"]).exit_code == 0
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path.read_bytes()


def garble_pages(data: bytes, first_page: int, pages: int) -> bytes:
    noise = random.Random(20240601).randbytes(4096 * pages)
    return data[:4096 * first_page] + noise + data[4096 * (first_page + pages):]


DAMAGES: dict[str, Callable[[bytes], bytes]] = {
    "plain text": lambda data: b"certified organizations\ncecomip,PE\n",
    "random bytes": lambda data: random.Random(7).randbytes(20000),
    "only the header string": lambda data: data[:16],
    "truncated to 100 bytes": lambda data: data[:100],
    "truncated to two pages": lambda data: data[:8192],
    "truncated to half": lambda data: data[:len(data) // 2],
    "one byte short": lambda data: data[:-1],
    "tail pages zeroed": lambda data: data[:8192] + bytes(len(data) - 8192),
    "event pages garbled": lambda data: garble_pages(data, 1, 3),
    "schema page garbled": lambda data: data[:100] + random.Random(3).randbytes(3996) + data[4096:],
}


def other_programs_database(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO customers (name) VALUES ('Ada')")


def other_event_store(path: Path) -> None:
    """An event store of another application: it has stored_events, but not the ledger's tables."""
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE stored_events (originator_id TEXT, originator_version INTEGER, topic TEXT, "
                     "state BLOB, PRIMARY KEY (originator_id, originator_version))")
        conn.execute("INSERT INTO stored_events VALUES ('x', 1, 'shop.domain:Ordered', x'7b7d')")


def invoke(db: Path, args: list[str]):
    stdin = IMPORT_LINE if args[0] == "import" else None
    args = [arg.replace("{directory}", str(db.parent)) for arg in args]
    return CliRunner().invoke(cli, ["--db", str(db), *args], input=stdin)


@pytest.mark.parametrize("damage", DAMAGES)
def test_every_command_names_a_damaged_file_and_leaves_it_as_it_was(tmp_path: Path, healthy_ledger: bytes,
                                                                     damage: str) -> None:
    db = tmp_path / "ledger.db"
    db.write_bytes(DAMAGES[damage](healthy_ledger))
    before = file_digest(db)
    for name in present_invocations():
        result = invoke(db, SAMPLE_INVOCATIONS[name])
        assert result.exception is None or isinstance(result.exception, SystemExit), (name, result.exception)
        assert_clean_refusal(result.exit_code, result.stdout, result.stderr, mentions=str(db))
        assert file_digest(db) == before, name


@pytest.mark.parametrize("make", [other_programs_database, other_event_store], ids=["tables", "event store"])
def test_every_command_refuses_another_programs_database_without_touching_it(tmp_path: Path, make) -> None:
    db = tmp_path / "theirs.db"
    make(db)
    before = file_digest(db)
    for name in present_invocations():
        result = invoke(db, SAMPLE_INVOCATIONS[name])
        assert_clean_refusal(result.exit_code, result.stdout, result.stderr, mentions="another program")
        assert file_digest(db) == before, name
    with sqlite3.connect(db) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert not any(table.startswith("ledger_") for table in tables)


def test_every_command_names_a_ledger_path_whose_directory_is_missing(tmp_path: Path) -> None:
    db = tmp_path / "no-such-directory" / "ledger.db"
    for name in present_invocations():
        result = invoke(db, SAMPLE_INVOCATIONS[name])
        assert_clean_refusal(result.exit_code, result.stdout, result.stderr, mentions=str(db))
    assert not db.parent.exists()


def test_every_command_names_a_ledger_path_that_is_a_directory(tmp_path: Path) -> None:
    for name in present_invocations():
        result = invoke(tmp_path, SAMPLE_INVOCATIONS[name])
        assert_clean_refusal(result.exit_code, result.stdout, result.stderr, mentions=str(tmp_path))


@pytest.mark.parametrize("name", ["status", "history", "status-one"])
def test_a_query_on_a_missing_ledger_says_there_is_none_and_creates_nothing(tmp_path: Path, name: str) -> None:
    db = tmp_path / "ledger.db"
    result = invoke(db, SAMPLE_INVOCATIONS[name])
    assert_clean_refusal(result.exit_code, result.stdout, result.stderr, mentions=str(db))
    assert not db.exists()


@pytest.mark.parametrize("db", [":memory:", "file::memory:", "file:shared?mode=memory&cache=shared"])
def test_an_in_memory_database_is_refused_because_nothing_would_be_kept(tmp_path: Path, db: str,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["--db", db, *SAMPLE_INVOCATIONS["register"]])
    assert_clean_refusal(result.exit_code, result.stdout, result.stderr, mentions="in-memory")


def test_a_file_uri_looking_path_is_an_ordinary_file_not_sqlite_options(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["--db", "file:ledger.db?mode=ro", *SAMPLE_INVOCATIONS["register"]])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "file:ledger.db?mode=ro").exists()
    assert not (tmp_path / "ledger.db").exists()


def test_a_path_with_uri_characters_is_checked_as_that_file(tmp_path: Path) -> None:
    db = tmp_path / "odd?name#1%.db"
    seed_ledger(db, organizations=1)
    result = CliRunner().invoke(cli, ["--db", str(db), "status", "seed-00"])
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "odd").exists()


def test_a_stray_write_ahead_log_from_another_database_is_ignored(tmp_path: Path, healthy_ledger: bytes) -> None:
    db = tmp_path / "ledger.db"
    db.write_bytes(healthy_ledger)
    before = ledger_digest(db)
    Path(f"{db}-wal").write_bytes(random.Random(11).randbytes(4096 * 3 + 32))
    result = invoke(db, SAMPLE_INVOCATIONS["status"])
    assert result.exit_code == 0, result.output
    assert ledger_digest(db) == before


@pytest.mark.parametrize("damage", ["plain text", "truncated to half", "event pages garbled"])
def test_the_real_program_reports_a_damaged_file_without_a_traceback(tmp_path: Path, healthy_ledger: bytes,
                                                                      damage: str) -> None:
    db = tmp_path / "ledger.db"
    db.write_bytes(DAMAGES[damage](healthy_ledger))
    for args in (SAMPLE_INVOCATIONS["register"], SAMPLE_INVOCATIONS["status"], SAMPLE_INVOCATIONS["history"],
                 ["follow", "--interval", "0.05"]):
        completed = run_certledger(db, *args, timeout=30)
        assert_clean_refusal(completed.returncode, completed.stdout, completed.stderr, mentions=str(db))
