"""Who belongs to a case: a person, their role there, the permissions the membership grants of its
own (download, export, sources), and an optional end. Every change is an entry in the case's
history (member_set, member_removed), so who was let in, by whom and until when stays on record."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from storage.access import Grant, Scope, on_case
from storage.cases import load_case
from storage.history import plain, record_entry
from storage.keys import Permission, Role, parse_role
from storage.models import CaseMember, utcnow
from storage.people import load_person
from verity.errors import Forbidden, InvalidInput, NotFound

MEMBER_ROLES = (Role.viewer, Role.contributor, Role.analyst, Role.admin)


def parse_permissions(permissions: Iterable[str]) -> list[Permission]:
    parsed = []
    for name in dict.fromkeys(permissions):
        try:
            parsed.append(Permission(name))
        except ValueError:
            raise InvalidInput(f"unknown permission {name!r}; choose from {', '.join(Permission)}") from None
    return sorted(parsed)


@dataclass(frozen=True)
class CaseAdmin:
    """Who changes a case's members when it is not an archive-wide admin: its person and its grant
    in the case. It hands out no more than it holds there, so that no admin of one case widens
    its own reach or another's past its own (an archive-wide admin, `None` below, may do anything)."""

    person: str
    grant: Grant


def member_changer(session: Session, scope: Scope, person: str, case_id: str) -> CaseAdmin | None:
    """Who changes the case's members: an admin of it, bounded by what it holds there (None: an
    archive-wide admin, whom nothing bounds)."""
    grant = on_case(session, scope, case_id, Role.admin)
    archive_admin = scope.archive is not None and scope.archive.allows(Role.admin)
    return None if archive_admin else CaseAdmin(person, grant)


def _within(session: Session, case_id: str, by: CaseAdmin, person_name: str) -> CaseMember | None:
    """Refuse a case admin's change of its own membership; answer its membership (for its end)."""
    if person_name == by.person:
        raise Forbidden("a case admin may not change or remove its own membership: another admin of the case may")
    own = load_person(session, by.person)
    return session.get(CaseMember, (case_id, own.id))


def _bounded(
    by: CaseAdmin, own: CaseMember | None, role: Role, granted: list[Permission], expires_at: datetime | None
) -> datetime | None:
    """The end a case admin may give (its own membership's, when none is given), once the role and
    permissions are checked against what it holds in the case; 403 for anything beyond."""
    if not by.grant.allows(role):
        raise Forbidden(f"you may grant at most your own role in the case ({by.grant.role.value}), not {role.value}")
    if missing := [p.value for p in granted if not by.grant.may(p)]:
        raise Forbidden(f"you may grant only permissions you hold in the case; you do not hold {', '.join(missing)}")
    # A membership already ended gives the caller nothing: its admin role there comes from its person.
    ends = own.expires_at if own is not None and own.expires_at is not None and own.expires_at > utcnow() else None
    if ends is None:
        return expires_at
    if expires_at is None:
        return ends
    if expires_at > ends:
        raise Forbidden(f"you may grant access until your own membership ends ({ends.isoformat()}), not later")
    return expires_at


def set_member(
    session: Session,
    case_id: str,
    person_name: str,
    role: str,
    permissions: Iterable[str],
    expires_at: datetime | None,
    actor: str,
    *,
    by: CaseAdmin | None = None,
) -> CaseMember:
    """Add the person to the case, or change their membership, as one history entry. `by`: the
    case admin making the change, bounded by what it holds (None: an archive-wide admin)."""
    case = load_case(session, case_id, lock=True)
    person = load_person(session, person_name)
    parsed_role = parse_role(role)
    if parsed_role not in MEMBER_ROLES:
        raise InvalidInput(f"a role in a case is one of {', '.join(MEMBER_ROLES)}")
    granted = parse_permissions(permissions)
    if expires_at is not None and expires_at <= utcnow():
        raise InvalidInput("expires_at must lie in the future")
    if by is not None:
        own = _within(session, case.id, by, person.name)
        expires_at = _bounded(by, own, parsed_role, granted, expires_at)
    member = session.get(CaseMember, (case.id, person.id), populate_existing=True)
    if member is None:
        member = CaseMember(case_id=case.id, person_id=person.id, person=person, added_by=actor)
        case.members.append(member)
    member.role = parsed_role.value
    member.permissions = json.dumps([p.value for p in granted])
    member.expires_at = expires_at
    session.flush()
    details = {
        "person": person.name,
        "role": member.role,
        "permissions": [p.value for p in granted],
        "expires_at": plain(expires_at),
    }
    record_entry(session, "case", case.id, "member_set", actor, details)
    return member


def remove_member(session: Session, case_id: str, person_name: str, actor: str, *, by: CaseAdmin | None = None) -> None:
    """End the person's membership, as one history entry. `by` as for `set_member`: a case admin
    may not remove its own."""
    case = load_case(session, case_id, lock=True)
    person = load_person(session, person_name)
    if by is not None:
        _within(session, case.id, by, person.name)
    member = session.get(CaseMember, (case.id, person.id))
    if member is None:
        raise NotFound(f"{person.name!r} is not a member of case {case_id}")
    case.members.remove(member)
    session.flush()
    record_entry(session, "case", case.id, "member_removed", actor, {"person": person.name})


def members_of(session: Session, case_id: str) -> list[CaseMember]:
    """Every membership of the case, expired ones too (they say until when access lasted)."""
    return list(load_case(session, case_id).members)
