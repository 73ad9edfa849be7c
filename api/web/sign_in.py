"""The workbench's sign-in and sign-out: a person's name and password (and TOTP code) for a
session cookie holding a sign-in key (api/browser_session.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.browser_session import (
    SESSION_COOKIE,
    SIGN_IN_COOKIE,
    cookie_of,
    delete_cookie,
    own_origin,
    set_cookie,
    sign_in_form_key,
    sign_in_token,
    sign_in_token_matches,
)
from api.deps import ArchiveDep, SessionDep
from api.schemas import SignIn
from api.signing_in import sign_in
from api.web.forms import parsed
from api.web.render import page
from api.web.visitor import VisitorDep, refuse_cross_site
from storage.archive import Archive
from storage.keys import end_sign_in
from verity.errors import SignInRefused, TooManyRequests

router = APIRouter(include_in_schema=False)


def local_path(target: str | None) -> str:
    """Where to go after signing in: a path on this server only (never `//elsewhere` or a URL)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _form(
    request: Request, archive: Archive, target: str, error: str | None = None, status_code: int = 200
) -> HTMLResponse:
    key = sign_in_form_key(archive.settings.data_dir)
    kept = cookie_of(request.cookies, SIGN_IN_COOKIE, request.url)
    # A token the browser holds from an earlier visit stays (two tabs); one this server did not sign goes.
    token = kept if kept is not None and sign_in_token_matches(key, kept, kept) else sign_in_token(key)
    response = page(request, "sign_in.html", {"token": token, "next": target, "error": error}, status_code)
    set_cookie(response, SIGN_IN_COOKIE, token, request.url, max_age=3600)
    return response


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request, archive: ArchiveDep, next: str | None = None) -> HTMLResponse:
    return _form(request, archive, local_path(next))


@router.post("/sign-in", response_class=HTMLResponse)
def sign_in_submitted(
    request: Request,
    session: SessionDep,
    archive: ArchiveDep,
    name: Annotated[str, Form(max_length=100)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    totp: Annotated[str, Form(max_length=10)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    refuse_cross_site(request.method, request.headers, own_origin(request.url))
    target = local_path(next)
    key = sign_in_form_key(archive.settings.data_dir)
    if not sign_in_token_matches(key, cookie_of(request.cookies, SIGN_IN_COOKIE, request.url), csrf_token):
        return _form(request, archive, target, "The form had expired: sign in again.", 403)
    wanted = parsed(SignIn, {"name": name, "password": password, "totp": totp})
    try:
        _, secret = sign_in(session, request, archive, wanted.name, wanted.password, wanted.totp)
    except SignInRefused as refused:
        return _form(request, archive, target, refused.detail, 401)
    except TooManyRequests as limited:
        return _form(request, archive, target, limited.detail, 429)
    earlier = cookie_of(request.cookies, SESSION_COOKIE, request.url)
    if earlier:
        end_sign_in(session, earlier)  # a sign-in the browser held (perhaps one planted in it) ends here
    response = RedirectResponse(target, status_code=303)
    set_cookie(response, SESSION_COOKIE, secret, request.url)
    delete_cookie(response, SIGN_IN_COOKIE, request.url)
    return response


@router.post("/sign-out")
def sign_out(request: Request, session: SessionDep, _: VisitorDep) -> Response:
    end_sign_in(session, cookie_of(request.cookies, SESSION_COOKIE, request.url) or "")
    response = RedirectResponse("/sign-in", status_code=303)
    delete_cookie(response, SESSION_COOKIE, request.url)
    return response
