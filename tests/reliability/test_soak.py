"""Concurrency soak: four writer processes, legal and illegal commands, one ledger; then the books must balance.

Given 4 processes each sending a seeded stream of mixed commands over a shared set of
organizations, when they have all finished, then:
- every acknowledged command is in the ledger, at the position and version it was told;
- nothing else is: the stored events are exactly the acknowledged ones (so no refused
  command was written);
- every refusal was one ``Error:`` line with exit 1 or 2, never a traceback;
- every organization's timeline is legal;
- ``verify`` passes and the views equal a rebuild, where those commands exist.

CI runs 4 x 150 commands over 20 organizations (4 x 100 on PostgreSQL); CERTLEDGER_SOAK_FULL=1 runs
4 x 2,000 over 50.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import cli
from harness import error_lines
from ledger.domain import timeline
from ledger.application import CertificationLedger

# Refusals must come from the rules or the input, never from the storage under concurrency.
STORAGE_FAILURE = re.compile(r"I/O|cannot use|cannot write to|damaged|unexpected failure")
WORKER = str(Path(__file__).with_name("soak_worker.py"))
FULL = os.environ.get("CERTLEDGER_SOAK_FULL") == "1"
WRITERS = 4
ORGANIZATIONS = 50 if FULL else 20


def commands_per_writer(db: str) -> int:
    """2,000 at full size; in CI 150 on SQLite and 100 on PostgreSQL (each command opens its own connections)."""
    if FULL:
        return 2000
    return 100 if db.startswith("postgresql") else 150


def refusal_kind(exit_code: int, line: str) -> str:
    if exit_code == 2:
        return "usage"
    for phrase, kind in (("refused", "rule"), ("unknown organization", "unknown organization"),
                         ("already registered", "already registered"), ("gave up", "conflict")):
        if phrase in line:
            return kind
    return "invalid input"


def run_writers(db: str, directory: Path, seed: int) -> list[dict]:
    logs = [directory / f"writer-{n}.jsonl" for n in range(WRITERS)]
    env = {**os.environ, "CERTLEDGER_USER": "soak"}
    env.pop("CERTLEDGER_DB", None)
    writers = [subprocess.Popen([sys.executable, WORKER, db, str(seed + n), str(commands_per_writer(db)), str(ORGANIZATIONS),
                                 str(log)], env=env, stderr=subprocess.PIPE, text=True)
               for n, log in enumerate(logs)]
    for writer in writers:
        _, stderr = writer.communicate(timeout=1800)
        assert writer.returncode == 0, stderr
    return [json.loads(line) for log in logs for line in log.read_text(encoding="utf-8").splitlines()]


def stored_events(db: str) -> dict[int, dict]:
    app = CertificationLedger(db, must_exist=True)
    try:
        stored = {}
        for org in app.organizations():
            for entry in app.history(org):
                stored[entry["position"]] = {**entry, "org": org}
            events = [event for _, event in app.events_of(org)]
            timeline.check(events)
        return stored
    finally:
        app.close()


def cli_json(db: str, *args: str):
    result = CliRunner().invoke(cli, ["--db", db, *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout) if result.stdout.strip() else None


VIEW_QUERIES = [
    ["registry", "--json", "--as-of", "2016-06-30"],
    ["registry", "--json", "--as-of", "2019-12-31"],
    ["registry", "--json", "--as-of", "2024-12-31"],
    ["streaks", "--json", "--as-of", "2020-12-31"],
    ["report", "--json", "--year", "2019"],
]


def views(db: str) -> list:
    """The registry answers, without the query-time ``known_at`` echo."""
    return [without_query_time(cli_json(db, *query)) for query in VIEW_QUERIES if query[0] in cli.commands]


def without_query_time(answer):
    if isinstance(answer, list):
        return [without_query_time(item) for item in answer]
    if isinstance(answer, dict):
        return {key: without_query_time(value) for key, value in answer.items() if key != "known_at"}
    return answer


@pytest.mark.parametrize("seed", [1000])
def test_four_concurrent_writers_lose_no_acknowledged_command_and_record_no_refused_one(db_url: str,
                                                                                       tmp_path: Path,
                                                                                       seed: int) -> None:
    outcomes = run_writers(db_url, tmp_path, seed)

    acknowledged = {}
    refusals = Counter()
    for outcome in outcomes:
        assert outcome["exception"] is None, outcome
        assert "Traceback" not in outcome["stdout"] + outcome["stderr"], outcome
        if outcome["exit"] == 0:
            event = json.loads(outcome["stdout"])
            assert event["position"] not in acknowledged, "two commands acknowledged at one position"
            acknowledged[event["position"]] = {**event, "org": outcome["args"][1]}
        else:
            assert outcome["exit"] in (1, 2), outcome
            lines = error_lines(outcome["stderr"])
            assert len(lines) == 1, outcome
            assert not STORAGE_FAILURE.search(lines[0]), outcome
            refusals[refusal_kind(outcome["exit"], lines[0])] += 1
    sent = WRITERS * commands_per_writer(db_url)
    assert len(acknowledged) > sent // 10, "too few commands were legal to test anything"
    assert sum(refusals.values()) > sent // 10, "too few commands were refused to test anything"

    print(f"soak: {WRITERS} x {commands_per_writer(db_url)} commands over {ORGANIZATIONS} organizations: {len(acknowledged)} "
          f"acknowledged, {sum(refusals.values())} refused {dict(refusals.most_common())}")
    stored = stored_events(db_url)

    assert set(stored) == set(acknowledged)
    for position, event in acknowledged.items():
        kept = stored[position]
        for field in ("org", "version", "type", "date", "fields", "recorded_by", "recorded_at"):
            assert kept[field] == event[field], (position, field)

    if "verify" in cli.commands:
        verified = CliRunner().invoke(cli, ["--db", db_url, "verify"])
        assert verified.exit_code == 0, verified.output
    if "rebuild" in cli.commands:
        before = views(db_url)
        rebuilt = CliRunner().invoke(cli, ["--db", db_url, "rebuild"])
        assert rebuilt.exit_code == 0, rebuilt.output
        assert views(db_url) == before
