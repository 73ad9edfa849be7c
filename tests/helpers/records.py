"""Incidents and cases as the workbench's tests set them up: made in storage as an admin would,
and people who belong to one case and sign in with a password."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from storage.archive import Archive
from storage.cases import create_case, set_case_incident
from storage.evidence import IncidentFields, create_incident, link_clip
from storage.members import set_member
from storage.people import create_person
from tests.helpers.workbench import PASSWORD

SQUARE = datetime(2019, 11, 16, 10, 30, tzinfo=UTC)


def made_incident(
    archive: Archive, title: str, starts_at: datetime = SQUARE, precision: str = "hour", case_id: str | None = None
) -> str:
    fields = IncidentFields(title, "", starts_at, None, precision, None, None, None, None, [])
    with archive.sessions.begin() as session:
        incident = create_incident(session, fields, "admin-key")
        if case_id is not None:
            set_case_incident(session, case_id, incident.id, True, "admin-key")
        return incident.id


def made_case(archive: Archive, title: str) -> str:
    with archive.sessions.begin() as session:
        return create_case(session, title, "", "open", "admin-key").id


def make_member(archive: Archive, case_id: str, name: str, role: str, permissions: Sequence[str] = ()) -> str:
    """A person with no archive-wide role, a member of the case with `role` and `permissions`."""
    with archive.sessions.begin() as session:
        create_person(session, name, "none", PASSWORD)
        set_member(session, case_id, name, role, permissions, None, "test-setup")
    return name


def put_in_case(archive: Archive, clip_ids: list[str], title: str) -> tuple[str, str]:
    """A new case holding a new incident the clips are linked to (as an admin would): case, incident."""
    when = datetime(2019, 11, 16, 10, 35, tzinfo=UTC)
    with archive.sessions.begin() as session:
        incident = create_incident(
            session, IncidentFields(title, "", when, None, "hour", None, None, None, None, []), "admin-key"
        )
        case = create_case(session, title, "", "open", "admin-key")
        set_case_incident(session, case.id, incident.id, True, "admin-key")
        for clip_id in clip_ids:
            link_clip(session, incident.id, clip_id, None, None, None, "admin-key")
        return case.id, incident.id
