"""Recording over HTTP (SPEC section 11): ``POST /api/commands`` with a bearer token.

The body is one import line (a JSON object) or a list of them: the lines of one import file,
recorded all or nothing through the one write pipeline (``LedgerService.record_as``), those
already recorded skipped. ``recorded_by`` is the account's name, whatever the body says.

    curl -X POST http://127.0.0.1:8080/api/commands -H "Authorization: Bearer $TOKEN" \\
         -d '{"command": "audit", "org": "cecomip", "date": "2024-05-20", "body": "IMO", "kind": "surveillance"}'

Answers: 201 ``{"items": [history entries], "recorded": N, "skipped": M, "position": P}``; 400 for a
body that is no JSON, or no command, or a command the ledger refuses (the rule's message); 401 for
want of a valid token; 403 for a command the account's role or organizations do not allow; 413 for
a body over 2 MiB or a list over ``MAX_LINES``; 429 after too many failed authentications.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request, Security
from fastapi.security import HTTPBearer
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse

from ledger.domain.accounts import Account
from ledger.domain.commands import COMMANDS
from ledger.errors import InvalidInput, UnknownOrganization
from ledger.transfer.strict_json import strict_json
from web import auth, models, params
from web.shared import SharedLedger, current_position, shared_ledger

MAX_LINES = 1000

bearer = HTTPBearer(auto_error=False, scheme_name="bearer",
                    description="A token from `certledger accounts add NAME --role office|body|reader`.")
router = APIRouter(prefix="/api", tags=["recording"])

IMPORT_LINE = {
    "type": "object",
    "description": "One recording command as an import line: the command's option names with underscores.",
    "required": ["command", "org"],
    "properties": {"command": {"type": "string", "enum": sorted(COMMANDS)}, "org": {"type": "string"}},
    "additionalProperties": True,
}
REQUEST_BODY = {
    "required": True,
    "content": {"application/json": {"schema": {"oneOf": [
        IMPORT_LINE, {"type": "array", "items": IMPORT_LINE, "minItems": 1, "maxItems": MAX_LINES}]},
        "example": {"command": "audit", "org": "cecomip", "date": "2024-05-20", "body": "IMO Swiss AG",
                    "kind": "surveillance"}}},
}


class Recorded(BaseModel):
    """What a request recorded: its events as ``history`` shows them, how many lines were skipped as already
    recorded, and the ledger position of its last event (the ledger's last, if it recorded none)."""

    items: list[models.HistoryEntry]
    recorded: int
    skipped: int
    position: int


ANSWERS: dict[int | str, dict[str, Any]] = {
    201: {"model": Recorded, "description": "Recorded (or already recorded: skipped)"},
    400: {"model": models.Error, "description": "Not JSON, not a command, or a command the ledger refuses"},
    401: {"model": models.Error, "description": "No valid token (missing, unknown, malformed or revoked)"},
    403: {"model": models.Error, "description": "A command the account's role or organizations do not allow"},
    413: {"model": models.Error, "description": f"A body over 2 MiB, or a list of more than {MAX_LINES} commands"},
    429: {"model": models.Error, "description": "Too many failed authentications from this address"},
}


async def raw_body(request: Request) -> bytes:
    return await request.body()


@router.post("/commands", status_code=201, response_model=None, responses=ANSWERS,
             dependencies=[Security(bearer), Depends(auth.account), Depends(params.known_parameters_only)],
             openapi_extra={"requestBody": REQUEST_BODY})
def record(account: Account = Depends(auth.account), body: bytes = Depends(raw_body),
           ledger: SharedLedger = Depends(shared_ledger)) -> JSONResponse:
    """Record one command, or a list of them all or nothing, as the token's account.

    Lines already recorded are skipped, as by `certledger import`; the answer counts them.
    """
    lines = parse_body(body)
    with ledger.session() as service:
        try:
            outcome = service.record_as(account, lines)
        except UnknownOrganization as error:
            # A command about an organization the ledger does not hold is a command it refuses (SPEC section 11:
            # 400 with the rule's message); the API's 404 is for reading something that is not there.
            raise InvalidInput(str(error)) from None
        items = service.recorded_entries(outcome.entries)
        position = outcome.last_position if outcome.last_position is not None else current_position(service)
    answer = {"items": items, "recorded": outcome.recorded, "skipped": outcome.skipped, "position": position}
    return JSONResponse(answer, status_code=201, headers={"X-Ledger-Position": str(position)})


def parse_body(body: bytes) -> list[Any]:
    """The body's import lines; InvalidInput (400) for anything but a JSON object or a list of them."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidInput(f"the body is not UTF-8 text (byte {error.start})") from None
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise InvalidInput("the body is empty: send one import line (a JSON object) or a list of them")
    try:
        data = strict_json(text)
    except json.JSONDecodeError as error:
        raise InvalidInput(f"the body is not JSON: {error.msg} (line {error.lineno}, column {error.colno})") from None
    except RecursionError:
        raise InvalidInput("the body is not JSON this ledger reads: nested too deeply") from None
    except ValueError as error:  # a repeated key, NaN or Infinity, an integer of thousands of digits
        raise InvalidInput(f"the body is not JSON this ledger reads: {error}") from None
    if isinstance(data, dict):
        return [data]
    if not isinstance(data, list):
        raise InvalidInput("the body must be one import line (a JSON object) or a list of them, "
                           f"not a JSON {type_name(data)}")
    if not data:
        raise InvalidInput("the list holds no command")
    if len(data) > MAX_LINES:
        raise HTTPException(413, f"at most {MAX_LINES} commands in one request (this one has {len(data)}): "
                                 "send them in several, or use certledger import")
    return data


def type_name(value: Any) -> str:
    return {str: "string", int: "number", float: "number", bool: "boolean", type(None): "null"}.get(
        type(value), type(value).__name__)
