"""The workbench's incident pages: the list (the API's filters, paged) with a create form, and an
incident (its record, an edit form carrying the version it was read at, its history, its linked
clips and segments, deletion after a confirmation). A stale edit (the storage's `StaleWrite`, the
API's 412) shows the incident as it now is beside the visitor's values and offers their edit again
over the new version. Each route asks storage/access.py as the API route doing the same does."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from api.deps import SessionDep
from api.params import Bbox, Offset, utc
from api.schemas import DESCRIPTION_MAX, ID_MAX, PLACE_MAX, TAG_MAX, TAGS_MAX, TITLE_MAX, IncidentIn, IncidentOut
from api.sources import clip_outs
from api.web.forms import parsed
from api.web.records import CHOICES, PAGE_SIZE, ReadVersion, StaleEdit, as_read, history_of, pager, stale_edit
from api.web.render import page
from api.web.visitor import Visitor, VisitorDep
from storage.access import Scope, archive_wide, cases_of_incident, on_case, on_incident
from storage.cases import create_incident_in_case, load_case
from storage.clips import load_clip
from storage.evidence import IncidentFields, create_incident, delete_incident, links_of, load_incident, update_incident
from storage.history import plain
from storage.keys import Role
from storage.search import IncidentFilters, search_cases, search_incidents
from storage.vocabulary import TIME_PRECISIONS
from verity.errors import StaleWrite

router = APIRouter(include_in_schema=False)
TIME_MAX = 64
NUMBER_MAX = 32
LABELS = {
    "title": "Title",
    "description": "Description",
    "starts_at": "Starts",
    "ends_at": "Ends",
    "time_precision": "Time known",
    "place_name": "Place",
    "lat": "Latitude",
    "lon": "Longitude",
    "radius_m": "Uncertainty (m)",
    "tags": "Tags",
}
PRECISIONS = {"exact": "exactly", "hour": "to the hour", "day": "to the day", "approximate": "approximately"}


def incident_form(
    title: Annotated[str, Form(max_length=TITLE_MAX)] = "",
    description: Annotated[str, Form(max_length=DESCRIPTION_MAX)] = "",
    starts_at: Annotated[str, Form(max_length=TIME_MAX)] = "",
    ends_at: Annotated[str, Form(max_length=TIME_MAX)] = "",
    time_precision: Annotated[str, Form(max_length=20)] = "",
    place_name: Annotated[str, Form(max_length=PLACE_MAX)] = "",
    lat: Annotated[str, Form(max_length=NUMBER_MAX)] = "",
    lon: Annotated[str, Form(max_length=NUMBER_MAX)] = "",
    radius_m: Annotated[str, Form(max_length=NUMBER_MAX)] = "",
    tags: Annotated[str, Form(max_length=TAGS_MAX * (TAG_MAX + 2))] = "",
) -> dict[str, str]:
    """The incident form's fields as typed (shown again as typed when an edit is stale)."""
    return {name: value for name, value in locals().items()}


IncidentForm = Annotated[dict[str, str], Depends(incident_form)]


def incident_in(values: dict[str, str], case_id: str = "") -> IncidentIn:
    """The form as the API's IncidentIn: the same rules and limits; tags separated by commas."""
    tags = [tag.strip() for tag in values["tags"].split(",") if tag.strip()]
    return parsed(IncidentIn, {**values, "tags": tags, "case_id": case_id})


def _number(value: float | None) -> str:
    return "" if value is None else repr(value)


def incident_values(incident: IncidentOut) -> dict[str, str]:
    """The incident as its form holds it: times in UTC (ISO 8601, `Z`), tags joined by commas."""
    return {
        "title": incident.title,
        "description": incident.description,
        "starts_at": plain(incident.starts_at),
        "ends_at": plain(incident.ends_at) if incident.ends_at else "",
        "time_precision": incident.time_precision,
        "place_name": incident.place_name or "",
        "lat": _number(incident.lat),
        "lon": _number(incident.lon),
        "radius_m": _number(incident.radius_m),
        "tags": ", ".join(incident.tags),
    }


def case_choices(session: Session, scope: Scope) -> list[Any]:
    """Open cases the visitor may put a new incident into (contributor there)."""
    _, cases = search_cases(session, "open", None, CHOICES, 0, scope=scope)
    return [case for case in cases if (grant := scope.in_case(case.id)) and grant.allows(Role.contributor)]


def may_create(scope: Scope) -> bool:
    return any(grant.allows(Role.contributor) for grant in scope.grants())


@router.get("/incidents", response_class=HTMLResponse)
def incidents_page(
    request: Request,
    session: SessionDep,
    visitor: VisitorDep,
    time_from: Annotated[datetime | None, Query()] = None,
    time_to: Annotated[datetime | None, Query()] = None,
    bbox: Bbox = None,
    tag: Annotated[str | None, Query(max_length=TAG_MAX)] = None,
    q: Annotated[str | None, Query(max_length=TITLE_MAX)] = None,
    offset: Offset = 0,
) -> HTMLResponse:
    scope = visitor.caller.scope
    filters = IncidentFilters(
        time_from=utc(time_from, "time_from"), time_to=utc(time_to, "time_to"), bbox=bbox, tag=tag, text=q
    )
    total, rows = search_incidents(session, filters, PAGE_SIZE, offset, scope=scope)
    context = {
        "incidents": [IncidentOut.model_validate(row, from_attributes=True) for row in rows],
        "total": total,
        "asked": dict(request.query_params),
        "pages": pager(request, total, offset),
        "may_create": may_create(scope),
        "archive_contributor": scope.archive is not None and scope.archive.allows(Role.contributor),
        "cases": case_choices(session, scope),
        "values": {name: "" for name in LABELS} | {"time_precision": "hour"},
        "labels": LABELS,
        "precisions": PRECISIONS,
        "choices": TIME_PRECISIONS,
    }
    return page(request, "incidents.html", context)


@router.post("/incidents")
def create(
    session: SessionDep,
    visitor: VisitorDep,
    values: IncidentForm,
    case_id: Annotated[str, Form(max_length=ID_MAX)] = "",
) -> Response:
    """The create form: the same checks and record as POST /api/v1/incidents."""
    body = incident_in(values, case_id)
    fields = IncidentFields(**body.model_dump(exclude={"case_id"}))
    scope = visitor.caller.scope
    if body.case_id is not None:
        on_case(session, scope, body.case_id, Role.contributor)
        incident = create_incident_in_case(session, body.case_id, fields, visitor.caller.actor)
    else:
        archive_wide(scope, Role.contributor, "an incident in no case")
        incident = create_incident(session, fields, visitor.caller.actor)
    return RedirectResponse(f"/incidents/{incident.id}", status_code=303)


def _incident_page(
    request: Request,
    session: Session,
    visitor: Visitor,
    incident_id: str,
    offset: int = 0,
    stale: StaleEdit | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    scope = visitor.caller.scope
    grant = on_incident(session, scope, incident_id)
    incident = IncidentOut.model_validate(load_incident(session, incident_id), from_attributes=True)
    links = links_of(session, incident_id, include_removed=False, scope=scope)
    shown = links[offset : offset + PAGE_SIZE]
    clips = {clip.id: clip for clip in clip_outs([load_clip(session, link.clip_id) for link in shown], scope)}
    in_cases = sorted(case_id for case_id in cases_of_incident(session, incident_id) if scope.in_case(case_id))
    context = {
        "incident": incident,
        "now": incident_values(incident),
        "values": stale.redo if stale else incident_values(incident),
        "stale": stale,
        "may_edit": grant.allows(Role.contributor),
        "links": shown,
        "clips": clips,
        "total_links": len(links),
        "pages": pager(request, len(links), offset, path=f"/incidents/{incident_id}"),
        "cases": [load_case(session, case_id) for case_id in in_cases],
        "history": history_of(session, "incident", incident_id),
        "labels": LABELS,
        "precisions": PRECISIONS,
        "choices": TIME_PRECISIONS,
    }
    return page(request, "incident.html", context, status_code)


@router.get("/incidents/{incident_id}", response_class=HTMLResponse)
def incident_page(
    incident_id: str, request: Request, session: SessionDep, visitor: VisitorDep, offset: Offset = 0
) -> HTMLResponse:
    return _incident_page(request, session, visitor, incident_id, offset)


@router.post("/incidents/{incident_id}/edit", response_class=HTMLResponse)
def edit(
    incident_id: str,
    request: Request,
    session: SessionDep,
    visitor: VisitorDep,
    values: IncidentForm,
    version: ReadVersion,
) -> Response:
    """The edit form: every field as the visitor left it, over the version the page was read at
    (the same change as PATCH /api/v1/incidents/{id} with If-Match). Stale: the incident as it now
    is beside the visitor's values, the fields others changed marked, the form again (412)."""
    on_incident(session, visitor.caller.scope, incident_id, Role.contributor)
    changes = incident_in(values).model_dump(exclude={"case_id"})
    try:
        update_incident(session, incident_id, changes, (version,), visitor.caller.actor)
    except StaleWrite:
        history = history_of(session, "incident", incident_id)
        incident = IncidentOut.model_validate(load_incident(session, incident_id), from_attributes=True)
        then = IncidentOut.model_validate(as_read(history, version, incident.model_dump(mode="json")))
        stale = stale_edit(history, version, values, incident_values(incident), incident_values(then))
        return _incident_page(request, session, visitor, incident_id, stale=stale, status_code=412)
    return RedirectResponse(f"/incidents/{incident_id}", status_code=303)


def _deletion_page(
    request: Request, session: Session, incident_id: str, stale: bool = False, status_code: int = 200
) -> HTMLResponse:
    incident = IncidentOut.model_validate(load_incident(session, incident_id), from_attributes=True)
    return page(request, "incident_delete.html", {"incident": incident, "stale": stale}, status_code)


@router.get("/incidents/{incident_id}/delete", response_class=HTMLResponse)
def confirm_deletion(incident_id: str, request: Request, session: SessionDep, visitor: VisitorDep) -> HTMLResponse:
    """The confirmation step before a deletion, for those who may delete."""
    on_incident(session, visitor.caller.scope, incident_id, Role.contributor)
    return _deletion_page(request, session, incident_id)


@router.post("/incidents/{incident_id}/delete", response_class=HTMLResponse)
def delete(
    incident_id: str, request: Request, session: SessionDep, visitor: VisitorDep, version: ReadVersion
) -> Response:
    """The same deletion as DELETE /api/v1/incidents/{id} with If-Match; stale: asked again."""
    on_incident(session, visitor.caller.scope, incident_id, Role.contributor)
    try:
        delete_incident(session, incident_id, (version,), visitor.caller.actor)
    except StaleWrite:
        return _deletion_page(request, session, incident_id, stale=True, status_code=412)
    return RedirectResponse("/incidents", status_code=303)
