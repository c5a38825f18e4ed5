"""Verification of the ledger's own indexes against its events: the import keys and the certificate claims.

Both are written in each event's transaction, and both decide what a later command may do: a key row
that went missing lets an import record a line a second time; a claim that went missing lets a second
organization take a certificate number. Neither is covered by the hash chain, but the events they are
made from are, so ``verify`` rebuilds what they must hold from the events (once the chain is intact)
and compares:

- **Keys.** Every event stores its import key; the key index holds exactly one row per event, that key
  at that event's position. The events are read in batches and their keys looked up by the index's
  primary key, so memory stays flat; a count finds rows that no event has.
- **Claims.** A grant with a number, and a renewal given a number of its own, claim it (letter case
  aside); a retraction frees it. Each claim row must name an event that claims that number and is not
  retracted; and a number claimed by one event only, never retracted, must have its row. (A ledger of
  the first release may hold a number twice; whom it belongs to after a retraction is not judged.)

It reads the database only through the storage boundary (``select_rows``, ``key_positions``, ``key_count``,
``select_claim_rows``).
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from eventsourcing.utils import resolve_topic

from ledger.domain.events import CertificationGranted, EntryRetracted, OrganizationRegistered, Recertified
from ledger.domain.values import certificate_key
from ledger.storage import LedgerStorage

BATCH_SIZE = 10_000
KEPT_PROBLEMS = 100


class Findings:
    """The problems found, the first ``KEPT_PROBLEMS`` kept in words, all of them counted."""

    def __init__(self) -> None:
        self.kept: list[str] = []
        self.count = 0

    def add(self, problem: str) -> None:
        self.count += 1
        if len(self.kept) < KEPT_PROBLEMS:
            self.kept.append(problem)


def verify_indexes(storage: LedgerStorage) -> Findings:
    findings = Findings()
    claimants: dict[str, list[tuple[UUID, int]]] = {}  # number key -> the events that claimed it
    retracted: set[tuple[UUID, int]] = set()
    names: dict[UUID, str] = {}
    found = 0  # key rows that belong to an event
    after = 0
    while rows := storage.select_rows(after, BATCH_SIZE):
        expected: dict[str, int] = {}
        for row in rows:
            state = json.loads(row.state)
            if state.get("key"):
                expected[state["key"]] = row.position
            _note_claims(row.originator_id, row.originator_version, resolve_topic(row.topic), state, claimants,
                         retracted, names)
        stored = storage.key_positions(list(expected))
        for key, position in expected.items():
            if key not in stored:
                findings.add(f"keys: the key of position {position} is missing from the key index (an import "
                             "would record that line again)")
            elif stored[key] != position:
                findings.add(f"keys: the key index gives the key of position {position} to position {stored[key]}")
        found += len(stored)
        after = rows[-1].position
    extra = storage.key_count() - found
    if extra > 0:
        findings.add(f"keys: the key index holds {extra} key{'s' if extra != 1 else ''} that no event has")
    _compare_claims(storage, claimants, retracted, names, findings)
    return findings


def _note_claims(originator_id: UUID, version: int, event_class: type, state: dict[str, Any],
                 claimants: dict[str, list[tuple[UUID, int]]], retracted: set[tuple[UUID, int]],
                 names: dict[UUID, str]) -> None:
    if issubclass(event_class, OrganizationRegistered):
        names[originator_id] = str(state.get("org", originator_id))
    elif issubclass(event_class, EntryRetracted):
        retracted.add((originator_id, int(state["target"])))
    elif issubclass(event_class, CertificationGranted) or (
            issubclass(event_class, Recertified) and state.get("renumbered")):
        if state.get("certificate"):
            claimants.setdefault(certificate_key(state["certificate"]), []).append((originator_id, version))


def _compare_claims(storage: LedgerStorage, claimants: dict[str, list[tuple[UUID, int]]],
                    retracted: set[tuple[UUID, int]], names: dict[UUID, str], findings: Findings) -> None:
    def event(holder: tuple[UUID, int]) -> str:
        return f"version {holder[1]} of {names.get(holder[0], holder[0])}"

    held = set()
    for number_key, originator_id, version in storage.select_claim_rows():
        holder = (originator_id, int(version))
        held.add(number_key)
        if holder not in claimants.get(number_key, ()):
            findings.add(f"claims: the claim index gives number {number_key} to {event(holder)}, which does not "
                         "claim it")
        elif holder in retracted:
            findings.add(f"claims: the claim index gives number {number_key} to {event(holder)}, which is "
                         "retracted")
    for number_key, events in claimants.items():
        if len(events) == 1 and events[0] not in retracted and number_key not in held:
            findings.add(f"claims: number {number_key}, claimed by {event(events[0])}, is missing from the claim "
                         "index (another organization could take it)")
