"""The footage for the workbench's player: `GET /api/v1/clips/{id}/playback`."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from api.deps import BINARY, ArchiveDep, SessionDep
from api.errors import COMMON_ERRORS, error_responses
from api.originals import RecentPlaybacks, original_response
from api.params import Viewer
from storage.access import on_clip
from storage.clips import load_clip
from storage.keys import Permission, Role
from verity.errors import NotFound

router = APIRouter(prefix="/api/v1/clips", tags=["clips"], responses=COMMON_ERRORS)


@router.get(
    "/{clip_id}/playback",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"video/*": {"schema": BINARY}}, "description": "The footage, to play in place."},
        206: {"description": "The requested byte range."},
        **error_responses(416),
    },
)
def playback(clip_id: str, request: Request, session: SessionDep, archive: ArchiveDep, caller: Viewer) -> Response:
    """The original's bytes inline, with ranges, for a player: the download permission, as for
    `/original`. Only an original a browser plays as it is (`browser_playable`), sent as the type
    of its container, never the type declared on upload (404 otherwise: its viewing copy plays). A
    person's playback of the clip is one custody event (`downloaded`, `playback: true`) in 10 minutes."""
    on_clip(session, caller.scope, clip_id, Role.viewer, Permission.download)
    clip = load_clip(session, clip_id)
    if clip.browser_playable is not True:
        raise NotFound(
            f"clip {clip_id}'s original does not play in a browser as it is; play its viewing copy "
            f"(GET /api/v1/clips/{clip_id}/viewing-copy) or download it"
        )
    playbacks: RecentPlaybacks = request.app.state.playbacks
    first = playbacks.first_in_window(caller.actor, clip_id)
    return original_response(request, archive, clip, caller.actor, caller.scope, playback=True, record=first)
