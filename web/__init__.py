"""The public registry over HTTP (SPEC section 10): web pages for people and a JSON API for programs.

``create_app(db)`` builds the app (``web.app``); ``certledger serve`` runs it (``web.serving``).
"""

from __future__ import annotations

from typing import Any


def create_app(db: str | None = None, *, sign_key: Any = None, private: bool = False) -> Any:
    """The registry over the ledger at ``db`` (imported on first use: the command line does not need it)."""
    from web.app import create_app as build

    return build(db, sign_key=sign_key, private=private)
