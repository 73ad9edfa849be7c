"""Every error answer has one shape, `{"error": code, "detail": message}`: a request that does not
fit the schema (422, with the problems listed), a path that does not exist, and a bug (500)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from storage.archive import Archive
from tests.conftest import auth


def test_a_request_that_does_not_fit_the_schema_is_described_in_one_line(
    client: TestClient, keys: dict[str, str]
) -> None:
    body = {"starts_at": "2019-11-16T14:00:00", "lat": 91}
    response = client.post("/api/v1/incidents", headers=auth(keys["contributor"]), json=body)
    assert response.status_code == 422
    answer = response.json()
    assert answer["error"] == "invalid_request"
    assert answer["detail"] == (
        "title: Field required; starts_at: give a time zone, e.g. 2019-11-16T14:00:00+03:30; "
        "lat: Input should be less than or equal to 90"
    )
    assert [problem["loc"] for problem in answer["errors"]] == [
        ["body", "title"],
        ["body", "starts_at"],
        ["body", "lat"],
    ]


def test_a_path_that_does_not_exist_answers_in_the_same_shape(client: TestClient, keys: dict[str, str]) -> None:
    response = client.get("/api/v1/nothing-here", headers=auth(keys["viewer"]))
    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "detail": "Not Found"}
    wrong_method = client.put("/api/v1/clips", headers=auth(keys["viewer"]))
    assert wrong_method.status_code == 405 and wrong_method.json()["error"] == "method_not_allowed"


def test_a_bug_answers_json_500_and_logs_the_traceback(archive: Archive, caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(archive=archive)

    @app.get("/api/v1/broken")
    def broken() -> None:  # a route of the API with a bug, as any route might have (a page's is an HTML page)
        raise RuntimeError("a bug")

    with TestClient(app, raise_server_exceptions=False) as client, caplog.at_level(logging.ERROR, "verity.api"):
        response = client.get("/api/v1/broken")
    assert response.status_code == 500
    assert response.json() == {"error": "internal", "detail": "internal error; the request was not completed"}
    [record] = [r for r in caplog.records if r.name == "verity.api"]
    assert record.getMessage() == "unhandled error in GET /api/v1/broken"
    assert record.exc_info is not None and "a bug" in str(record.exc_info[1])


def test_the_openapi_description_declares_the_error_answers() -> None:
    document = create_app().openapi()
    operations = {
        (method, path): operation
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
        if path.startswith("/api/v1/")
    }

    def schema(operation: dict[str, Any], status: str) -> str:
        return str(operation["responses"][status]["content"]["application/json"]["schema"]["$ref"]).rsplit("/", 1)[-1]

    for operation in operations.values():
        for status in ("400", "401", "403", "404"):
            assert schema(operation, status) == "ErrorOut"
        assert schema(operation, "422") == "ValidationErrorOut"
    for path in ("/api/v1/incidents/{incident_id}", "/api/v1/cases/{case_id}"):
        for method in ("patch", "delete"):
            assert schema(operations[(method, path)], "412") == schema(operations[(method, path)], "428") == "ErrorOut"
    assert schema(operations[("post", "/api/v1/clips")], "413") == "ErrorOut"
