"""The command line at its edges: a reader that goes away, an output that is not UTF-8, Ctrl-C, empty paths and
addresses, numbers too long to read, values a lenient reader would bend. Each gets one ``Error:`` line (or, for
a reader gone away, silence), never ``unexpected failure``, and nothing is written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cli import cli

CERTLEDGER = str(Path(sys.executable).with_name("certledger"))
NAME = "Asociación de Mineros Auríferos"


def invoke(db: str, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--db", db, *args])


def run(*args: str, env: dict[str, str] | None = None, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CERTLEDGER, *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})}, **kwargs)  # type: ignore[call-overload]


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "ledger.db")
    for n in range(40):
        assert invoke(path, "register", f"org-{n:03d}", "--name", f"{NAME} {n}", "--country", "PE",
                      "--date", "2019-01-01").exit_code == 0
    assert invoke(path, "audit", "org-000", "--date", "2019-02-01", "--body", "IMO", "--kind", "initial",
                  "--finding", "minor:health-safety:first aid").exit_code == 0
    return path


def view_rows(db: str) -> list[tuple[object, ...]]:
    import sqlite3

    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT * FROM status_segments ORDER BY org, start_day, known_from").fetchall()


def export_of(db: str) -> str:
    return invoke(db, "export").stdout


@pytest.mark.parametrize("args", [["registry"], ["status", "--json"], ["history", "org-000", "--csv"], ["export"],
                                  ["streaks"], ["changes", "--json"], ["findings", "org-000"], ["head"]])
def test_a_reader_that_went_away_ends_the_command_quietly(db: str, args: list[str]) -> None:
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first byte: every write is a broken pipe
    try:
        done = subprocess.run([CERTLEDGER, "--db", db, *args], stdout=write, stderr=subprocess.PIPE, text=True,
                              timeout=120)
    finally:
        os.close(write)
    assert (done.returncode, done.stderr) == (1, ""), "as any filter: no message for a reader that left"


@pytest.mark.parametrize("encoding", [{"PYTHONIOENCODING": "ascii"}, {"PYTHONIOENCODING": "latin-1"},
                                      {"LC_ALL": "POSIX", "PYTHONUTF8": "0"}])
def test_output_is_utf8_whatever_the_locale_says(db: str, encoding: dict[str, str]) -> None:
    exported = run("--db", db, "export", env=encoding)
    assert exported.returncode == 0 and exported.stderr == ""
    assert exported.stdout == export_of(db), "a whole backup, in UTF-8, as import reads it"
    table = run("--db", db, "findings", "org-000", env=encoding)
    assert table.returncode == 0 and NAME not in table.stdout  # the table of findings names no organization
    listed = run("--db", db, "registry", env=encoding)
    assert listed.returncode == 0 and "Asociación" in listed.stdout


def test_ctrl_c_during_a_rebuild_says_interrupted_and_the_views_are_as_they_were(
        db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C in the middle of a rebuild's writing: one line, the status of a process stopped by SIGINT, and the
    views as before (the rebuild is one transaction)."""
    from projections import store

    before = view_rows(db)
    assert before

    def interrupted(self: store.ViewStore, c: object, parts: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(store.SQLiteViewStore, "write_all", interrupted)
    stopped = invoke(db, "rebuild")
    assert (stopped.exit_code, stopped.stdout, stopped.stderr) == (130, "", "Error: interrupted\n")
    assert view_rows(db) == before, "read straight from the file: no query had a chance to catch them up"


@pytest.mark.parametrize("args, option", [
    (["--db", "", "status"], "'--db'"), (["export", ""], "'[FILE|-]'"), (["head", "--out", ""], "'--out'"),
    (["keygen", "--out-private", "", "--out-public", "p.pem"], "'--out-private'"),
    (["verify", "--head", ""], "'--head'"), (["verify", "--head", "h.json", "--public-key", " "], "'--public-key'"),
    (["serve", "--sign-key", ""], "'--sign-key'"),
])
def test_an_empty_path_is_refused_not_read_as_no_option_or_the_current_directory(db: str, tmp_path: Path,
                                                                                  args: list[str],
                                                                                  option: str) -> None:
    before = export_of(db)
    full = args if args[0] == "--db" else ["--db", db, *args]
    done = run(*full, cwd=tmp_path)
    assert done.returncode == 2 and f"Error: Invalid value for {option}:" in done.stderr
    assert "give a" in done.stderr and "not an empty one" in done.stderr
    assert export_of(db) == before and sorted(p.name for p in tmp_path.iterdir()) == ["ledger.db"]


def test_a_blank_ledger_variable_counts_as_unset(tmp_path: Path) -> None:
    done = run("status", env={"CERTLEDGER_DB": "  "}, cwd=tmp_path)
    assert (done.returncode, done.stderr) == (1, "Error: no ledger at certledger.db (record an event first, or "
                                                 "pass --db / set CERTLEDGER_DB)\n")


def test_an_empty_host_is_refused_rather_than_listening_everywhere(db: str) -> None:
    done = run("--db", db, "serve", "--host", "", "--port", "0")
    assert done.returncode == 2 and "give an address to listen on (0.0.0.0: every interface)" in done.stderr


def test_a_port_in_use_is_one_error_line_before_anything_is_announced(db: str) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run("--db", db, "serve", "--port", str(port))
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == f"Error: cannot serve on 127.0.0.1:{port}: address already in use\n"


@pytest.mark.parametrize("interval, message", [
    ("nan", "nan is not a number of seconds."), ("inf", "inf is not in the range 0.05<=x<=86400.0."),
    ("1e308", "1e+308 is not in the range 0.05<=x<=86400.0."),
])
def test_a_follow_interval_that_is_no_number_of_seconds_is_refused(db: str, interval: str, message: str) -> None:
    done = run("--db", db, "follow", "--interval", interval)
    assert done.returncode == 2 and f"Error: Invalid value for '--interval': {message}" in done.stderr


def test_numbers_too_long_to_read_are_answered_in_words(db: str) -> None:
    thousands = "9" * 5000
    position = invoke(db, "status", "org-000", "--known-at", thousands, "--json")
    assert position.exit_code == 0, "a position past the last one is the ledger as it is now, however long"
    assert json.loads(position.stdout)["status"] == "registered"
    finding = invoke(db, "close-finding", "org-000", f"{thousands}.1", "--date", "2019-03-01", "--evidence", "x")
    assert finding.exit_code == 1 and "is not a finding id V.N" in finding.stderr
    assert len(finding.stderr) < 1200, "a value quoted in a message is cut, not repeated whole"
    assert "unexpected failure" not in finding.stderr


def test_a_head_file_nested_too_deeply_is_no_head(db: str, tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    done = run("--db", db, "verify", "--head", str(deep))
    assert (done.returncode, done.stderr) == (1, f"Error: head {deep} is not a head: its JSON is nested too deeply\n")


def test_a_postgresql_url_that_cannot_be_read_is_one_line_without_its_password() -> None:
    done = run("--db", "postgresql://postgres:s3cret@[::1:5432/test", "status")
    assert (done.returncode, done.stderr) == (
        1, "Error: the postgresql:// URL given is not one this ledger can read (Invalid IPv6 URL)\n")


@pytest.mark.parametrize("workers", ["9223372036854775808", "257", "0"])
def test_a_number_of_workers_past_the_bound_is_refused(db: str, workers: str) -> None:
    done = run("--db", db, "rebuild", env={"CERTLEDGER_WORKERS": workers})
    assert done.returncode == 1 and done.stderr == (
        f"Error: CERTLEDGER_WORKERS must be a whole number of processes, 1 to 256 (1: no worker processes), "
        f"not '{workers}'\n")


def test_an_account_name_of_undecodable_bytes_is_a_usage_error(db: str) -> None:
    done = subprocess.run([os.fsencode(CERTLEDGER), b"--db", os.fsencode(db), b"accounts", b"add", b"\xff\xfe",
                           b"--role", b"office"], capture_output=True, timeout=60)
    assert done.returncode == 2 and b"holds bytes that are not UTF-8 text" in done.stderr


@pytest.mark.parametrize("version", ["+2", "2.0", "\u0662", "0", "2e0"])
def test_a_version_is_written_with_the_digits_0_to_9(db: str, version: str) -> None:
    before = export_of(db)
    done = invoke(db, "retract", "org-000", version, "--date", "2019-03-01", "--reason", "typo")
    assert done.exit_code == 2 and "Invalid value for 'VERSION'" in done.stderr
    assert export_of(db) == before


def test_a_version_with_spaces_around_it_is_read(db: str) -> None:
    assert invoke(db, "retract", "org-000", " 2 ", "--date", "2019-03-01", "--reason", "typo").exit_code == 0


@pytest.mark.parametrize("line, message", [
    ({"command": "register", "org": "u-org", "name": "N", "country": "PE", "date": "2020-01-01"},
     "not valid JSON: key 'org' appears twice in one object"),
    ({"command": "retract", "org": "org-000", "target": 2.0, "date": "2020-01-01", "reason": "x"},
     "target: a version is a whole number written with the digits 0-9, as history shows it (not 2.0)"),
    ({"command": "retract", "org": "org-000", "target": True, "date": "2020-01-01", "reason": "x"},
     "target: a version is a whole number written with the digits 0-9, as history shows it (not True)"),
])
def test_import_lines_a_lenient_reader_would_bend_are_refused(db: str, tmp_path: Path, line: dict[str, object],
                                                              message: str) -> None:
    text = json.dumps(line)
    if line["command"] == "register":
        text = text.replace('"org": "u-org"', '"org": "u-org", "org": "v-org"')
    source = tmp_path / "lines.jsonl"
    source.write_text(text + "\n", encoding="utf-8")
    before = export_of(db)
    done = invoke(db, "import", str(source))
    assert done.exit_code == 1 and done.stderr == f"Error: line 1: {message}\n"
    assert export_of(db) == before


@pytest.mark.parametrize("day", ["2019-03-01\u2028", "2019-03-01\t", "\u20292019-03-01", "2019-03-01\u00a0"])
def test_a_date_with_white_space_other_than_spaces_is_refused(db: str, day: str) -> None:
    done = invoke(db, "audit", "org-001", "--date", day, "--body", "IMO", "--kind", "initial")
    assert done.exit_code != 0 and "is not a calendar date (YYYY-MM-DD)" in done.stderr
    assert invoke(db, "audit", "org-001", "--date", " 2019-03-01 ", "--body", "IMO", "--kind", "initial"
                  ).exit_code == 0, "spaces around a date, as a CSV cell may have, are not part of it"


def test_an_export_into_a_pipe_writes_into_it_and_leaves_it_a_pipe(db: str, tmp_path: Path) -> None:
    """A device or a pipe is written into, never replaced by a file renamed over it (as root, ``export --force
    /dev/full`` would otherwise have turned the device into a file)."""
    import stat
    import threading

    fifo = tmp_path / "reader.fifo"
    os.mkfifo(fifo)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text(encoding="utf-8")))
    reader.start()
    done = run("--db", db, "export", "--force", str(fifo))
    reader.join(timeout=60)
    assert done.returncode == 0, done.stderr
    assert stat.S_ISFIFO(os.stat(fifo).st_mode), "still a pipe"
    assert received == [export_of(db)]
