"""Who is looking at a page: the caller its session cookie stands for (api/browser_session.py).
Without a live sign-in a page answers with the sign-in page (api/errors.py sends the browser
there); a request that changes anything must carry the page's CSRF token, in the X-CSRF-Token
header (htmx and the page's script send it) or a `csrf_token` form field."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from api.auth import Caller, caller_of, require
from api.browser_session import CSRF_FIELD, CSRF_HEADER, SAFE_METHODS, SESSION_COOKIE, csrf_matches, csrf_token
from api.deps import ArchiveDep
from storage.keys import Role
from verity.errors import Forbidden, Unauthenticated


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


async def page_visitor(request: Request, archive: ArchiveDep) -> Visitor:
    secret = request.cookies.get(SESSION_COOKIE)
    if not secret:
        raise Unauthenticated("sign in to use the workbench")
    if request.method not in SAFE_METHODS:
        presented = request.headers.get(CSRF_HEADER)
        if presented is None and "form" in request.headers.get("content-type", ""):
            field = (await request.form()).get(CSRF_FIELD)
            presented = field if isinstance(field, str) else None
        if not csrf_matches(secret, presented):
            raise Forbidden("the form's CSRF token is missing or stale: reload the page and try again")
    caller = require(Role.viewer).checked(await run_in_threadpool(caller_of, archive, secret))
    visitor = Visitor(caller, csrf_token(secret))
    request.state.visitor = visitor
    return visitor


VisitorDep = Annotated[Visitor, Depends(page_visitor)]
