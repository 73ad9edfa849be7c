"""Clips: upload, list, read, download the original, and the custody log."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from pydantic import ValidationError

from api import examples as ex
from api.auth import Caller
from api.deps import BINARY, ArchiveDep, BodyThreadsDep, RunnerDep, SessionDep
from api.errors import COMMON_ERRORS, error_responses
from api.multipart import FORM_OVERHEAD_BYTES, form_doc, read_upload_form
from api.originals import original_response
from api.params import Admin, ClipOrder, ClipSearch, Contributor, Limit, Offset, Viewer, utc
from api.schemas import (
    CASE_ID_DOC,
    ID_MAX,
    NOTE_MAX,
    SOURCE_MAX,
    URL_MAX,
    AcquisitionForm,
    ClipOut,
    ClipPage,
    CustodyLog,
    UploadOut,
)
from api.sources import clip_out, clip_outs, custody_log_of
from api.threads import run_on
from ingest.pipeline import request_reprocess
from ingest.runner import queue_ingest
from ingest.upload import Receipt, StagedOriginal, record_original, stage_original
from storage.access import archive_wide, hand_in, on_case, on_clip, on_incident
from storage.archive import Archive
from storage.cases import load_case
from storage.clips import load_clip
from storage.evidence import load_incident
from storage.keys import Permission, Role
from storage.search import search_clips
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
    filters: ClipSearch,
    order: ClipOrder = "received",
    limit: Limit = 50,
    offset: Offset = 0,
) -> ClipPage:
    """Clips the caller may see, newest first, filtered by any of the parameters (all must hold);
    `total` counts only those. `source` and `uploader` match only acquisitions whose source the
    caller may read, and `has_near_duplicates` counts only copies it may see."""
    incident_id, case_id = filters.incident_id, filters.case_id
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
    return original_response(request, archive, load_clip(session, clip_id), caller.actor, caller.scope)


@router.get("/{clip_id}/custody", response_model=CustodyLog)
def custody_log(clip_id: str, session: SessionDep, caller: Viewer) -> CustodyLog:
    """Every event of the clip's chain, and the chain check: each link recomputes, and each field
    the chain vouches for holds what it recorded (`mismatches` names those that do not)."""
    on_clip(session, caller.scope, clip_id)
    return custody_log_of(session, load_clip(session, clip_id), caller.scope)


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
