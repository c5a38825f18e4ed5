"""Shared fixtures: every behaviour test runs against a real database file (and PostgreSQL, see below)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest

from ledger.application import CertificationLedger


@pytest.fixture(params=["sqlite"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty ledger database URL for one test."""
    if request.param == "sqlite":
        yield str(tmp_path / "ledger.db")


@pytest.fixture
def ledger(db_url: str) -> Iterator[CertificationLedger]:
    app = CertificationLedger(db_url)
    yield app
    app.close()


@pytest.fixture(autouse=True)
def _recorder_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CERTLEDGER_USER", "tester")
    monkeypatch.delenv("CERTLEDGER_DB", raising=False)
