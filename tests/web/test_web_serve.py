"""``certledger serve``: the command itself, its defaults and its refusals (one ``Error:`` line, exit 1)."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

from registry_server import BACKENDS, CERTLEDGER, examples_server, free_port, serving
from service import LedgerService


def serve(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CERTLEDGER, *args], capture_output=True, text=True, timeout=timeout)


def test_serving_a_path_with_no_ledger_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nothing.db"
    done = serve("--db", str(missing), "serve", "--port", str(free_port()))
    assert done.returncode == 1
    assert done.stderr.startswith(f"Error: no ledger at {missing}")
    assert not missing.exists()


def test_a_signing_key_that_is_not_one_is_an_error_before_serving(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    LedgerService(str(db)).record({"command": "register", "org": "mina", "name": "Mina", "country": "PE",
                                   "date": "2020-01-01"})
    key = tmp_path / "key.pem"
    key.write_text("not a key")
    done = serve("--db", str(db), "serve", "--port", str(free_port()), "--sign-key", str(key))
    assert done.returncode == 1
    assert done.stderr.strip() == f"Error: signing key {key} is not a PEM private key"


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_port_already_taken_is_an_error(tmp_path: Path, workers: str) -> None:
    db = tmp_path / "ledger.db"
    LedgerService(str(db)).record({"command": "register", "org": "mina", "name": "Mina", "country": "PE",
                                   "date": "2020-01-01"})
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = serve("--db", str(db), "serve", "--port", str(port), "--workers", workers)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == f"Error: cannot serve on 127.0.0.1:{port} (the reason is above)"


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    yield request.param


def test_serve_binds_the_loopback_address_unless_told_otherwise(backend: str, tmp_path: Path) -> None:
    with examples_server(backend, tmp_path) as server:
        assert server.get("/api/organizations/cecomip").status_code == 200
        log = server.output()
    assert f"on http://127.0.0.1:{server.port}/ (1 worker)" in log


def test_several_workers_serve_the_same_ledger(tmp_path: Path) -> None:
    with examples_server("sqlite", tmp_path) as first:
        with serving(first.db, tmp_path, workers=3) as server:
            answers = {server.get("/api/changes", params={"limit": 0}).headers["x-ledger-position"]
                       for _ in range(12)}
            assert answers == {"155"}
            assert "(3 workers)" in server.output()
