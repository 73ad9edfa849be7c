"""Who belongs to a case: a person, their role there, the permissions the membership grants of its
own (download, export, sources), and an optional end. Every change is an entry in the case's
history (member_set, member_removed), so who was let in, by whom and until when stays on record."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.cases import load_case
from storage.history import plain, record_entry
from storage.keys import Permission, Role, parse_role
from storage.models import CaseMember, utcnow
from storage.people import load_person
from verity.errors import InvalidInput, NotFound

MEMBER_ROLES = (Role.viewer, Role.contributor, Role.analyst, Role.admin)


def parse_permissions(permissions: Iterable[str]) -> list[Permission]:
    parsed = []
    for name in dict.fromkeys(permissions):
        try:
            parsed.append(Permission(name))
        except ValueError:
            raise InvalidInput(f"unknown permission {name!r}; choose from {', '.join(Permission)}") from None
    return sorted(parsed)


def set_member(
    session: Session,
    case_id: str,
    person_name: str,
    role: str,
    permissions: Iterable[str],
    expires_at: datetime | None,
    actor: str,
) -> CaseMember:
    """Add the person to the case, or change their membership, as one history entry."""
    case = load_case(session, case_id, lock=True)
    person = load_person(session, person_name)
    parsed_role = parse_role(role)
    if parsed_role not in MEMBER_ROLES:
        raise InvalidInput(f"a role in a case is one of {', '.join(MEMBER_ROLES)}")
    granted = parse_permissions(permissions)
    if expires_at is not None and expires_at <= utcnow():
        raise InvalidInput("expires_at must lie in the future")
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


def remove_member(session: Session, case_id: str, person_name: str, actor: str) -> None:
    case = load_case(session, case_id, lock=True)
    person = load_person(session, person_name)
    member = session.get(CaseMember, (case.id, person.id))
    if member is None:
        raise NotFound(f"{person.name!r} is not a member of case {case_id}")
    case.members.remove(member)
    session.flush()
    record_entry(session, "case", case.id, "member_removed", actor, {"person": person.name})


def members_of(session: Session, case_id: str) -> list[CaseMember]:
    """Every membership of the case, expired ones too (they say until when access lasted)."""
    case = load_case(session, case_id)
    query = select(CaseMember).where(CaseMember.case_id == case.id).order_by(CaseMember.person_id)
    return list(session.scalars(query))
