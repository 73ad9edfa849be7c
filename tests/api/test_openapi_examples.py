"""Every request and response body in the OpenAPI description comes with an example, and every
example is valid for the model it illustrates."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from api import schemas
from api.app import create_app


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    if schema.get("type") == "array":
        return _resolve(schema["items"], components)
    return schema


def _undocumented(content: dict[str, Any], components: dict[str, Any]) -> list[str]:
    """The media types of a request or response that give a reader no example of the body."""
    missing = []
    for media_type, body in content.items():
        schema = body.get("schema", {})
        if schema.get("format") == "binary":
            continue  # raw bytes: the schema says so, there is nothing to show
        resolved = _resolve(schema, components)
        if not ({"example", "examples"} & (body.keys() | resolved.keys())):
            missing.append(media_type)
    return missing


def test_every_request_and_response_body_has_an_example() -> None:
    document = create_app().openapi()
    components = document["components"]["schemas"]
    missing = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            request = operation.get("requestBody", {}).get("content", {})
            missing += [f"{method} {path} request {t}" for t in _undocumented(request, components)]
            for status, response in operation["responses"].items():
                if status.startswith("2"):
                    content = response.get("content", {})
                    missing += [f"{method} {path} {status} {t}" for t in _undocumented(content, components)]
    assert missing == []


def test_each_example_is_valid_for_its_model() -> None:
    models = [
        value
        for value in vars(schemas).values()
        if isinstance(value, type) and issubclass(value, BaseModel) and value.__module__ == schemas.__name__
    ]
    checked = 0
    for model in models:
        extra = model.model_config.get("json_schema_extra")
        for example in (extra or {}).get("examples", []):  # type: ignore[union-attr]
            model.model_validate(example)
            checked += 1
    assert checked >= 20
