"""Recording commands as validated input: the CLI options and the import lines share these models.

Field names are the command-line option names with underscores; they are also the keys
of an import line (SPEC section 8, "Import lines").
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError

from ledger.errors import InvalidInput
from ledger.domain.values import (
    AuditKind,
    Country,
    Deposit,
    EffectiveDate,
    EndDate,
    LegalForm,
    OrgId,
    ReasonCategory,
    SEVERITIES,
    Standard,
    Text,
    WithdrawalMode,
)

READ_ONLY_KEYS = ("position", "version", "recorded_at", "recorded_by")


def _finding(value: object) -> object:
    if isinstance(value, str):
        parts = value.split(":", 2)
        if len(parts) != 3:
            raise ValueError(f"{value!r} is not SEVERITY:CATEGORY:TEXT")
        severity, category, text = (p.strip() for p in parts)
        if severity not in SEVERITIES:
            raise ValueError(f"severity {severity!r} is not one of {', '.join(SEVERITIES)}")
        if not category:
            raise ValueError(f"{value!r} has an empty category")
        if not text:
            raise ValueError(f"{value!r} has an empty text")
        return f"{severity}:{category}:{text}"
    raise ValueError("a finding is a string SEVERITY:CATEGORY:TEXT")


FindingOption = Annotated[Text, BeforeValidator(_finding)]


class Command(BaseModel):
    # Validators are built on first use: queries never parse a command, and start faster without them.
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=False, defer_build=True)

    verb: ClassVar[str]
    command: str
    org: OrgId
    date: EffectiveDate


class Register(Command):
    verb: ClassVar[str] = "register"
    command: Literal["register"] = "register"
    name: Text
    country: Country
    region: Text | None = None
    legal_form: LegalForm = "other"
    deposit: Deposit | None = None


class Audit(Command):
    verb: ClassVar[str] = "audit"
    command: Literal["audit"] = "audit"
    body: Text
    kind: AuditKind
    reference: Text | None = None
    finding: tuple[FindingOption, ...] = ()


class Certify(Command):
    verb: ClassVar[str] = "certify"
    command: Literal["certify"] = "certify"
    standard: Standard
    certificate: Text | None = None
    valid_until: EndDate | None = None
    audit: Text | None = None


class Recertify(Command):
    verb: ClassVar[str] = "recertify"
    command: Literal["recertify"] = "recertify"
    standard: Standard | None = None
    certificate: Text | None = None
    valid_until: EndDate | None = None
    audit: Text | None = None


class Deny(Command):
    verb: ClassVar[str] = "deny"
    command: Literal["deny"] = "deny"
    reason_category: ReasonCategory
    reason: Text


class Suspend(Command):
    verb: ClassVar[str] = "suspend"
    command: Literal["suspend"] = "suspend"
    reason: Text
    resolve_by: EndDate | None = None


class Reinstate(Command):
    verb: ClassVar[str] = "reinstate"
    command: Literal["reinstate"] = "reinstate"


class Extend(Command):
    verb: ClassVar[str] = "extend"
    command: Literal["extend"] = "extend"
    until: EndDate
    reason: Text


class Withdraw(Command):
    verb: ClassVar[str] = "withdraw"
    command: Literal["withdraw"] = "withdraw"
    mode: WithdrawalMode
    reason: Text


class Retract(Command):
    verb: ClassVar[str] = "retract"
    command: Literal["retract"] = "retract"
    target: Annotated[int, Field(ge=1)]
    reason: Text


COMMANDS: dict[str, type[Command]] = {
    cls.verb: cls for cls in (Register, Audit, Certify, Recertify, Deny, Suspend, Reinstate, Extend, Withdraw,
                              Retract)
}

AnyCommand = Annotated[
    Union[Register, Audit, Certify, Recertify, Deny, Suspend, Reinstate, Extend, Withdraw, Retract],
    Field(discriminator="command"),
]


@cache
def any_command() -> TypeAdapter[Command]:
    return TypeAdapter(AnyCommand)


def describe_validation_error(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item.get("loc", ()) if not (isinstance(p, str) and p in COMMANDS))
        message = item.get("msg", "invalid")
        if message.startswith("Value error, "):
            message = message[len("Value error, "):]
        if item.get("type") == "extra_forbidden":
            message = "unknown field"
        if item.get("type") == "union_tag_invalid":
            message = f"unknown command (expected one of {', '.join(COMMANDS)})"
            where = "command"
        if item.get("type") == "union_tag_not_found":
            message = "missing"
            where = "command"
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def parse_command(data: dict[str, Any]) -> Command:
    """Validate one recording command given as a mapping (an import line or CLI options)."""
    if not isinstance(data, dict):
        raise InvalidInput("a command must be a JSON object")
    cleaned = {k: v for k, v in data.items() if k not in READ_ONLY_KEYS}
    try:
        return any_command().validate_python(cleaned)
    except ValidationError as error:
        raise InvalidInput(describe_validation_error(error)) from None


def parse_line(data: Any, number: int | None = None) -> Command:
    """``parse_command`` for one line of a list, the error naming the line."""
    try:
        return parse_command(data)
    except InvalidInput as error:
        raise InvalidInput(f"line {number}: {error}" if number is not None else str(error)) from None


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_json(fields: dict[str, Any]) -> str:
    return _CANONICAL.encode(fields)


def command_key(fields: dict[str, Any], occurrence: int) -> str:
    """SHA-256 of the command's canonical JSON (resolved values) and its occurrence number."""
    return canonical_key(canonical_json(fields), occurrence)


def canonical_key(canonical: str, occurrence: int) -> str:
    """``command_key`` for fields already in canonical JSON."""
    return hashlib.sha256(f"{canonical}\n{occurrence}".encode()).hexdigest()
