"""Concurrent writers over HTTP: four clients, each with its own account, send 60 commands each to one
organization through a server with two workers (``CERTLEDGER_HTTP_WRITER_COMMANDS=N``: N each). Nothing
is lost or recorded twice, the organization's versions and the ledger's positions have no gap, each event
names the account that sent it, and the chain and the views verify.

Bounded: 240 requests in all by default, to the loopback address, each with a timeout.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Iterator

import pytest

from accounts_http import bearer, client_from, open_accounts
from registry_server import BACKENDS, Server, fresh_database, serving
from service import LedgerService

ORG = "busy"
COMMANDS_EACH = int(os.environ.get("CERTLEDGER_HTTP_WRITER_COMMANDS", "60"))
ACCOUNTS = [("office-a", "office", []), ("office-b", "office", []), ("body-a", "body", [ORG]),
            ("body-b", "body", [ORG])]


@pytest.fixture(params=BACKENDS)
def busy_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    with fresh_database(request.param, tmp_path) as db:
        service = LedgerService(db, "registry-office")
        try:
            service.record({"command": "register", "org": ORG, "name": "Busy Mine", "country": "PE",
                            "date": "2016-01-10"})
            service.record({"command": "certify", "org": ORG, "date": "2016-06-15", "standard": "fairmined"})
        finally:
            service.close()
        tokens = open_accounts(db, ACCOUNTS)
        with serving(db, tmp_path, workers=2) as server:
            server.tokens = tokens  # type: ignore[attr-defined]
            yield server


def audit(name: str, n: int) -> dict[str, Any]:
    return {"command": "audit", "org": ORG, "date": (date(2018, 1, 1) + timedelta(days=n)).isoformat(),
            "body": f"Auditor of {name}", "kind": "surveillance", "reference": f"{name}-{n:03d}",
            "recorded_by": "someone-else"}


@pytest.mark.slow
def test_four_accounts_writing_one_organization_at_once_lose_and_duplicate_nothing(busy_server: Server) -> None:
    answers: dict[str, int] = {}  # reference -> the position the server answered
    failures: list[str] = []
    lock = threading.Lock()

    def write(name: str) -> None:
        try:
            with client_from(busy_server, "127.0.0.1") as client:
                for n in range(COMMANDS_EACH):
                    response = client.post("/api/commands", json=audit(name, n),
                                           headers=bearer(busy_server.tokens[name]))  # type: ignore[attr-defined]
                    if response.status_code != 201:
                        failures.append(f"{name} {n}: {response.status_code} {response.text[:200]}")
                        continue
                    [entry] = response.json()["items"]
                    assert entry["recorded_by"] == name and entry["fields"]["reference"] == f"{name}-{n:03d}"
                    with lock:
                        answers[entry["fields"]["reference"]] = entry["position"]
        except Exception as error:  # noqa: BLE001 - a writer that dies must fail the test, not vanish
            failures.append(f"{name}: {error!r}")

    writers = [threading.Thread(target=write, args=(name,)) for name, _, _ in ACCOUNTS]
    started = time.perf_counter()
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=600)
    elapsed = time.perf_counter() - started
    assert not any(writer.is_alive() for writer in writers), "a writer did not finish"
    assert not failures, failures[:5]
    total = len(ACCOUNTS) * COMMANDS_EACH
    assert len(answers) == total

    service = LedgerService(busy_server.db)
    try:
        history = service.history(ORG)
        feed = service.changes(0, 100_000)
        verified = service.verify()
    finally:
        service.close()
    audits = history[2:]
    assert [entry["version"] for entry in history] == list(range(1, total + 3))
    assert sorted(entry["fields"]["reference"] for entry in audits) == sorted(answers)  # none lost, none twice
    for entry in audits:
        reference = entry["fields"]["reference"]
        assert entry["recorded_by"] == reference.rsplit("-", 1)[0], entry
        assert answers[reference] == entry["position"]
    positions = [entry["position"] for entry in feed]
    assert positions == list(range(1, len(positions) + 1)) and len(positions) == 2 + len(ACCOUNTS) + total
    assert verified.ok, verified.problems
    print(f"{total} commands from {len(ACCOUNTS)} clients over HTTP (2 workers): {elapsed:.1f} s, "
          f"{total / elapsed:.0f} commands/s")
