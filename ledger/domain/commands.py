"""Recording commands as validated input: the CLI options and the import lines share these models.

Field names are the command-line option names with underscores; they are also the keys
of an import line (SPEC section 8, "Import lines").
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from ledger.errors import InvalidInput
from ledger.domain.fields import Country, EffectiveDate, EndDate, OrgId, Text
from ledger.domain.values import (
    CONTROL_CHARACTER,
    DETAIL_FIELDS,
    AuditKind,
    Deposit,
    LegalForm,
    ReasonCategory,
    SEVERITIES,
    Standard,
    WithdrawalMode,
    check_text,
    given_details,
    version_number,
)

READ_ONLY_KEYS = ("position", "version", "recorded_at", "recorded_by")


def _finding(value: object) -> object:
    if isinstance(value, str):
        if CONTROL_CHARACTER.search(value):  # before the parts are trimmed: a tab is refused, not trimmed away
            raise ValueError("must not contain control characters (tab included) or line separators "
                             "(U+2028, U+2029)")
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
        # The category and the text are each a free text (SPEC section 2), stored apart in the audit's
        # findings: each has the free texts' limit, not the option as a whole.
        return f"{severity}:{_finding_part('category', category)}:{_finding_part('text', text)}"
    raise ValueError("a finding is a string SEVERITY:CATEGORY:TEXT")


def _finding_part(part: str, value: str) -> str:
    try:
        return check_text(value)
    except ValueError as error:
        raise ValueError(f"the finding's {part} {error}") from None


# A plain string once checked: the free-text rule is applied to its parts above, never to the whole option.
FindingOption = Annotated[str, BeforeValidator(_finding)]


def _findings(value: Any) -> Any:
    # A repeatable option is a list in an import line (SPEC section 8): say so in those words.
    if not isinstance(value, (list, tuple)):
        raise ValueError('a list of "SEVERITY:CATEGORY:TEXT" strings (a repeatable option is a list), '
                         'e.g. ["minor:health-safety:first aid"]')
    return value


class Command(BaseModel):
    # Validators are built on first use: queries never parse a command, and start faster without them.
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=False, defer_build=True)

    verb: ClassVar[str]  # the command's name: its ``command`` literal, the discriminator of an import line
    command: str
    org: OrgId
    date: EffectiveDate

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        verb = cls.model_fields["command"].default
        if isinstance(verb, str):  # not on a base such as PeriodCommand, which is no command by itself
            cls.verb = verb


class Register(Command):
    command: Literal["register"] = "register"
    name: Text
    country: Country
    region: Text | None = None
    legal_form: LegalForm = "other"
    deposit: Deposit | None = None


class Audit(Command):
    command: Literal["audit"] = "audit"
    body: Text
    kind: AuditKind
    reference: Text | None = None
    finding: Annotated[tuple[FindingOption, ...], BeforeValidator(_findings)] = ()


class PeriodCommand(Command):
    """A decision that issues a certificate period (not itself a command: only its two subclasses are)."""

    standard: Standard | None = None
    certificate: Text | None = None
    valid_until: EndDate | None = None
    audit: Text | None = None


class Certify(PeriodCommand):
    command: Literal["certify"] = "certify"
    standard: Standard  # a first certificate names its standard; a renewal keeps the current one by default


class Recertify(PeriodCommand):
    command: Literal["recertify"] = "recertify"


class Deny(Command):
    command: Literal["deny"] = "deny"
    reason_category: ReasonCategory
    reason: Text


class Suspend(Command):
    command: Literal["suspend"] = "suspend"
    reason: Text
    resolve_by: EndDate | None = None

    @model_validator(mode="after")
    def _resolved_after_it_starts(self) -> Suspend:
        if self.resolve_by is not None and self.resolve_by < self.date:
            raise ValueError(f"resolve_by {self.resolve_by} is before the suspension's date {self.date}")
        return self


class Reinstate(Command):
    command: Literal["reinstate"] = "reinstate"


class Extend(Command):
    command: Literal["extend"] = "extend"
    until: EndDate
    reason: Text


class Withdraw(Command):
    command: Literal["withdraw"] = "withdraw"
    mode: WithdrawalMode
    reason: Text


def _finding_id(value: object) -> object:
    if isinstance(value, list) and len(value) == 1:
        value = value[0]  # a CSV import line's ``finding`` cell, split as an audit's findings are
    if not isinstance(value, str):
        raise ValueError("expected a finding id V.N (e.g. 4.1)")
    text = value.strip()
    parts = text.split(".")
    # Ten digits at most before int(): a number of thousands of digits is past what Python reads at all.
    if len(parts) != 2 or not all(part.isascii() and part.isdigit() and len(part) <= 10 for part in parts) or \
            not all(0 < int(part) < 2**31 for part in parts):
        raise ValueError(f"{value!r} is not a finding id V.N (the audit's version in history and the "
                         "finding's position in it, both from 1; e.g. 4.1)")
    return f"{int(parts[0])}.{int(parts[1])}"


FindingId = Annotated[str, BeforeValidator(_finding_id)]


class Correct(Command):
    command: Literal["correct"] = "correct"
    name: Text | None = None
    country: Country | None = None
    region: Text | None = None
    legal_form: LegalForm | None = None
    deposit: Deposit | None = None

    def given(self) -> dict[str, str]:
        """The details this correction gives, by field name."""
        return given_details(self)

    @model_validator(mode="after")
    def _at_least_one_detail(self) -> Correct:
        if not self.given():
            raise ValueError(f"give at least one detail to correct ({', '.join(DETAIL_FIELDS)})")
        return self


class CloseFinding(Command):
    command: Literal["close-finding"] = "close-finding"
    finding: FindingId
    evidence: Text


class Retract(Command):
    command: Literal["retract"] = "retract"
    target: Annotated[int, BeforeValidator(version_number), Field(ge=1)]
    reason: Text


COMMANDS: dict[str, type[Command]] = {
    cls.verb: cls for cls in (Register, Audit, Certify, Recertify, Deny, Suspend, Reinstate, Extend, Withdraw,
                              Retract, Correct, CloseFinding)
}

AnyCommand = Annotated[
    Union[Register, Audit, Certify, Recertify, Deny, Suspend, Reinstate, Extend, Withdraw, Retract, Correct,
          CloseFinding],
    Field(discriminator="command"),
]


@cache
def any_command() -> TypeAdapter[Command]:
    return TypeAdapter(AnyCommand)


def describe_validation_error(error: ValidationError, tagged: bool = True) -> str:
    """The errors of one command, each as "field: why" (``tagged``: validated by the union of commands)."""
    parts = []
    for item in error.errors():
        loc = tuple(item.get("loc", ()))
        if tagged and loc and isinstance(loc[0], str) and loc[0] in COMMANDS:
            loc = loc[1:]  # the union's tag: the command, not a field (a field may share a command's name)
        where = ".".join(str(p) for p in loc)
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
    verb = cleaned.get("command")
    # The command's own model when it names one: a short command builds one validator, not the union's twelve.
    model = COMMANDS.get(verb) if isinstance(verb, str) else None
    try:
        return model.model_validate(cleaned) if model is not None else any_command().validate_python(cleaned)
    except ValidationError as error:
        raise InvalidInput(describe_validation_error(error, tagged=model is None)) from None


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
