"""The compare page: a clip and a suggested copy side by side, the players locked at the matched
offset, the matched segments drawn on both timelines, and the analyst's confirm or reject (the
same decision as PUT /api/v1/clips/{id}/related/{other}/decision)."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from api.copies import on_pair, related_answer
from api.deps import SessionDep
from api.schemas import NOTE_MAX, MatchDecisionIn, NearDuplicateOut
from api.sources import clip_out
from api.web.forms import parsed
from api.web.pages import playback_of
from api.web.render import page
from api.web.visitor import VisitorDep
from storage.access import Scope, on_clip
from storage.clips import load_clip
from storage.keys import Permission, Role
from storage.matches import decide_match
from verity.errors import NotFound

router = APIRouter(include_in_schema=False)


def _the_match(session: Session, clip_id: str, other_id: str, scope: Scope) -> NearDuplicateOut:
    """The suggested match of the pair, as /related answers it (decided or not, even rejected)."""
    copies = related_answer(session, load_clip(session, clip_id), scope)
    for found in [*copies.related, *copies.rejected]:
        if found.clip_id == other_id:
            return found
    raise NotFound(f"clip {clip_id} has no suggested match with clip {other_id}")


@router.get("/clips/{clip_id}/compare/{other_id}", response_class=HTMLResponse)
def compare_page(
    clip_id: str, other_id: str, request: Request, session: SessionDep, visitor: VisitorDep
) -> HTMLResponse:
    scope = visitor.caller.scope
    on_pair(session, scope, clip_id, other_id, Role.viewer)
    match = _the_match(session, clip_id, other_id, scope)
    clips = [clip_out(load_clip(session, side), scope) for side in (clip_id, other_id)]
    sides = [
        {"clip": clip, **playback_of(clip, on_clip(session, scope, clip.id).may(Permission.download))}
        for clip in clips
    ]
    durations = [(clip.media or {}).get("duration_s") or 0 for clip in clips]
    segments = [segment.model_dump() for segment in match.segments]
    context = {
        "match": match,
        "sides": sides,
        "segments": segments,
        "segments_json": json.dumps(segments),
        "durations": durations,
        # Where the shared footage lies on each clip's timeline: (start, length) in its own seconds.
        "spans": [
            [(segment.query_start_s, segment.duration_s) for segment in match.segments],
            [(segment.clip_start_s, segment.duration_s) for segment in match.segments],
        ],
        "may_decide": all(on_clip(session, scope, side).allows(Role.analyst) for side in (clip_id, other_id)),
    }
    return page(request, "compare.html", context)


@router.post("/clips/{clip_id}/compare/{other_id}/decision")
def decide(
    clip_id: str,
    other_id: str,
    session: SessionDep,
    visitor: VisitorDep,
    decision: Annotated[str, Form(max_length=20)],
    note: Annotated[str, Form(max_length=NOTE_MAX)] = "",
) -> Response:
    wanted = parsed(MatchDecisionIn, {"decision": decision, "note": note})
    on_pair(session, visitor.caller.scope, clip_id, other_id, Role.analyst)
    decide_match(session, clip_id, other_id, wanted.decision, wanted.note, visitor.caller.actor)
    return RedirectResponse(f"/clips/{clip_id}/compare/{other_id}#decision", status_code=303)
