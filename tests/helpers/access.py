"""People who see only some cases, for the access tests: a person with no archive-wide role, a
membership of one case (a role there, permissions, maybe an end), and a key of theirs."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from storage.archive import Archive
from storage.keys import create_key
from storage.members import set_member
from storage.people import create_person, find_person


def member_key(
    archive: Archive,
    case_id: str,
    role: str = "viewer",
    permissions: Sequence[str] = (),
    *,
    person: str | None = None,
    archive_role: str = "none",
    expires_at: datetime | None = None,
    key_role: str | None = None,
) -> str:
    """The secret of a new key of `person` (made with `archive_role` if they do not exist yet),
    who is now a member of `case_id` with `role` and `permissions`."""
    name = person or f"guest-{uuid.uuid4().hex[:8]}"
    with archive.sessions.begin() as session:
        if find_person(session, name) is None:
            create_person(session, name, archive_role)
        set_member(session, case_id, name, role, permissions, expires_at, "test-setup")
    return person_key(archive, name, key_role or role)


def person_key(archive: Archive, person: str, role: str, cases: Sequence[str] = ()) -> str:
    with archive.sessions.begin() as session:
        _key, secret = create_key(session, f"{person}-{uuid.uuid4().hex[:6]}", role, person=person, cases=cases)
    return secret
