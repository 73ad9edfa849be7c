"""The workbench's forms, read as the API's JSON bodies are: into the same request models, so a
form is held to the same rules and limits, and a mistake is the same 422 naming the field."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)


def parsed(model: type[Model], fields: dict[str, Any]) -> Model:
    """`fields` as `model`; a blank field is one not given."""
    given = {name: value for name, value in fields.items() if value not in ("", None)}
    try:
        return model.model_validate(given)
    except ValidationError as invalid:
        problems = [{**problem, "loc": ("body", *problem["loc"])} for problem in invalid.errors()]
        raise RequestValidationError(problems) from None
