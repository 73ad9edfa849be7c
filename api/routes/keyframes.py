"""A clip's keyframes: the list (time, size, URL) and each JPEG thumbnail."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import StreamingResponse

from api.deps import BINARY, MAX_INT, ArchiveDep, SessionDep
from api.errors import COMMON_ERRORS
from api.params import Viewer
from api.schemas import KeyframeOut
from storage.access import on_clip
from storage.clips import keyframes_of, load_keyframe

router = APIRouter(prefix="/api/v1/clips", tags=["keyframes"], responses=COMMON_ERRORS)


@router.get("/{clip_id}/keyframes", response_model=list[KeyframeOut])
def list_keyframes(clip_id: str, session: SessionDep, caller: Viewer) -> list[KeyframeOut]:
    on_clip(session, caller.scope, clip_id)
    return [
        KeyframeOut(
            index=row.index,
            time_s=row.time_s,
            reason=row.reason,
            scene_score=row.scene_score,
            width=row.width,
            height=row.height,
            size_bytes=row.size_bytes,
            url=f"/api/v1/clips/{clip_id}/keyframes/{row.index}",
        )
        for row in keyframes_of(session, clip_id)
    ]


@router.get(
    "/{clip_id}/keyframes/{index}",
    response_class=StreamingResponse,
    responses={200: {"content": {"image/jpeg": {"schema": BINARY}}, "description": "The thumbnail, upright."}},
)
def keyframe_image(
    clip_id: str,
    index: Annotated[int, Path(ge=0, le=MAX_INT)],
    session: SessionDep,
    archive: ArchiveDep,
    caller: Viewer,
) -> StreamingResponse:
    on_clip(session, caller.scope, clip_id)
    row = load_keyframe(session, clip_id, index)
    return StreamingResponse(
        archive.blobs.open(row.blob_key),
        media_type="image/jpeg",
        headers={"Content-Length": str(row.size_bytes), "Cache-Control": "private, max-age=86400"},
    )
