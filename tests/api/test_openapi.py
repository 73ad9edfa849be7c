"""The OpenAPI schema is valid, and a property-based run of it against a real server (schemathesis,
cases generated from the schema) finds no server errors, on the embedded archive and the scaled one."""

from __future__ import annotations

from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is a dev dependency")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402

from tests.conftest import RunningServer  # noqa: E402

pytestmark = pytest.mark.slow  # schemathesis against real servers


def test_no_request_the_schema_allows_causes_a_server_error(any_server: RunningServer) -> None:
    server = any_server
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")  # loading validates the schema
    headers = {"Authorization": f"Bearer {server.admin_key}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: Any) -> None:
            case.call_and_validate(base_url=server.url, headers=headers, checks=[not_a_server_error])

        check()
