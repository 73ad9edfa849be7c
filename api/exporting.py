"""Asking for an export, as `POST /api/v1/exports` and the workbench's case page both do: the
exporter's permissions checked over all it covers, the row committed, then its job queued."""

from __future__ import annotations

from api.auth import Caller
from api.schemas import ExportCreate, ExportOut
from ingest.export import request_export
from ingest.runner import JobRunner, queue_export
from storage.archive import Archive
from storage.exports import ExportRequest, may_export, needed_permissions
from storage.vocabulary import ExportScope


def queue_asked_export(archive: Archive, runner: JobRunner, caller: Caller, body: ExportCreate) -> ExportOut:
    """Queue the export `body` asks for (403/404 as `may_export` has it). No request session is
    open meanwhile: the row must be committed before the job that builds it is handed over."""
    scope: ExportScope = "case" if body.case_id else "incident" if body.incident_id else "clips"
    needed = needed_permissions(body.include_originals, body.include_sources)
    with archive.reads() as session:
        may_export(session, caller.scope, scope, body.case_id or body.incident_id, body.clip_ids or (), needed)
    wanted = ExportRequest(
        scope=scope,
        scope_id=body.case_id or body.incident_id,
        clip_ids=tuple(body.clip_ids or ()),
        include_originals=body.include_originals,
        include_keyframes=body.include_keyframes,
        include_probe=body.include_probe,
        sources=caller.scope if body.include_sources else None,
        seen_by=caller.scope,
    )
    answer = ExportOut.of(request_export(archive, wanted, caller.actor))
    queue_export(runner, answer.id)
    return answer
