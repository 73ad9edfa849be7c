"""The workbench's sign-in and sign-out: a person's name and password (and TOTP code) for a
session cookie holding a sign-in key (api/browser_session.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.browser_session import SESSION_COOKIE, SIGN_IN_COOKIE, set_cookie, sign_in_token
from api.deps import ArchiveDep, SessionDep
from api.signing_in import sign_in
from api.web.render import page
from api.web.visitor import VisitorDep
from storage.keys import end_sign_in
from verity.errors import SignInRefused, TooManyRequests

router = APIRouter(include_in_schema=False)


def local_path(target: str | None) -> str:
    """Where to go after signing in: a path on this server only (never `//elsewhere` or a URL)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _form(request: Request, target: str, error: str | None = None, status_code: int = 200) -> HTMLResponse:
    token = request.cookies.get(SIGN_IN_COOKIE) or sign_in_token()
    response = page(request, "sign_in.html", {"token": token, "next": target, "error": error}, status_code)
    set_cookie(response, SIGN_IN_COOKIE, token, secure=request.url.scheme == "https", max_age=3600)
    return response


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request, next: str | None = None) -> HTMLResponse:
    return _form(request, local_path(next))


@router.post("/sign-in", response_class=HTMLResponse)
def sign_in_submitted(
    request: Request,
    session: SessionDep,
    archive: ArchiveDep,
    name: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=1024)],
    csrf_token: Annotated[str, Form(max_length=100)],
    totp: Annotated[str | None, Form(max_length=10)] = None,
    next: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    target = local_path(next)
    if not csrf_token or csrf_token != request.cookies.get(SIGN_IN_COOKIE):
        return _form(request, target, "The form had expired: sign in again.", 403)
    try:
        _, secret = sign_in(session, request, archive, name, password, totp or None)
    except SignInRefused as refused:
        return _form(request, target, refused.detail, 401)
    except TooManyRequests as limited:
        return _form(request, target, limited.detail, 429)
    response = RedirectResponse(target, status_code=303)
    set_cookie(response, SESSION_COOKIE, secret, secure=request.url.scheme == "https")
    response.delete_cookie(SIGN_IN_COOKIE, path="/")
    return response


@router.post("/sign-out")
def sign_out(request: Request, session: SessionDep, _: VisitorDep) -> Response:
    end_sign_in(session, request.cookies[SESSION_COOKIE])
    response = RedirectResponse("/sign-in", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
