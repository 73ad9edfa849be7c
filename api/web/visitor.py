"""Who is looking at a page: the caller its session cookie stands for (api/browser_session.py).
Without a live sign-in a page answers with the sign-in page (api/errors.py sends the browser
there); a request that changes anything must come from this server's own pages (Origin,
Sec-Fetch-Site) and carry the page's CSRF token, in the X-CSRF-Token header (htmx and the page's
script send it) or a `csrf_token` form field.

The visitor is known before any of a page POST's body is read: api/json_bodies.py asks
`signed_in` before a form route's fields are parsed, and `page_visitor` reads a form (bounded
there by `max_json_body_bytes`) only once the cookie stands for someone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import URL, Headers

from api.auth import Caller, caller_of, require
from api.browser_session import (
    CSRF_FIELD,
    CSRF_HEADER,
    SAFE_METHODS,
    SESSION_COOKIE,
    cookie_of,
    cross_site_refusal,
    csrf_matches,
    csrf_token,
    own_origin,
)
from api.deps import ArchiveDep
from storage.archive import Archive
from storage.keys import Role
from verity.errors import Forbidden, Unauthenticated

FORM_TYPE = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Visitor:
    caller: Caller
    csrf: str

    @property
    def name(self) -> str:
        return self.caller.person

    @property
    def may_hand_in(self) -> bool:
        """Whether the visitor may hand footage in anywhere (the upload page is for them)."""
        return self.caller.role.allows(Role.contributor)


def refuse_cross_site(method: str, headers: Headers, origin: str) -> None:
    refused = cross_site_refusal(method, headers, origin)
    if refused is not None:
        raise Forbidden(refused)


def signed_in(archive: Archive, method: str, headers: Headers, cookies: dict[str, str], url: URL) -> Caller:
    """The visitor's caller, from headers alone; a change must come from this server's pages."""
    if method not in SAFE_METHODS:
        refuse_cross_site(method, headers, own_origin(url))
    secret = cookie_of(cookies, SESSION_COOKIE, url)
    if not secret:
        raise Unauthenticated("sign in to use the workbench")
    return require(Role.viewer).checked(caller_of(archive, secret))


def is_form(content_type: str | None) -> bool:
    return (content_type or "").split(";", 1)[0].strip().lower() == FORM_TYPE


async def page_visitor(request: Request, archive: ArchiveDep) -> Visitor:
    caller = await run_in_threadpool(signed_in, archive, request.method, request.headers, request.cookies, request.url)
    secret = cookie_of(request.cookies, SESSION_COOKIE, request.url) or ""
    if request.method not in SAFE_METHODS:
        presented = request.headers.get(CSRF_HEADER)
        if presented is None and is_form(request.headers.get("content-type")):
            field = (await request.form(max_files=0)).get(CSRF_FIELD)
            presented = field if isinstance(field, str) else None
        if not csrf_matches(secret, presented):
            raise Forbidden("the form's CSRF token is missing or stale: reload the page and try again")
    visitor = Visitor(caller, csrf_token(secret))
    request.state.visitor = visitor
    return visitor


VisitorDep = Annotated[Visitor, Depends(page_visitor)]
