"""Domain exceptions → HTTP, in one place. Every error body is `{"error": code, "detail": message}`
(a 422 adds `errors`, the list of problems as pydantic reports them)."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy.exc import DataError, IntegrityError
from starlette.datastructures import URL
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from urllib3.exceptions import HTTPError as ConnectionProblem

from api.browser_session import own_origin
from api.schemas import ErrorOut, ValidationErrorOut
from api.web.render import error_page, is_page
from verity import errors

log = logging.getLogger("verity.api")

STATUS_BY_ERROR: list[tuple[type[errors.VerityError], int]] = [
    (errors.NotFound, 404),
    (errors.UploadExpired, 410),
    (errors.ChecksumMismatch, 460),
    (errors.UnsupportedContentType, 415),
    (errors.UploadTooLarge, 413),
    (errors.BodyTooLarge, 413),
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
    (errors.TimestampsNotConfigured, 409),
    (errors.TimestampUnavailable, 503),
    (errors.TimestampRefused, 502),
]

ERROR_DESCRIPTIONS = {
    400: "Bad input; the detail says what and why.",
    401: "No key; an unknown, revoked or expired one; one of a disabled person; or a refused sign-in.",
    403: "The key's role is too low for this (or, making a key, above its person's).",
    404: "No such record (or path).",
    408: "The client stopped sending the body; what it sent does not count.",
    409: "The record's state does not allow it; the detail says why.",
    410: "The resumable upload expired (idle past its Upload-Expires); start it again.",
    412: "If-Match is stale: someone changed the record since you read it.",
    413: "Larger than a limit: the upload limit, or that of a JSON body or a form field.",
    415: "The body is not JSON (Content-Type: application/json), or a tus chunk is not "
    "application/offset+octet-stream.",
    416: "The range lies outside the file.",
    422: "The request does not fit the schema (a missing, unknown, null or malformed field).",
    428: "If-Match missing (or `*`): send the ETag you read.",
    429: "The key has as many of these running as it may, or too many sign-ins failed; ask again after "
    "Retry-After seconds.",
    460: "Checksum Mismatch (tus): the chunk's bytes do not have its Upload-Checksum; it is dropped.",
    502: "The time-stamping authority answered with no token that verifies; the detail says why.",
    503: "The object store (or a time-stamping authority) is not answering; try again later (Retry-After).",
}
REQUEST_LOCATIONS = ("body", "query", "path", "header", "cookie")
# What FastAPI answers when it cannot decode a JSON body; the cause says why.
UNPARSED_BODY = "There was an error parsing the body"
# How much of a refused value an error answer shows: enough to recognise it, never the whole.
ECHO_CHARS = 80


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


def printable(text: str, limit: int = ECHO_CHARS) -> str:
    """`text` fit to put in an answer: at most `limit` characters (then "…"), with any lone
    surrogate written as its escape (it cannot be encoded, so it would turn the answer into a 500)."""
    cut = text[:limit] + ("…" if len(text) > limit else "")
    return cut.encode("utf-8", "backslashreplace").decode("utf-8")


def _echo(value: Any) -> Any:
    """A refused input as an answer may show it: short text, a finite number, or nothing (a whole
    object or list can be the entire body: pydantic reports a missing field with it)."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, bytes):
        return printable(value[: ECHO_CHARS * 4].decode("utf-8", "replace"))
    if isinstance(value, float) and not math.isfinite(value):
        return str(value).replace("inf", "Infinity").replace("nan", "NaN")
    if value is None or isinstance(value, bool | int | float):
        return value
    return None


def reported(problem: dict[str, Any]) -> dict[str, Any]:
    """One pydantic problem as answered: where, what, and a short prefix of the input."""
    out: dict[str, Any] = {
        "type": problem.get("type"),
        "loc": [part if isinstance(part, int) else printable(str(part)) for part in problem.get("loc", ())],
        "msg": printable(str(problem.get("msg", "invalid")), 500),
        "input": _echo(problem.get("input")),
    }
    if problem.get("ctx"):
        out["ctx"] = {
            key: _echo(value if isinstance(value, str | int | float) else str(value))
            for key, value in problem["ctx"].items()
        }
    return out


def describe_problems(problems: Sequence[Any]) -> str:
    """pydantic's problems as one line a person can act on: `field: message; …`."""
    described = []
    for problem in problems:
        where = [printable(str(part)) for part in problem.get("loc", ())]
        if len(where) > 1 and where[0] in REQUEST_LOCATIONS:
            where = where[1:]
        message = printable(str(problem.get("msg", "invalid")), 500).removeprefix("Value error, ")
        if problem.get("type") == "extra_forbidden":
            message = "unknown field"
        described.append(f"{'.'.join(where) or 'request'}: {message}")
    return "; ".join(described)


def describe_bad_json(problem: dict[str, Any], document: Any) -> str:
    """Where a body stops being JSON, as a person finds it in an editor: line and column from 1."""
    position = problem.get("loc", ("body", 0))[-1]
    reason = (problem.get("ctx") or {}).get("error", "")
    if not isinstance(document, str) or not isinstance(position, int):
        return "the body is not valid JSON"
    line = document.count("\n", 0, position) + 1
    column = position - document.rfind("\n", 0, position)
    return f"the body is not valid JSON (line {line}, column {column}): {printable(str(reason))}"


def describe_undecodable(cause: BaseException) -> str:
    """Why a body could not be decoded as JSON at all, when it is not a syntax error (those say
    where: `describe_bad_json`)."""
    if isinstance(cause, UnicodeDecodeError):
        return f"the body is not UTF-8 text (byte {cause.start} cannot be decoded), so it is not valid JSON"
    if isinstance(cause, RecursionError):
        return "the body is nested too deeply to be read as JSON"
    return f"the body is not valid JSON: {printable(str(cause))}"


def coming_back_to(request: Request) -> str:
    """Where a visitor sent to sign in comes back to: the page itself for a GET; for a form they
    sent (which cannot be sent again by a redirect: that would be a GET of a POST route), the page
    the form was on when the Referer names one of this server's, else the archive."""
    if request.method in ("GET", "HEAD"):
        return request.url.path + (f"?{request.url.query}" if request.url.query else "")
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.path.startswith("/") and own_origin(URL(f"{referer.scheme}://{referer.netloc}")) == own_origin(
        request.url
    ):
        return referer.path + (f"?{referer.query}" if referer.query else "")
    return "/"


def page_refusal(request: Request, exc: errors.VerityError) -> Response:
    """A domain error on one of the workbench's pages: a visitor not signed in (or whose sign-in
    ended) is sent to the sign-in page, to come back here; anything else is an error page."""
    if isinstance(exc, errors.Unauthenticated):
        back = coming_back_to(request)
        target = f"/sign-in?{urlencode({'next': back})}"
        if request.headers.get("hx-request"):
            return Response(status_code=204, headers={"HX-Redirect": target})  # htmx goes there itself
        return RedirectResponse(target, status_code=303)
    return error_page(request, status_for(exc), exc.detail)


def install_error_handlers(app: FastAPI, *, s3: bool) -> None:
    """Map every error to its answer; `s3`: the archive's objects are on an S3 server, whose SDK's
    errors are mapped too (imported only then: the SDK takes ~0.15 s of CPU to import)."""

    async def on_domain_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, errors.VerityError)
        if is_page(_request):
            return page_refusal(_request, exc)
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

    async def on_invalid_request(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        problems = exc.errors()
        if is_page(_request):
            return error_page(_request, 422, describe_problems(problems))
        if [problem.get("type") for problem in problems] == ["json_invalid"]:
            return JSONResponse({"error": "invalid_json", "detail": describe_bad_json(problems[0], exc.body)}, 400)
        reports = [reported(problem) for problem in problems]
        body = {"error": "invalid_request", "detail": describe_problems(problems), "errors": jsonable_encoder(reports)}
        return JSONResponse(body, status_code=422)

    async def on_http_error(_request: Request, exc: Exception) -> Response:
        # Starlette's own answers (no such path, wrong method) in the same shape as ours.
        assert isinstance(exc, HTTPException)
        if exc.status_code in (204, 304):
            return Response(status_code=exc.status_code, headers=exc.headers)
        if isinstance(exc.__cause__, errors.VerityError):
            # Raised while FastAPI read the body (api/json_bodies.py refuses a caller there), which
            # FastAPI answers as an unreadable body: answer what was raised.
            return await on_domain_error(_request, exc.__cause__)
        if exc.status_code == 400 and exc.detail == UNPARSED_BODY and exc.__cause__ is not None:
            # FastAPI could not decode a JSON body (it says only "There was an error parsing the body").
            return JSONResponse({"error": "invalid_json", "detail": describe_undecodable(exc.__cause__)}, 400)
        if is_page(_request):
            return error_page(_request, exc.status_code, str(exc.detail))
        code = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large", 415: "unsupported_media_type"}
        code_name = code.get(exc.status_code, "http_error")
        return JSONResponse({"error": code_name, "detail": str(exc.detail)}, exc.status_code, headers=exc.headers)

    async def on_disconnect(_request: Request, _exc: Exception) -> JSONResponse:
        return JSONResponse({"error": "upload_interrupted", "detail": "the client went away"}, 400)

    def answer(
        request: Request, status: int, code: str, detail: str, headers: dict[str, str] | None = None
    ) -> Response:
        if is_page(request):
            return error_page(request, status, detail, headers)
        return JSONResponse({"error": code, "detail": detail}, status, headers=headers)

    async def on_data_error(request: Request, _exc: Exception) -> Response:
        # The database refused a value the schema let through (e.g. a NUL character in text on
        # PostgreSQL): the request is at fault, and nothing was written.
        return answer(request, 400, "invalid_input", "a value was not accepted by the database")

    async def on_integrity_error(request: Request, exc: Exception) -> Response:
        # A constraint refused the write because another request changed the same records at the
        # same moment (the code locks what it knows of; this is the backstop): nothing was written.
        log.warning("constraint refused %s %s: %s", request.method, request.url.path, exc)
        detail = "the records changed while this request was writing; read them again and retry"
        return answer(request, 409, "conflict", detail)

    async def on_store_unreachable(request: Request, exc: Exception) -> Response:
        # The S3 server did not answer (refused, reset, timed out, or a 5xx after the SDK's own
        # retries): the archive is unavailable for now, not broken, and the caller is not at fault.
        log.warning("object store unreachable in %s %s: %s", request.method, request.url.path, exc)
        detail = "the object store is not answering; try again once it is back"
        return answer(request, 503, "storage_unavailable", detail, {"Retry-After": "30"})

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        # A bug, not the caller's fault: the traceback goes to the log (the server may log it
        # again), the caller gets the same JSON shape as every other error.
        log.error("unhandled error in %s %s", request.method, request.url.path, exc_info=exc)
        return answer(request, 500, "internal", "internal error; the request was not completed")

    app.add_exception_handler(errors.VerityError, on_domain_error)
    app.add_exception_handler(RequestValidationError, on_invalid_request)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(DataError, on_data_error)
    app.add_exception_handler(IntegrityError, on_integrity_error)
    app.add_exception_handler(ClientDisconnect, on_disconnect)
    app.add_exception_handler(ConnectionProblem, on_store_unreachable)
    if s3:
        from minio.error import ServerError

        app.add_exception_handler(ServerError, on_store_unreachable)
    app.add_exception_handler(Exception, on_unexpected)
