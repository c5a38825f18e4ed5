"""How fast does `verify` check the hash chain? Builds a ledger of N events, then times the check.

Events are realistic (registrations, audits with findings, grants, recertifications) but written
through the recorder in large batches, not command by command, so that building is quick. Baselines
in the same run: a raw sqlite3 read of the same join (no hashing), and that read plus SHA-256.

    python benchmarks/verify_chain.py [--events 200000] [--runs 3] [--db FILE]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sqlite3
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ledger.application import CertificationLedger  # noqa: E402
from ledger.domain.events import (  # noqa: E402
    AuditConducted, CertificationGranted, Finding, OrganizationRegistered, Recertified)
from ledger.integrity.walker import verify_chain  # noqa: E402
from ledger.domain.organization import organization_id  # noqa: E402
from ledger.storage import EventExtras
from ledger.storage.chain import format_instant  # noqa: E402
from ledger.domain.values import anniversary_eve  # noqa: E402
from service import reopening  # noqa: E402

EVENTS_PER_ORG = 20  # registration, grant, then nine (audit, recertification) pairs


def organization_events(number: int, clock: datetime) -> list:
    org = f"asmo-{number:06d}"
    oid = organization_id(org)
    common = dict(originator_id=oid, recorded_by="benchmark")
    events = [OrganizationRegistered(**common, originator_version=1, timestamp=clock, date=date(1990, 1, 10),
                                     key=f"{org}:1", originator_topic="ledger.domain.organization:Organization", org=org,
                                     name=f"Cooperativa Minera Aurífera {number}", country="PE", region="Puno",
                                     legal_form="cooperative", deposit="alluvial")]
    valid_from = date(1990, 3, 1)
    valid_until = anniversary_eve(valid_from)
    events.append(CertificationGranted(**common, originator_version=2, timestamp=clock, date=valid_from,
                                       key=f"{org}:2", standard="fairmined", certificate=f"FM-{number:06d}",
                                       valid_from=valid_from, valid_until=valid_until, audit=f"A-{number}-0"))
    for year in range(1, 10):
        version = len(events) + 1
        audit_day = valid_until - timedelta(days=30)
        events.append(AuditConducted(**common, originator_version=version, timestamp=clock, date=audit_day,
                                     key=f"{org}:{version}", body="IMO Swiss AG", kind="recertification",
                                     reference=f"A-{number}-{year}",
                                     findings=(Finding(severity="minor", category="health-safety",
                                                       text="first aid kits incomplete at two work fronts"),)))
        valid_from = valid_until + timedelta(days=1)
        valid_until = anniversary_eve(valid_from)
        events.append(Recertified(**common, originator_version=version + 1, timestamp=clock, date=audit_day,
                                  key=f"{org}:{version + 1}", standard="fairmined", certificate=f"FM-{number:06d}",
                                  valid_from=valid_from, valid_until=valid_until, audit=f"A-{number}-{year}"))
    return events


def build(db: str, total: int, batch: int = 10_000) -> None:
    ledger = CertificationLedger(db)
    clock = datetime(2024, 1, 1, tzinfo=timezone.utc)
    pending: list = []
    for number in range(total // EVENTS_PER_ORG):
        for event in organization_events(number, clock):
            clock += timedelta(microseconds=1)
            pending.append(event.model_copy(update={"timestamp": clock}))
        if len(pending) >= batch:
            write(ledger, pending)
            pending = []
    if pending:
        write(ledger, pending)
    ledger.close()


def write(ledger: CertificationLedger, events: list) -> None:
    stored = [ledger.mapper.to_stored_event(e) for e in events]
    extras = {(e.originator_id, e.originator_version): EventExtras(key=e.key, recorded_at=format_instant(e.timestamp))
              for e in events}
    ledger.recorder.insert_events(stored, extras=extras)


def raw_read(db: str, hashing: bool) -> tuple[int, float]:
    connection = sqlite3.connect(db)
    started = time.perf_counter()
    count, after = 0, 0
    while True:
        rows = connection.execute(
            "SELECT c.seq, c.notification_id, c.originator_id, c.originator_version, c.recorded_at, c.entry_hash, "
            "e.originator_id, e.originator_version, e.topic, e.state FROM ledger_chain c "
            "LEFT JOIN stored_events e ON e.rowid = c.notification_id WHERE c.seq > ? ORDER BY c.seq LIMIT 10000",
            (after,)).fetchall()
        if not rows:
            break
        if hashing:
            for row in rows:
                hashlib.sha256(row[9] + row[5]).digest()
        count += len(rows)
        after = rows[-1][0]
    elapsed = time.perf_counter() - started
    connection.close()
    return count, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3, help="How many times to time the check.")
    parser.add_argument("--db", help="Ledger file to build (default: a temporary file, removed afterwards).")
    args = parser.parse_args()
    directory = None
    db = args.db
    if db is None:
        directory = tempfile.TemporaryDirectory()
        db = os.path.join(directory.name, "bench.db")
    if not os.path.exists(db):
        started = time.perf_counter()
        build(db, args.events)
        print(f"built {args.events} events in {time.perf_counter() - started:.1f} s ({db})")
    ledger = CertificationLedger(db)
    for label, hashing in (("raw sqlite3 read of the join", False), ("raw read + one SHA-256 per row", True)):
        count, elapsed = raw_read(db, hashing)
        print(f"baseline, {label:32}: {count} rows in {elapsed:.2f} s = {count / elapsed:,.0f} rows/s")
    for attempt in range(1, args.runs + 1):
        for label, reopen in (("one walk", None), ("two halves", reopening(ledger))):
            cpu = time.process_time()
            report = verify_chain(ledger.recorder, reopen=reopen)
            cpu = time.process_time() - cpu
            print(f"verify_chain ({label:10}), run {attempt}    : {report.events_checked} events in "
                  f"{report.seconds:.2f} s = {report.events_checked / report.seconds:,.0f} events/s "
                  f"({report.events_checked / cpu:,.0f} per CPU second of this process), intact={report.intact}")
    ledger.close()
    if directory is not None:
        directory.cleanup()


if __name__ == "__main__":
    main()
