"""What the reliability tests share: running the real program, digesting a ledger, seeding one.

Tests here use real processes and real files; nothing about the database is mocked.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import resource
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any, Callable

from ledger.application import CertificationLedger

CERTLEDGER = str(Path(sys.executable).with_name("certledger"))
LEDGER_TABLES = ("ledger_chain", "ledger_keys", "ledger_claims")


def run_certledger(db: str | Path, *args: str | bytes, preexec_fn: Callable[[], None] | None = None,
                   stdin: bytes | str | None = None, timeout: float = 60,
                   env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The installed console script, as a user runs it, with ``--db`` first."""
    full_env = {**os.environ, "CERTLEDGER_USER": "tester", **(env or {})}
    full_env.pop("CERTLEDGER_DB", None)
    data = stdin.encode() if isinstance(stdin, str) else stdin
    completed = subprocess.run([CERTLEDGER, "--db", str(db), *args], input=data, capture_output=True,
                               timeout=timeout, preexec_fn=preexec_fn, env=full_env)
    return subprocess.CompletedProcess(completed.args, completed.returncode,
                                       completed.stdout.decode("utf-8", "replace"),
                                       completed.stderr.decode("utf-8", "replace"))


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("Error:")]


def assert_clean_refusal(exit_code: int, stdout: str, stderr: str, *, mentions: str | None = None) -> None:
    """Exit 1 or 2, exactly one ``Error:`` line, and no traceback anywhere."""
    output = stdout + stderr
    assert "Traceback" not in output, output
    assert exit_code in (1, 2), (exit_code, output)
    lines = error_lines(stderr)
    assert len(lines) == 1, stderr
    if mentions is not None:
        assert mentions in lines[0], lines[0]


def ledger_digest(db: str | Path) -> str:
    """SHA-256 over every stored event and every ledger_* row: equal digests, equal ledger content."""
    app = CertificationLedger(str(db), must_exist=True)
    try:
        digest = hashlib.sha256()
        schema = getattr(app.recorder.datastore, "schema", None)  # PostgreSQL keeps each ledger in a schema
        with app.recorder.datastore.transaction(commit=False) as cursor:
            for table in (app.recorder.events_table_name, *LEDGER_TABLES):
                cursor.execute(f'SELECT * FROM "{schema}"."{table}"' if schema else f"SELECT * FROM {table}")
                rows = sorted(repr(tuple(_plain(value) for value in row)) for row in cursor.fetchall())
                digest.update(f"{table}:{len(rows)}\n".encode())
                for row in rows:
                    digest.update(row.encode() + b"\n")
        return digest.hexdigest()
    finally:
        app.close()


def _plain(value: Any) -> Any:
    return bytes(value) if isinstance(value, memoryview) else value.hex if isinstance(value, uuid.UUID) else value


def event_count(db: str | Path) -> int:
    app = CertificationLedger(str(db), must_exist=True)
    try:
        return app.recorder.max_position()
    finally:
        app.close()


def assert_verifies(db: str | Path) -> None:
    """``certledger verify`` (hash chain and projections) passes; run in this process, as a check."""
    from click.testing import CliRunner

    from cli import cli

    result = CliRunner().invoke(cli, ["--db", str(db), "verify"])
    assert result.exit_code == 0, result.output


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def seed_ledger(db: str | Path, organizations: int = 3) -> None:
    """A small ledger with a certified, a suspended and a withdrawn organization (and more if asked)."""
    app = CertificationLedger(str(db))
    try:
        for n in range(organizations):
            org = f"seed-{n:02d}"
            app.register(org, name=f"Seed Cooperative {n}", country="PE", date="2016-01-10",
                         legal_form="cooperative")
            app.audit(org, date="2016-05-20", body="IMO Swiss AG", kind="initial", reference="R-1",
                      findings=["minor:health-safety:first aid kits incomplete"])
            app.certify(org, date="2016-06-15", standard="fairmined", certificate=f"FM-SEED-{n:04d}")
            app.recertify(org, date="2017-06-01")
            if n % 3 == 1:
                app.suspend(org, date="2017-09-01", reason="traceability records missing")
            elif n % 3 == 2:
                app.withdraw(org, date="2017-10-01", mode="voluntary", reason="internal reasons")
    finally:
        app.close()


# ---------------------------------------------------------------- what a child process may not do

def file_size_limit(limit: int) -> Callable[[], None]:
    """preexec_fn: no file the child writes may grow past ``limit`` bytes (as on a full disk)."""

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE = 1
CAP_DAC_READ_SEARCH = 2


def permission_bits_bind() -> Callable[[], None] | None:
    """preexec_fn under which file permission bits stop the child, or None for an ordinary user.

    Root ignores permission bits through two capabilities; dropping them from the bounding set
    before exec gives a root child exactly the rights the bits grant its owner (root still
    owns the files, so it can read them, but a 0444 file or a 0555 directory is read-only).
    """
    if os.geteuid() != 0:
        return None
    libc = ctypes.CDLL(None, use_errno=True)

    def apply() -> None:
        for capability in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
            if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
                os._exit(97)

    return apply


def can_drop_capabilities() -> bool:
    if os.geteuid() != 0:
        return True
    probe = subprocess.run([sys.executable, "-c", "pass"], preexec_fn=permission_bits_bind())
    return probe.returncode == 0


def hostile_examples(db: str | Path):
    """Hypothesis settings for a hostile-input property on ``db``.

    CI runs a fixed budget (60 examples on SQLite; 20 on PostgreSQL, where the same validation
    runs before the same refusal); CERTLEDGER_HOSTILE_EXAMPLES=N hunts with N fresh examples.
    """
    from hypothesis import HealthCheck, settings

    hunt = int(os.environ.get("CERTLEDGER_HOSTILE_EXAMPLES", "0"))
    budget = hunt or (20 if str(db).startswith("postgresql") else 60)
    return settings(max_examples=budget, deadline=None, derandomize=not hunt,
                    suppress_health_check=[HealthCheck.too_slow])
