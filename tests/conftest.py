"""Shared fixtures: every behaviour test runs on a real SQLite file and on a real PostgreSQL schema.

PostgreSQL tests use a fresh schema per test on the server named by ``CERTLEDGER_TEST_POSTGRES``
(default ``postgresql://postgres@127.0.0.1:5432/test``) and drop it afterwards. Without a
reachable server they are skipped with the reason; with ``CERTLEDGER_REQUIRE_POSTGRES=1`` (CI)
they fail instead. ``pytest -m "not postgres"`` runs the SQLite half only.
"""

from __future__ import annotations

import gc
import os
import secrets
from functools import cache
from pathlib import Path
from typing import Iterator

import pytest

from ledger.application import CertificationLedger

POSTGRES_SERVER = os.environ.get("CERTLEDGER_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty ledger database URL for one test."""
    if request.param == "sqlite":
        yield str(tmp_path / "ledger.db")
    else:
        yield from fresh_postgres_schema()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL schema's URL, for a test about PostgreSQL alone."""
    yield from fresh_postgres_schema()


@pytest.fixture
def ledger(db_url: str) -> Iterator[CertificationLedger]:
    app = CertificationLedger(db_url)
    yield app
    app.close()


@pytest.fixture(autouse=True)
def _recorder_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CERTLEDGER_USER", "tester")
    monkeypatch.delenv("CERTLEDGER_DB", raising=False)


def fresh_postgres_schema() -> Iterator[str]:
    """Yield the URL of a new, empty schema; drop it (and everything in it) afterwards."""
    reason = postgres_unavailable()
    if reason:
        if os.environ.get("CERTLEDGER_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required (CERTLEDGER_REQUIRE_POSTGRES=1) but {reason}", pytrace=False)
        pytest.skip(reason)
    schema = f"certledger_test_{secrets.token_hex(6)}"
    yield f"{POSTGRES_SERVER}?schema={schema}"
    gc.collect()  # ledgers nobody closed give their connections back before the drop
    with server_connection() as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@cache
def postgres_unavailable() -> str | None:
    """Why PostgreSQL tests cannot run here, or None."""
    try:
        with server_connection():
            return None
    except ImportError:
        return "PostgreSQL tests need psycopg (pip install 'certledger[postgres]')"
    except Exception as error:  # noqa: BLE001 - any reason to not reach the server is a reason to skip
        return f"PostgreSQL not reachable at {POSTGRES_SERVER}: {' '.join(str(error).split())}"


def server_connection():  # type: ignore[no-untyped-def]
    import psycopg

    return psycopg.connect(POSTGRES_SERVER, connect_timeout=3, autocommit=True)
