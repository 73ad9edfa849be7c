"""Bearer API keys and role checks: `Depends(require(Role.contributor))` gives the caller."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.deps import ArchiveDep
from storage.keys import PERMISSION_ROLES, Permission, Role, find_active_key
from verity.errors import Forbidden, Unauthenticated

_bearer = HTTPBearer(auto_error=False, description="An API key made with `verity keys create`.")


@dataclass(frozen=True)
class Caller:
    name: str
    role: Role


def _caller(archive: ArchiveDep, credentials: HTTPAuthorizationCredentials | None) -> Caller:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("send an API key as `Authorization: Bearer <key>`")
    with archive.reads() as session:
        key = find_active_key(session, credentials.credentials)
    if key is None:
        raise Unauthenticated("unknown or revoked API key")
    return Caller(key.name, Role(key.role))


def require(needed: Role) -> Callable[..., Caller]:
    def check(
        archive: ArchiveDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
    ) -> Caller:
        caller = _caller(archive, credentials)
        if not caller.role.allows(needed):
            raise Forbidden(f"this needs the {needed.value} role; key {caller.name!r} is {caller.role}")
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
            raise Forbidden(f"{permission.value} needs the {holders} role; key {caller.name!r} is {caller.role}")
        return caller

    return check
