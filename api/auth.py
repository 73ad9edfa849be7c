"""Bearer API keys and role checks: `Depends(require(Role.contributor))` gives the caller, with its
person, its key and what the two allow together (`scope`, storage/access.py). The gate asks only
that the caller hold the role somewhere; each route then asks of the record it touches
(`storage.access.on_clip` and the like)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

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


def _caller(archive: Archive, credentials: HTTPAuthorizationCredentials | None) -> Caller:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("send an API key as `Authorization: Bearer <key>`")
    with archive.reads() as session:
        key = authenticate(session, credentials.credentials)
        return Caller(actor=actor_of(key), person=key.person.name, key=key.name, scope=scope_of(session, key))


class Gate:
    """A route's dependency giving the caller, if `refusal` finds nothing to refuse. Also callable
    on the bare Authorization header (`check_header`), so api/json_bodies.py can refuse a caller
    before FastAPI decodes the JSON body (it decodes the body before it solves dependencies)."""

    def __init__(self, refusal: Callable[[Caller], str | None]) -> None:
        self.refusal = refusal

    def __call__(
        self, archive: ArchiveDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
    ) -> Caller:
        caller = _caller(archive, credentials)
        refused = self.refusal(caller)
        if refused is not None:
            raise Forbidden(refused)
        return caller

    def check_header(self, archive: Archive, authorization: str | None) -> None:
        scheme, _, secret = (authorization or "").strip().partition(" ")
        credentials = HTTPAuthorizationCredentials(scheme=scheme, credentials=secret.strip()) if secret else None
        self(archive, credentials)


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
