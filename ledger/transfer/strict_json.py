"""JSON read strictly, for an import line as for a request body: what a lenient reader would take one way and
another reader another way (a key given twice, NaN, an integer of thousands of digits) is refused."""

from __future__ import annotations

import json
from typing import Any

from ledger.domain.values import json_integer


def strict_json(text: str | bytes) -> Any:
    """The JSON value; ValueError (``json.JSONDecodeError`` for a syntax error) or RecursionError otherwise."""
    return json.loads(text, object_pairs_hook=no_repeated_keys, parse_constant=no_constant, parse_int=json_integer)


def no_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A key given twice is refused: no reader of the body may take another value than the ledger took."""
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise ValueError(f"key {key!r} appears twice in one object")
        found[key] = value
    return found


def no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")
