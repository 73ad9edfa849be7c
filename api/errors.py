"""Domain exceptions → HTTP, in one place. Every error body is `{"error": code, "detail": message}`
(a 422 adds `errors`, the list of problems as pydantic reports them)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from api.schemas import ErrorOut, ValidationErrorOut
from verity import errors

log = logging.getLogger("verity.api")

STATUS_BY_ERROR: list[tuple[type[errors.VerityError], int]] = [
    (errors.NotFound, 404),
    (errors.UploadTooLarge, 413),
    (errors.BodyStalled, 408),
    (errors.RangeNotSatisfiable, 416),
    (errors.InvalidInput, 400),
    (errors.Unauthenticated, 401),
    (errors.Forbidden, 403),
    (errors.Conflict, 409),
    (errors.StaleWrite, 412),
    (errors.PreconditionRequired, 428),
    (errors.TooManyRequests, 429),
    (errors.StorageUnavailable, 503),
]

ERROR_DESCRIPTIONS = {
    400: "Bad input; the detail says what and why.",
    401: "No key, or an unknown or revoked one.",
    403: "The key's role is too low for this.",
    404: "No such record (or path).",
    408: "The client stopped sending the body; what it sent does not count.",
    409: "The record's state does not allow it; the detail says why.",
    412: "If-Match is stale: someone changed the record since you read it.",
    413: "Larger than the upload limit.",
    416: "The range lies outside the file.",
    422: "The request does not fit the schema (a missing, unknown, null or malformed field).",
    428: "If-Match missing (or `*`): send the ETag you read.",
    429: "The key has as many of these running as it may; ask again after Retry-After seconds.",
}
REQUEST_LOCATIONS = ("body", "query", "path", "header", "cookie")


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error statuses, each with the error body's schema."""
    return {
        status: {"model": ValidationErrorOut if status == 422 else ErrorOut, "description": ERROR_DESCRIPTIONS[status]}
        for status in statuses
    }


# What every authenticated resource can answer.
COMMON_ERRORS = error_responses(400, 401, 403, 404, 422)


def status_for(exc: errors.VerityError) -> int:
    for kind, status in STATUS_BY_ERROR:
        if isinstance(exc, kind):
            return status
    return 500


def describe_problems(problems: Sequence[Any]) -> str:
    """pydantic's problems as one line a person can act on: `field: message; …`."""
    described = []
    for problem in problems:
        where = [str(part) for part in problem.get("loc", ())]
        if len(where) > 1 and where[0] in REQUEST_LOCATIONS:
            where = where[1:]
        message = str(problem.get("msg", "invalid")).removeprefix("Value error, ")
        if problem.get("type") == "extra_forbidden":
            message = "unknown field"
        described.append(f"{'.'.join(where) or 'request'}: {message}")
    return "; ".join(described)


def install_error_handlers(app: FastAPI) -> None:
    async def on_domain_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, errors.VerityError)
        headers: dict[str, str] = {}
        if isinstance(exc, errors.Unauthenticated):
            headers["WWW-Authenticate"] = "Bearer"
        if isinstance(exc, errors.RangeNotSatisfiable):
            headers["Content-Range"] = f"bytes */{exc.size}"
        body: dict[str, Any] = {"error": exc.code, "detail": exc.detail}
        if isinstance(exc, errors.TooManyRequests):
            headers["Retry-After"] = str(exc.retry_after_s)
        if isinstance(exc, errors.OffsetMismatch):
            headers["Upload-Offset"] = str(exc.offset)
            body["offset"] = exc.offset
        return JSONResponse(body, status_code=status_for(exc), headers=headers)

    async def on_invalid_request(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        problems = exc.errors()
        body = {"error": "invalid_request", "detail": describe_problems(problems), "errors": jsonable_encoder(problems)}
        return JSONResponse(body, status_code=422)

    async def on_http_error(_request: Request, exc: Exception) -> Response:
        # Starlette's own answers (no such path, wrong method) in the same shape as ours.
        assert isinstance(exc, HTTPException)
        if exc.status_code in (204, 304):
            return Response(status_code=exc.status_code, headers=exc.headers)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse({"error": code, "detail": str(exc.detail)}, exc.status_code, headers=exc.headers)

    async def on_disconnect(_request: Request, _exc: Exception) -> JSONResponse:
        return JSONResponse({"error": "upload_interrupted", "detail": "the client went away"}, 400)

    async def on_data_error(_request: Request, _exc: Exception) -> JSONResponse:
        # The database refused a value the schema let through (e.g. a NUL character in text on
        # PostgreSQL): the request is at fault, and nothing was written.
        return JSONResponse({"error": "invalid_input", "detail": "a value was not accepted by the database"}, 400)

    async def on_integrity_error(request: Request, exc: Exception) -> JSONResponse:
        # A constraint refused the write because another request changed the same records at the
        # same moment (the code locks what it knows of; this is the backstop): nothing was written.
        log.warning("constraint refused %s %s: %s", request.method, request.url.path, exc)
        detail = "the records changed while this request was writing; read them again and retry"
        return JSONResponse({"error": "conflict", "detail": detail}, 409)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        # A bug, not the caller's fault: the traceback goes to the log (the server may log it
        # again), the caller gets the same JSON shape as every other error.
        log.error("unhandled error in %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse({"error": "internal", "detail": "internal error; the request was not completed"}, 500)

    app.add_exception_handler(errors.VerityError, on_domain_error)
    app.add_exception_handler(RequestValidationError, on_invalid_request)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(DataError, on_data_error)
    app.add_exception_handler(IntegrityError, on_integrity_error)
    app.add_exception_handler(ClientDisconnect, on_disconnect)
    app.add_exception_handler(Exception, on_unexpected)
