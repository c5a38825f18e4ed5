"""certledger benchmarks: each workload against its raw baseline, measured in the same run.

    python benchmarks/run.py            default sizes (a few minutes at most)
    python benchmarks/run.py --scale    full sizes (1,000,000 events)
    python benchmarks/run.py --tiny     a smoke run (seconds)

Machines are shared and noisy: every figure is a median (or a percentile) of repeats,
and each target is a ratio to a baseline measured alongside it, except where the
target itself is an absolute time.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from typing import Callable
from datetime import date, datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import on_postgres as op  # noqa: E402
import workloads as w  # noqa: E402
from baselines import synchronous_of  # noqa: E402
from fixtures import ledger_commands, organizations_for  # noqa: E402
from measure import Result  # noqa: E402

from ledger.application import CertificationLedger  # noqa: E402


@dataclass(frozen=True)
class Sizes:
    name: str
    small_events: int       # the "10,000 events" ledger of B7
    busy_events: int        # the busy organization of B4
    big_orgs: int           # organizations of the big ledger (the registry answers over these)
    big_years: int          # years of history per organization of the big ledger
    record_commands: int    # B1 commands per ledger (split into rounds)
    rounds: int
    state_queries: int
    registry_queries: int
    process_runs: int
    repeats: int
    postgres_orgs: int      # organizations of the PostgreSQL ledger (same years as the big one)
    wide_orgs: int = 0      # the acceptance checks' ledger: this many organizations x 4 years (0: none)


SIZES = {
    "tiny": Sizes("tiny", 300, 100, 60, 2, 24, 2, 30, 3, 2, 1, 20, 40),
    "default": Sizes("default", 10_000, 1_000, 10_000, 3, 400, 5, 1_000, 30, 10, 3, 2_000, 20_000),
    "scale": Sizes("scale", 10_000, 1_000, 10_000, 29, 600, 5, 2_000, 50, 15, 3, 3_000, 20_000),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--scale", action="store_const", dest="size", const="scale", help="full sizes (1M events)")
    group.add_argument("--tiny", action="store_const", dest="size", const="tiny", help="a smoke run")
    parser.add_argument("--orgs", type=int, help="organizations of the big ledger (overrides the size)")
    parser.add_argument("--years", type=int, help="years per organization of the big ledger (overrides the size)")
    parser.add_argument("--postgres-orgs", type=int, help="organizations of the PostgreSQL ledger")
    parser.add_argument("--no-postgres", action="store_true", help="leave the PostgreSQL variants out")
    parser.add_argument("--no-sqlite", action="store_true", help="run only the PostgreSQL variants")
    parser.add_argument("--keep", metavar="DIR", help="write the ledgers here and keep them")
    parser.set_defaults(size="default")
    args = parser.parse_args(argv)
    sizes = SIZES[args.size]
    if args.orgs:
        sizes = replace(sizes, big_orgs=args.orgs)
    if args.years:
        sizes = replace(sizes, big_years=args.years)
    if args.postgres_orgs:
        sizes = replace(sizes, postgres_orgs=args.postgres_orgs)

    scratch = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="certledger-bench-"))
    scratch.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        results: list[Result] = []
        if not args.no_sqlite:
            results += part("SQLite", run, sizes, scratch)
        if not args.no_postgres:
            results += part("PostgreSQL", run_postgres, sizes, scratch)
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    print(report(results, sizes, time.perf_counter() - started))
    return 0


def part(name: str, measure: Callable[[Sizes, Path, list[Result]], None], sizes: Sizes, scratch: Path
         ) -> list[Result]:
    """The rows of one part of the run; a part that fails keeps the rows it has and adds one saying why."""
    results: list[Result] = []
    try:
        measure(sizes, scratch, results)
    except Exception as error:  # noqa: BLE001 - report it in the table rather than lose the other rows
        progress(f"{name} part failed: {error}")
        results.append(Result(f"{name} part", "-", "-", None, "-", False, [f"failed: {' '.join(str(error).split())}"]))
    return results


def progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def run(sizes: Sizes, scratch: Path, results: list[Result]) -> None:
    os.environ["CERTLEDGER_USER"] = w.RECORDED_BY

    progress(f"small ledger: about {sizes.small_events:,} events")
    small_file = scratch / "small.db"
    small = CertificationLedger(str(small_file))
    w.import_commands(small, ledger_commands(organizations_for(sizes.small_events - sizes.busy_events, 20), 20,
                                busy_events=sizes.busy_events))
    small_events = small.recorder.max_position()

    progress(f"B2 import: {sizes.big_orgs:,} organizations x {sizes.big_years} years")
    big_file = scratch / "big.db"
    b2, big_events = w.b2_import(big_file, lambda: ledger_commands(sizes.big_orgs, sizes.big_years,
                                                                   busy_events=sizes.busy_events),
                                 scratch, sizes.repeats)
    results.append(b2)
    big = CertificationLedger(str(big_file))
    big_label = f"{big_events:,} events"
    small_label = f"{small_events:,} events"

    progress("B3 rebuild")
    results.append(w.b3_rebuild(str(big_file), big_file, big_events, sizes.repeats,
                                lambda: w.raw.scan_and_decode(big_file), "SQLite"))

    progress("B5 verify")
    results += w.b5_verify(big, str(big_file), big_file, big_events, sizes.repeats)

    progress("B4 state_at and registry")
    state_small = w.state_times(CertificationLedger(str(small_file)), small_file, sizes.state_queries)
    state_big = w.state_times(CertificationLedger(str(big_file)), big_file, sizes.state_queries)
    results += [w.b4_state_result(state_small, sizes.busy_events, small_label),
                w.b4_state_result(state_big, sizes.busy_events, big_label)]
    first_day = date(LAST_YEAR - sizes.big_years + 1, 7, 20)  # every organization is registered by then
    registry_big, registry_big_raw = w.registry_times(big, big_file, first_day, sizes.registry_queries)
    results.append(w.b4_registry_result(registry_big, registry_big_raw, sizes.big_orgs + 1, big_label))

    progress("B8 known-at answers, B9 view sizes")
    results += w.known_at_times(big, first_day, sizes.registry_queries)
    results.append(w.view_size_result(big_file, scratch))

    progress("B6 status and a recording command as processes")
    results.append(w.b6_status_process(str(big_file), f"org-{max(1, sizes.big_orgs // 2):06d}", sizes.process_runs))
    results.append(w.b6_recording_process(str(big_file), f"org-{max(1, sizes.big_orgs // 3):06d}", sizes.process_runs))

    progress("B1 record")
    commands = w.command_stream(sizes.record_commands, "rec")
    sync = f"WAL, synchronous={synchronous_of(small_file)}"
    record_small = w.record_rates(small, small_file, commands[:sizes.record_commands], sizes.rounds,
                                  scratch / "raw-record-small.db")
    record_big = w.record_rates(big, big_file, commands[:sizes.record_commands], sizes.rounds,
                                scratch / "raw-record-big.db")
    results += w.b1_results(record_small, small_label, sync) + w.b1_results(record_big, big_label, sync)

    progress("B7 degradation")
    one_year_file = scratch / "one-year.db"
    one_year = CertificationLedger(str(one_year_file))
    w.import_commands(one_year, ledger_commands(sizes.big_orgs, 1, busy_events=sizes.busy_events))
    registry_young, _ = w.registry_times(one_year, one_year_file, date(LAST_YEAR, 7, 20), sizes.registry_queries)
    young_label = f"{one_year.recorder.max_position():,} events"
    results += [
        w.b7_result("B1 ratio to raw", record_small.ratio, record_big.ratio, small_label, big_label),
        w.b7_result("B4 state_at median", 1 / w.median(state_small.warm), 1 / w.median(state_big.warm),
                    small_label, big_label),
        w.b7_result(f"B4 registry median, {sizes.big_orgs + 1:,} orgs", 1 / w.median(registry_young),
                    1 / w.median(registry_big), young_label, big_label),
    ]
    for ledger in (small, big, one_year):
        ledger.close()
    if sizes.wide_orgs:
        results += acceptance_checks(sizes, scratch)


def acceptance_checks(sizes: Sizes, scratch: Path) -> list[Result]:
    """The independent CLI measurements: an import of about 300,000 events, and the registry over
    20,000 organizations, each as a whole process."""
    progress(f"acceptance checks: {sizes.wide_orgs:,} organizations x 4 years through the CLI")
    wide_file = scratch / "wide.db"
    imported, _ = w.b2_import(wide_file, lambda: ledger_commands(sizes.wide_orgs, 4), scratch, sizes.repeats,
                              target=0.12)
    imported.workload = imported.workload.replace("B2 import", "CLI import")
    seconds = w.registry_process(str(wide_file), date(LAST_YEAR - 3, 7, 20), max(3, sizes.process_runs // 3))
    return [imported, w.registry_process_result(seconds, sizes.wide_orgs, "CLI")]


LAST_YEAR = w.LAST_DATE.year


def run_postgres(sizes: Sizes, scratch: Path, results: list[Result]) -> None:
    reason = op.unavailable()
    if reason:
        results.append(Result("B1-B3 on PostgreSQL", "-", "-", None, "-", None, [reason]))
        return
    with op.schemas() as (url, raw_schema, conn):
        progress(f"PostgreSQL B2 import: {sizes.postgres_orgs:,} organizations x {sizes.big_years} years")
        b2, events = op.import_and_baselines(url, conn, raw_schema, lambda: ledger_commands(
            sizes.postgres_orgs, sizes.big_years, busy_events=sizes.busy_events), scratch, sizes.repeats)
        label = f"{events:,} events, PostgreSQL"
        progress("PostgreSQL B3 rebuild")
        results += [b2, op.rebuild_result(url, conn, events, sizes.repeats)]
        progress("PostgreSQL B1 record")
        ledger = CertificationLedger(url)
        rates = op.record_rates(ledger, url, conn, raw_schema, w.command_stream(sizes.record_commands, "rec"),
                                sizes.rounds)
        ledger.close()
        results += w.b1_results(rates, label, f"synchronous_commit={op.synchronous_commit(conn)}")


def report(results: list[Result], sizes: Sizes, seconds: float) -> str:
    header = ("workload", "ours", "raw baseline", "ratio", "target", "")
    rows = [(r.workload, r.ours, r.raw, f"{r.ratio:.2f}" if r.ratio is not None else "-", r.target, r.verdict)
            for r in results]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = [f"certledger benchmarks, {sizes.name} sizes, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, "
             f"{os.cpu_count()} CPUs, Python {platform.python_version()}, {seconds:.0f}s",
             "ratio = our rate / the raw baseline's rate, both measured in this run (medians of repeats)", ""]
    lines.append("  ".join(h.ljust(widths[i]) for i, h in enumerate(header)).rstrip())
    lines.append("  ".join("-" * widths[i] for i in range(len(header))))
    for row in rows:
        lines.append("  ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
    lines.append("")
    for r in results:
        for note in r.notes:
            lines.append(f"{r.workload}: {note}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
