"""People: accounts with a unique name, a password kept only as an argon2id hash, an optional TOTP
second factor (RFC 6238), an archive-wide role, and a time they were disabled. Signing in checks
all of these; storage/keys.py makes the short-lived key it answers."""

from __future__ import annotations

import functools
import unicodedata

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.keys import Role, lock_live_admins, parse_role
from storage.models import ApiKey, Person, utcnow
from verity.errors import Conflict, InvalidInput, PersonNotFound, SignInRefused

# argon2-cffi's defaults (RFC 9106's second recommendation: argon2id, 64 MiB, 3 passes).
_hasher = PasswordHasher()


@functools.cache
def _unknown_hash() -> str:
    """Checked against when the name is unknown, so a wrong name takes as long as a wrong password.
    Made at a process's first sign-in, known name or not, rather than at import: an argon2 hash is
    ~0.1 s of CPU that every process importing this module (each CLI command, each worker) paid."""
    return _hasher.hash("no such person")


PASSWORD_MIN = 12
PASSWORD_MAX = 1024
NAME_MAX = 64
TOTP_ISSUER = "Verity"


def check_person_name(name: str) -> str:
    """A new person's name, stripped; refused when empty, too long, or holding "/" (which joins a
    person to a key in actors: "alice/laptop") or control characters."""
    name = name.strip()
    if not name or len(name) > NAME_MAX:
        raise InvalidInput(f"a person's name must be 1 to {NAME_MAX} characters")
    if "/" in name or any(unicodedata.category(char).startswith("C") for char in name):
        raise InvalidInput("a person's name may not hold '/' or control characters")
    return name


def hash_password(password: str) -> str:
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise InvalidInput(f"a password must be {PASSWORD_MIN} to {PASSWORD_MAX} characters")
    return _hasher.hash(password)


def create_person(session: Session, name: str, role: str, password: str | None = None) -> Person:
    person = Person(
        name=check_person_name(name),
        role=parse_role(role).value,
        password_hash=None if password is None else hash_password(password),
    )
    session.add(person)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"a person named {person.name!r} already exists") from None
    return person


def find_person(session: Session, name: str) -> Person | None:
    return session.scalar(select(Person).where(Person.name == name))


def load_person(session: Session, name: str) -> Person:
    person = find_person(session, name)
    if person is None:
        raise PersonNotFound(f"no person named {name!r}")
    return person


def list_people(session: Session) -> list[Person]:
    return list(session.scalars(select(Person).order_by(Person.id)))


def set_password(session: Session, name: str, password: str) -> Person:
    person = load_person(session, name)
    person.password_hash = hash_password(password)
    return person


def enrol_totp(session: Session, name: str) -> tuple[Person, str]:
    """Give the person a new TOTP secret (replacing any) and return the otpauth:// URI to show once."""
    person = load_person(session, name)
    person.totp_secret = pyotp.random_base32()
    person.totp_last_step = None
    return person, pyotp.TOTP(person.totp_secret).provisioning_uri(name=person.name, issuer_name=TOTP_ISSUER)


def remove_totp(session: Session, name: str) -> Person:
    person = load_person(session, name)
    person.totp_secret = person.totp_last_step = None
    return person


def set_disabled(session: Session, name: str, disabled: bool) -> Person:
    """Disable (every key of the person is refused from its next request on) or enable again;
    not the person holding the last live admin keys, which would leave nobody to administer."""
    person = load_person(session, name)
    if disabled:
        _keep_an_admin(session, person, "disable")
    if not disabled:
        person.disabled_at = None
    elif person.disabled_at is None:
        person.disabled_at = utcnow()
    return person


def set_role(session: Session, name: str, role: str) -> Person:
    person = load_person(session, name)
    new_role = parse_role(role)
    if new_role != Role.admin:
        _keep_an_admin(session, person, "take the admin role from")
    person.role = new_role.value
    return person


def _keep_an_admin(session: Session, person: Person, doing: str) -> None:
    live = lock_live_admins(session)
    theirs = set(session.scalars(select(ApiKey.id).where(ApiKey.person_id == person.id)))
    if live and set(live) <= theirs:
        raise Conflict(f"{person.name!r} holds the last live admin keys: make another admin before you {doing} them")


def check_sign_in(session: Session, name: str, password: str, code: str | None) -> Person:
    """The person, if `password` (and, when enrolled, the TOTP `code`) are theirs and they are not
    disabled; else `SignInRefused`. The reasons say which factor failed only once the password is
    right, so a stranger learns nothing of which names exist."""
    unknown = _unknown_hash()  # before the look-up, so only a process's first sign-in pays for it
    person = find_person(session, name)
    try:
        _hasher.verify(person.password_hash if person and person.password_hash else unknown, password)
    except (VerificationError, InvalidHashError):
        raise SignInRefused("wrong name or password") from None
    if person is None or person.password_hash is None:
        raise SignInRefused("wrong name or password")
    if person.totp_secret is not None:
        if not code:
            raise SignInRefused("this account needs its TOTP code (`totp`)")
        person.totp_last_step = _matching_step(person.totp_secret, code.strip(), person.totp_last_step)
    if person.disabled_at is not None:
        raise SignInRefused("this account is disabled")
    if _hasher.check_needs_rehash(person.password_hash):
        person.password_hash = _hasher.hash(password)
    return person


def _matching_step(secret: str, code: str, last_step: int | None) -> int:
    """The 30-second step whose code `code` is (this one or a neighbour, for clock drift), if it
    is later than the last one used: RFC 6238 section 5.2 asks that a code be taken only once."""
    totp = pyotp.TOTP(secret)
    now = int(utcnow().timestamp()) // totp.interval
    for step in (now - 1, now, now + 1):
        if pyotp.utils.strings_equal(totp.generate_otp(step), code):
            if last_step is not None and step <= last_step:
                raise SignInRefused("this TOTP code was used already; wait for the next one")
            return step
    raise SignInRefused("wrong TOTP code")
