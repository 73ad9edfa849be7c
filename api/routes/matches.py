"""Decisions on suggested copies and the families they make:
`PUT|GET /api/v1/clips/{id}/related/{other_id}/decision` and `GET /api/v1/clips/{id}/family`."""

from __future__ import annotations

from fastapi import APIRouter

from api.copies import family_answer, on_pair
from api.deps import SessionDep
from api.errors import COMMON_ERRORS
from api.params import Analyst, Viewer
from api.schemas import FamilyOut, MatchDecisionIn, MatchDecisionOut
from storage.access import on_clip
from storage.clips import load_clip
from storage.keys import Role
from storage.matches import decide_match, decision_between, is_suggested
from storage.models import MatchDecision
from verity.errors import NotFound

router = APIRouter(tags=["provenance"], responses=COMMON_ERRORS)
DECISION_PATH = "/api/v1/clips/{clip_id}/related/{other_id}/decision"
# The same decision as an analyst's review of the suggestion (the path issue 13 names for it).
REVIEW_PATH = "/api/v1/clips/{clip_id}/related/{other_id}/review"


def _decision_answer(clip_id: str, other_id: str, row: MatchDecision | None) -> MatchDecisionOut:
    return MatchDecisionOut(
        clip_id=clip_id,
        other_clip_id=other_id,
        decision=row.decision if row else None,
        note=row.note if row else None,
        decided_by=row.decided_by if row else None,
        decided_at=row.decided_at if row else None,
    )


@router.put(DECISION_PATH, response_model=MatchDecisionOut)
@router.post(REVIEW_PATH, response_model=MatchDecisionOut)
def decide(
    clip_id: str, other_id: str, body: MatchDecisionIn, session: SessionDep, caller: Analyst
) -> MatchDecisionOut:
    """Confirm the pair as copies of one footage, or reject it (never suggested again): needs the
    analyst role over both clips. It replaces any earlier decision (the custody of both keeps
    each); the same decision and note again changes nothing. Only a suggested pair (see
    `/related`) or one decided before can be decided."""
    on_pair(session, caller.scope, clip_id, other_id, Role.analyst)
    row = decide_match(session, clip_id, other_id, body.decision, body.note, caller.actor)
    return _decision_answer(clip_id, other_id, row)


@router.get(DECISION_PATH, response_model=MatchDecisionOut)
def get_decision(clip_id: str, other_id: str, session: SessionDep, caller: Viewer) -> MatchDecisionOut:
    """The decision on a suggested pair (`decision` null while none is made)."""
    on_pair(session, caller.scope, clip_id, other_id, Role.viewer)
    row = decision_between(session, clip_id, other_id)
    if row is None and not is_suggested(session, clip_id, other_id):
        raise NotFound(f"clip {clip_id} has no suggested match with clip {other_id}")
    return _decision_answer(clip_id, other_id, row)


@router.get("/api/v1/clips/{clip_id}/family", response_model=FamilyOut)
def family(clip_id: str, session: SessionDep, caller: Viewer) -> FamilyOut:
    """The clip and its confirmed copies, transitively, that the caller may see (a family of one
    when it has none), first seen first. A clip the caller may not see joins nothing."""
    on_clip(session, caller.scope, clip_id)
    load_clip(session, clip_id)
    return family_answer(session, clip_id, caller.scope)
