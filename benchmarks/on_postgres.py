"""B1-B3 on PostgreSQL: the ledger in a fresh schema, the raw baselines through psycopg in another.

Both schemas are dropped afterwards. The raw tables are ``LIKE`` the ledger's events table,
indexes included, on the same server, at the server's synchronous_commit setting.
"""

from __future__ import annotations

import json
import os
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import baselines as raw
from measure import Result, median, per_second, rate, run_process, timed
from fixtures import write_jsonl
from workloads import CERTLEDGER, RECORDED_BY, RecordRates, alternate_rounds, b3_rebuild, child_env

from ledger.application import CertificationLedger
from projections import Views

SERVER = os.environ.get("CERTLEDGER_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
SCHEMA_PREFIX = os.environ.get("CERTLEDGER_BENCH_SCHEMA_PREFIX", "certledger_bench")


def unavailable() -> str | None:
    """Why PostgreSQL cannot be measured here, or None."""
    try:
        import psycopg

        with psycopg.connect(SERVER, connect_timeout=3):
            return None
    except Exception as error:  # noqa: BLE001 - any reason is a reason to leave PostgreSQL out
        return f"PostgreSQL not reachable at {SERVER}: {' '.join(str(error).split())[:200]}"


@contextmanager
def schemas() -> Iterator[tuple[str, str, Any]]:
    """(ledger URL, raw schema, raw connection): fresh schemas, dropped afterwards."""
    import psycopg

    ledger_schema, raw_schema = (f"{SCHEMA_PREFIX}_{secrets.token_hex(4)}" for _ in range(2))
    conn = psycopg.connect(SERVER)
    try:
        yield f"{SERVER}?schema={ledger_schema}", raw_schema, conn
    finally:
        conn.rollback()
        conn.autocommit = True
        for schema in (ledger_schema, raw_schema):
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.close()


def synchronous_commit(conn: Any) -> str:
    value = conn.execute("SHOW synchronous_commit").fetchone()[0]
    conn.rollback()
    return value


def events_table(url: str) -> str:
    """The ledger's events table, schema-qualified (created if missing)."""
    ledger = CertificationLedger(url)
    name = ledger.recorder.events_table_name
    ledger.close()
    return f'"{url.rsplit("schema=", 1)[1]}".{name}'


def record_rates(ledger: CertificationLedger, url: str, conn: Any, raw_schema: str,
                 commands: Sequence[dict[str, Any]], rounds: int) -> RecordRates:
    """As the SQLite B1: alternate rounds of recording and of raw one-row transactions of the same rows."""
    table = raw.raw_postgres_table(conn, events_table(url), raw_schema)
    return alternate_rounds(ledger, commands, rounds,
                            rows_after=lambda position: raw.postgres_rows(conn, events_table(url), after=position),
                            insert_raw=lambda rows: raw.postgres_one_per_transaction(conn, table, rows))


def import_and_baselines(url: str, conn: Any, raw_schema: str, commands: Callable[[], Any], scratch: Path,
                         repeats: int) -> tuple[Result, int]:
    """B2 on PostgreSQL: ``certledger import`` as a process against executemany and COPY of the same rows."""
    source = scratch / "import-postgres.jsonl"
    lines = write_jsonl(source, commands())
    process = run_process([CERTLEDGER, "--db", url, "import", str(source), "--quiet", "--json"], env=child_env(),
                          memory=True)
    source.unlink()
    if process.returncode != 0:
        raise RuntimeError(f"import into PostgreSQL failed: {process.stderr.strip()[-2000:]}")
    events = json.loads(process.stdout)["recorded"]
    rows = raw.postgres_rows(conn, events_table(url))
    table = raw.raw_postgres_table(conn, events_table(url), raw_schema + "_bulk")
    many, copy = [], []
    for _ in range(repeats):
        for rates, load in ((many, raw.postgres_executemany), (copy, raw.postgres_copy)):
            conn.execute(f"TRUNCATE {table}")
            conn.commit()
            seconds, _ = timed(lambda: load(conn, table, rows))
            rates.append(rate(len(rows), seconds))
    conn.execute(f'DROP SCHEMA "{raw_schema}_bulk" CASCADE')
    conn.commit()
    ours, base = rate(events, process.seconds), median(many)
    return Result(f"B2 import {events:,} events (PostgreSQL)", per_second(ours), per_second(base), ours / base,
                  ">= 0.15, RSS <= 300 MB", ours / base >= 0.15 and process.max_rss_kb / 1024 <= 300,
                  [f"{lines:,} lines as one process, peak RSS {process.max_rss_kb / 1024:.0f} MB",
                   f"raw: executemany of the same rows in one transaction; COPY of them: {per_second(median(copy))} "
                   f"(ours / COPY = {ours / median(copy):.2f})"]), events


def rebuild_result(url: str, conn: Any, events: int, repeats: int) -> Result:
    return b3_rebuild(url, None, events, repeats, lambda: raw.postgres_scan_and_decode(conn, events_table(url)),
                      "PostgreSQL")
