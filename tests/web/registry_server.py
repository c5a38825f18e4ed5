"""The real server for the web tests: ``certledger serve`` as a process on a free loopback port.

No mocks: every web test talks HTTP to a server started exactly as a user starts it, over a ledger
on SQLite or on a fresh PostgreSQL schema. Imported by the web test modules (not a conftest, so
that the suite's ``from conftest import ...`` keeps meaning the top-level one).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

import httpx
import pytest

from conftest import fresh_postgres_schema
from service import LedgerService

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "fairmined-history.jsonl"
CERTLEDGER = str(Path(sys.executable).with_name("certledger"))
START_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """One ``certledger serve`` process and an HTTP client for it."""

    def __init__(self, db: str, log: Path, *, workers: int = 1, sign_key: str | None = None, private: bool = False):
        self.db = db
        self.private = private
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        args = [CERTLEDGER, "--db", db, "serve", "--port", str(self.port), "--workers", str(workers)]
        if sign_key:
            args += ["--sign-key", sign_key]
        if private:
            args.append("--private")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("CERTLEDGER_DB", None)
        self._log_file = open(log, "wb")
        self.process = subprocess.Popen(args, stdout=self._log_file, stderr=subprocess.STDOUT, env=env,
                                        cwd=str(ROOT))
        self.client = httpx.Client(base_url=self.url, timeout=30.0)

    def wait_until_ready(self) -> Server:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}:\n{self.output()}")
            try:
                if self.client.get("/api/changes", params={"limit": 0}).status_code == (401 if self.private else 200):
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the server did not answer within {START_TIMEOUT} s:\n{self.output()}")

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.get(path, **kwargs)

    def output(self) -> str:
        self._log_file.flush()
        return self.log.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        self.client.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self._log_file.close()


@contextmanager
def serving(db: str, log_dir: Path, **kwargs: Any) -> Iterator[Server]:
    # The suite runs in several processes: a port found free may be taken by another test's server before
    # this one binds it. That server then exits at once, saying so; a new port is tried.
    for attempt in range(3):
        server = Server(db, log_dir / f"server-{time.monotonic_ns()}.log", **kwargs)
        try:
            server.wait_until_ready()
            break
        except RuntimeError:
            server.stop()
            if attempt == 2 or "already in use" not in server.log.read_text(errors="replace"):
                raise
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def fresh_database(backend: str, directory: Path) -> Iterator[str]:
    """An empty ledger location on ``backend`` for a module's fixtures (dropped afterwards on PostgreSQL)."""
    if backend == "sqlite":
        yield str(directory / "ledger.db")
        return
    schemas = fresh_postgres_schema()
    url = next(schemas)
    try:
        yield url
    finally:
        next(schemas, None)


def import_examples(db: str, extra: Sequence[dict[str, Any]] = ()) -> None:
    """The examples ledger, and then the ``extra`` commands (at the positions after its 155)."""
    service = LedgerService(db, "registry-office")
    try:
        service.import_file(str(EXAMPLES))
        for command in extra:
            service.record(dict(command))
    finally:
        service.close()


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]

# After the examples: a closed finding, a renewal under a new number (so the old one is superseded after its
# last period), and a suspension that was lifted. Positions 156 to 159.
LATER_EVENTS = [
    {"command": "close-finding", "org": "cecomip", "finding": "4.1", "date": "2018-05-02",
     "evidence": "first aid kits restocked and checked by the committee"},
    {"command": "recertify", "org": "cecomip", "date": "2022-08-01", "certificate": "FM-PE-2022-07"},
    {"command": "suspend", "org": "oro-puno", "date": "2022-03-01", "reason": "traceability records missing"},
    {"command": "reinstate", "org": "oro-puno", "date": "2022-04-05"},
]


@contextmanager
def examples_server(backend: str, directory: Path, extra: Sequence[dict[str, Any]] = (), **kwargs: Any
                    ) -> Iterator[Server]:
    """The examples ledger (the scheme's public history) on ``backend``, with ``extra`` commands after it, served."""
    with fresh_database(backend, directory) as db:
        import_examples(db, extra)
        with serving(db, directory, **kwargs) as server:
            yield server
