"""Files: a ledger appears with its first committed event; queries never answer from a ledger that is
not there; output files are never replaced without --force."""

from __future__ import annotations

import json
import sqlite3
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import pytest
from click.testing import CliRunner, Result

from cli import cli
from conftest import server_connection
from ledger.application import CertificationLedger, creation
from ledger.errors import ConcurrencyConflict, LedgerError
from ledger.storage import describe, is_postgres_url
from service import LedgerService

REGISTER = ["register", "cecomip", "--name", "CECOMIP", "--country", "PE", "--date", "2016-01-10"]
REFUSED = [
    pytest.param(["register", "Bad", "--name", "X", "--country", "PE", "--date", "2016-01-10"], id="bad-input"),
    pytest.param(["register", "cecomip", "--name", "X", "--country", "PE", "--date", "2999-01-01"], id="future"),
    pytest.param(["audit", "cecomip", "--date", "2016-02-01", "--body", "IMO", "--kind", "initial"],
                 id="unknown-organization"),
]


def invoke(db: str, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, ["--db", db, *args], input=input)


def ledger_exists(db: str) -> bool:
    """Whether anything of a ledger is at ``db``: the file, or the PostgreSQL schema."""
    if not is_postgres_url(db):
        return os.path.lexists(db)
    schema = db.split("schema=")[1]
    with server_connection() as conn:
        return conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone() is not None


def directory_of(db: str) -> list[str]:
    return sorted(os.listdir(os.path.dirname(db))) if not is_postgres_url(db) else []


def event_count(db: str) -> int:
    ledger = CertificationLedger(db, must_exist=True)
    try:
        return ledger.storage.max_position()
    finally:
        ledger.close()


# ---------------------------------------------------------------- a refused command creates nothing


@pytest.mark.parametrize("args", REFUSED)
def test_a_refused_command_on_a_new_path_leaves_no_ledger_behind(db_url: str, args: list[str]) -> None:
    result = invoke(db_url, *args)

    assert result.exit_code == 1 and result.stderr.startswith("Error: "), result.stderr
    assert not ledger_exists(db_url)
    assert directory_of(db_url) == []
    assert invoke(db_url, "status").stderr == (f"Error: no ledger at {describe(db_url)} (record an event first, "
                                               "or pass --db / set CERTLEDGER_DB)\n")


def test_the_first_accepted_command_creates_the_ledger_and_nothing_beside_it(db_url: str) -> None:
    assert invoke(db_url, *REGISTER).stdout == (
        "Recorded OrganizationRegistered for cecomip at position 1 (version 1, 2016-01-10)\n")

    assert ledger_exists(db_url) and event_count(db_url) == 1
    assert directory_of(db_url) == ([] if is_postgres_url(db_url) else ["ledger.db"])
    assert json.loads(invoke(db_url, "status", "cecomip", "--json").stdout)["status"] == "registered"
    assert invoke(db_url, "verify").exit_code == 0


def test_the_first_command_with_json_prints_the_event_from_the_new_ledger(db_url: str) -> None:
    event = json.loads(invoke(db_url, *REGISTER, "--json").stdout)

    assert (event["position"], event["type"], event["recorded_by"]) == (1, "OrganizationRegistered", "tester")
    assert event["recorded_at"].endswith("Z")


def test_a_refused_import_on_a_new_path_leaves_no_ledger_behind(db_url: str, tmp_path: Path) -> None:
    source = tmp_path / "lines.jsonl"
    source.write_text(json.dumps({"command": "register", "org": "cecomip", "name": "C", "country": "PE",
                                  "date": "2016-01-10"}) + "\n" + json.dumps({"command": "audit", "org": "cecomip", "date": "2016-02-30", "body": "IMO",
                                               "kind": "initial"}) + "\n", encoding="utf-8")

    result = invoke(db_url, "import", str(source))

    assert (result.exit_code, result.stderr) == (1, "Error: line 2: date: '2016-02-30' is not a real calendar date\n")
    assert not ledger_exists(db_url)


def test_importing_an_empty_file_creates_no_ledger(db_url: str, tmp_path: Path) -> None:
    source = tmp_path / "empty.jsonl"
    source.write_text("\n", encoding="utf-8")

    result = invoke(db_url, "import", str(source))

    assert result.exit_code == 0
    assert result.stdout.startswith(f"Imported 0 events (0 skipped as already present) from {source} in ")
    assert not ledger_exists(db_url)


def test_an_import_on_a_new_path_creates_the_ledger_with_every_line(db_url: str) -> None:
    lines = "".join(json.dumps(line) + "\n" for line in [
        {"command": "register", "org": "cecomip", "name": "C", "country": "PE", "date": "2016-01-10"},
        {"command": "certify", "org": "cecomip", "date": "2016-06-15", "standard": "fairmined"}])

    result = invoke(db_url, "import", "-", input=lines)

    assert result.exit_code == 0, result.stderr
    assert event_count(db_url) == 2
    assert json.loads(invoke(db_url, "status", "cecomip", "--as-of", "2016-12-31", "--json").stdout)[
        "status"] == "certified"


QUERIES = [
    ["status"], ["status", "cecomip"], ["history", "cecomip"], ["streaks"], ["registry"], ["report", "--year", "2019"],
    ["changes"], ["rebuild"], ["verify"], ["export"], ["export", "{dir}/out.jsonl"], ["head"],
    ["head", "--out", "{dir}/head.json"], ["follow", "--interval", "0.05"], ["copy", "--to", "{dir}/copy.db"],
]


@pytest.mark.parametrize("args", QUERIES, ids=lambda args: "-".join(a.split("/")[-1] for a in args))
def test_every_query_where_no_ledger_exists_says_so_and_creates_nothing(db_url: str, tmp_path: Path,
                                                                       args: list[str]) -> None:
    out = tmp_path / "out"
    out.mkdir()
    result = invoke(db_url, *[arg.replace("{dir}", str(out)) for arg in args])

    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (f"Error: no ledger at {describe(db_url)} (record an event first, or pass --db / set "
                             "CERTLEDGER_DB)\n")
    assert not ledger_exists(db_url)
    assert list(out.iterdir()) == []


# ---------------------------------------------------------------- concurrent first writers


def test_a_first_writer_that_finds_the_ledger_created_meanwhile_records_into_it(tmp_path: Path) -> None:
    db = str(tmp_path / "ledger.db")
    calls: list[str] = []

    def register_oro_puno(ledger: CertificationLedger) -> Any:
        calls.append(ledger.db)
        if len(calls) == 1:  # while this writer works on its scratch file, another one creates the ledger
            other = LedgerService(db)
            other.record({"command": "register", "org": "cecomip", "name": "C", "country": "PE", "date": "2016-01-10"})
            other.close()
        return ledger.record({"command": "register", "org": "oro-puno", "name": "O", "country": "PE",
                              "date": "2016-02-01"})

    result, ledger = creation.first_write(db, register_oro_puno, lambda _: True)
    try:
        assert (calls[0] != db, calls[1], result.position) == (True, db, 2)
        assert ledger is not None and ledger.organizations() == ["cecomip", "oro-puno"]
    finally:
        ledger.close()
    assert sorted(os.listdir(tmp_path)) == ["ledger.db"]


def test_an_import_from_standard_input_that_loses_the_race_to_create_the_ledger_writes_nothing(
        tmp_path: Path) -> None:
    db = str(tmp_path / "ledger.db")

    def create_meanwhile(ledger: CertificationLedger) -> int:
        other = LedgerService(db)
        other.record({"command": "register", "org": "cecomip", "name": "C", "country": "PE", "date": "2016-01-10"})
        other.close()
        ledger.register("oro-puno", name="O", country="PE", date="2016-02-01")
        return 1

    with pytest.raises(ConcurrencyConflict, match=f"another writer created {db} meanwhile; nothing was recorded"):
        creation.first_write(db, create_meanwhile, lambda _: True, repeatable=False)
    assert event_count(db) == 1
    assert sorted(os.listdir(tmp_path)) == ["ledger.db"]


def test_without_hard_links_the_ledger_is_created_in_place_once_the_command_was_accepted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_links(*_: Any) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    db = str(tmp_path / "ledger.db")

    assert invoke(db, "register", "Bad", "--name", "X", "--country", "PE", "--date", "2016-01-10").exit_code == 1
    assert os.listdir(tmp_path) == []
    assert invoke(db, *REGISTER).exit_code == 0
    assert event_count(db) == 1 and sorted(os.listdir(tmp_path)) == ["ledger.db"]


def test_concurrent_first_writers_on_a_new_file_all_record_and_lose_nothing(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    script = ("import sys; from cli import main; sys.argv = ['certledger', '--db', sys.argv[1], 'register', "
              "sys.argv[2], '--name', 'N', '--country', 'PE', '--date', '2016-01-10']; main()")
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "CERTLEDGER_USER": "tester", "PYTHONPATH": str(root)}
    workers = [subprocess.Popen([sys.executable, "-c", script, str(db), f"org-{n}"], cwd=root, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for n in range(6)]
    outcomes = [worker.communicate(timeout=120) + (worker.returncode,) for worker in workers]

    assert [code for _, _, code in outcomes] == [0] * 6, outcomes
    ledger = CertificationLedger(str(db), must_exist=True)
    try:
        assert ledger.organizations() == [f"org-{n}" for n in range(6)]
    finally:
        ledger.close()
    assert invoke(str(db), "verify").exit_code == 0
    assert sorted(os.listdir(tmp_path)) == ["ledger.db"]


@pytest.mark.postgres
def test_a_refused_first_command_on_postgresql_rolls_back_the_schema_and_a_later_one_creates_it(
        postgres_url: str) -> None:
    db_url = postgres_url
    service = LedgerService(db_url)
    try:
        for refused in ({"command": "audit", "org": "cecomip", "date": "2016-02-01", "body": "IMO", "kind": "initial"},
                        {"command": "register", "org": "cecomip", "name": "C", "country": "PE", "date": "2999-01-01"}):
            with pytest.raises(LedgerError):
                service.record(refused)
            assert not ledger_exists(db_url)
        assert service.record({"command": "register", "org": "cecomip", "name": "C", "country": "PE",
                               "date": "2016-01-10"}).position == 1
        assert service.record({"command": "certify", "org": "cecomip", "date": "2016-06-15",
                               "standard": "fairmined"}).position == 2
        assert service.status("cecomip", "2016-12-31")["status"] == "certified"
    finally:
        service.close()


# ---------------------------------------------------------------- output files are never replaced without --force


@pytest.fixture
def recorded(db_url: str) -> str:
    assert invoke(db_url, *REGISTER).exit_code == 0
    return db_url


@pytest.mark.parametrize("args", [["export", "{file}"], ["head", "--out", "{file}"]], ids=["export", "head"])
def test_an_existing_output_file_is_not_replaced_without_force(recorded: str, tmp_path: Path,
                                                              args: list[str]) -> None:
    existing = tmp_path / "kept.json"
    existing.write_text("my notes\n", encoding="utf-8")

    result = invoke(recorded, *[arg.replace("{file}", str(existing)) for arg in args])

    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == f"Error: {existing} already exists: give --force to replace it\n"
    assert existing.read_text(encoding="utf-8") == "my notes\n"
    assert [name for name in os.listdir(tmp_path) if name.startswith(".")] == []  # no scratch file left


def test_export_with_force_replaces_the_file(recorded: str, tmp_path: Path) -> None:
    target = tmp_path / "backup.jsonl"
    target.write_text("old\n", encoding="utf-8")

    assert invoke(recorded, "export", str(target), "--force").stdout == f"Exported 1 events to {target}\n"
    assert json.loads(target.read_text(encoding="utf-8"))["org"] == "cecomip"


def test_head_out_with_force_replaces_the_file(recorded: str, tmp_path: Path) -> None:
    target = tmp_path / "head.json"
    target.write_text("old\n", encoding="utf-8")

    assert invoke(recorded, "head", "--out", str(target), "--force").stdout == f"Wrote head seq 1 to {target}\n"
    assert json.loads(target.read_text(encoding="utf-8"))["seq"] == 1


def test_force_without_out_is_a_usage_error(recorded: str) -> None:
    result = invoke(recorded, "head", "--force")

    assert result.exit_code == 2
    assert result.stderr.endswith("Error: --force replaces the --out FILE: give --out FILE too\n")


def test_a_new_output_file_is_written_whole_and_nothing_else_is_left(recorded: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()

    assert invoke(recorded, "export", str(out / "backup.jsonl")).exit_code == 0
    assert invoke(recorded, "head", "--out", str(out / "head.json")).exit_code == 0
    assert sorted(os.listdir(out)) == ["backup.jsonl", "head.json"]


def test_a_query_on_an_empty_file_says_there_is_no_ledger_and_leaves_the_file_empty(tmp_path: Path) -> None:
    empty = tmp_path / "ledger.db"
    empty.touch()

    result = invoke(str(empty), "status")

    assert (result.exit_code, result.stderr) == (1, f"Error: no ledger at {empty} (the file is empty; record an "
                                                    "event first, or pass --db / set CERTLEDGER_DB)\n")
    assert empty.stat().st_size == 0


def empty_database(path: Path) -> Path:
    """An SQLite database that holds no table (as another tool may leave one)."""
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x)")
    conn.execute("DROP TABLE t")
    conn.commit()
    conn.execute("VACUUM")
    conn.close()
    return path


@pytest.mark.parametrize("query", [["status"], ["registry", "--json"], ["changes"], ["verify"], ["export", "-"]])
def test_a_query_on_an_empty_database_says_there_is_no_ledger_and_leaves_it_as_it_was(tmp_path: Path,
                                                                                      query: list[str]) -> None:
    empty = empty_database(tmp_path / "ledger.db")
    before = empty.read_bytes()
    result = invoke(str(empty), *query)
    assert (result.exit_code, result.stderr) == (1, f"Error: no ledger at {empty} (the database holds no tables; "
                                                    "record an event first, or pass --db / set CERTLEDGER_DB)\n")
    assert empty.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["ledger.db"]


@pytest.mark.parametrize("make", [Path.touch, empty_database], ids=["empty-file", "empty-database"])
def test_a_refused_command_leaves_an_empty_file_or_database_as_it_was_and_a_good_one_records(
        tmp_path: Path, make: Callable[[Path], Any]) -> None:
    target = tmp_path / "ledger.db"
    make(target)
    before = target.read_bytes()
    refused = invoke(str(target), "certify", "nobody", "--date", "2016-01-01", "--standard", "fairmined")
    assert refused.exit_code == 1 and refused.stderr == "Error: unknown organization nobody (register it first)\n"
    assert target.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["ledger.db"]

    recorded = invoke(str(target), "register", "aa", "--name", "A", "--country", "PE", "--date", "2020-01-01")
    assert recorded.exit_code == 0, recorded.output
    assert invoke(str(target), "status", "aa", "--json").exit_code == 0
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")], "a scratch file was left behind"
