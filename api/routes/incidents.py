"""Incidents (with ETag / If-Match), the clip segments linked to them, and clip verification.
Each route checks the record it touches (storage/access.py): an incident, link or clip the caller
may not see is a 404 as for an unknown id, one it sees but may not change a 403."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from api.deps import MAX_INT, SessionDep
from api.errors import COMMON_ERRORS, error_responses
from api.params import (
    GUARDED_ERRORS,
    Analyst,
    Bbox,
    Contributor,
    IfMatchVersion,
    Limit,
    Offset,
    Viewer,
    etag,
    utc,
)
from api.schemas import (
    HistoryLog,
    IncidentIn,
    IncidentOut,
    IncidentPage,
    IncidentPatch,
    LinkIn,
    LinkOut,
    LinkPatch,
    VerificationChangeOut,
    VerificationIn,
    VerificationOut,
)
from storage.access import on_case, on_clip, on_incident
from storage.cases import create_incident_in_case
from storage.clips import load_clip
from storage.evidence import (
    IncidentFields,
    change_verification,
    create_incident,
    delete_incident,
    incident_links_of_clip,
    link_clip,
    links_of,
    load_incident,
    load_link,
    unlink_clip,
    update_incident,
    update_link,
    verification_history,
)
from storage.history import load_history
from storage.keys import Role
from storage.models import ClipLink, Incident
from storage.search import IncidentFilters, search_incidents
from verity.errors import InvalidInput

router = APIRouter(tags=["incidents"], responses=COMMON_ERRORS)


def _out(incident: Incident, response: Response) -> IncidentOut:
    response.headers["ETag"] = etag(incident.version)
    return IncidentOut.model_validate(incident, from_attributes=True)


@router.post("/api/v1/incidents", status_code=201, response_model=IncidentOut)
def create(body: IncidentIn, response: Response, session: SessionDep, caller: Contributor) -> IncidentOut:
    """Record an incident; with `case_id`, put it into that case at once. A caller who is a
    contributor only in some cases must name one of them: an incident in no case would be one it
    could not see."""
    fields = IncidentFields(**body.model_dump(exclude={"case_id"}))
    archive = caller.scope.archive
    if body.case_id is not None:
        on_case(session, caller.scope, body.case_id, Role.contributor)
        incident = create_incident_in_case(session, body.case_id, fields, caller.actor)
    elif archive is not None and archive.allows(Role.contributor):
        incident = create_incident(session, fields, caller.actor)
    else:
        raise InvalidInput(
            "you are a contributor only in some cases: name the case the incident goes into (case_id), "
            "or it would be one you cannot see"
        )
    response.headers["Location"] = f"/api/v1/incidents/{incident.id}"
    return _out(incident, response)


@router.get("/api/v1/incidents", response_model=IncidentPage)
def index(
    session: SessionDep,
    caller: Viewer,
    limit: Limit = 50,
    offset: Offset = 0,
    time_from: Annotated[
        datetime | None, Query(description="Incidents overlapping this range (times with a time zone).")
    ] = None,
    time_to: Annotated[datetime | None, Query()] = None,
    bbox: Bbox = None,
    tag: Annotated[str | None, Query()] = None,
    q: Annotated[str | None, Query(description="Text in the title or description.")] = None,
) -> IncidentPage:
    filters = IncidentFilters(
        time_from=utc(time_from, "time_from"), time_to=utc(time_to, "time_to"), bbox=bbox, tag=tag, text=q
    )
    total, rows = search_incidents(session, filters, limit, offset, scope=caller.scope)
    items = [IncidentOut.model_validate(row, from_attributes=True) for row in rows]
    return IncidentPage(items=items, total=total, limit=limit, offset=offset)


@router.get("/api/v1/incidents/{incident_id}", response_model=IncidentOut)
def show(incident_id: str, response: Response, session: SessionDep, caller: Viewer) -> IncidentOut:
    on_incident(session, caller.scope, incident_id)
    return _out(load_incident(session, incident_id), response)


@router.patch("/api/v1/incidents/{incident_id}", response_model=IncidentOut, responses=error_responses(412, 428))
def update(
    incident_id: str,
    body: IncidentPatch,
    response: Response,
    session: SessionDep,
    caller: Contributor,
    if_match: IfMatchVersion = None,
) -> IncidentOut:
    on_incident(session, caller.scope, incident_id, Role.contributor)
    incident = update_incident(session, incident_id, body.model_dump(exclude_unset=True), if_match, caller.actor)
    return _out(incident, response)


@router.delete("/api/v1/incidents/{incident_id}", status_code=204, responses=GUARDED_ERRORS)
def delete(incident_id: str, session: SessionDep, caller: Contributor, if_match: IfMatchVersion = None) -> Response:
    """Delete an incident no clip, link history or case refers to; its history stays readable (to
    archive-wide callers: an incident in no case is theirs alone)."""
    on_incident(session, caller.scope, incident_id, Role.contributor)
    delete_incident(session, incident_id, if_match, caller.actor)
    return Response(status_code=204)


@router.get("/api/v1/incidents/{incident_id}/history", response_model=HistoryLog)
def history(incident_id: str, session: SessionDep, caller: Viewer) -> HistoryLog:
    """Every change to the incident, oldest first, and whether the chain verifies; also once it
    is deleted (404 only for an id no incident ever had). A deleted incident was in no case (it
    must leave them first), so only archive-wide callers read its history."""
    on_incident(session, caller.scope, incident_id)
    return HistoryLog.of(load_history(session, "incident", incident_id))


@router.post(
    "/api/v1/incidents/{incident_id}/clips", status_code=201, response_model=LinkOut, responses=error_responses(409)
)
def link(incident_id: str, body: LinkIn, response: Response, session: SessionDep, caller: Contributor) -> ClipLink:
    """Link a clip the caller may change: linking brings the clip into the incident's cases, so
    it needs the contributor role where the clip already is (a clip it cannot see is a 404), not
    only where it goes: a viewer of case B cannot carry B's footage into case A."""
    on_incident(session, caller.scope, incident_id, Role.contributor)
    on_clip(session, caller.scope, body.clip_id, Role.contributor)
    created = link_clip(session, incident_id, body.clip_id, body.start_s, body.end_s, body.note, caller.actor)
    response.headers["Location"] = f"/api/v1/incidents/{incident_id}/clips/{created.id}"
    response.headers["ETag"] = etag(created.version)
    return created


LinkId = Annotated[int, Path(ge=1, le=MAX_INT)]


@router.get("/api/v1/incidents/{incident_id}/clips/{link_id}", response_model=LinkOut)
def show_link(incident_id: str, link_id: LinkId, response: Response, session: SessionDep, caller: Viewer) -> ClipLink:
    on_incident(session, caller.scope, incident_id)
    found = load_link(session, incident_id, link_id, caller.scope)
    response.headers["ETag"] = etag(found.version)
    return found


@router.patch(
    "/api/v1/incidents/{incident_id}/clips/{link_id}",
    response_model=LinkOut,
    responses=GUARDED_ERRORS,
)
def update_link_segment(
    incident_id: str,
    link_id: LinkId,
    body: LinkPatch,
    response: Response,
    session: SessionDep,
    caller: Contributor,
    if_match: IfMatchVersion = None,
) -> ClipLink:
    on_incident(session, caller.scope, incident_id, Role.contributor)
    changes = body.model_dump(exclude_unset=True)
    changed = update_link(session, incident_id, link_id, changes, if_match, caller.actor, caller.scope)
    response.headers["ETag"] = etag(changed.version)
    return changed


@router.delete(
    "/api/v1/incidents/{incident_id}/clips/{link_id}",
    response_model=LinkOut,
    responses=GUARDED_ERRORS,
)
def unlink(
    incident_id: str,
    link_id: LinkId,
    response: Response,
    session: SessionDep,
    caller: Contributor,
    if_match: IfMatchVersion = None,
) -> ClipLink:
    """Remove the link; the row stays, with who removed it and when."""
    on_incident(session, caller.scope, incident_id, Role.contributor)
    removed = unlink_clip(session, incident_id, link_id, if_match, caller.actor, caller.scope)
    response.headers["ETag"] = etag(removed.version)
    return removed


@router.get("/api/v1/incidents/{incident_id}/clips", response_model=list[LinkOut])
def incident_clips(
    incident_id: str,
    session: SessionDep,
    caller: Viewer,
    include_removed: Annotated[bool, Query(description="Also the links that were removed (unlinked_at set).")] = False,
) -> list[ClipLink]:
    """The clips (or segments) linked to the incident, in the order they were linked; removed
    links only of clips the caller may still see."""
    on_incident(session, caller.scope, incident_id)
    load_incident(session, incident_id)
    return links_of(session, incident_id, include_removed=include_removed, scope=caller.scope)


@router.get("/api/v1/clips/{clip_id}/incidents", response_model=list[LinkOut])
def clip_incidents(clip_id: str, session: SessionDep, caller: Viewer) -> list[ClipLink]:
    """The clip's links to the incidents the caller may see."""
    on_clip(session, caller.scope, clip_id)
    load_clip(session, clip_id)
    return incident_links_of_clip(session, clip_id, caller.scope)


@router.post("/api/v1/clips/{clip_id}/verification", response_model=VerificationOut, responses=error_responses(409))
def set_verification(clip_id: str, body: VerificationIn, session: SessionDep, caller: Analyst) -> VerificationOut:
    """Review a clip: needs the analyst role over it (archive-wide, or in one of its cases)."""
    on_clip(session, caller.scope, clip_id, Role.analyst)
    change_verification(session, clip_id, body.status, body.rationale, caller.actor)
    return get_verification(clip_id, session, caller)


@router.get("/api/v1/clips/{clip_id}/verification", response_model=VerificationOut)
def get_verification(clip_id: str, session: SessionDep, caller: Viewer) -> VerificationOut:
    on_clip(session, caller.scope, clip_id)
    clip = load_clip(session, clip_id)
    history = [VerificationChangeOut.model_validate(c) for c in verification_history(session, clip_id)]
    return VerificationOut(clip_id=clip.id, status=clip.verification_status, history=history)
