"""The server's logs: uvicorn's, with any token taken out of every line.

Tokens are read from the ``Authorization`` header only, and uvicorn logs no header; but a client may put
one in the address by mistake, and the access log writes the whole request line. A token must never be
written anywhere, so every record is checked and a token-shaped text replaced before it is written.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from ledger.application.accounts import TOKEN_SHAPE

HIDDEN = "[token hidden]"


class HideTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        # The arguments are hidden one by one, not merged into the message: uvicorn's access formatter reads
        # them (client, method, path, version, status) as given.
        record.msg = hidden(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(hidden(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: hidden(arg) for key, arg in record.args.items()}
        return True


def hidden(value: Any) -> Any:
    return TOKEN_SHAPE.sub(HIDDEN, value) if isinstance(value, str) else value


def log_config() -> dict[str, Any]:
    """uvicorn's own logging set-up, with ``HideTokens`` on each of its handlers (each worker process applies it)."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["hide_tokens"] = {"()": f"{__name__}.HideTokens"}
    for handler in config["handlers"].values():
        handler.setdefault("filters", []).append("hide_tokens")
    return config
