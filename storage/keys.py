"""API keys: random secrets shown once, stored only as SHA-256 hashes, each with one role."""

from __future__ import annotations

import hashlib
import secrets
from enum import StrEnum

from sqlalchemy import func, select
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
    key = session.scalar(select(ApiKey).where(ApiKey.name == name))
    if key is None:
        raise KeyNotFound(f"no key named {name!r}")
    if key.revoked_at is None:
        if key.role == Role.admin and _live_admins(session) == 1:
            raise Conflict("this is the last admin key: create another admin key before revoking it")
        key.revoked_at = utcnow()
    return key


def _live_admins(session: Session) -> int:
    query = select(func.count()).where(ApiKey.role == Role.admin, ApiKey.revoked_at.is_(None))
    return session.scalar(query) or 0


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


def has_any_key(session: Session) -> bool:
    return session.scalar(select(ApiKey.id).limit(1)) is not None
