"""Ledgers to measure: generated command streams, one very busy organization, fast loading.

Everything here is deterministic: the same sizes give the same commands.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Iterable, Iterator

from generate import LAST_DATE, anniversary_eve, generate

BUSY_ORG = "busy-000001"
EVENTS_PER_ORG_YEAR = 3.5  # what the generator gives on average (measured over 1,000 organizations)


def renamed(commands: Iterable[dict[str, Any]], prefix: str) -> Iterator[dict[str, Any]]:
    """The generator's commands for other organizations: ``org-000001`` becomes ``<prefix>-000001``.

    Certificate numbers take the prefix too, so that the renamed stream can be recorded into a
    ledger that already holds the original one.
    """
    for command in commands:
        command = dict(command)
        command["org"] = prefix + command["org"][3:]
        if "certificate" in command:
            command["certificate"] = f"{prefix}:{command['certificate']}"
        yield command


def organizations_for(events: int, years: int) -> int:
    """How many generated organizations of ``years`` years give about ``events`` events."""
    return max(1, round(events / (EVENTS_PER_ORG_YEAR * years)))


def ledger_commands(orgs: int, years: int, *, busy_events: int = 0, seed: int = 0) -> Iterator[dict[str, Any]]:
    """One busy organization (if asked), then ``orgs`` generated ones with histories up to ``years`` long."""
    if busy_events:
        yield from busy_organization(BUSY_ORG, busy_events)
    yield from generate(orgs, years, seed=seed, start_year=LAST_DATE.year - years + 1)


def busy_organization(org: str, events: int) -> Iterator[dict[str, Any]]:
    """One organization with ``events`` events (at most about 1,000): a yearly chain since 1900.

    Every year of the chain has surveillance audits, a suspension and its reinstatement, a
    recertification audit and the renewal; every tenth renewal switches the standard.
    """
    registered = date(1900, 1, 2)
    commands: list[dict[str, Any]] = [
        {"command": "register", "org": org, "date": registered.isoformat(), "name": "Cooperativa Minera Ocupada",
         "country": "PE", "region": "Ananea, Puno", "legal_form": "cooperative"},
        {"command": "audit", "org": org, "date": "1900-02-15", "body": "FLO-CERT", "kind": "initial",
         "reference": f"{org}:AUD-0"},
        {"command": "certify", "org": org, "date": "1900-03-01", "standard": "fairmined",
         "certificate": f"{org}:FM-1", "audit": f"{org}:AUD-0"},
    ]
    yield from commands[:events]
    count = len(commands)
    valid_from = date(1900, 3, 1)
    valid_until = anniversary_eve(valid_from)
    year = 0
    while count < events:
        year += 1
        standard = "ecological" if (year // 10) % 2 else "fairmined"
        plan = [
            (valid_from + timedelta(days=30), {"command": "audit", "body": "IMO Swiss AG", "kind": "surveillance",
                                               "reference": f"{org}:AUD-{year}-1"}),
            (valid_from + timedelta(days=90), {"command": "audit", "body": "IMO Swiss AG", "kind": "surveillance",
                                               "reference": f"{org}:AUD-{year}-2",
                                               "finding": ["major:health-safety:ventilation of the main adit"]}),
            (valid_from + timedelta(days=100), {"command": "suspend", "reason": "major nonconformity"}),
            (valid_from + timedelta(days=120), {"command": "reinstate"}),
            (valid_from + timedelta(days=150), {"command": "audit", "body": "IMO Swiss AG", "kind": "follow-up",
                                                "reference": f"{org}:AUD-{year}-3"}),
            (valid_from + timedelta(days=210), {"command": "audit", "body": "IMO Swiss AG", "kind": "surveillance",
                                                "reference": f"{org}:AUD-{year}-4"}),
            (valid_until - timedelta(days=40), {"command": "audit", "body": "IMO Swiss AG",
                                                "kind": "recertification", "reference": f"{org}:AUD-{year}-5"}),
            (valid_until - timedelta(days=30), {"command": "recertify", "standard": standard,
                                                "audit": f"{org}:AUD-{year}-5"}),
        ]
        for day, fields in plan:
            if count >= events or day > LAST_DATE:
                return
            yield {**fields, "org": org, "date": day.isoformat()}
            count += 1
        valid_from = valid_until + timedelta(days=1)
        valid_until = anniversary_eve(valid_from)


def write_jsonl(path: Path, commands: Iterable[dict[str, Any]]) -> int:
    """Write ``commands`` as import lines; return how many."""
    count = 0
    with open(path, "w", encoding="utf-8") as out:
        for command in commands:
            out.write(json.dumps(command, ensure_ascii=False) + "\n")
            count += 1
    return count


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            yield json.loads(line)
