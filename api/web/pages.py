"""The workbench's pages over clips: the archive (search with every filter the API has, live
processing status, alerts) and a clip (player, keyframes, metadata, acquisitions, custody, review).
Each page asks storage/access.py exactly as the API route showing the same records does."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.copies import family_answer, related_answer
from api.deps import SessionDep
from api.params import ClipOrder, ClipSearch, Offset
from api.schemas import ID_MAX, NOTE_MAX, RATIONALE_MAX, LinkIn, VerificationIn
from api.sources import clip_out, clip_outs, custody_log_of
from api.web.forms import parsed
from api.web.player import UNSETTLED, playback_of, start_of
from api.web.records import PAGE_SIZE, pager
from api.web.render import page
from api.web.visitor import VisitorDep
from storage.access import on_case, on_clip, on_incident
from storage.cases import load_case
from storage.clips import keyframes_of, load_clip
from storage.custody import count_events
from storage.evidence import (
    change_verification,
    incident_links_of_clip,
    link_clip,
    load_incident,
    verification_history,
)
from storage.keys import Permission, Role
from storage.search import ClipFilters, IncidentFilters, count_clips, search_clips, search_incidents
from storage.vocabulary import (
    CONTENT_CREDENTIALS_STATES,
    FIXITY_STATUSES,
    VERIFICATION_STATUSES,
    VERIFICATION_STEPS,
    ClipStatus,
)

router = APIRouter(include_in_schema=False)
# Events of the custody log a clip page shows at once (the chain check covers them all): 3,000
# rendered took 100 ms and 740 kB (bench/pages.py).
CUSTODY_PAGE = 100
INCIDENT_CHOICES = 200  # the newest incidents the link form offers
VOCABULARY = {
    "statuses": [status.value for status in ClipStatus],
    "reviews": VERIFICATION_STATUSES,
    "credentials": CONTENT_CREDENTIALS_STATES,
    "fixity": FIXITY_STATUSES,
}


@router.get("/", response_class=HTMLResponse)
def archive_page(
    request: Request,
    session: SessionDep,
    visitor: VisitorDep,
    filters: ClipSearch,
    order: ClipOrder = "received",
    offset: Offset = 0,
) -> HTMLResponse:
    scope = visitor.caller.scope
    if filters.incident_id is not None:
        on_incident(session, scope, filters.incident_id)
        load_incident(session, filters.incident_id)
    if filters.case_id is not None:
        on_case(session, scope, filters.case_id)
        load_case(session, filters.case_id)
    total, clips = search_clips(session, filters, PAGE_SIZE, offset, order, scope=scope)
    alerts = {
        "fixity": count_clips(session, ClipFilters(fixity="failed"), scope=scope),
        "integrity": count_clips(session, ClipFilters(has_integrity_warnings=True), scope=scope),
    }
    context = {
        "clips": clip_outs(clips, scope),
        "total": total,
        "offset": offset,
        "asked": dict(request.query_params),
        "order": order,
        "alerts": alerts,
        "unsettled": UNSETTLED,
        "vocab": VOCABULARY,
        "pages": pager(request, total, offset),
    }
    return page(request, "archive.html", context)


@router.get("/clips/{clip_id}/row", response_class=HTMLResponse)
def clip_row(clip_id: str, request: Request, session: SessionDep, visitor: VisitorDep) -> HTMLResponse:
    """One row of the archive's table, asked again while the clip is being analysed."""
    on_clip(session, visitor.caller.scope, clip_id)
    clip = clip_out(load_clip(session, clip_id), visitor.caller.scope)
    return page(request, "_clip_row.html", {"clip": clip, "unsettled": UNSETTLED})


@router.get("/clips/{clip_id}", response_class=HTMLResponse)
def clip_page(
    clip_id: str, request: Request, session: SessionDep, visitor: VisitorDep, custody_from: Offset = 0
) -> HTMLResponse:
    scope = visitor.caller.scope
    grant = on_clip(session, scope, clip_id)
    stored = load_clip(session, clip_id)
    clip = clip_out(stored, scope)
    may_download = grant.may(Permission.download)
    shown = slice(custody_from, custody_from + CUSTODY_PAGE)
    events = count_events(session, clip_id)
    context = {
        "clip": clip,
        "media": clip.media or {},
        "keyframes": keyframes_of(session, clip_id),
        "custody": custody_log_of(session, stored, scope, shown=shown),
        "custody_pages": _custody_pages(clip_id, events, custody_from),
        "links": incident_links_of_clip(session, clip_id, scope),
        "copies": related_answer(session, stored, scope),
        "family": family_answer(session, clip_id, scope),
        "history": verification_history(session, clip_id),
        "next_steps": sorted(VERIFICATION_STEPS.get(clip.verification_status, ())),
        "may_review": grant.allows(Role.analyst),
        "may_link": grant.allows(Role.contributor),
        "incidents": search_incidents(session, IncidentFilters(), INCIDENT_CHOICES, 0, scope=scope)[1],
        "may_download": may_download,
        **playback_of(clip, may_download, start_of(stored)),
        "unsettled": UNSETTLED,
    }
    return page(request, "clip.html", context)


def _custody_pages(clip_id: str, events: int, at: int) -> dict[str, object]:
    """Which events of the custody log the page shows, and links to the stretches beside them."""

    def link(start: int) -> str:
        return f"/clips/{clip_id}?custody_from={start}#h-custody"

    return {
        "first": at + 1,
        "last": min(at + CUSTODY_PAGE, events),
        "total": events,
        "earlier": link(max(at - CUSTODY_PAGE, 0)) if at > 0 else None,
        "later": link(at + CUSTODY_PAGE) if at + CUSTODY_PAGE < events else None,
    }


@router.post("/clips/{clip_id}/review")
def review(
    clip_id: str,
    session: SessionDep,
    visitor: VisitorDep,
    status: Annotated[str, Form(max_length=20)] = "",
    rationale: Annotated[str, Form(max_length=RATIONALE_MAX)] = "",
) -> Response:
    """The review panel's form: the same change as POST /api/v1/clips/{id}/verification, held
    to the same request model."""
    wanted = parsed(VerificationIn, {"status": status, "rationale": rationale})
    on_clip(session, visitor.caller.scope, clip_id, Role.analyst)
    change_verification(session, clip_id, wanted.status, wanted.rationale, visitor.caller.actor)
    return RedirectResponse(f"/clips/{clip_id}#review", status_code=303)


@router.post("/clips/{clip_id}/links")
def link_segment(
    clip_id: str,
    session: SessionDep,
    visitor: VisitorDep,
    incident_id: Annotated[str, Form(max_length=ID_MAX)],
    start_s: Annotated[str, Form(max_length=30)] = "",
    end_s: Annotated[str, Form(max_length=30)] = "",
    note: Annotated[str, Form(max_length=NOTE_MAX)] = "",
) -> Response:
    """The link form: the seconds marked on the player (both blank: the whole clip), the incident
    and a note; the same checks and record as POST /api/v1/incidents/{id}/clips."""
    wanted = parsed(LinkIn, {"clip_id": clip_id, "start_s": start_s, "end_s": end_s, "note": note})
    scope = visitor.caller.scope
    on_incident(session, scope, incident_id, Role.contributor)
    on_clip(session, scope, clip_id, Role.contributor)
    link_clip(session, incident_id, clip_id, wanted.start_s, wanted.end_s, wanted.note, visitor.caller.actor)
    return RedirectResponse(f"/clips/{clip_id}#links", status_code=303)
