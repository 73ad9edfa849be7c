"""Resumable uploads: declare the file, send its bytes in chunks (each at the offset the server
has, `Upload-Offset`), ask where it stands after a dropped connection, continue from there. The
chunk that completes the file answers as POST /api/v1/clips does."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response

from api import examples as ex
from api.auth import Caller
from api.deps import BINARY, ArchiveDep, BodyThreadsDep, RunnerDep
from api.errors import COMMON_ERRORS, error_responses
from api.multipart import read_body, upload_filename
from api.params import Contributor
from api.schemas import MAX_BYTES, OffsetConflictOut, UploadCompletedOut, UploadCreate, UploadStateOut
from api.sources import clip_out
from api.threads import run_on
from ingest.resumable import (
    ChunkOutcome,
    abandon_upload,
    check_chunk,
    complete_upload,
    completed_result,
    create_upload,
    load_upload,
    receive_chunk,
)
from ingest.runner import queue_ingest
from ingest.upload import Receipt
from storage.access import hand_in
from storage.archive import Archive
from storage.models import Upload

router = APIRouter(prefix="/api/v1/uploads", tags=["uploads"], responses=COMMON_ERRORS)
UploadOffset = Annotated[
    int,
    Header(
        alias="Upload-Offset",
        ge=0,
        le=MAX_BYTES,
        description="Where this chunk starts: the upload's `received_bytes`.",
    ),
]
OFFSET_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {
        "model": OffsetConflictOut,
        "description": "The chunk does not start where the upload stands (or the upload is being archived); "
        "`offset` and the Upload-Offset header say where it stands.",
    }
}
CHUNK_DOC = {
    "requestBody": {
        "required": True,
        "description": "The chunk's bytes, as they are in the file from `Upload-Offset` on (any length up to "
        "what remains). Empty at the end: the answer of a completed upload again.",
        # The tus media type; plain application/octet-stream is taken the same way.
        "content": {
            "application/offset+octet-stream": {"schema": BINARY},
            "application/octet-stream": {"schema": BINARY},
        },
    }
}


def _may_still_hand_in(archive: Archive, caller: Caller, upload_id: str) -> None:
    """Each chunk asks again whether the caller may hand footage in where the upload goes: a
    membership ended since the upload began ends it too."""
    with archive.reads() as session:
        upload = load_upload(session, upload_id, caller.actor, admin=caller.archive_admin)
        hand_in(session, caller.scope, upload.case_id)


def _state(upload: Upload, response: Response) -> UploadStateOut:
    response.headers["Upload-Offset"] = str(upload.received_bytes)
    return UploadStateOut.model_validate(upload)


@router.post("", status_code=201, response_model=UploadStateOut, responses=error_responses(413))
def start(body: UploadCreate, response: Response, archive: ArchiveDep, caller: Contributor) -> UploadStateOut:
    """Declare a file to upload in chunks (its exact size is required); then PATCH its bytes."""
    with archive.reads() as session:
        hand_in(session, caller.scope, body.case_id)
    receipt = Receipt(
        received_by=caller.actor,
        filename=upload_filename(body.filename),
        content_type=body.content_type,
        source=body.source,
        source_url=body.source_url,
        captured_at=body.captured_at,
        note=body.note,
        case_id=body.case_id,
    )
    upload = create_upload(archive, receipt, body.size_bytes)
    response.headers["Location"] = f"/api/v1/uploads/{upload.id}"
    return _state(upload, response)


@router.get("/{upload_id}", response_model=UploadStateOut)
def state(upload_id: str, response: Response, archive: ArchiveDep, caller: Contributor) -> UploadStateOut:
    """Where the upload stands: the next chunk starts at `received_bytes`; `clip_id` once archived."""
    with archive.reads() as session:
        upload = load_upload(session, upload_id, caller.actor, admin=caller.archive_admin)
    return _state(upload, response)


@router.patch(
    "/{upload_id}",
    response_model=UploadStateOut | UploadCompletedOut,
    openapi_extra=CHUNK_DOC,
    responses={
        200: {
            "description": "The chunk is stored (the upload's state), or, for the chunk that completed it, the "
            "same bytes were already archived (the clip, `duplicate: true`, acquisition recorded).",
            "content": {"application/json": {"example": ex.UPLOAD_STATE}},
        },
        201: {"model": UploadCompletedOut, "description": "The chunk completed the upload: the new clip."},
        **OFFSET_CONFLICT,
        **error_responses(408, 413),
    },
)
async def send_chunk(
    upload_id: str,
    upload_offset: UploadOffset,
    request: Request,
    response: Response,
    archive: ArchiveDep,
    runner: RunnerDep,
    threads: BodyThreadsDep,
    caller: Contributor,
) -> UploadStateOut | UploadCompletedOut:
    """Append a chunk. It counts only once wholly received; a cut-off chunk is dropped and can be
    sent again from the same offset."""
    declared = request.headers.get("content-length")
    length = int(declared) if declared and declared.isdigit() else None
    await asyncio.to_thread(
        check_chunk, archive, upload_id, caller.actor, admin=caller.archive_admin, offset=upload_offset, length=length
    )
    await asyncio.to_thread(_may_still_hand_in, archive, caller, upload_id)

    def consume(chunks: Iterator[bytes]) -> ChunkOutcome:
        return receive_chunk(archive, upload_id, upload_offset, chunks)

    outcome = await read_body(request, consume, threads=threads)
    if not outcome.complete:
        return _state(outcome.upload, response)
    if outcome.upload.clip_id is None:
        result = await run_on(threads, complete_upload, archive, upload_id)
        if not result.duplicate:
            await asyncio.to_thread(queue_ingest, runner, result.clip.id)
    else:
        result = await run_on(threads, completed_result, archive, outcome.upload)
    response.status_code = 200 if result.duplicate else 201
    response.headers["Location"] = f"/api/v1/clips/{result.clip.id}"
    response.headers["Upload-Offset"] = str(outcome.upload.size_bytes)
    clip = clip_out(result.clip, caller.scope).model_dump()
    return UploadCompletedOut.model_validate({**clip, "duplicate": result.duplicate, "upload_id": upload_id})


@router.delete("/{upload_id}", status_code=204, responses=error_responses(409))
def abandon(upload_id: str, archive: ArchiveDep, caller: Contributor) -> Response:
    """Give up an unfinished upload: its chunks are deleted (a completed one stays, 409)."""
    abandon_upload(archive, upload_id, caller.actor, admin=caller.archive_admin)
    return Response(status_code=204)
