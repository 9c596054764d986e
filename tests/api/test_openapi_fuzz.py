"""Schemathesis fuzzes every operation of the API from its own OpenAPI description
(``/api/v1/_openapi``): no server error, and every answer (status, content type, body) is
one the description declares. A small number of cases per operation keeps the run short
(issue G8)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from .conftest import build_world

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 6


@pytest.fixture
def fuzzed(make_app):
    world = build_world(make_app(API_RATE_LIMIT="100000/minute"))
    schema = schemathesis.openapi.from_wsgi("/api/v1/_openapi", world.app)
    return world, schema


def operations(schema):
    found = [result.ok() for result in schema.get_all_operations()]
    assert len(found) >= 9
    return found


def run(operation, strategy, headers, checks) -> None:
    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def check(case) -> None:
        case.call_and_validate(headers=headers, checks=checks)

    check()


def test_the_description_is_served_and_names_every_operation(fuzzed):
    world, schema = fuzzed
    response = world.client().get("/api/v1/_openapi")
    assert response.status_code == 200
    description = response.json
    assert description["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    paths = set(description["paths"])
    assert "/api/v1/procedures/{procedure_id}/dossiers" in paths
    assert "/api/v1/dossiers/{number}/state" in paths


def test_fuzzed_requests_get_no_server_error_and_only_described_answers(fuzzed):
    world, schema = fuzzed
    headers = world.headers("rw")
    real = {"number": world.dossiers["in_review"], "procedure_id": world.procedure}
    for operation in operations(schema):
        params = {name: value for name, value in real.items() if name in operation.path}
        run(operation, operation.as_strategy(), headers, CHECKS)
        if params:
            run(operation, operation.as_strategy(path_parameters=params), headers, CHECKS)


def test_fuzzed_invalid_requests_are_refused_without_a_server_error(fuzzed):
    world, schema = fuzzed
    headers = world.headers("rw")
    for operation in operations(schema):
        run(
            operation,
            operation.as_strategy(schemathesis.GenerationMode.NEGATIVE),
            headers,
            [not_a_server_error, negative_data_rejection],
        )
