"""Clips: upload, list, read, download the original, and the custody log."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
from collections.abc import Iterator
from datetime import datetime
from pathlib import PurePosixPath
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from pydantic import ValidationError

from api import examples as ex
from api.auth import Caller
from api.deps import BINARY, ArchiveDep, BodyThreadsDep, RunnerDep, SessionDep
from api.errors import COMMON_ERRORS, error_responses
from api.multipart import FORM_OVERHEAD_BYTES, form_doc, read_upload_form
from api.params import Admin, Bbox, Contributor, Limit, Offset, Viewer, utc
from api.ranges import parse_range
from api.schemas import (
    CASE_ID_DOC,
    ID_MAX,
    NOTE_MAX,
    SOURCE_MAX,
    URL_MAX,
    AcquisitionForm,
    AnchoredHeadOut,
    ClipOut,
    ClipPage,
    CustodyLog,
    MismatchOut,
    UploadOut,
)
from api.sources import clip_out, clip_outs, custody_answer, hidden_of
from api.threads import run_on
from ingest.export_records import original_name
from ingest.fixity import Original, checked_original
from ingest.pipeline import request_reprocess
from ingest.runner import queue_ingest
from ingest.upload import Receipt, StagedOriginal, record_original, stage_original
from storage.access import archive_wide, hand_in, on_case, on_clip, on_incident
from storage.anchors import newest_anchored_head
from storage.archive import Archive
from storage.cases import load_case
from storage.clips import load_clip, record_download
from storage.evidence import load_incident
from storage.keys import Permission, Role
from storage.search import ClipFilters, search_clips
from storage.vocabulary import ClipStatus, ContentCredentialsState, FixityStatus, VerificationStatus
from storage.vouched import check_custody
from verity.errors import InvalidInput, NotFound, UploadTooLarge

log = logging.getLogger("verity.api")
router = APIRouter(prefix="/api/v1/clips", tags=["clips"], responses=COMMON_ERRORS)

UPLOAD_FORM_DOC = form_doc(
    "The footage.",
    ex.UPLOAD_FORM,
    source={"type": "string", "maxLength": SOURCE_MAX, "description": "Who or where it came from."},
    source_url={"type": "string", "maxLength": URL_MAX},
    captured_at={
        "type": "string",
        "format": "date-time",
        "description": "When the uploader says it was recorded, with a time zone (the file's own time is "
        "`recorded_at`, read from its metadata).",
    },
    note={"type": "string", "maxLength": NOTE_MAX},
    case_id={"type": "string", "maxLength": ID_MAX, "description": CASE_ID_DOC},
)


def acquisition_form(fields: dict[str, str]) -> AcquisitionForm:
    """The upload form's text fields, checked as a JSON body's would be (blank means not given)."""
    given = {name: value.strip() for name, value in fields.items() if value.strip()}
    try:
        return AcquisitionForm.model_validate(given)
    except ValidationError as invalid:
        problems = [{**problem, "loc": ("body", *problem["loc"])} for problem in invalid.errors()]
        raise RequestValidationError(problems) from None


def _may_hand_in(archive: Archive, caller: Caller, case_id: str | None) -> None:
    with archive.reads() as session:
        hand_in(session, caller.scope, case_id)


def _parse_captured_at(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"captured_at {value!r} is not an ISO 8601 date-time") from None
    return utc(moment, "captured_at")


@router.post(
    "",
    status_code=201,
    response_model=UploadOut,
    openapi_extra=UPLOAD_FORM_DOC,
    responses={
        200: {"model": UploadOut, "description": "Same bytes already archived; acquisition recorded."},
        **error_responses(413),
    },
)
async def upload_clip(
    request: Request,
    response: Response,
    archive: ArchiveDep,
    runner: RunnerDep,
    threads: BodyThreadsDep,
    caller: Contributor,
) -> UploadOut:
    limit = archive.settings.max_upload_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + FORM_OVERHEAD_BYTES:
        raise UploadTooLarge(f"the upload is larger than the limit of {limit} bytes")

    def consume(chunks: Iterator[bytes]) -> StagedOriginal:
        return stage_original(archive.blobs, chunks, max_bytes=limit)

    form = await read_upload_form(
        request,
        "file",
        consume,
        threads=threads,
        text_fields=tuple(AcquisitionForm.model_fields),
        max_field_bytes=archive.settings.max_form_field_bytes,
    )
    staged = form.file_result
    try:
        given = acquisition_form(form.fields)
        await asyncio.to_thread(_may_hand_in, archive, caller, given.case_id)
        receipt = Receipt(
            received_by=caller.actor,
            filename=form.filename,
            content_type=form.content_type,
            source=given.source,
            source_url=given.source_url,
            captured_at=_parse_captured_at(given.captured_at),
            note=given.note,
            case_id=given.case_id,
        )
    except BaseException:
        with contextlib.suppress(Exception):
            await run_on(threads, archive.blobs.delete, staged.key)
        raise
    result = await run_on(threads, record_original, archive, staged, receipt)
    if not result.duplicate:
        await asyncio.to_thread(queue_ingest, runner, result.clip.id)
    response.status_code = 200 if result.duplicate else 201
    response.headers["Location"] = f"/api/v1/clips/{result.clip.id}"
    shown = clip_out(result.clip, caller.scope)
    return UploadOut.model_validate({**shown.model_dump(), "duplicate": result.duplicate})


@router.get("", response_model=ClipPage)
def list_clips(
    session: SessionDep,
    caller: Viewer,
    limit: Limit = 50,
    offset: Offset = 0,
    status: Annotated[ClipStatus | None, Query()] = None,
    verification_status: Annotated[VerificationStatus | None, Query()] = None,
    recorded_from: Annotated[
        datetime | None,
        Query(
            description="The file's own creation time, from (with a time zone). A file time with no zone matches "
            "when it falls in the range under some zone from UTC−12 to UTC+14 (its `recorded.zone_known` is false)."
        ),
    ] = None,
    recorded_to: Annotated[datetime | None, Query()] = None,
    captured_from: Annotated[
        datetime | None, Query(description="Capture time an uploader gave, from (with a time zone).")
    ] = None,
    captured_to: Annotated[datetime | None, Query()] = None,
    bbox: Bbox = None,
    device_make: Annotated[str | None, Query()] = None,
    device_model: Annotated[str | None, Query()] = None,
    uploader: Annotated[str | None, Query(description="Name of the key that handed a copy in.")] = None,
    source: Annotated[str | None, Query(description="Text in an acquisition's source.")] = None,
    incident_id: Annotated[str | None, Query()] = None,
    case_id: Annotated[str | None, Query()] = None,
    has_near_duplicates: Annotated[bool | None, Query()] = None,
    has_integrity_warnings: Annotated[
        bool | None, Query(description="Whether decoding found the file short of what it declares, or damaged.")
    ] = None,
    has_content_credentials: Annotated[
        bool | None,
        Query(
            description="Whether the file carries Content Credentials (a C2PA manifest), whatever their validity; "
            "clips whose credentials were not read yet match neither."
        ),
    ] = None,
    content_credentials_state: Annotated[
        ContentCredentialsState | None,
        Query(description="The state of the file's Content Credentials (`content_credentials.state`)."),
    ] = None,
    fixity: Annotated[
        FixityStatus | None, Query(description="How the clip's last fixity check went: ok, failed or unchecked.")
    ] = None,
    order: Annotated[
        Literal["received", "recorded"],
        Query(description="Newest first by when the archive received it, or by the file's recorded time."),
    ] = "received",
) -> ClipPage:
    """Clips the caller may see, newest first, filtered by any of the parameters (all must hold);
    `total` counts only those. `source` and `uploader` match only acquisitions whose source the
    caller may read, and `has_near_duplicates` counts only copies it may see."""
    filters = ClipFilters(
        status=status,
        verification_status=verification_status,
        recorded_from=utc(recorded_from, "recorded_from"),
        recorded_to=utc(recorded_to, "recorded_to"),
        captured_from=utc(captured_from, "captured_from"),
        captured_to=utc(captured_to, "captured_to"),
        bbox=bbox,
        device_make=device_make,
        device_model=device_model,
        uploader=uploader,
        source=source,
        incident_id=incident_id,
        case_id=case_id,
        has_near_duplicates=has_near_duplicates,
        has_integrity_warnings=has_integrity_warnings,
        has_content_credentials=has_content_credentials,
        content_credentials_state=content_credentials_state,
        fixity=fixity,
    )
    # A filter naming an incident or case that does not exist is a mistake to report, not an empty
    # page; one the caller may not see is answered the same way.
    if incident_id is not None:
        on_incident(session, caller.scope, incident_id)
        load_incident(session, incident_id)
    if case_id is not None:
        on_case(session, caller.scope, case_id)
        load_case(session, case_id)
    total, clips = search_clips(session, filters, limit, offset, order, scope=caller.scope)
    return ClipPage(items=clip_outs(clips, caller.scope), total=total, limit=limit, offset=offset)


@router.get("/{clip_id}", response_model=ClipOut)
def get_clip(clip_id: str, session: SessionDep, caller: Viewer) -> ClipOut:
    on_clip(session, caller.scope, clip_id)
    return clip_out(load_clip(session, clip_id), caller.scope)


@router.get(
    "/{clip_id}/original",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"application/octet-stream": {"schema": BINARY}}, "description": "The original bytes."},
        206: {"description": "The requested byte range."},
        304: {"description": "The client's copy (If-None-Match) is current."},
        **error_responses(416),
    },
)
def download_original(
    clip_id: str, request: Request, session: SessionDep, archive: ArchiveDep, caller: Viewer
) -> Response:
    """The original's bytes (a range of them with `Range`), for a caller holding the download
    permission on the clip: a case may let its members review footage without taking copies."""
    on_clip(session, caller.scope, clip_id, Role.viewer, Permission.download)
    clip = load_clip(session, clip_id)
    # A file name handed into a case the caller may not see is not told: the bytes' hash names it.
    filename = hidden_of(clip, caller.scope).filename(clip.filename)
    if filename != clip.filename:
        filename = PurePosixPath(original_name(clip)).name
    etag = f'"{clip.sha256}"'
    headers = {
        "ETag": etag,
        "Repr-Digest": f"sha-256=:{base64.b64encode(bytes.fromhex(clip.sha256)).decode()}:",
        "Accept-Ranges": "bytes",
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
    }
    if etag in [tag.strip() for tag in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    byte_range = parse_range(request.headers.get("range"), clip.size_bytes)
    if request.headers.get("if-range") not in (None, etag):
        byte_range = None
    start, end = byte_range or (0, clip.size_bytes - 1)
    original = Original(clip.id, clip.blob_key, clip.sha256, clip.size_bytes)
    body = checked_original(archive, original, start, end, caller.actor)
    record_download(archive.sessions, clip.id, caller.actor, (start, end) if byte_range else None, end - start + 1)
    headers["Content-Length"] = str(end - start + 1)
    if byte_range:
        headers["Content-Range"] = f"bytes {start}-{end}/{clip.size_bytes}"
    return StreamingResponse(
        body,
        status_code=206 if byte_range else 200,
        headers=headers,
        media_type=clip.content_type or "application/octet-stream",
    )


@router.get("/{clip_id}/custody", response_model=CustodyLog)
def custody_log(clip_id: str, session: SessionDep, caller: Viewer) -> CustodyLog:
    """Every event of the clip's chain, and the chain check: each link recomputes, and each field
    the chain vouches for holds what it recorded (`mismatches` names those that do not)."""
    on_clip(session, caller.scope, clip_id)
    clip = load_clip(session, clip_id)
    events, check = check_custody(session, clip)
    hidden = hidden_of(clip, caller.scope).outside(session, events)
    shown, check = custody_answer(events, check, hidden)
    return CustodyLog(
        clip_id=clip.id,
        verified=check.verified,
        first_bad_seq=check.first_bad_seq,
        reason=check.reason,
        mismatches=[MismatchOut.model_validate(m) for m in check.mismatches],
        events=shown,
        anchored=AnchoredHeadOut.of(newest_anchored_head(session, "custody", clip.id)),
    )


@router.get(
    "/{clip_id}/probe",
    response_model=dict[str, Any],
    responses={200: {"content": {"application/json": {"example": ex.PROBE}}}},
)
def probe_output(clip_id: str, session: SessionDep, caller: Viewer) -> dict[str, Any]:
    """ffprobe's JSON for the original, verbatim (404 until the clip has been probed)."""
    on_clip(session, caller.scope, clip_id)
    clip = load_clip(session, clip_id)
    if clip.probe_raw is None:
        raise NotFound(f"clip {clip_id} has not been probed (status {clip.status})")
    raw: dict[str, Any] = json.loads(clip.probe_raw)
    return raw


@router.get(
    "/{clip_id}/content-credentials",
    response_model=dict[str, Any],
    responses={200: {"content": {"application/json": {"example": ex.C2PA_REPORT}}}},
)
def content_credentials_report(clip_id: str, session: SessionDep, caller: Viewer) -> dict[str, Any]:
    """The Content Credentials reader's whole report on the original, verbatim (every manifest,
    assertion and validation result); 404 when there is none: not read yet, no manifest, or one
    that could not be parsed (the clip's `content_credentials` says which)."""
    on_clip(session, caller.scope, clip_id)
    clip = load_clip(session, clip_id)
    if clip.content_credentials_report is None:
        state = clip.content_credentials_state or "not_read"
        raise NotFound(f"clip {clip_id} has no Content Credentials report (content_credentials.state {state})")
    report: dict[str, Any] = json.loads(clip.content_credentials_report)
    return report


@router.post("/{clip_id}/reprocess", status_code=202, response_model=ClipOut)
def reprocess(clip_id: str, archive: ArchiveDep, runner: RunnerDep, caller: Admin) -> ClipOut:
    """Run the ingest pipeline on the clip again (an archive-wide admin: it spends the archive's
    own analysis time, whichever case the clip is in)."""
    archive_wide(caller.scope, Role.admin, "reprocessing a clip")
    request_reprocess(archive, clip_id, caller.actor)
    queue_ingest(runner, clip_id)
    with archive.sessions() as session:
        return clip_out(load_clip(session, clip_id), caller.scope)
