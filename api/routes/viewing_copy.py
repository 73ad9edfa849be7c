"""A clip's viewing copy: the H.264/AAC MP4 made to watch, in a browser, footage whose original it
cannot play. It is a derivative, labelled as one in its headers; the original stays the evidence."""

from __future__ import annotations

from pathlib import PurePosixPath
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from api.deps import BINARY, ArchiveDep, SessionDep
from api.errors import COMMON_ERRORS, error_responses
from api.params import Viewer
from api.ranges import not_modified, requested_range
from api.sources import hidden_of
from storage.access import on_clip
from storage.clips import load_clip
from storage.viewing_copies import load_viewing_copy

router = APIRouter(prefix="/api/v1/clips", tags=["viewing copies"], responses=COMMON_ERRORS)

# Says, to whatever receives the bytes, what they are.
DERIVATIVE_HEADER = "Verity-Derivative"
DERIVATIVE_VALUE = "viewing-copy; not-the-original"


@router.get(
    "/{clip_id}/viewing-copy",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"video/mp4": {"schema": BINARY}}, "description": "The viewing copy (not the original)."},
        206: {"description": "The requested byte range."},
        304: {"description": "The client's copy (If-None-Match) is current."},
        **error_responses(416),
    },
)
def viewing_copy(clip_id: str, request: Request, session: SessionDep, archive: ArchiveDep, caller: Viewer) -> Response:
    """The clip's viewing copy (a range of it with `Range`), for anyone who may view the clip:
    watching is not taking a copy of the original, so no download permission is needed and no
    download is recorded. 404 with the reason when it has none (browsers play its original, or
    making one failed)."""
    on_clip(session, caller.scope, clip_id)
    clip = load_clip(session, clip_id)
    row = load_viewing_copy(session, clip_id)
    assert row.blob_key is not None and row.sha256 is not None and row.size_bytes is not None
    # The original's name, unless it was handed into a case the caller may not see.
    shown = hidden_of(clip, caller.scope).filename(clip.filename)
    stem = PurePosixPath(shown).stem if shown == clip.filename else clip.id
    etag = f'"{row.sha256}"'
    headers = {
        "ETag": etag,
        "Accept-Ranges": "bytes",
        "Content-Disposition": f'inline; filename="{clip.id}-viewing-copy.mp4"; '
        f"filename*=UTF-8''{quote(f'{stem}-viewing-copy.mp4')}",
        DERIVATIVE_HEADER: DERIVATIVE_VALUE,
        "Cache-Control": "private, max-age=86400",
    }
    if not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    byte_range = requested_range(request, row.size_bytes, etag)
    start, end = byte_range or (0, row.size_bytes - 1)
    headers["Content-Length"] = str(end - start + 1)
    if byte_range:
        headers["Content-Range"] = f"bytes {start}-{end}/{row.size_bytes}"
    return StreamingResponse(
        archive.blobs.open(row.blob_key, start, end),
        status_code=206 if byte_range else 200,
        headers=headers,
        media_type=row.content_type or "video/mp4",
    )
