"""Cases: the incidents a report or submission covers, open or closed. Every change is also an
entry in the case's history (storage/history.py), in the same transaction; a closed case keeps
the incidents it holds."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from storage.evidence import IncidentFields, NamedVersions, check_version, create_incident, flush_change, load_incident
from storage.history import changed_fields, record_entry, snapshot
from storage.models import Case, CaseIncident, Incident, utcnow
from storage.vocabulary import CASE_STATUSES
from verity.errors import Conflict, InvalidInput, NotFound


def load_case(session: Session, case_id: str, *, lock: bool = False) -> Case:
    """The case; with `lock`, read afresh and held until the transaction ends (PostgreSQL)."""
    case = session.get(Case, case_id, with_for_update=lock, populate_existing=lock)
    if case is None:
        raise NotFound(f"no case with id {case_id}")
    return case


def create_case(session: Session, title: str, description: str, status: str, actor: str) -> Case:
    if status not in CASE_STATUSES:
        raise InvalidInput("status must be open or closed")
    case = Case(title=title, description=description, status=status, created_by=actor)
    session.add(case)
    session.flush()
    record_entry(session, "case", case.id, "created", actor, {"record": snapshot(case)})
    return case


def update_case(session: Session, case_id: str, changes: dict[str, Any], expected: NamedVersions, actor: str) -> Case:
    """Apply `changes`; one that changes nothing leaves the case, its version and its history as
    they are. A change of status is recorded as `closed` or `reopened`."""
    case = load_case(session, case_id)
    check_version(case.version, expected, "case")
    wanted = {name: changes.get(name, getattr(case, name)) for name in ("title", "description", "status")}
    for name, value in wanted.items():
        if value is None:
            raise InvalidInput(f"{name} cannot be null")
    if wanted["status"] not in CASE_STATUSES:
        raise InvalidInput("status must be open or closed")
    before = {name: getattr(case, name) for name in wanted}
    if before == wanted:
        return case
    for name, value in wanted.items():
        setattr(case, name, value)
    case.updated_at = utcnow()
    flush_change(session, "case")
    action = "updated"
    if before["status"] != wanted["status"]:
        action = "closed" if wanted["status"] == "closed" else "reopened"
    record_entry(session, "case", case_id, action, actor, {"version": case.version, **changed_fields(before, wanted)})
    return case


def delete_case(session: Session, case_id: str, expected: NamedVersions, actor: str) -> None:
    """Delete an open case (its incidents stay); its history keeps the whole record as it was."""
    case = load_case(session, case_id)
    check_version(case.version, expected, "case")
    if case.status == "closed":
        raise Conflict("the case is closed, and a closed case keeps what it holds; reopen it first")
    record = snapshot(case)
    session.delete(case)
    flush_change(session, "case")
    record_entry(session, "case", case_id, "deleted", actor, {"record": record})


def set_case_incident(session: Session, case_id: str, incident_id: str, member: bool, actor: str) -> Case:
    """Add or remove an incident; changes the case's version like any other edit. A closed case
    keeps what it holds (asking for what is already so is not a change, and is answered). Needs
    no If-Match, so the case is locked first: two additions at once both count."""
    case = load_case(session, case_id, lock=True)
    load_incident(session, incident_id, lock="share")  # not deleted while it joins the case
    present = next((link for link in case.incident_links if link.incident_id == incident_id), None)
    if member == (present is not None):
        return case
    if case.status == "closed":
        raise Conflict("the case is closed; reopen it first")
    if present is None:
        case.incident_links.append(CaseIncident(case_id=case_id, incident_id=incident_id))
    else:
        case.incident_links.remove(present)
    case.updated_at = utcnow()
    flush_change(session, "case")
    action = "incident_added" if member else "incident_removed"
    record_entry(session, "case", case_id, action, actor, {"version": case.version, "incident_id": incident_id})
    return case


def create_incident_in_case(session: Session, case_id: str, fields: IncidentFields, actor: str) -> Incident:
    """A new incident, put into the case at once (two history entries, one transaction): how a
    contributor who sees only some cases records one it can then see. A closed case refuses it
    before anything is made."""
    case = load_case(session, case_id, lock=True)
    if case.status == "closed":
        raise Conflict("the case is closed; reopen it first")
    incident = create_incident(session, fields, actor)
    set_case_incident(session, case_id, incident.id, True, actor)
    return incident
