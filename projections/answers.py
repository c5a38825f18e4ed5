"""Answers that say which ledger position they used: a list or a dict, with ``position`` attached.

They are plain lists and dicts to every caller (compare, serialise, index them as usual); the
public registry sends ``position`` in its ``X-Ledger-Position`` header, and a page's ``total``.
"""

from __future__ import annotations

from typing import Any, Iterable


class Listing(list):  # type: ignore[type-arg]
    """A list answer, and the ledger position it used; ``total`` counts the whole answer when the list is one
    page of it (else it is the list's length)."""

    def __init__(self, items: Iterable[Any], position: int, total: int | None = None):
        super().__init__(items)
        self.position = position
        self.total = len(self) if total is None else total


class Record(dict):  # type: ignore[type-arg]
    """A dict answer, and the ledger position it used."""

    def __init__(self, fields: dict[str, Any], position: int):
        super().__init__(fields)
        self.position = position
