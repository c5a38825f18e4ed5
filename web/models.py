"""The API's answers as pydantic models: they are the OpenAPI description, nothing more.

Routes send the service's answers as they are (the CLI's ``--json`` shapes, byte for byte the
same values), so these models only describe them; the schema tests check that they do. Objects
allow fields beyond the ones listed, so that a field the ledger adds later is not a breach.
"""

from __future__ import annotations

import datetime as dt
from datetime import date, datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")

StatusName = Literal["registered", "certified", "suspended", "expired", "withdrawn"]
CertificateState = Literal["valid", "suspended", "withdrawn", "superseded", "expired", "not-yet-valid"]


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Denial(Open):
    date: date
    stage: Literal["initial", "recertification"]
    reason_category: str
    reason: str


class OpenFindings(Open):
    major: int
    minor: int


class Status(Open):
    """An organization's status on ``as_of`` as the ledger knew it at ``known_at`` (``certledger status --json``)."""

    org: str
    name: str
    country: str
    status: StatusName
    standard: str | None
    certificate: str | None
    valid_from: date | None
    valid_until: date | None
    certified_since: date | None
    consecutive_years: int
    recertifications: int
    standard_years: int
    suspended_since: date | None
    last_denial: Denial | None
    withdrawn_on: date | None
    open_findings: OpenFindings
    as_of: date
    known_at: datetime


class HistoryEntry(Open):
    """One recorded event (``certledger history --json``); retracted ones marked."""

    position: int
    version: int
    recorded_at: datetime | None
    recorded_by: str | None
    type: str
    date: date
    fields: dict[str, Any]
    retracted: bool
    retracted_by: int | None


class FeedEntry(HistoryEntry):
    """One event of the feed (``certledger changes --json``): a history entry and its organization."""

    org: str


class Finding(Open):
    """One audit finding and whether (and when) it was closed (``certledger findings --json``)."""

    id: str = Field(description="`V.N`: the audit's version in the history and the finding's place in it.")
    audit_date: date
    audit_reference: str | None
    body: str
    severity: Literal["major", "minor", "observation"]
    category: str
    text: str
    closed_on: date | None
    evidence: str | None


class Certificate(Open):
    """A certificate's state on ``as_of`` as the ledger knew it at ``known_at`` (``certledger certificate --json``)."""

    certificate: str
    org: str
    name: str
    country: str
    standard: str
    state: CertificateState
    valid_from: date
    valid_until: date
    as_of: date
    known_at: datetime


class CertificateNotFound(Open):
    """A number the ledger does not know (as known at ``known_at``)."""

    certificate: str
    found: Literal[False]


class VerifyEntry(BaseModel):
    """One certificate to check, on ``date`` (default: the ``as_of`` parameter, else today)."""

    model_config = ConfigDict(extra="forbid")

    certificate: str = Field(min_length=1, max_length=500, examples=["FM-PE-2016-01"])
    date: dt.date | None = Field(default=None, examples=["2019-12-31"])


VERIFY_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "title": "VerifyRequest", "required": ["certificates"], "additionalProperties": False,
    "properties": {"certificates": {"type": "array", "maxItems": 1000, "items": VerifyEntry.model_json_schema()}},
    "example": {"certificates": [{"certificate": "FM-PE-2016-01", "date": "2019-12-31"},
                                 {"certificate": "FM-CO-2017-01"}]},
}}}}}


class Granted(Open):
    org: str
    date: date
    standard: str


class Renewed(Granted):
    consecutive_years: int


class Denied(Open):
    org: str
    date: date
    stage: str
    reason_category: str
    reason: str


class Suspended(Open):
    org: str
    date: date
    reason: str
    resolve_by: date | None


class Withdrawn(Open):
    org: str
    date: date
    mode: str
    reason: str


class Expired(Open):
    org: str
    date: date
    valid_until: date


class Report(Open):
    """What happened in a period (``certledger report --json``)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    from_: date = Field(alias="from")
    to: date
    certified_at_end: int
    certified: list[str]
    newly_certified: list[Granted]
    recertified: list[Renewed]
    denied: list[Denied]
    suspended: list[Suspended]
    withdrawn: list[Withdrawn]
    expired: list[Expired]


class Signature(Open):
    algorithm: Literal["Ed25519"]
    key_id: str
    value: str


class Head(Open):
    """The hash chain's head (``certledger head``); signed when the server was started with ``--sign-key``."""

    format: Literal["certledger-head/1"]
    seq: int
    hash: str
    recorded_at: datetime | None
    signature: Signature | None = None


class Envelope(BaseModel, Generic[T]):
    """A list answer: one page of ``items``, how many there are in all, and the time it describes."""

    items: list[T]
    total: int
    as_of: date | None
    known_at: datetime
    position: int


class Error(BaseModel):
    """A refusal: the message the CLI prints after ``Error:``."""

    error: str


REFUSALS: dict[int | str, dict[str, Any]] = {400: {"model": Error, "description": "Bad input"}}
UNKNOWN: dict[int | str, dict[str, Any]] = {404: {"model": Error, "description": "Unknown organization"}}
UNKNOWN_CERTIFICATE: dict[int | str, dict[str, Any]] = {404: {"model": Error, "description": "Unknown certificate"}}
TOO_MANY: dict[int | str, dict[str, Any]] = {413: {"model": Error, "description": "More than 1,000 certificates"}}
