"""The checked field types of the command models: the rules of ``values`` as pydantic validators.

Kept apart from ``values`` so that what only reads (the views, system time, the CLI's questions)
uses those rules without loading pydantic.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator

from ledger.domain.values import check_org_id, check_text, country_code, end_date_in_range, not_in_future, parse_date


def string_only(value: object) -> object:
    """Text fields take text only: a number or a list is refused, not turned into text."""
    if not isinstance(value, str):
        raise ValueError("expected a string")
    return value


EndDate = Annotated[date, BeforeValidator(parse_date), AfterValidator(end_date_in_range)]
EffectiveDate = Annotated[date, BeforeValidator(parse_date), AfterValidator(not_in_future)]
OrgId = Annotated[str, BeforeValidator(string_only), AfterValidator(check_org_id)]
Country = Annotated[str, BeforeValidator(string_only), AfterValidator(country_code)]
Text = Annotated[str, BeforeValidator(string_only), AfterValidator(check_text)]
