"""Acquisitions of a clip: correcting what was said when the file was handed in."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from api.deps import MAX_INT, SessionDep
from api.errors import COMMON_ERRORS
from api.params import Contributor
from api.schemas import AcquisitionOut, CorrectionIn
from api.sources import acquisitions_answer, hidden_of
from storage.access import on_clip, sources_visible
from storage.acquisitions import correct_acquisition, grant_on_acquisition, load_acquisition
from storage.keys import Role

router = APIRouter(prefix="/api/v1/clips", tags=["clips"], responses=COMMON_ERRORS)
AcquisitionId = Annotated[int, Path(ge=1, le=MAX_INT)]


@router.post("/{clip_id}/acquisitions/{acquisition_id}/corrections", status_code=201, response_model=AcquisitionOut)
def correct(
    clip_id: str,
    acquisition_id: AcquisitionId,
    body: CorrectionIn,
    response: Response,
    session: SessionDep,
    caller: Contributor,
) -> AcquisitionOut:
    """Correct a mistaken source, source_url, captured_at or note of an acquisition: the
    correction is appended (who, when, the value before and after, why) and recorded in the
    clip's custody log; the acquisition keeps what was first recorded. The key that handed the
    file in may correct its own acquisition (a contributor on the clip); any other needs the
    analyst role on the clip (archive-wide, or in a case it is in). An acquisition handed into a
    case is guarded by that case: the role that counts is the caller's there, and one handed into
    a case the caller cannot see is a 404, as for an unknown id. Answers the acquisition as it
    stands now, with its corrections."""
    on_the_clip = on_clip(session, caller.scope, clip_id, Role.contributor)
    grant = grant_on_acquisition(caller.scope, load_acquisition(session, clip_id, acquisition_id), on_the_clip)
    correct_acquisition(
        session,
        clip_id,
        acquisition_id,
        body.field,
        body.parsed_value(),
        body.why,
        caller.actor,
        may_correct_others=grant.allows(Role.analyst),
        sees_sources=lambda acquisition: sources_visible(caller.scope, acquisition),
    )
    response.headers["Location"] = f"/api/v1/clips/{clip_id}"
    acquisition = load_acquisition(session, clip_id, acquisition_id)
    shown = acquisitions_answer(acquisition.clip, hidden_of(acquisition.clip, caller.scope))
    return next(a for a in shown if a.id == acquisition_id)
