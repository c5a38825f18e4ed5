"""What a recording's rows cost the database alone: the floor under B1 and B1 + views.

B1 compares a recording with a one-row INSERT transaction of its event row. But a recording writes
more rows than that, in the same transaction: the chain entry, the import key, a certificate claim
for a grant and, with the views (as every CLI recording), the view rows the event opens and the
UPDATEs that close the ones it replaces. Each lands in its own B-trees, and each B-tree touched is
another page for the commit to write. This script measures those rows without any Python of ours:

1. a fixture ledger is imported (``--orgs`` organizations, three years each) and copied;
2. commands are recorded into one copy through ``CertificationLedger.record`` (no views) and into
   another through ``LedgerService.record`` (the views in the same transaction, as the CLI does);
3. the rows those recordings wrote are read back and written into fresh copies of the fixture with
   raw sqlite3, one transaction per recording, in the same order: the event row alone (B1's
   baseline), the ledger's rows (event, chain entry, key, claim), and those with the view rows.

Each variant runs ``--rounds`` times, in turn; figures are medians, in microseconds per recording.
The floor's ratio (event row alone / the rows a recording writes) is the best B1 could reach if
our Python cost nothing.

    python benchmarks/write_floor.py [--orgs 2000] [--commands 2000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

from fixtures import ledger_commands, write_jsonl  # noqa: E402
from measure import median, run_process  # noqa: E402
from workloads import CERTLEDGER, RECORDED_BY, child_env, command_stream  # noqa: E402

from projections import tables  # noqa: E402
from service import LedgerService  # noqa: E402

Statement = tuple[str, tuple[Any, ...]]


def fixture(directory: Path, organizations: int) -> Path:
    """A ledger of ``organizations`` organizations (three years each), its views caught up."""
    source, db = directory / "fixture.jsonl", directory / "fixture.db"
    write_jsonl(source, ledger_commands(organizations, 3))
    imported = run_process([CERTLEDGER, "--db", str(db), "import", str(source), "--quiet"], env=child_env())
    if imported.returncode != 0:
        raise RuntimeError(imported.stderr)
    return db


def copy_of(db: Path, name: str) -> Path:
    target = db.with_name(name)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copyfile(db, target)
    return target


def record(db: Path, commands: list[dict[str, Any]], views: bool) -> float:
    """Seconds to record ``commands`` one transaction each (with the views in it, as the CLI does)."""
    service = LedgerService(str(db), by=RECORDED_BY)
    if views:
        service.views().catch_up()
        write: Callable[[dict[str, Any]], Any] = service.record
    else:
        ledger = service.ledger()
        write = lambda command: ledger.record(command, by=RECORDED_BY)  # noqa: E731 - the ledger alone, no views
    started = time.perf_counter()
    for command in commands:
        write(command)
    seconds = time.perf_counter() - started
    service.close()
    return seconds


def written(db: Path, after: int, views: bool) -> list[list[Statement]]:
    """The statements that write what each recording after position ``after`` wrote, one list per recording."""
    by_position: dict[int, list[Statement]] = defaultdict(list)
    conn = sqlite3.connect(db)
    for row in conn.execute("SELECT rowid, originator_id, originator_version, topic, state FROM stored_events "
                            "WHERE rowid > ?", (after,)):
        by_position[row[0]].append(("INSERT INTO stored_events (rowid, originator_id, originator_version, topic, "
                                    "state) VALUES (?, ?, ?, ?, ?)", row))
    for row in conn.execute("SELECT * FROM ledger_chain WHERE notification_id > ?", (after,)):
        by_position[row[1]].append(("INSERT INTO ledger_chain VALUES (?, ?, ?, ?, ?, ?)", row))
    for row in conn.execute("SELECT key, notification_id FROM ledger_keys WHERE notification_id > ?", (after,)):
        by_position[row[1]].append(("INSERT INTO ledger_keys VALUES (?, ?)", row))
    for row in conn.execute("SELECT l.number_key, l.originator_id, l.originator_version, e.rowid FROM ledger_claims l "
                            "JOIN stored_events e ON e.originator_id = l.originator_id "
                            "AND e.originator_version = l.originator_version WHERE e.rowid > ?", (after,)):
        by_position[row[3]].append(("INSERT INTO ledger_claims VALUES (?, ?, ?)", row[:3]))
    if views:
        for t in tables.TABLES:
            columns = ", ".join(t.columns)
            names = " AND ".join(f"{column} = ?" for column in tables.VERSION_KEYS[t.name])
            for row in conn.execute(f"SELECT {columns}, known_from, known_until FROM {t.name} "
                                    "WHERE known_from > ? OR known_until > ?", (after, after)):
                *values, known_from, known_until = row
                if known_from > after:
                    by_position[known_from].append((
                        f"INSERT INTO {t.name} ({columns}, known_from) VALUES ({', '.join('?' * (len(values) + 1))})",
                        (*values, known_from)))
                if known_until is not None and known_until > after:
                    key = tuple(row[t.columns.index(column)] for column in tables.VERSION_KEYS[t.name])
                    by_position[known_until].append((
                        f"UPDATE {t.name} SET known_until = ? WHERE {names} AND known_until IS NULL",
                        (known_until, *key)))
        for position in by_position:
            by_position[position].append(("UPDATE tracking SET notification_id = ? WHERE application_name = ?",
                                           (position, "projections")))
    conn.close()
    # Within a recording the view UPDATEs close rows before their successors go in, as the views write them.
    return [sorted(by_position[p], key=lambda s: not s[0].startswith("UPDATE")) if views else by_position[p]
            for p in sorted(by_position)]


def replay_raw(db: Path, recordings: list[list[Statement]]) -> float:
    """Seconds to write each recording's statements in a transaction of its own, with raw sqlite3."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    started = time.perf_counter()
    for statements in recordings:
        conn.execute("BEGIN IMMEDIATE")
        for statement, params in statements:
            conn.execute(statement, params)
        conn.execute("COMMIT")
    seconds = time.perf_counter() - started
    conn.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, default=2000, help="organizations in the fixture ledger")
    parser.add_argument("--commands", type=int, default=2000, help="recordings per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        base = fixture(Path(scratch), args.orgs)
        with sqlite3.connect(base) as conn:
            after = conn.execute("SELECT MAX(rowid) FROM stored_events").fetchone()[0]
        commands = command_stream(args.commands, "floor")
        # What the recordings write, taken from one recording of them (the same commands write the same rows).
        plain, with_views = copy_of(base, "plain.db"), copy_of(base, "views.db")
        record(plain, commands, views=False)
        record(with_views, commands, views=True)
        ledger_rows, all_rows = written(plain, after, views=False), written(with_views, after, views=True)
        event_only = [[s for s in statements if "stored_events" in s[0]] for statements in ledger_rows]
        variants: dict[str, Callable[[], float]] = {
            "raw: the event row alone (B1's baseline)": lambda: replay_raw(copy_of(base, "raw1.db"), event_only),
            "raw: event, chain entry, key, claim": lambda: replay_raw(copy_of(base, "raw2.db"), ledger_rows),
            "raw: those and the view rows": lambda: replay_raw(copy_of(base, "raw3.db"), all_rows),
            "ours: record": lambda: record(copy_of(base, "ours1.db"), commands, views=False),
            "ours: record + views": lambda: record(copy_of(base, "ours2.db"), commands, views=True),
        }
        times: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(args.rounds):
            for name, run in variants.items():
                times[name].append(run() / len(commands) * 1e6)
        statements = sum(len(s) for s in all_rows) / len(all_rows)
        print(f"{len(commands)} recordings on a ledger of {after:,} events, {args.rounds} rounds in turn, "
              f"medians in microseconds per recording ({statements:.1f} statements each with the views)")
        floor = median(times["raw: the event row alone (B1's baseline)"])
        for name, values in times.items():
            print(f"  {name:44} {median(values):7.0f} us   baseline / this = {floor / median(values):.2f}")


if __name__ == "__main__":
    main()
