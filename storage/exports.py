"""Evidence exports as rows: what one covers and includes, how far its job has come, and the clips,
incidents and cases it takes in. The bag itself is built by ingest/export.py; this module only
reads and writes the `exports` row and, once the originals are in the bag, the `exported` custody
event of every clip it holds."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, select
from sqlalchemy.orm import Session, sessionmaker

from storage.access import EVERYTHING, Grant, Scope, clips_in_cases, incidents_in_cases, on_case, on_clips, on_incident
from storage.cases import load_case
from storage.chain import canonical_json
from storage.custody import append_event
from storage.evidence import active_links, load_incident
from storage.keys import Permission, Role, person_of
from storage.models import AuditEvent, Case, CaseIncident, Clip, ClipLink, Export, utcnow
from storage.vocabulary import EXPORT_SCOPES, ExportScope, ExportStatus
from verity.errors import ClipNotFound, ExportNotFound, Forbidden, InvalidInput, NotFound

# Most clips one export may name by id (a case or incident takes in all its clips, however many).
MAX_NAMED_CLIPS = 10_000


@dataclass(frozen=True)
class ExportRequest:
    scope: ExportScope
    scope_id: str | None  # the case or incident; None for clips
    clip_ids: tuple[str, ...] = ()  # for scope "clips"
    include_originals: bool = True
    include_keyframes: bool = False
    include_probe: bool = False
    # The exporter's grants when it asked for the sources and may see some (None: left out).
    sources: Scope | None = None
    # What the exporter may see: the bag names nothing outside it.
    seen_by: Scope = EVERYTHING


def frozen_sources(scope: Scope) -> str:
    """Where `scope` holds the sources permission (archive-wide, and the cases), as an export keeps
    it: its bag is built later, by a job that has no caller to ask."""
    archive = scope.archive_may(Permission.sources)
    cases = sorted(case_id for case_id, grant in scope.cases.items() if grant.may(Permission.sources))
    return json.dumps({"archive": archive, "cases": cases})


def sources_scope(export: Export) -> Scope:
    """The grants whose sources the export's bag may carry: the exporter's sources permission as it
    was asked for, or none at all (everything left out)."""
    if export.sources is None:
        return Scope(archive=None)
    frozen = json.loads(export.sources)
    holding = Grant(Role.viewer, frozenset({Permission.sources}))
    cases = {case_id: holding for case_id in frozen["cases"]}
    return Scope(archive=holding if frozen["archive"] else None, cases=cases)


def seen_scope(export: Export) -> Scope:
    """What the exporter could see when it asked (storage/access.py), as a scope to filter by."""
    if export.visible is None:
        return Scope(archive=Grant(Role.viewer))
    return Scope(archive=None, cases={case_id: Grant(Role.viewer) for case_id in json.loads(export.visible)})


def create_export(session: Session, request: ExportRequest, actor: str) -> Export:
    """A queued export of what `request` names, which must exist (NotFound otherwise)."""
    if request.scope not in EXPORT_SCOPES:
        raise InvalidInput(f"scope must be one of {', '.join(EXPORT_SCOPES)}")
    clip_ids: list[str] = []
    if request.scope == "case":
        load_case(session, request.scope_id or "")
    elif request.scope == "incident":
        load_incident(session, request.scope_id or "")
    else:
        clip_ids = list(dict.fromkeys(request.clip_ids))
        if not clip_ids or len(clip_ids) > MAX_NAMED_CLIPS:
            raise InvalidInput(f"name 1 to {MAX_NAMED_CLIPS} clips")
        found = set(session.scalars(select(Clip.id).where(Clip.id.in_(clip_ids))))
        if missing := [clip_id for clip_id in clip_ids if clip_id not in found]:
            raise ClipNotFound(f"no clip with id {', '.join(missing[:5])}{' …' if len(missing) > 5 else ''}")
    export = Export(
        scope=request.scope,
        scope_id=request.scope_id if request.scope != "clips" else None,
        clip_ids=json.dumps(clip_ids),
        include_originals=request.include_originals,
        include_keyframes=request.include_keyframes,
        include_probe=request.include_probe,
        sources=frozen_sources(request.sources) if request.sources is not None else None,
        visible=None if request.seen_by.archive_wide else json.dumps(sorted(request.seen_by.case_ids)),
        status=ExportStatus.queued,
        requested_by=actor,
        progress=0.0,
        bytes_written=0,
    )
    session.add(export)
    session.flush()
    return export


def load_export(session: Session, export_id: str) -> Export:
    export = session.get(Export, export_id)
    if export is None:
        raise ExportNotFound(f"no export with id {export_id}")
    return export


def load_own_export(session: Session, export_id: str, person: str, *, admin: bool) -> Export:
    """The export, for the person who asked for it (by any of their keys) or an archive-wide
    admin; anyone else is told it does not exist (a bag holds a whole case: no one else's)."""
    export = load_export(session, export_id)
    if not admin and person_of(export.requested_by) != person:
        raise ExportNotFound(f"no export with id {export_id}")
    return export


def needed_permissions(include_originals: bool, include_sources: bool) -> list[Permission]:
    """What an export asks of its exporter over all it covers: the export permission; download
    too when it holds the originals (each is a copy of the file, as a download is); sources when it
    carries them."""
    return [
        Permission.export,
        *([Permission.download] if include_originals else []),
        *([Permission.sources] if include_sources else []),
    ]


def may_export(
    session: Session,
    scope: Scope,
    kind: str,
    scope_id: str | None,
    clip_ids: Sequence[str],
    permissions: Sequence[Permission],
) -> None:
    """The caller holds each of `permissions` over all an export covers: its case, its incident,
    or every clip named (404 for one it may not see, as for an unknown id; 403 naming the first
    permission it lacks)."""
    for permission in permissions:
        if kind == "case":
            on_case(session, scope, scope_id or "", permission=permission)
        elif kind == "incident":
            on_incident(session, scope, scope_id or "", permission=permission)
        else:
            on_clips(session, scope, clip_ids, permission=permission)


def load_readable_export(session: Session, export_id: str, person: str, scope: Scope, *, admin: bool) -> Export:
    """The export, for the person who asked for it or an archive-wide admin (`load_own_export`),
    while the caller still holds over all it covers what asking for it needed: once a membership
    ends, or through a key narrowed to other cases, the bag is told not to exist."""
    export = load_own_export(session, export_id, person, admin=admin)
    needed = needed_permissions(export.include_originals, export.sources is not None)
    try:
        may_export(session, scope, export.scope, export.scope_id, export_clip_ids(export), needed)
    except (NotFound, Forbidden):
        raise ExportNotFound(f"no export with id {export_id}") from None
    return export


def export_clip_ids(export: Export) -> list[str]:
    ids: list[str] = json.loads(export.clip_ids)
    return ids


def clips_in_scope(session: Session, export: Export) -> list[str]:
    """The clips the export holds, oldest archived first: a case's or incident's linked clips (live
    links; a case's also those handed into it), or the clips named."""
    if export.scope == "clips":
        named = export_clip_ids(export)
        order = {clip_id: position for position, clip_id in enumerate(named)}
        return sorted(named, key=order.__getitem__)
    if export.scope == "case":
        in_scope = clips_in_cases([export.scope_id or ""])
    else:
        live = and_(ClipLink.incident_id == export.scope_id, ClipLink.unlinked_at.is_(None))
        in_scope = select(ClipLink.clip_id).where(live)
    query = select(Clip.id).where(Clip.id.in_(in_scope)).order_by(Clip.created_at, Clip.id)
    return list(session.scalars(query))


def incidents_in_scope(session: Session, export: Export, clip_ids: Sequence[str]) -> list[str]:
    """The incidents whose records and histories the export holds: the case's, the one named, or
    those the named clips are linked to."""
    if export.scope == "case":
        query = select(CaseIncident.incident_id).where(CaseIncident.case_id == export.scope_id)
        return sorted(session.scalars(query))
    if export.scope == "incident":
        return [export.scope_id or ""]
    linked = {link.incident_id for clip_id in clip_ids for link in active_links(session, clip_id=clip_id)}
    seen = seen_scope(export)
    if not seen.archive_wide:  # those the exporter could see
        linked &= set(session.scalars(incidents_in_cases(seen.case_ids)))
    return sorted(linked)


def cases_in_scope(session: Session, export: Export) -> list[str]:
    if export.scope == "case" and session.get(Case, export.scope_id) is not None:
        return [export.scope_id or ""]
    return []


def start_export(sessions: sessionmaker[Session], export_id: str) -> bool:
    """Mark the export running; False when it is not waiting to be built (already ready or failed)."""
    with sessions.begin() as session:
        export = load_export(session, export_id)
        if export.status not in (ExportStatus.queued, ExportStatus.running):
            return False
        export.status, export.started_at, export.step = ExportStatus.running, utcnow(), "starting"
        export.progress, export.bytes_written, export.status_reason = 0.0, 0, None
        return True


def record_progress(
    sessions: sessionmaker[Session], export_id: str, step: str, bytes_written: int, progress: float
) -> None:
    with sessions.begin() as session:
        export = load_export(session, export_id)
        export.step, export.bytes_written, export.progress = step, bytes_written, min(max(progress, 0.0), 1.0)


def record_exported(session: Session, clip_ids: Sequence[str], export: Export, actor: str) -> None:
    """The `exported` custody event on every clip the export holds, in the caller's transaction."""
    details = {
        "export_id": export.id,
        "scope": export.scope,
        "scope_id": export.scope_id,
        "originals": export.include_originals,
        "sources": "included" if export.sources is not None else "left out",
    }
    for clip_id in clip_ids:
        append_event(session, clip_id, "exported", actor, details)


@dataclass(frozen=True)
class BuiltBag:
    blob_key: str
    size_bytes: int
    sha256: str
    manifest_sha256: str


def finish_export(sessions: sessionmaker[Session], export_id: str, bag: BuiltBag, clip_ids: Sequence[str]) -> None:
    with sessions.begin() as session:
        export = load_export(session, export_id)
        export.status, export.step, export.progress, export.finished_at = ExportStatus.ready, None, 1.0, utcnow()
        export.blob_key, export.size_bytes, export.sha256 = bag.blob_key, bag.size_bytes, bag.sha256
        export.manifest_sha256, export.bytes_written = bag.manifest_sha256, bag.size_bytes
        export.clip_ids = json.dumps(list(clip_ids))


def fail_export(sessions: sessionmaker[Session], export_id: str, reason: str) -> None:
    with sessions.begin() as session:
        export = session.get(Export, export_id)
        if export is None or export.status == ExportStatus.ready:
            return
        export.status, export.status_reason, export.finished_at = ExportStatus.failed, reason, utcnow()


def record_bag_download(
    sessions: sessionmaker[Session], export: Export, actor: str, byte_range: tuple[int, int] | None, size: int
) -> None:
    """A download of the bag, in the audit log (the bag's clips already record the export itself),
    in a short transaction of its own, as a clip's download is."""
    details = {
        "export_id": export.id,
        "sha256": export.sha256,
        "range": f"bytes={byte_range[0]}-{byte_range[1]}" if byte_range else None,
        "bytes": size,
    }
    with sessions.begin() as session:
        session.add(AuditEvent(actor=actor, action="export_downloaded", details=canonical_json(details)))


def pending_export_ids(session: Session) -> list[str]:
    """Exports a previous process left queued or half-built: their jobs start again from the beginning."""
    query = select(Export.id).where(Export.status.in_([ExportStatus.queued, ExportStatus.running]))
    return list(session.scalars(query.order_by(Export.created_at)))
