"""Bearer API keys and role checks: `Depends(require(Role.contributor))` gives the caller, with its
person, its key and what the two allow together."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.deps import ArchiveDep
from storage.keys import PERMISSION_ROLES, Permission, Role, actor_of, authenticate, effective_role
from verity.errors import Forbidden, Unauthenticated

_bearer = HTTPBearer(auto_error=False, description="An API key made with `verity keys create`.")


@dataclass(frozen=True)
class Caller:
    """Who calls: `actor` is what records name them by (storage/keys.py `actor_of`); `role` the
    lower of the key's and the person's archive-wide roles; `case_ids` the cases the key is
    narrowed to (empty: not narrowed)."""

    actor: str
    person: str
    key: str
    role: Role
    person_role: Role
    case_ids: tuple[str, ...] = ()


def _caller(archive: ArchiveDep, credentials: HTTPAuthorizationCredentials | None) -> Caller:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("send an API key as `Authorization: Bearer <key>`")
    with archive.reads() as session:
        key = authenticate(session, credentials.credentials)
        return Caller(
            actor=actor_of(key),
            person=key.person.name,
            key=key.name,
            role=effective_role(key),
            person_role=Role(key.person.role),
            case_ids=tuple(key.case_ids),
        )


def require(needed: Role) -> Callable[..., Caller]:
    def check(
        archive: ArchiveDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
    ) -> Caller:
        caller = _caller(archive, credentials)
        if not caller.role.allows(needed):
            raise Forbidden(f"this needs the {needed.value} role; key {caller.key!r} is {caller.role}")
        return caller

    return check


def permit(permission: Permission) -> Callable[..., Caller]:
    """The caller, if its role holds `permission` (storage/keys.py PERMISSION_ROLES)."""

    def check(
        archive: ArchiveDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
    ) -> Caller:
        caller = _caller(archive, credentials)
        if not caller.role.may(permission):
            holders = " or ".join(sorted(role.value for role in PERMISSION_ROLES[permission]))
            raise Forbidden(f"{permission.value} needs the {holders} role; key {caller.key!r} is {caller.role}")
        return caller

    return check
