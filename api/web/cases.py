"""The workbench's case pages: the list with a create form, and a case (its record and edit form
with the same stale-edit handling as an incident's, close and reopen, its incidents on a timeline,
adding and removing them, its clips and segments, members, history, and an export with its
progress). Each route asks storage/access.py as the API route doing the same does."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from api.deps import ArchiveDep, RunnerDep, SessionDep
from api.exporting import queue_asked_export
from api.params import Offset
from api.schemas import (
    DESCRIPTION_MAX,
    ID_MAX,
    TITLE_MAX,
    CaseIn,
    CaseOut,
    CasePatch,
    ExportCreate,
    ExportOut,
    MemberIn,
    MemberOut,
)
from api.sources import clip_outs
from api.web.forms import parsed
from api.web.records import CHOICES, PAGE_SIZE, ReadVersion, StaleEdit, as_read, history_of, pager, stale_edit
from api.web.render import page
from api.web.timeline import timeline
from api.web.visitor import Visitor, VisitorDep
from storage.access import Scope, archive_wide, on_case, on_filing
from storage.cases import create_case, load_case, set_case_incident, update_case
from storage.evidence import incident_links_of_clip, load_incident
from storage.exports import load_readable_export
from storage.keys import Permission, Role
from storage.members import MEMBER_ROLES, member_changer, members_of, remove_member, set_member
from storage.models import ClipLink, Incident
from storage.search import ClipFilters, IncidentFilters, search_cases, search_clips, search_incidents
from storage.vocabulary import CASE_STATUSES, ExportStatus
from verity.errors import ExportNotFound, StaleWrite

router = APIRouter(include_in_schema=False)
PERSON_MAX = 100
LABELS = {"title": "Title", "description": "Description", "status": "Status", "incidents": "Incidents"}
UNSETTLED_EXPORTS = frozenset({ExportStatus.queued, ExportStatus.running})


@router.get("/cases", response_class=HTMLResponse)
def cases_page(
    request: Request,
    session: SessionDep,
    visitor: VisitorDep,
    status: Annotated[str | None, Query(pattern="^(open|closed)$")] = None,
    q: Annotated[str | None, Query(max_length=TITLE_MAX)] = None,
    offset: Offset = 0,
) -> HTMLResponse:
    scope = visitor.caller.scope
    total, rows = search_cases(session, status, q, PAGE_SIZE, offset, scope=scope)
    context = {
        "cases": [CaseOut.model_validate(row) for row in rows],
        "total": total,
        "asked": dict(request.query_params),
        "pages": pager(request, total, offset),
        "statuses": CASE_STATUSES,
        # Opening a case widens no one's reach only when its opener sees the whole archive.
        "may_create": scope.archive is not None and scope.archive.allows(Role.contributor),
    }
    return page(request, "cases.html", context)


@router.post("/cases")
def create(
    session: SessionDep,
    visitor: VisitorDep,
    title: Annotated[str, Form(max_length=TITLE_MAX)] = "",
    description: Annotated[str, Form(max_length=DESCRIPTION_MAX)] = "",
) -> Response:
    """The same checks and record as POST /api/v1/cases."""
    body = parsed(CaseIn, {"title": title, "description": description})
    archive_wide(visitor.caller.scope, Role.contributor, "opening a case")
    case = create_case(session, body.title, body.description, body.status, visitor.caller.actor)
    return RedirectResponse(f"/cases/{case.id}", status_code=303)


def _segments(
    session: Session, scope: Scope, clip_ids: list[str], case_incidents: set[str]
) -> dict[str, list[ClipLink]]:
    """Each clip's live links to the case's incidents (none: it was handed into the case)."""
    return {
        clip_id: [
            link for link in incident_links_of_clip(session, clip_id, scope) if link.incident_id in case_incidents
        ]
        for clip_id in clip_ids
    }


def _export_shown(session: Session, visitor: Visitor, export_id: str | None) -> ExportOut | None:
    """The export the visitor just asked for, if it is still theirs to see."""
    if not export_id:
        return None
    caller = visitor.caller
    try:
        export = load_readable_export(session, export_id, caller.person, caller.scope, admin=caller.archive_admin)
    except ExportNotFound:
        return None
    return ExportOut.of(export)


def _case_page(
    request: Request,
    session: Session,
    visitor: Visitor,
    case_id: str,
    incidents_at: int = 0,
    clips_at: int = 0,
    export_id: str | None = None,
    stale: StaleEdit | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    scope = visitor.caller.scope
    grant = on_case(session, scope, case_id)
    case = CaseOut.model_validate(load_case(session, case_id))
    in_case = IncidentFilters(case_id=case_id)
    incident_total, latest = search_incidents(session, in_case, PAGE_SIZE, incidents_at, scope=scope)
    incidents = sorted(latest, key=lambda incident: incident.starts_at)
    clip_total, clips = search_clips(session, ClipFilters(case_id=case_id), PAGE_SIZE, clips_at, scope=scope)
    may_edit = grant.allows(Role.contributor)
    segments = _segments(session, scope, [clip.id for clip in clips], set(case.incident_ids))
    linked = {link.incident_id for links in segments.values() for link in links}
    titles = {incident_id: load_incident(session, incident_id).title for incident_id in linked}
    candidates: list[Incident] = []
    if may_edit and case.status == "open":
        offered = search_incidents(session, IncidentFilters(), CHOICES, 0, scope=scope)[1]
        candidates = [incident for incident in offered if incident.id not in case.incident_ids]
    context = {
        "case": case,
        "stale": stale,
        "values": stale.redo if stale else {"title": case.title, "description": case.description},
        "labels": LABELS,
        "may_edit": may_edit,
        "may_admin": grant.allows(Role.admin),
        "may_export": grant.may(Permission.export),
        "may_download": grant.may(Permission.download),
        "may_sources": grant.may(Permission.sources),
        "own_person": None if visitor.caller.archive_admin else visitor.caller.person,
        "incident_total": incident_total,
        "incident_pages": pager(request, incident_total, incidents_at, "incidents_offset", f"/cases/{case_id}"),
        "timeline": timeline(incidents),
        "candidates": candidates,
        "clips": clip_outs(clips, scope),
        "clip_total": clip_total,
        "clip_pages": pager(request, clip_total, clips_at, "clips_offset", f"/cases/{case_id}"),
        "segments": segments,
        "titles": titles,
        "members": [MemberOut.of(member) for member in members_of(session, case_id)],
        "roles": [role.value for role in MEMBER_ROLES],
        "permissions": [permission.value for permission in Permission],
        "export": _export_shown(session, visitor, export_id),
        "unsettled": UNSETTLED_EXPORTS,
        "history": history_of(session, "case", case_id),
    }
    return page(request, "case.html", context, status_code)


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(
    case_id: str,
    request: Request,
    session: SessionDep,
    visitor: VisitorDep,
    incidents_offset: Offset = 0,
    clips_offset: Offset = 0,
    export: Annotated[str | None, Query(max_length=ID_MAX)] = None,
) -> HTMLResponse:
    """The case; `export` names an export the visitor asked for here, whose progress it shows."""
    return _case_page(request, session, visitor, case_id, incidents_offset, clips_offset, export)


def _changed(
    request: Request, session: Session, visitor: Visitor, case_id: str, changes: dict[str, str], version: int
) -> Response:
    """Apply `changes` over the version the page was read at (PATCH /api/v1/cases/{id} with
    If-Match); stale: the case as it now is beside the visitor's values (412)."""
    on_case(session, visitor.caller.scope, case_id, Role.contributor)
    try:
        update_case(session, case_id, changes, (version,), visitor.caller.actor)
    except StaleWrite:
        history = history_of(session, "case", case_id)
        case = load_case(session, case_id)
        now = {"title": case.title, "description": case.description}
        stale = stale_edit(history, version, changes, now, as_read(history, version, now))
        return _case_page(request, session, visitor, case_id, stale=stale, status_code=412)
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


@router.post("/cases/{case_id}/edit", response_class=HTMLResponse)
def edit(
    case_id: str,
    request: Request,
    session: SessionDep,
    visitor: VisitorDep,
    version: ReadVersion,
    title: Annotated[str, Form(max_length=TITLE_MAX)] = "",
    description: Annotated[str, Form(max_length=DESCRIPTION_MAX)] = "",
) -> Response:
    body = parsed(CaseIn, {"title": title, "description": description})
    return _changed(request, session, visitor, case_id, body.model_dump(include={"title", "description"}), version)


@router.post("/cases/{case_id}/status", response_class=HTMLResponse)
def close_or_reopen(
    case_id: str,
    request: Request,
    session: SessionDep,
    visitor: VisitorDep,
    version: ReadVersion,
    status: Annotated[str, Form(max_length=20)],
) -> Response:
    body = parsed(CasePatch, {"status": status})
    return _changed(request, session, visitor, case_id, body.model_dump(exclude_unset=True), version)


@router.post("/cases/{case_id}/incidents")
def add_incident(
    case_id: str, session: SessionDep, visitor: VisitorDep, incident_id: Annotated[str, Form(max_length=ID_MAX)]
) -> Response:
    on_filing(session, visitor.caller.scope, case_id, incident_id)
    set_case_incident(session, case_id, incident_id, True, visitor.caller.actor)
    return RedirectResponse(f"/cases/{case_id}#incidents", status_code=303)


@router.post("/cases/{case_id}/incidents/{incident_id}/remove")
def remove_incident(case_id: str, incident_id: str, session: SessionDep, visitor: VisitorDep) -> Response:
    on_filing(session, visitor.caller.scope, case_id, incident_id)
    set_case_incident(session, case_id, incident_id, False, visitor.caller.actor)
    return RedirectResponse(f"/cases/{case_id}#incidents", status_code=303)


@router.post("/cases/{case_id}/members")
def put_member(
    case_id: str,
    session: SessionDep,
    visitor: VisitorDep,
    person: Annotated[str, Form(min_length=1, max_length=PERSON_MAX)],
    role: Annotated[str, Form(max_length=20)] = "",
    permissions: Annotated[list[str] | None, Form()] = None,
    expires_at: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """The same change as PUT /api/v1/cases/{id}/members/{person}."""
    body = parsed(MemberIn, {"role": role, "permissions": permissions or [], "expires_at": expires_at})
    by = member_changer(session, visitor.caller.scope, visitor.caller.person, case_id)
    set_member(session, case_id, person, body.role, body.permissions, body.expires_at, visitor.caller.actor, by=by)
    return RedirectResponse(f"/cases/{case_id}#members", status_code=303)


@router.post("/cases/{case_id}/members/{person}/remove")
def remove(case_id: str, person: str, session: SessionDep, visitor: VisitorDep) -> Response:
    by = member_changer(session, visitor.caller.scope, visitor.caller.person, case_id)
    remove_member(session, case_id, person, visitor.caller.actor, by=by)
    return RedirectResponse(f"/cases/{case_id}#members", status_code=303)


@router.post("/cases/{case_id}/exports")
def export_case(
    case_id: str,
    archive: ArchiveDep,
    runner: RunnerDep,
    visitor: VisitorDep,
    include_originals: Annotated[bool, Form()] = False,
    include_keyframes: Annotated[bool, Form()] = False,
    include_probe: Annotated[bool, Form()] = False,
    include_sources: Annotated[bool, Form()] = False,
) -> Response:
    """Ask for the case's export as POST /api/v1/exports does (the same permissions); the case
    page then shows its progress."""
    options = {
        "include_originals": include_originals,
        "include_keyframes": include_keyframes,
        "include_probe": include_probe,
        "include_sources": include_sources,
    }
    body = parsed(ExportCreate, {"case_id": case_id, **options})
    export = queue_asked_export(archive, runner, visitor.caller, body)
    return RedirectResponse(f"/cases/{case_id}?export={export.id}#export", status_code=303)


@router.get("/exports/{export_id}/progress", response_class=HTMLResponse)
def export_progress(export_id: str, request: Request, session: SessionDep, visitor: VisitorDep) -> HTMLResponse:
    """How far an export has come, asked again every second until it is ready or failed."""
    caller = visitor.caller
    export = load_readable_export(session, export_id, caller.person, caller.scope, admin=caller.archive_admin)
    context = {"export": ExportOut.of(export), "unsettled": UNSETTLED_EXPORTS}
    return page(request, "_export_progress.html", context)
