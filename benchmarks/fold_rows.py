"""How long does the fold take: every organization's events into the view rows they make, and nothing else?

A rebuild, a new ledger's first replay, verify's comparison and every recording with the views fold
events into rows (``projections.rows``). This times that fold alone, in this process: the events are
read and decoded once, untimed, then folded ``--repeats`` times; the best CPU time counts (a shared
machine slows a run down, never speeds it up). A digest of every row made is printed with it, so
that two versions of the fold can be shown to make the same rows, to the byte.

    python benchmarks/fold_rows.py LEDGER.db [--repeats 5]

Run it from two checkouts on the same ledger, in turn, to compare them.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ledger.application import CertificationLedger  # noqa: E402
from projections.rows import versions  # noqa: E402
from projections.tables import stored_rows  # noqa: E402

BATCH = 100  # organizations read with one query, as a replay reads them


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", help="a ledger (SQLite file or postgresql:// URL)")
    parser.add_argument("--repeats", type=int, default=5, help="folds timed; the best counts (default 5)")
    args = parser.parse_args(argv)
    ledger = CertificationLedger(args.db, must_exist=True)
    try:
        ids = ledger.log.organization_ids()
        histories = [entries for start in range(0, len(ids), BATCH)
                     for entries in ledger.log.entries(ids[start:start + BATCH], None)]
    finally:
        ledger.close()
    events = sum(len(entries) for entries in histories)
    best, rows = float("inf"), []
    for _ in range(max(args.repeats, 1)):
        started = time.process_time()
        rows = [stored_rows(versions(entries)) for entries in histories]
        best = min(best, time.process_time() - started)
    digest = hashlib.sha256(repr(rows).encode()).hexdigest()[:16]
    count = sum(len(table) for made in rows for table in made.values())
    print(f"{events:,} events of {len(histories):,} organizations folded into {count:,} rows: best of "
          f"{max(args.repeats, 1)} {best:.3f} s CPU, {best / max(events, 1) * 1e6:.1f} us an event; "
          f"rows digest {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
