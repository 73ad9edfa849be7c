"""Domain exceptions → HTTP, in one place. Every error body is `{"error": code, "detail": message}`."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.requests import ClientDisconnect

from verity import errors

STATUS_BY_ERROR: list[tuple[type[errors.VerityError], int]] = [
    (errors.NotFound, 404),
    (errors.UploadTooLarge, 413),
    (errors.RangeNotSatisfiable, 416),
    (errors.InvalidInput, 400),
    (errors.Unauthenticated, 401),
    (errors.Forbidden, 403),
    (errors.Conflict, 409),
    (errors.StaleWrite, 412),
    (errors.PreconditionRequired, 428),
    (errors.StorageUnavailable, 503),
]


def status_for(exc: errors.VerityError) -> int:
    for kind, status in STATUS_BY_ERROR:
        if isinstance(exc, kind):
            return status
    return 500


def install_error_handlers(app: FastAPI) -> None:
    async def on_domain_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, errors.VerityError)
        headers: dict[str, str] = {}
        if isinstance(exc, errors.Unauthenticated):
            headers["WWW-Authenticate"] = "Bearer"
        if isinstance(exc, errors.RangeNotSatisfiable):
            headers["Content-Range"] = f"bytes */{exc.size}"
        return JSONResponse({"error": exc.code, "detail": exc.detail}, status_code=status_for(exc), headers=headers)

    async def on_disconnect(_request: Request, _exc: Exception) -> JSONResponse:
        return JSONResponse({"error": "upload_interrupted", "detail": "the client went away"}, 400)

    async def on_data_error(_request: Request, _exc: Exception) -> JSONResponse:
        # The database refused a value the schema let through (e.g. a NUL character in text on
        # PostgreSQL): the request is at fault, and nothing was written.
        return JSONResponse({"error": "invalid_input", "detail": "a value was not accepted by the database"}, 400)

    app.add_exception_handler(errors.VerityError, on_domain_error)
    app.add_exception_handler(DataError, on_data_error)
    app.add_exception_handler(ClientDisconnect, on_disconnect)
