"""The API keeps its own OpenAPI description: schemathesis generates requests for every operation from
/api/openapi.json, and every answer must be no 5xx, with a documented status, content type and body shape.
Bounded: a few examples per operation, on both backends."""

from __future__ import annotations

from typing import Any, Iterator

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

from schemathesis.core.mutations import OperatorKind
from schemathesis.core.parameters import ParameterLocation

from registry_server import BACKENDS, Server, examples_server

EXAMPLES_PER_OPERATION = 15
# Every check but "positive data acceptance": the schema types a date as a string, so a well-typed value
# may still be no date, and the ledger refuses it with 400 and the CLI's message, as it should.
# A list of more than 1,000 certificates to verify is refused with 413, as the description says.
CONFIG = SchemathesisConfig.from_dict({"checks": {"negative_data_rejection": {
    "expected-statuses": [*NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES, "413"]}}})


def admits_text(schema: dict[str, Any]) -> bool:
    """Whether any text is a value of this parameter (a string, or a list of strings)."""
    if any(admits_text(option) for option in schema.get("anyOf", ())):
        return True
    if schema.get("type") == "array":
        return admits_text(schema.get("items", {}))
    return schema.get("type") == "string" and not ({"enum", "pattern", "format"} & schema.keys())


def only_text_queries_negated(case: schemathesis.Case) -> bool:
    """A "negative" case whose only faults are other types given to text query parameters.

    A query string carries text only: an array or an object generated for a text parameter arrives as some
    text (``region=[['true']]``, or an empty ``status=``), which is a legal value (any text may be searched;
    a blank field means the filter is absent), so accepting it is right.
    """
    meta = case.meta
    mutations = getattr(meta.phase.data, "mutations", None) if meta is not None else None
    if not mutations or any(meta.is_negative_at(location) for location in ParameterLocation
                            if location is not ParameterLocation.QUERY):
        return False
    properties = case.operation.get_parameter_set(ParameterLocation.QUERY).schema.get("properties", {})
    return all(mutation.operator is OperatorKind.CHANGE_TYPE and mutation.parameter_location is ParameterLocation.QUERY
               and mutation.parameter in properties and admits_text(properties[mutation.parameter])
               for mutation in mutations)


@schemathesis.check
def negative_data_refused(ctx: Any, response: Any, case: schemathesis.Case) -> bool | None:
    """schemathesis's negative data rejection, but for faults no query string can carry."""
    if only_text_queries_negated(case):
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
