"""One function per workload: our rate and the raw baseline's, measured in the same run.

Each returns ``Result`` rows for the table; ratios are ours / raw as rates.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import islice
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import baselines as raw
from fixtures import BUSY_ORG, renamed, write_jsonl
from generate import LAST_DATE, generate
from measure import Result, latencies, median, millis, per_second, percentile, rate, run_process, timed

from ledger.application import CertificationLedger
from ledger.transfer.importing import import_lines
from ledger.integrity.walker import verify_chain
from ledger.domain.organization import organization_id
from projections import Views
from service import LedgerService, reopening

PYTHON = sys.executable
CERTLEDGER = str(Path(sys.executable).with_name("certledger"))
HERE = Path(__file__).resolve().parent
RECORDED_BY = "bench"


@dataclass(frozen=True)
class Sized:
    """A ledger to measure on: where it is and what is in it."""

    label: str
    path: Path
    events: int
    organizations: int


def command_stream(count: int, prefix: str) -> list[dict[str, Any]]:
    """``count`` commands for organizations that no fixture ledger holds, with 20-year histories."""
    orgs = count // 60 + 2
    return list(islice(renamed(generate(orgs, 20, seed=7, start_year=LAST_DATE.year - 19), prefix), count))


# ---------------------------------------------------------------------- B1: one command per transaction

@dataclass
class RecordRates:
    ours: list[float]
    with_views: list[float]
    raw: list[float]

    @property
    def ratio(self) -> float:
        return median(self.ours) / median(self.raw)


def record_rates(ledger: CertificationLedger, ledger_file: Path, commands: Sequence[dict[str, Any]], rounds: int,
                 raw_file: Path) -> RecordRates:
    """Alternate rounds: ours (record), ours + catching the views up (as the CLI does), raw inserts.

    The raw rounds insert exactly the rows our rounds stored, one per transaction, into a copy
    of the ledger's events table of the same size.
    """
    baseline = raw.raw_sqlite(raw_file, ledger_file, copy_rows=True)
    try:
        return alternate_rounds(
            ledger, commands, rounds,
            rows_after=lambda position: [row for chunk in raw.stored_rows(ledger_file, after=position)
                                         for row in chunk],
            insert_raw=lambda rows: raw.insert_one_per_transaction(baseline, rows))
    finally:
        baseline.close()


def alternate_rounds(ledger: CertificationLedger, commands: Sequence[dict[str, Any]], rounds: int,
                     rows_after: Callable[[int], list[Any]], insert_raw: Callable[[list[Any]], Any]) -> RecordRates:
    """B1 on any backend: rounds of recording, of recording with the views as the CLI and the web record (through
    ``LedgerService.record``: the event and its view rows in one transaction), and of raw inserts of the same rows.
    The plain rounds leave the views behind: they are caught up before each views round, untimed, so that each of
    its recordings finds them current, as a CLI recording after another CLI recording does."""
    service = LedgerService(ledger.db, by=RECORDED_BY)
    result = RecordRates([], [], [])
    per_round = len(commands) // (2 * rounds)
    position = ledger.recorder.max_position()
    try:
        for r in range(rounds):
            plain = commands[2 * r * per_round:(2 * r + 1) * per_round]
            cli_like = commands[(2 * r + 1) * per_round:(2 * r + 2) * per_round]
            seconds, _ = timed(lambda: [ledger.record(c, by=RECORDED_BY) for c in plain])
            result.ours.append(rate(len(plain), seconds))
            service.views().catch_up()
            seconds, _ = timed(lambda: [service.record(c) for c in cli_like])
            result.with_views.append(rate(len(cli_like), seconds))
            rows = rows_after(position)
            position = ledger.recorder.max_position()
            seconds, _ = timed(lambda: insert_raw(rows))
            result.raw.append(rate(len(rows), seconds))
    finally:
        service.close()
    return result


def b1_results(rates: RecordRates, where: str, synchronous: str) -> list[Result]:
    ratio = rates.ratio
    return [
        Result(f"B1 record, 1 command/txn ({where})", per_second(median(rates.ours)), per_second(median(rates.raw)),
               ratio, ">= 0.40", ratio >= 0.40, [f"raw: one-row INSERT transactions, {synchronous}"]),
        Result(f"B1 record + views ({where})", per_second(median(rates.with_views)),
               per_second(median(rates.raw)), median(rates.with_views) / median(rates.raw), ">= 0.20",
               median(rates.with_views) / median(rates.raw) >= 0.20,
               ["what the CLI does per recording command, without process start-up: the event and its view rows "
                "in one transaction"]),
    ]


# ---------------------------------------------------------------------- B2: bulk import

def import_process(db: str, source: Path) -> tuple[int, float, int]:
    """``certledger import`` as a whole process: (events recorded, seconds, peak RSS in KB)."""
    process = run_process([CERTLEDGER, "--db", db, "import", str(source), "--quiet", "--json"], env=child_env(),
                          memory=True)
    if process.returncode != 0:
        raise RuntimeError(f"import failed: {process.stderr.strip()[-2000:]}")
    return json.loads(process.stdout)["recorded"], process.seconds, process.max_rss_kb


def import_commands(ledger: CertificationLedger, commands: Iterable[dict[str, Any]]) -> int:
    """Fill a fixture ledger through the bulk import and catch its projections up; return the events recorded."""
    summary = import_lines(ledger, commands, by=RECORDED_BY)
    Views(ledger.log).catch_up()
    return summary.recorded


def b2_import(ledger_file: Path, commands: Callable[[], Any], scratch: Path, repeats: int, *,
              target: float = 0.15) -> tuple[Result, int]:
    source = scratch / "import.jsonl"
    lines = write_jsonl(source, commands())
    events, seconds, rss_kb = import_process(str(ledger_file), source)
    raw_rates = []
    for r in range(repeats):
        baseline = raw.raw_sqlite(scratch / "raw-import.db", ledger_file)
        count, spent = raw.insert_all_in_one_transaction(baseline, raw.stored_rows(ledger_file))
        baseline.close()
        raw_rates.append(rate(count, spent))
    source.unlink()
    ours, base = rate(events, seconds), median(raw_rates)
    rss_mb = rss_kb / 1024
    met = ours / base >= target and rss_mb <= 300
    return Result(f"B2 import {events:,} events (SQLite)", per_second(ours), per_second(base), ours / base,
                  f">= {target:.2f}, RSS <= 300 MB", met,
                  [f"{lines:,} lines as one process: validation, events, hash chain, projections; "
                   f"peak RSS {rss_mb:.0f} MB", "raw: executemany of the same rows in one transaction"]), events


# ---------------------------------------------------------------------- B3: rebuild

def b3_rebuild(db: str, ledger_file: Path | None, events: int, repeats: int,
               raw_scan: Callable[[], int], where: str) -> Result:
    ours, base, rss = [], [], 0
    for _ in range(repeats):
        process = run_process([CERTLEDGER, "--db", db, "rebuild"], env=child_env(), memory=True)
        if process.returncode != 0:
            raise RuntimeError(f"rebuild failed: {process.stderr.strip()[-2000:]}")
        ours.append(rate(events, process.seconds))
        rss = max(rss, process.max_rss_kb)
        seconds, count = timed(raw_scan)
        base.append(rate(count, seconds))
    ratio = median(ours) / median(base)
    return Result(f"B3 rebuild {events:,} events ({where})", per_second(median(ours)), per_second(median(base)),
                  ratio, ">= 0.33", ratio >= 0.33,
                  [f"`certledger rebuild` as a process, peak RSS {rss / 1024:.0f} MB",
                   "raw: scan of the event rows in position order + json.loads"])


# ---------------------------------------------------------------------- B4: point in time

def random_days(rng: random.Random, first: date, last: date, count: int) -> list[date]:
    span = (last - first).days
    return [first + timedelta(days=rng.randint(0, span)) for _ in range(count)]


@dataclass
class StateTimes:
    cold: float
    warm: list[float]
    raw: list[float]


def state_times(ledger: CertificationLedger, ledger_file: Path, queries: int) -> StateTimes:
    """state_at of the busy organization on random dates (a fresh ledger object: the first call is cold)."""
    days = random_days(random.Random(4), date(1900, 1, 2), LAST_DATE, queries)
    cold, _ = timed(lambda: ledger.state_at(BUSY_ORG, days[0]))
    warm = latencies(lambda day: ledger.state_at(BUSY_ORG, day), days[1:])
    conn = sqlite3.connect(ledger_file)
    busy = organization_id(BUSY_ORG).hex
    base = latencies(lambda _: raw.read_organization(conn, busy), days[1:])
    conn.close()
    return StateTimes(cold, warm, base)


def b4_state_result(times: StateTimes, busy_events: int, where: str) -> Result:
    p99 = percentile(times.warm, 99)
    return Result(f"B4 state_at, {busy_events:,}-event org ({where})", f"p99 {millis(p99)}",
                  f"p99 {millis(percentile(times.raw, 99))}", percentile(times.raw, 99) / p99, "p99 <= 5 ms",
                  p99 <= 0.005,
                  [f"median {millis(median(times.warm))}, first call {millis(times.cold)}",
                   "raw: select that organization's rows + json.loads each"])


def registry_times(ledger: CertificationLedger, ledger_file: Path, first: date, queries: int
                   ) -> tuple[list[float], list[float]]:
    views = Views(ledger.log)
    views.catch_up()
    days = random_days(random.Random(5), first, LAST_DATE, queries)
    ours = latencies(lambda day: views.registry(day), days)
    conn = sqlite3.connect(ledger_file)
    base = latencies(lambda day: raw.registry_rows(conn, day), days)
    conn.close()
    return ours, base


def b4_registry_result(ours: list[float], base: list[float], organizations: int, where: str) -> Result:
    mid = median(ours)
    return Result(f"B4 registry --as-of, {organizations:,} orgs ({where})", f"median {millis(mid)}",
                  f"median {millis(median(base))}", median(base) / mid, "<= 250 ms", mid <= 0.250,
                  [f"max {millis(max(ours))} over {len(ours)} random dates",
                   "raw: the registry's own statement on a raw connection + one json.loads"])


def registry_process(db: str, first: date, runs: int) -> list[float]:
    """``certledger registry --as-of D`` as whole processes on random dates: seconds each."""
    seconds = []
    for day in random_days(random.Random(6), first, LAST_DATE, runs):
        process = run_process([CERTLEDGER, "--db", db, "registry", "--as-of", day.isoformat()], env=child_env())
        if process.returncode != 0:
            raise RuntimeError(f"registry failed: {process.stderr.strip()[-2000:]}")
        seconds.append(process.seconds)
    return seconds


def registry_process_result(seconds: list[float], organizations: int, where: str) -> Result:
    mid = median(seconds)
    return Result(f"registry --as-of process, {organizations:,} orgs ({where})", f"median {millis(mid)}", "-", None,
                  "<= 0.4 s", mid <= 0.4, [f"max {millis(max(seconds))} over {len(seconds)} random dates, "
                                          "the whole table printed"])


# ---------------------------------------------------------------------- B5: verify

def b5_verify(ledger: CertificationLedger, db: str, ledger_file: Path, events: int, repeats: int) -> list[Result]:
    ours, base = [], []
    for _ in range(repeats):
        # As `certledger verify` walks it: a long chain in two halves at once.
        seconds, report = timed(lambda: verify_chain(ledger.recorder, reopen=reopening(ledger)))
        if not report.intact:
            raise RuntimeError("the benchmark ledger's chain does not verify")
        ours.append(rate(events, seconds))
        seconds, count = timed(lambda: raw.rehash_chain(ledger_file))
        base.append(rate(count, seconds))
    whole = run_process([CERTLEDGER, "--db", db, "verify"], env=child_env(), memory=True)
    if whole.returncode != 0:
        raise RuntimeError(f"verify failed: {whole.stderr.strip()[-2000:]}")
    whole_rate, rss_mb = rate(events, whole.seconds), whole.max_rss_kb / 1024
    return [
        Result(f"B5 verify chain, {events:,} events", per_second(median(ours)), per_second(median(base)),
               median(ours) / median(base), ">= 300k/s", median(ours) >= 300_000,
               ["in-process chain verification as `verify` runs it (a long chain in two halves, the second in a "
                "forked process); raw: join of chain and event rows + SHA-256 of each, in one loop"]),
        Result("B5 `certledger verify` process", per_second(whole_rate), per_second(median(base)),
               whole_rate / median(base), ">= 150k/s, RSS <= 300 MB", whole_rate >= 150_000 and rss_mb <= 300,
               ["the chain and a comparison of the projections with a replay, organization by organization, "
                f"as one process; peak RSS {rss_mb:.0f} MB"]),
    ]


# ---------------------------------------------------------------------- B6: a whole process

def b6_status_process(db: str, org: str, runs: int) -> Result:
    ours, deps = [], []
    env = child_env()
    for _ in range(runs):
        process = run_process([CERTLEDGER, "--db", db, "status", org], env=env)
        if process.returncode != 0:
            raise RuntimeError(f"status failed: {process.stderr.strip()}")
        ours.append(process.seconds)
        deps.append(run_process([PYTHON, "-c", "import click, pydantic, eventsourcing"], env=env).seconds)
    ratio = median(deps) / median(ours)
    return Result(f"B6 `certledger status ORG` process", f"{millis(median(ours))}", f"{millis(median(deps))}",
                  ratio, "<= 2x (ratio >= 0.50)", ratio >= 0.5,
                  ["raw: a Python process that only imports click, pydantic and eventsourcing"])


def b6_recording_process(db: str, org: str, runs: int) -> Result:
    """One recording command as a whole process (the event and its view rows in one transaction), against the
    deps-only process."""
    ours, deps = [], []
    env = child_env()
    for n in range(runs):
        process = run_process([CERTLEDGER, "--db", db, "audit", org, "--date", LAST_DATE.isoformat(), "--body",
                               "IMO Swiss AG", "--kind", "surveillance", "--reference", f"bench-{n}"], env=env)
        if process.returncode != 0:
            raise RuntimeError(f"audit failed: {process.stderr.strip()}")
        ours.append(process.seconds)
        deps.append(run_process([PYTHON, "-c", "import click, pydantic, eventsourcing"], env=env).seconds)
    ratio = median(deps) / median(ours)
    return Result("B6 a recording command process", f"{millis(median(ours))}", f"{millis(median(deps))}",
                  ratio, "<= 2.2x (ratio >= 0.45)", ratio >= 1 / 2.2,
                  ["`certledger audit ...`: record one event with its view rows, as one process; raw: a Python "
                   "process that only imports click, pydantic and eventsourcing"])


# ---------------------------------------------------------------------- B8: known-at answers

def known_at_times(ledger: CertificationLedger, first: date, queries: int) -> list[Result]:
    """registry, streaks and report as known at an earlier position, against the same questions now."""
    views = Views(ledger.log)
    views.catch_up()
    known = str(ledger.recorder.max_position() // 2)
    days = random_days(random.Random(8), first, LAST_DATE, queries)
    results = []
    for name, now, then in (
            ("registry", lambda day: views.registry(day), lambda day: views.registry(day, known_at=known)),
            ("streaks", lambda day: views.streaks(day), lambda day: views.streaks(day, known_at=known)),
            ("report", lambda day: views.year_report(day.year), lambda day: views.year_report(day.year, known)),
    ):
        ours, base = median(latencies(then, days)), median(latencies(now, days))
        results.append(Result(f"B8 {name} --known-at (position {known})", f"median {millis(ours)}",
                              f"median {millis(base)}", base / ours, "<= 2x (ratio >= 0.50)", base / ours >= 0.5,
                              [f"raw: the same {name} now; both from the bitemporal views, no replay"]))
    return results


def view_size_result(ledger_file: Path, scratch: Path) -> Result:
    """The views' bytes against the same views holding only today's answers (what single-time views hold)."""
    current = scratch / "views-now.db"
    # Copied through SQLite, never with a plain open(): closing any other descriptor of a database file
    # drops the locks this process's connections hold on it, and another process may then write under them.
    with sqlite3.connect(ledger_file) as source, sqlite3.connect(current) as copy:
        source.backup(copy)
    conn = sqlite3.connect(current)
    for table in ("status_segments", "certification_periods", "event_feed"):
        conn.execute(f"DELETE FROM {table} WHERE known_until IS NOT NULL")
    conn.commit()
    conn.execute("VACUUM")
    single = views_bytes(conn)
    conn.close()
    current.unlink()
    conn = sqlite3.connect(ledger_file)
    both = views_bytes(conn)
    conn.close()
    return Result("B9 bitemporal view tables, bytes", f"{both / 2**20:.1f} MiB", f"{single / 2**20:.1f} MiB",
                  single / both, "<= 2x (ratio >= 0.50)", single / both >= 0.5,
                  ["raw: the same tables holding only the rows alive now (single-time views), vacuumed"])


def views_bytes(conn: sqlite3.Connection) -> int:
    rows = conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall()
    tables = ("status_segments", "certification_periods", "event_feed")
    owned = {name for (name,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE tbl_name IN (?, ?, ?)", tables).fetchall()}
    return sum(size for name, size in rows if name in owned)


# ---------------------------------------------------------------------- B7: no degradation

def b7_result(name: str, small: float, big: float, small_label: str, big_label: str) -> Result:
    """``small`` and ``big`` are comparable figures where higher is better (ratios to raw, or 1/latency)."""
    kept = big / small
    return Result(f"B7 {name}: {big_label} vs {small_label}", f"{kept:.2f} of it", "-", kept, ">= 0.80",
                  kept >= 0.80)


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["CERTLEDGER_USER"] = RECORDED_BY
    env["PYTHONPATH"] = os.pathsep.join([str(HERE.parent), str(HERE), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env
