"""The JSON text of view rows (status records, feed fields, report items), written and read.

Compact, with non-ASCII text as it is: the same text the standard library's encoder gives with
``ensure_ascii=False`` and ``(",", ":")`` separators, so rows written before and after read and
compare alike (``tests/unit/test_jsontext.py``). orjson makes it several times faster, which counts
because every event writes a few such texts and a registry reads one per organization; a value it
refuses (an integer past 64 bits) goes through the standard library.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_STANDARD = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def to_json(data: Any) -> str:
    try:
        return orjson.dumps(data).decode()
    except TypeError:
        return _STANDARD.encode(data)


def from_json(text: str | bytes) -> Any:
    return orjson.loads(text)
