"""API keys: random secrets shown once, stored only as SHA-256 hashes, each with one role."""

from __future__ import annotations

import hashlib
import secrets
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.models import ApiKey, utcnow
from verity.errors import Conflict, InvalidInput, KeyNotFound

KEY_PREFIX = "vrt_"


class Role(StrEnum):
    viewer = "viewer"
    contributor = "contributor"
    analyst = "analyst"
    admin = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank

    def may(self, permission: Permission) -> bool:
        return self in PERMISSION_ROLES[permission]


class Permission(StrEnum):
    """What some roles may do that is not simply "this role or above": granted role by role."""

    export = "export"  # build and download evidence exports (everything about a case, in one file)


PERMISSION_ROLES: dict[Permission, frozenset[Role]] = {
    Permission.export: frozenset({Role.analyst, Role.admin}),
}


def hash_secret(secret: str) -> str:
    # Keys are 256-bit random, so a plain SHA-256 is enough: there is nothing to brute-force.
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(session: Session, name: str, role: str) -> tuple[ApiKey, str]:
    """Store a new key and return it with its secret, which exists nowhere else afterwards."""
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput("a key name must be 1 to 100 characters")
    try:
        parsed_role = Role(role)
    except ValueError:
        raise InvalidInput(f"unknown role {role!r}; choose one of {', '.join(Role)}") from None
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(name=name, role=parsed_role.value, key_hash=hash_secret(secret))
    session.add(key)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"a key named {name!r} already exists") from None
    return key, secret


def find_active_key(session: Session, secret: str) -> ApiKey | None:
    return session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_secret(secret), ApiKey.revoked_at.is_(None)))


def revoke_key(session: Session, name: str) -> ApiKey:
    """Revoke the key named `name`, unless it is the last live admin key. The live admin keys are
    locked first (in id order, so two revocations cannot deadlock), so two admins revoking each
    other at once take turns and the second sees the first's revocation."""
    live_admins = _lock_live_admins(session)
    key = session.scalar(select(ApiKey).where(ApiKey.name == name))
    if key is None:
        raise KeyNotFound(f"no key named {name!r}")
    if key.revoked_at is None:
        if key.role == Role.admin and live_admins == [key.id]:
            raise Conflict("this is the last admin key: create another admin key before revoking it")
        key.revoked_at = utcnow()
    return key


def _lock_live_admins(session: Session) -> list[int]:
    """The ids of the live admin keys, row-locked until the transaction ends. On PostgreSQL a
    revocation waiting here re-reads a key revoked meanwhile and leaves it out."""
    query = select(ApiKey.id).where(ApiKey.role == Role.admin, ApiKey.revoked_at.is_(None)).order_by(ApiKey.id)
    return list(session.scalars(query.with_for_update()))


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


def has_any_key(session: Session) -> bool:
    return session.scalar(select(ApiKey.id).limit(1)) is not None
