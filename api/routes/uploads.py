"""Resumable uploads: declare the file, send its bytes in chunks (each at the offset the server
has, `Upload-Offset`), ask where it stands after a dropped connection, continue from there. The
chunk that completes the file answers as POST /api/v1/clips does.

The same routes speak tus 1.0 (api/tus.py) to a request that carries `Tus-Resumable`: creation
from `Upload-Length` and `Upload-Metadata`, HEAD for the offset, 204 answers with headers."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import Executor
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response
from pydantic import ValidationError

from api import examples as ex
from api.auth import Caller
from api.deps import BINARY, ArchiveDep, BodyThreadsDep, RunnerDep
from api.errors import COMMON_ERRORS, describe_problems, error_responses
from api.multipart import read_body, upload_filename
from api.params import Contributor
from api.schemas import MAX_BYTES, OffsetConflictOut, UploadCompletedOut, UploadCreate, UploadStateOut
from api.sources import clip_out
from api.threads import run_on
from api.tus import TusAware, TusNative, TusOnly
from api.tus_headers import (
    CHECKSUM_ALGORITHMS,
    OFFSET_OCTET_STREAM,
    TUS_EXTENSIONS,
    TUS_VERSION,
    encode_metadata,
    http_date,
    is_offset_stream,
    parse_checksum,
    parse_length,
    parse_metadata,
)
from ingest.resumable import (
    ChunkOutcome,
    abandon_upload,
    check_chunk,
    complete_upload,
    completed_result,
    create_upload,
    expires_at,
    load_upload,
    receive_chunk,
    refuse_expired,
)
from ingest.runner import JobRunner, queue_ingest
from ingest.upload import Receipt, UploadResult
from storage.access import hand_in
from storage.archive import Archive
from storage.models import Upload
from verity.errors import InvalidInput, UnsupportedContentType

router = APIRouter(prefix="/api/v1/uploads", tags=["uploads"], responses=COMMON_ERRORS, route_class=TusAware)
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


def _tus_headers(archive: Archive, upload: Upload) -> dict[str, str]:
    """Where a tus upload stands, as headers: its offset and, while unfinished, its expiry."""
    headers = {"Upload-Offset": str(upload.received_bytes), "Upload-Length": str(upload.size_bytes)}
    if (expiry := expires_at(archive, upload)) is not None:
        headers["Upload-Expires"] = http_date(expiry)
    return headers


def _tus_start(request: Request, archive: ArchiveDep, caller: Contributor) -> Response:
    """tus creation: the size from `Upload-Length`, the declaration from `Upload-Metadata`."""
    headers = request.headers
    if headers.get("content-length", "0") not in ("", "0"):
        raise InvalidInput("creation-with-upload is not supported: create the upload, then PATCH its bytes")
    declared = {
        **parse_metadata(headers.get("upload-metadata")),
        "size_bytes": parse_length(headers.get("upload-length"), headers.get("upload-defer-length")),
    }
    try:
        body = UploadCreate.model_validate(declared)
    except ValidationError as exc:
        raise InvalidInput(f"Upload-Metadata: {describe_problems(exc.errors())}") from None
    upload = _create(archive, caller, body)
    location = {"Location": f"/api/v1/uploads/{upload.id}"}
    return Response(status_code=201, headers={**location, **_tus_headers(archive, upload)})


def _tus_options(archive: ArchiveDep) -> Response:
    """What this tus server supports (no key needed, as tus asks)."""
    headers = {
        "Tus-Version": TUS_VERSION,
        "Tus-Extension": ",".join(TUS_EXTENSIONS),
        "Tus-Max-Size": str(archive.settings.max_upload_bytes),
        "Tus-Checksum-Algorithm": ",".join(CHECKSUM_ALGORITHMS),
    }
    return Response(status_code=204, headers=headers)


def _tus_state(upload_id: str, archive: ArchiveDep, caller: Contributor) -> Response:
    """tus HEAD: the upload's offset and length (its clip once archived); 404 if unknown, 410 if expired."""
    with archive.reads() as session:
        upload = load_upload(session, upload_id, caller.actor, admin=caller.archive_admin)
    refuse_expired(archive, upload)
    headers = {**_tus_headers(archive, upload), **_clip_headers(upload), "Cache-Control": "no-store"}
    metadata = encode_metadata(
        {
            "filename": upload.filename,
            "filetype": upload.content_type,
            "source": upload.source,
            "source_url": upload.source_url,
            "captured_at": upload.captured_at.isoformat() if upload.captured_at else None,
            "note": upload.note,
            "case_id": upload.case_id,
            "sha256": upload.sha256,
        }
    )
    if metadata:
        headers["Upload-Metadata"] = metadata
    return Response(status_code=200, headers=headers)


def _clip_headers(upload: Upload) -> dict[str, str]:
    """What an archived upload became, for tus answers (which have no body)."""
    if upload.clip_id is None:
        return {}
    return {"Verity-Clip-Id": upload.clip_id, "Verity-Duplicate": "true" if upload.duplicate else "false"}


async def _tus_send_chunk(
    upload_id: str,
    upload_offset: UploadOffset,
    request: Request,
    archive: ArchiveDep,
    runner: RunnerDep,
    threads: BodyThreadsDep,
    caller: Contributor,
) -> Response:
    """tus PATCH: append a chunk of `application/offset+octet-stream`, checked against its
    `Upload-Checksum` (sha256) while it streams; 204 with the new offset, and the clip's id once
    the chunk completed the upload."""
    if not is_offset_stream(request.headers.get("content-type")):
        said = request.headers.get("content-type", "none")[:100]
        raise UnsupportedContentType(f"a tus chunk is sent as Content-Type: {OFFSET_OCTET_STREAM} (this says {said})")
    sha256 = parse_checksum(request.headers.get("upload-checksum"))
    outcome, result = await _take_chunk(
        upload_id, upload_offset, request, archive, runner, threads, caller, sha256=sha256, tus=True
    )
    upload = outcome.upload
    headers = _tus_headers(archive, upload)
    if result is not None:
        headers.update({"Verity-Clip-Id": result.clip.id, "Verity-Duplicate": "true" if result.duplicate else "false"})
    return Response(status_code=204, headers=headers)


# tus first: these match only requests that carry Tus-Resumable; the JSON routes below take the rest.
router.add_api_route("", _tus_start, methods=["POST"], include_in_schema=False, route_class_override=TusOnly)
router.add_api_route(
    "/{upload_id}", _tus_send_chunk, methods=["PATCH"], include_in_schema=False, route_class_override=TusOnly
)
router.add_api_route(
    "",
    _tus_options,
    methods=["OPTIONS"],
    status_code=204,
    summary="What the tus server supports",
    route_class_override=TusNative,
    response_class=Response,
)
router.add_api_route(
    "/{upload_id}",
    _tus_state,
    methods=["HEAD"],
    summary="Where a tus upload stands",
    route_class_override=TusNative,
    response_class=Response,
    responses=error_responses(410),
)


def _create(archive: Archive, caller: Contributor, body: UploadCreate) -> Upload:
    """Declare the upload `body` describes, after asking whether the caller may hand footage in there."""
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
    return create_upload(archive, receipt, body.size_bytes, sha256=body.sha256)


@router.post("", status_code=201, response_model=UploadStateOut, responses=error_responses(413))
def start(body: UploadCreate, response: Response, archive: ArchiveDep, caller: Contributor) -> UploadStateOut:
    """Declare a file to upload in chunks (its exact size is required); then PATCH its bytes. With
    `sha256`, an unfinished upload of yours declared the same way is answered instead (it continues).
    With `Tus-Resumable: 1.0.0` this is tus creation: `Upload-Length` and `Upload-Metadata`."""
    upload = _create(archive, caller, body)
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
    sent again from the same offset. With `Tus-Resumable: 1.0.0` this is a tus PATCH (204, with
    `Upload-Checksum` taken, the clip's id in `Verity-Clip-Id` once complete)."""
    outcome, result = await _take_chunk(upload_id, upload_offset, request, archive, runner, threads, caller)
    if result is None:
        return _state(outcome.upload, response)
    response.status_code = 200 if result.duplicate else 201
    response.headers["Location"] = f"/api/v1/clips/{result.clip.id}"
    response.headers["Upload-Offset"] = str(outcome.upload.size_bytes)
    clip = clip_out(result.clip, caller.scope).model_dump()
    return UploadCompletedOut.model_validate({**clip, "duplicate": result.duplicate, "upload_id": upload_id})


async def _take_chunk(
    upload_id: str,
    offset: int,
    request: Request,
    archive: Archive,
    runner: JobRunner,
    threads: Executor,
    caller: Caller,
    *,
    sha256: bytes | None = None,
    tus: bool = False,
) -> tuple[ChunkOutcome, UploadResult | None]:
    """Receive the request's body as the chunk at `offset` (checked against `sha256` if given);
    and, when it completed the upload, archive it (or, asked again, what archiving it gave)."""
    declared = request.headers.get("content-length")
    length = int(declared) if declared and declared.isdigit() else None
    await asyncio.to_thread(
        check_chunk,
        archive,
        upload_id,
        caller.actor,
        admin=caller.archive_admin,
        offset=offset,
        length=length,
        refuse_if_expired=tus,
    )
    await asyncio.to_thread(_may_still_hand_in, archive, caller, upload_id)

    def consume(chunks: Iterator[bytes]) -> ChunkOutcome:
        return receive_chunk(archive, upload_id, offset, chunks, sha256=sha256)

    outcome = await read_body(request, consume, threads=threads)
    if not outcome.complete:
        return outcome, None
    if outcome.upload.clip_id is None:
        result = await run_on(threads, complete_upload, archive, upload_id)
        if not result.duplicate:
            await asyncio.to_thread(queue_ingest, runner, result.clip.id)
    else:
        result = await run_on(threads, completed_result, archive, outcome.upload)
    return outcome, result


@router.delete("/{upload_id}", status_code=204, responses=error_responses(409))
def abandon(upload_id: str, archive: ArchiveDep, caller: Contributor) -> Response:
    """Give up an unfinished upload: its chunks are deleted (a completed one stays, 409)."""
    abandon_upload(archive, upload_id, caller.actor, admin=caller.archive_admin)
    return Response(status_code=204)
