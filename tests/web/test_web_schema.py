"""The API keeps its own OpenAPI description: schemathesis generates requests for every operation from
/api/openapi.json, and every answer must be no 5xx, with a documented status, content type and body shape.
Bounded: a few examples per operation, on both backends."""

from __future__ import annotations

from typing import Any, Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig
from schemathesis.config._checks import NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES
from schemathesis.checks import (content_type_conformance, negative_data_rejection, not_a_server_error,
                                 response_headers_conformance, response_schema_conformance, status_code_conformance,
                                 unsupported_method)
from schemathesis.core.parameters import ParameterLocation

from registry_server import BACKENDS, Server, examples_server

EXAMPLES_PER_OPERATION = 15
# Every check but "positive data acceptance": the schema types a date as a string, so a well-typed value
# may still be no date, and the ledger refuses it with 400 and the CLI's message, as it should.
# A list of more than 1,000 certificates to verify is refused with 413, as the description says.
CONFIG = SchemathesisConfig.from_dict({"checks": {"negative_data_rejection": {
    "expected-statuses": [*NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES, "413"]}}})


def text_limit(schema: dict[str, Any]) -> int | None | bool:
    """For a parameter whose every value is text (a string, or a list of strings): its longest value (None: no
    limit). False for any other parameter."""
    if "anyOf" in schema:
        limits = [text_limit(option) for option in schema["anyOf"] if option.get("type") != "null"]
        return limits[0] if len(limits) == 1 else False
    if schema.get("type") == "array":
        return text_limit(schema.get("items", {}))
    if schema.get("type") != "string" or {"enum", "pattern", "format", "minLength"} & schema.keys():
        return False
    return schema.get("maxLength")


def only_text_queries_negated(case: schemathesis.Case, response: Any) -> bool:
    """A "negative" case whose only faults are in text query parameters, and whose request carried them as
    text that such a parameter takes.

    A query string carries text only: an array or an object generated for a text parameter arrives as some
    text (``region=['true']``, or an empty ``status=``), which is a legal value (any text may be searched;
    a blank field means the filter is absent), so accepting it is right. Text longer than the parameter's
    limit must still be refused.
    """
    meta = case.meta
    mutations = getattr(meta.phase.data, "mutations", None) if meta is not None else None
    if not mutations or any(meta.is_negative_at(location) for location in ParameterLocation
                            if location is not ParameterLocation.QUERY):
        return False
    properties = case.operation.get_parameter_set(ParameterLocation.QUERY).schema.get("properties", {})
    sent = parse_qs(urlsplit(response.request.url).query, keep_blank_values=True)
    for mutation in mutations:
        name = mutation.parameter
        in_query = mutation.parameter_location is ParameterLocation.QUERY
        limit = text_limit(properties.get(name, {})) if in_query else False
        if limit is False or any(limit is not None and len(value) > limit for value in sent.get(name, ())):
            return False
    return True


@schemathesis.check
def negative_data_refused(ctx: Any, response: Any, case: schemathesis.Case) -> bool | None:
    """schemathesis's negative data rejection, but for faults no query string can carry."""
    if only_text_queries_negated(case, response):
        return None
    return negative_data_rejection(ctx, response, case)


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance, negative_data_refused, unsupported_method]


@pytest.fixture(scope="module", params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with examples_server(request.param, tmp_path_factory.mktemp("schema")) as running:
        yield running


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_answers_as_its_description_says(server: Server, mode: GenerationMode) -> None:
    schema = schemathesis.openapi.from_url(f"{server.url}/api/openapi.json", config=CONFIG)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 12
    session = requests.Session()
    for operation in operations:
        if mode is GenerationMode.NEGATIVE and not list(operation.iter_parameters()) and not operation.body:
            continue  # nothing to get wrong

        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(mode))
        def check(case: schemathesis.Case) -> None:
            response = case.call_and_validate(base_url=server.url, session=session, checks=CHECKS, timeout=30)
            assert response.headers["x-ledger-position"][0].isdigit()

        check()
