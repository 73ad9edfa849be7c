"""Evidence exports: ask for one (a case, an incident or clips), follow its job, download the bag."""

from __future__ import annotations

import base64

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from api.deps import ArchiveDep, RunnerDep, SessionDep
from api.errors import COMMON_ERRORS, error_responses
from api.exporting import queue_asked_export
from api.params import Exporter
from api.ranges import parse_range
from api.schemas import ExportCreate, ExportOut
from ingest.export import bag_root
from storage.exports import load_readable_export, record_bag_download
from storage.vocabulary import ExportStatus
from verity.errors import ExportNotReady

router = APIRouter(prefix="/api/v1/exports", tags=["exports"], responses=COMMON_ERRORS)


@router.post("", status_code=202, response_model=ExportOut)
def ask_for_export(
    body: ExportCreate, response: Response, archive: ArchiveDep, runner: RunnerDep, caller: Exporter
) -> ExportOut:
    """Queue an export (the export permission over all it covers: archive-wide analysts and admins
    hold it, a case member if granted; with the originals, the download permission too); `GET` its
    `id` to follow it. Sources are left out unless asked for (`include_sources`) by someone with
    the sources permission over all it covers."""
    answer = queue_asked_export(archive, runner, caller, body)
    response.headers["Location"] = f"/api/v1/exports/{answer.id}"
    return answer


@router.get("/{export_id}", response_model=ExportOut)
def get_export(export_id: str, session: SessionDep, caller: Exporter) -> ExportOut:
    """The export, for the person who asked for it, or an archive-wide admin, while the caller
    still holds over all it covers what asking for it needed (404 once it does not)."""
    export = load_readable_export(session, export_id, caller.person, caller.scope, admin=caller.archive_admin)
    return ExportOut.of(export)


@router.get(
    "/{export_id}/download",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}}},
        206: {"description": "The requested byte range."},
        **error_responses(409, 416),
    },
)
def download_export(
    export_id: str, request: Request, session: SessionDep, archive: ArchiveDep, caller: Exporter
) -> Response:
    """The bag: one zip holding one folder, `verity-export-<id>/` (409 until the export is ready).
    Each download is in the audit log (`export_downloaded`). Only for the person who asked for
    it, or an archive-wide admin, while the caller still holds over all it covers what asking for it
    needed (404 once it does not)."""
    export = load_readable_export(session, export_id, caller.person, caller.scope, admin=caller.archive_admin)
    if export.status != ExportStatus.ready or export.blob_key is None or export.size_bytes is None:
        why = f": {export.status_reason}" if export.status_reason else f" ({export.progress:.0%} done)"
        raise ExportNotReady(f"export {export_id} is {export.status}{why}")
    size, etag = export.size_bytes, f'"{export.sha256}"'
    headers = {
        "ETag": etag,
        "Accept-Ranges": "bytes",
        "Content-Disposition": f'attachment; filename="{bag_root(export.id)}.zip"',
    }
    if export.sha256:
        headers["Repr-Digest"] = f"sha-256=:{base64.b64encode(bytes.fromhex(export.sha256)).decode()}:"
    byte_range = parse_range(request.headers.get("range"), size)
    if request.headers.get("if-range") not in (None, etag):
        byte_range = None
    start, end = byte_range or (0, size - 1)
    headers["Content-Length"] = str(end - start + 1)
    if byte_range:
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    body = archive.blobs.open(export.blob_key, start, end)
    record_bag_download(archive.sessions, export, caller.actor, (start, end) if byte_range else None, end - start + 1)
    return StreamingResponse(
        body, status_code=206 if byte_range else 200, headers=headers, media_type="application/zip"
    )
