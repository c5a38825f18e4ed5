"""Freshness and consistency under load: the server with two workers, sixteen concurrent clients, and a
writer recording 200 events beside them. Every answer reflects every event committed before its request
was sent, and is exactly what the ledger says at the position named in its ``X-Ledger-Position``.

Bounded: each client stops after the writer is done (or after ``DEADLINE`` seconds, or ``MAX_REQUESTS``
requests); every request goes to the loopback address.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from registry_server import BACKENDS, ROOT, Server, fresh_database, import_examples, serving
from service import LedgerService

CLIENTS = 16
WRITER_ORGS = 100  # each registered and certified: 200 events
MAX_REQUESTS = 400  # per client; each stops soon after the writer is done
DEADLINE = 90.0
DAY = "2020-03-01"
WRITER = Path(__file__).resolve().parent / "paced_writer.py"
WRITE_INTERVAL = 0.02  # seconds between two commits: the writing lasts a few seconds, under the clients' load


@dataclass
class Progress:
    """The last position the writer has reported committed (it reports after each commit)."""

    committed: int = 0
    done: bool = False
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class Answer:
    kind: str
    target: str
    position: int
    committed_before: int
    body: Any


def writer_commands() -> list[dict[str, Any]]:
    commands = []
    for n in range(WRITER_ORGS):
        org = f"w-{n:03d}"
        commands.append({"command": "register", "org": org, "name": f"Writer Mine {n}", "country": "PE",
                         "date": "2020-01-01"})
        commands.append({"command": "certify", "org": org, "date": "2020-02-01", "standard": "fairmined"})
    return commands


def follow_writer(process: subprocess.Popen[str], progress: Progress) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        report = json.loads(line)
        with progress.lock:
            if "position" in report:
                progress.committed = max(progress.committed, report["position"])
            else:
                progress.errors.append(line)
    process.wait()
    progress.done = True


def client_loop(server: Server, progress: Progress, answers: list[Answer], failures: list[str], seed: int) -> None:
    try:
        ask_until_done(server, progress, answers, failures, seed)
    except Exception as error:  # noqa: BLE001 - a client that dies must fail the test, not vanish
        failures.append(f"client {seed}: {error!r}")


def ask_until_done(server: Server, progress: Progress, answers: list[Answer], failures: list[str], seed: int) -> None:
    chooser = random.Random(seed)
    started = time.monotonic()
    with httpx.Client(base_url=server.url, timeout=30.0) as client:
        for count in range(MAX_REQUESTS):
            if progress.done and count >= 10 or time.monotonic() - started > DEADLINE:
                return
            kind = chooser.choice(["changes", "status", "registry", "streaks"])
            org = f"w-{chooser.randrange(WRITER_ORGS):03d}"
            path, params = {
                "changes": ("/api/changes", {"since": 0, "limit": 1000}),
                "status": (f"/api/organizations/{org}", {"as_of": DAY}),
                "registry": ("/api/registry", {"as_of": DAY, "status": "certified", "limit": 1000}),
                "streaks": ("/api/streaks", {"as_of": DAY, "limit": 1000}),
            }[kind]
            committed_before = progress.committed
            response = client.get(path, params=params)
            if response.status_code not in (200, 404):
                failures.append(f"{path}: {response.status_code} {response.text[:200]}")
                continue
            answers.append(Answer(kind, org, int(response.headers["x-ledger-position"]), committed_before,
                                  response.json()))


@pytest.fixture(params=BACKENDS)
def busy_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    with fresh_database(request.param, tmp_path) as db:
        import_examples(db)
        with serving(db, tmp_path, workers=2) as server:
            yield server


@pytest.mark.slow
def test_two_workers_under_sixteen_clients_answer_fresh_and_consistent_while_a_writer_records(
        busy_server: Server) -> None:
    progress, answers, failures = Progress(), [], []  # type: ignore[var-annotated]
    clients = [threading.Thread(target=client_loop, args=(busy_server, progress, answers, failures, seed))
               for seed in range(CLIENTS)]
    for client in clients:
        client.start()
    started = time.monotonic()
    while len(answers) < CLIENTS and time.monotonic() - started < 10:
        time.sleep(0.05)  # the writer starts once the clients are asking: every commit lands among questions
    writer = subprocess.Popen([sys.executable, str(WRITER), busy_server.db, str(WRITE_INTERVAL),
                               json.dumps(writer_commands())], stdout=subprocess.PIPE, text=True, cwd=str(ROOT))
    follower = threading.Thread(target=follow_writer, args=(writer, progress))
    follower.start()
    for client in clients:
        client.join(timeout=DEADLINE + 30)
    follower.join(timeout=60)
    if writer.poll() is None:
        writer.kill()

    assert not failures, failures[:5]
    assert not progress.errors, progress.errors[:5]
    assert progress.committed == 155 + 2 * WRITER_ORGS
    assert len({a.position for a in answers if a.position < progress.committed}) > 10, "no answer saw the ledger move"
    for answer in answers:
        assert answer.position >= answer.committed_before, (answer.kind, answer.position, answer.committed_before)
        if answer.kind == "changes":
            assert [e["position"] for e in answer.body["items"]] == list(range(1, answer.position + 1))
            assert answer.body["total"] == answer.position
    check_against_the_ledger_at_their_positions(busy_server.db, answers)


def check_against_the_ledger_at_their_positions(db: str, answers: list[Answer], sample: int = 60) -> None:
    """Each answer equals the ledger's own answer at the position it names (a sample of them)."""
    picked = random.Random(7).sample(answers, min(sample, len(answers)))
    service = LedgerService(db)
    try:
        for answer in picked:
            known_at = str(answer.position)
            if answer.kind == "status":
                if "error" in answer.body:
                    with pytest.raises(Exception, match="unknown organization|was not yet recorded at"):
                        service.status(answer.target, DAY, known_at)
                    continue
                expected: Any = service.status(answer.target, DAY, known_at)
                assert without_known_at(answer.body) == without_known_at(expected)
            elif answer.kind in ("registry", "streaks"):
                expected = (service.registry(DAY, ["certified"], known_at=known_at) if answer.kind == "registry"
                            else service.streaks(DAY, known_at))
                assert [without_known_at(i) for i in answer.body["items"]] == [without_known_at(i) for i in expected]
                assert answer.body["position"] == answer.position
    finally:
        service.close()


def without_known_at(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k != "known_at"}
