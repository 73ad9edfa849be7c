"""The footage for the workbench's player: `GET /api/v1/clips/{id}/playback`."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from api.deps import BINARY, ArchiveDep, SessionDep
from api.errors import COMMON_ERRORS, error_responses
from api.originals import original_response
from api.params import Viewer
from storage.access import on_clip
from storage.clips import load_clip
from storage.keys import Permission, Role

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
    `/original`; only the request from byte 0 is a custody event (`downloaded`, `playback: true`)."""
    on_clip(session, caller.scope, clip_id, Role.viewer, Permission.download)
    return original_response(request, archive, load_clip(session, clip_id), caller.actor, caller.scope, playback=True)
