"""API keys (a bearer header, or a browser's session cookie: api/browser_session.py) and role
checks: `Depends(require(Role.contributor))` gives the caller, with its person, its key and what
the two allow together (`scope`, storage/access.py). The gate asks only that the caller hold the
role somewhere; each route then asks of the record it touches (`storage.access.on_clip` and the
like)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.datastructures import URL, Headers

from api.browser_session import (
    CSRF_HEADER,
    SAFE_METHODS,
    cross_site_refusal,
    csrf_matches,
    own_origin,
    presented_secret,
)
from api.deps import ArchiveDep
from storage.access import Scope, scope_of
from storage.archive import Archive
from storage.keys import PERMISSION_ROLES, Permission, Role, actor_of, authenticate
from verity.errors import Forbidden, Unauthenticated

_bearer = HTTPBearer(auto_error=False, description="An API key made with `verity keys create`.")


@dataclass(frozen=True)
class Caller:
    """Who calls: `actor` is what records name them by (storage/keys.py `actor_of`); `scope`
    what they may see and do, archive-wide and case by case; `role` the highest role they hold
    anywhere (what the route gates ask)."""

    actor: str
    person: str
    key: str
    scope: Scope

    @property
    def role(self) -> Role:
        return self.scope.reach()

    @property
    def archive_admin(self) -> bool:
        """An admin over the whole archive (not through a case, nor by a key narrowed to cases)."""
        return self.scope.archive is not None and self.scope.archive.allows(Role.admin)


def caller_of(archive: Archive, secret: str) -> Caller:
    """The caller a key secret stands for, or `Unauthenticated` saying why not."""
    with archive.reads() as session:
        key = authenticate(session, secret)
        return Caller(actor=actor_of(key), person=key.person.name, key=key.name, scope=scope_of(session, key))


def request_caller(archive: Archive, method: str, headers: Headers, cookies: dict[str, str], url: URL) -> Caller:
    """The caller of a request to `url`: its bearer key, or its session cookie, which counts only
    for a request from this server's own pages (api/browser_session.py `cross_site_refusal`) and,
    for one that changes anything, only with the page's CSRF token in the X-CSRF-Token header."""
    secret, by_cookie = presented_secret(headers, cookies, url)
    if secret is None:
        raise Unauthenticated("send an API key as `Authorization: Bearer <key>`, or sign in")
    refused = cross_site_refusal(method, headers, own_origin(url)) if by_cookie else None
    if refused is not None:
        raise Forbidden(refused)
    if by_cookie and method not in SAFE_METHODS and not csrf_matches(secret, headers.get(CSRF_HEADER)):
        raise Forbidden(
            f"a signed-in browser's {method} needs the page's CSRF token in the {CSRF_HEADER} header "
            "(reload the page to get a fresh one)"
        )
    return caller_of(archive, secret)


class Gate:
    """A route's dependency giving the caller, if `refusal` finds nothing to refuse. Also callable
    on a request's bare headers (`check_headers`), so api/json_bodies.py can refuse a caller
    before FastAPI decodes the JSON body (it decodes the body before it solves dependencies)."""

    def __init__(self, refusal: Callable[[Caller], str | None]) -> None:
        self.refusal = refusal

    def __call__(
        self,
        request: Request,
        archive: ArchiveDep,
        # Declared for the OpenAPI security scheme; the header itself is read with the cookie.
        _: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Caller:
        return self.checked(request_caller(archive, request.method, request.headers, request.cookies, request.url))

    def checked(self, caller: Caller) -> Caller:
        refused = self.refusal(caller)
        if refused is not None:
            raise Forbidden(refused)
        return caller

    def check_headers(self, archive: Archive, request: Request) -> None:
        self.checked(request_caller(archive, request.method, request.headers, request.cookies, request.url))


def require(needed: Role) -> Gate:
    def refusal(caller: Caller) -> str | None:
        if caller.role.allows(needed):
            return None
        return f"this needs the {needed.value} role; key {caller.key!r} is {caller.role}"

    return Gate(refusal)


def permit(permission: Permission) -> Gate:
    """The caller, if it holds `permission` anywhere (archive-wide, or in some case)."""

    def refusal(caller: Caller) -> str | None:
        if caller.scope.may_anywhere(permission):
            return None
        holders = " or ".join(sorted(role.value for role in PERMISSION_ROLES[permission]))
        return (
            f"{permission.value} needs the {holders} role archive-wide, or the {permission.value} permission "
            f"in a case; key {caller.key!r} is {caller.role} and holds it nowhere"
        )

    return Gate(refusal)
