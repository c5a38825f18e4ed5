"""``certledger serve``: its refusals, each one ``Error:`` line and exit 1 (its defaults and ``--workers`` are
checked where the server runs: test_web_api, test_web_concurrency)."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest

from registry_server import CERTLEDGER, free_port
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
    assert (done.stdout, done.stderr) == ("", f"Error: cannot serve on 127.0.0.1:{port}: address already in use\n")
