"""API keys: random secrets shown once, stored only as SHA-256 hashes. Each belongs to a person
(storage/people.py) and holds a role at most the person's; it may expire, and may be narrowed to
some cases. What a key does is recorded under its actor (`actor_of`)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.models import ApiKey, Case, KeyCase, Person, utcnow
from verity.errors import Conflict, Forbidden, InvalidInput, KeyNotFound, Unauthenticated

KEY_PREFIX = "vrt_"
# An actor ("person/key") is stored where a key's name was, in columns of 100 characters.
ACTOR_MAX = 100


class Role(StrEnum):
    """Archive-wide roles, lowest first. `none` is a person's (or key's) lack of one: it may do
    only what a case membership gives (issue 11, item 2)."""

    none = "none"
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
    download = "download"  # take a copy of an original
    sources = "sources"  # see who handed footage in and from where (storage/access.py sources_visible)


# What archive-wide roles hold; in a case, a membership grants these one by one.
PERMISSION_ROLES: dict[Permission, frozenset[Role]] = {
    Permission.export: frozenset({Role.analyst, Role.admin}),
    Permission.download: frozenset({Role.viewer, Role.contributor, Role.analyst, Role.admin}),
    Permission.sources: frozenset({Role.admin}),
}


def parse_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise InvalidInput(f"unknown role {role!r}; choose one of {', '.join(Role)}") from None


def lower_role(first: Role, second: Role) -> Role:
    return first if first.rank <= second.rank else second


def actor_of(key: ApiKey) -> str:
    """Who a key's actions are recorded as, in custody events, history and audit entries:
    "person/key", or the key's name alone when it is named after its person (as every key made
    before people existed is), so the actors such keys record stay what they were."""
    return key.name if key.name == key.person.name else f"{key.person.name}/{key.name}"


def person_of(actor: str) -> str:
    """The person an actor (`actor_of`) names: a person's name holds no '/' (storage/people.py)."""
    return actor.split("/", 1)[0]


def hash_secret(secret: str) -> str:
    # Keys are 256-bit random, so a plain SHA-256 is enough: there is nothing to brute-force.
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(
    session: Session,
    name: str,
    role: str,
    *,
    person: str | None = None,
    cases: Sequence[str] = (),
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """Store a new key of `person` (by default one named after the key, made with the key's role
    if there is none) and return it with its secret, which exists nowhere else afterwards. A role
    above the person's is `Forbidden`; the cases must exist, the expiry lie ahead."""
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput("a key name must be 1 to 100 characters")
    parsed_role = parse_role(role)
    if expires_at is not None and expires_at <= utcnow():
        raise InvalidInput("expires_at must lie in the future")
    owner = _owner(session, person if person is not None else name, parsed_role, made_if_missing=person is None)
    reach = _reach(session, owner)
    if reach.rank < parsed_role.rank:
        raise Forbidden(f"a key of {owner.name!r} can have at most the role {reach}, not {parsed_role}")
    key = ApiKey(name=name, role=parsed_role.value, person=owner, expires_at=expires_at)
    if len(actor_of(key)) > ACTOR_MAX:
        raise InvalidInput(f"the person's and the key's names together must be under {ACTOR_MAX} characters")
    for case_id in dict.fromkeys(cases):
        if session.get(Case, case_id) is None:
            raise InvalidInput(f"no case with id {case_id!r}")
        key.scope.append(KeyCase(case_id=case_id))
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key.key_hash = hash_secret(secret)
    session.add(key)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"a key named {name!r} already exists") from None
    return key, secret


def _owner(session: Session, name: str, role: Role, *, made_if_missing: bool) -> Person:
    from storage.people import check_person_name, find_person  # people.py imports this module

    person = find_person(session, name)
    if person is not None:
        return person
    if not made_if_missing:
        raise InvalidInput(f"no person named {name!r}: create one with `verity users create`")
    person = Person(name=check_person_name(name), role=role.value)
    session.add(person)
    session.flush()
    return person


def _reach(session: Session, person: Person) -> Role:
    from storage.access import reach_of  # access.py imports this module

    return reach_of(session, person.id, Role(person.role))


def create_sign_in_key(session: Session, person: Person, lifetime: timedelta) -> tuple[ApiKey, str]:
    """A key answering a sign-in: the highest role the person holds anywhere (archive-wide or in
    a case), expiring after `lifetime`."""
    return create_key(
        session,
        f"{SIGN_IN_KEY_PREFIX}{secrets.token_hex(6)}",
        _reach(session, person).value,
        person=person.name,
        expires_at=utcnow() + lifetime,
    )


SIGN_IN_KEY_PREFIX = "session-"


def end_sign_in(session: Session, secret: str) -> ApiKey | None:
    """Revoke the sign-in key whose secret this is (signing out), if it is one and still live.
    The last-admin rule does not hold it back: it would expire anyway, and its person can sign in
    again. Other keys are left alone: signing out never ends a key made with `verity keys create`."""
    key = find_active_key(session, secret)
    if key is None or not key.name.startswith(SIGN_IN_KEY_PREFIX):
        return None
    key.revoked_at = utcnow()
    return key


def find_active_key(session: Session, secret: str) -> ApiKey | None:
    return session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_secret(secret), ApiKey.revoked_at.is_(None)))


def authenticate(session: Session, secret: str) -> ApiKey:
    """The live key whose secret this is, or `Unauthenticated` saying why not. Only one holding
    the secret learns that it expired or that its person is disabled."""
    key = find_active_key(session, secret)
    if key is None:
        raise Unauthenticated("unknown or revoked API key")
    if key.expires_at is not None and key.expires_at <= utcnow():
        raise Unauthenticated("this API key has expired")
    if key.person.disabled_at is not None:
        raise Unauthenticated("this API key's person is disabled")
    return key


def effective_role(key: ApiKey) -> Role:
    """What the key may do archive-wide: its own role, or its person's if that is lower now."""
    return lower_role(Role(key.role), Role(key.person.role))


def revoke_key(session: Session, name: str) -> ApiKey:
    """Revoke the key named `name`, unless it is the last live admin key. The live admin keys are
    locked first (in id order, so two revocations cannot deadlock), so two admins revoking each
    other at once take turns and the second sees the first's revocation."""
    live_admins = lock_live_admins(session)
    key = session.scalar(select(ApiKey).where(ApiKey.name == name))
    if key is None:
        raise KeyNotFound(f"no key named {name!r}")
    if key.revoked_at is None:
        if live_admins == [key.id]:
            raise Conflict("this is the last admin key: create another admin key before revoking it")
        key.revoked_at = utcnow()
    return key


def lock_live_admins(session: Session) -> list[int]:
    """The ids of the keys that can still administer the whole archive (not revoked, not
    expired, not narrowed to cases, of an enabled person whose role is admin), row-locked until
    the transaction ends. On PostgreSQL a revocation waiting here re-reads a key revoked
    meanwhile and leaves it out. A key that will expire counts until it has."""
    narrowed = select(KeyCase.key_id)
    query = (
        select(ApiKey.id)
        .join(Person, Person.id == ApiKey.person_id)
        .where(
            ApiKey.role == Role.admin,
            ApiKey.revoked_at.is_(None),
            or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > utcnow()),
            ApiKey.id.not_in(narrowed),
            Person.role == Role.admin,
            Person.disabled_at.is_(None),
        )
        .order_by(ApiKey.id)
    )
    return list(session.scalars(query.with_for_update(of=ApiKey)))


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


def has_any_key(session: Session) -> bool:
    return session.scalar(select(ApiKey.id).limit(1)) is not None
