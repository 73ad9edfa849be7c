"""The evidence export job: one BagIt bag, as a zip in the object store, holding the originals
(named by SHA-256), each clip's records and custody chain, the histories of its incidents and
cases, the timestamp tokens, REPORT.html and verify.py (ingest/export_verify.py). Layout: see
docs/design.md, "The evidence export".

Order: the originals first (the long part: progress follows their bytes, and each is checked
against its archived SHA-256 as it streams, so a damaged original stops the export), then the
`exported` custody event on every clip, then the records and chains as they stand with that
event, the tokens, the report, and last the manifests."""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from ingest import export_proofs
from ingest.bag import BAGIT_TXT, BagWriter, throttled
from ingest.export_records import (
    CUSTODY_NAMES,
    HISTORY_NAMES,
    as_json_bytes,
    case_record,
    chain_lines,
    clip_record,
    first_keyframe,
    incident_record,
    original_name,
)
from ingest.export_report import ClipSummary, render_report
from ingest.near_duplicates import NearDuplicateFinder
from storage.archive import Archive
from storage.blobs import BlobStore, delete_untouched
from storage.clips import keyframes_of, load_clip
from storage.custody import list_events
from storage.exports import (
    BuiltBag,
    ExportRequest,
    cases_in_scope,
    clips_in_scope,
    create_export,
    fail_export,
    finish_export,
    incidents_in_scope,
    load_export,
    record_exported,
    record_progress,
    seen_scope,
    sources_scope,
    start_export,
)
from storage.history import list_entries
from storage.models import Case, Clip, Export, Incident
from storage.sources import Hidden
from storage.vocabulary import ExportStatus
from verity.errors import BlobNotFound, ExportFailed, VerityError

log = logging.getLogger("verity.export")

VERIFY_SCRIPT = Path(__file__).with_name("export_verify.py")
PROGRESS_EVERY_S = 1.0
# Share of the progress the originals stand for; the records, report and manifests are the rest.
ORIGINALS_SHARE = 0.9


def verity_version() -> str:
    try:
        return metadata.version("verity")
    except metadata.PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True)
class Original:
    clip_id: str
    sha256: str
    size: int
    blob_key: str
    name: str  # in the bag


# A bag being written is written to all the time; one nobody has written to this long was left by
# a process that died mid-export (a local folder's temporary file; S3's unfinished multipart
# uploads are aborted by ingest/upload.py sweep_staging).
UNFINISHED_BAG_AFTER = timedelta(days=1)


def sweep_unfinished_bags(blobs: BlobStore, older_than: timedelta = UNFINISHED_BAG_AFTER) -> int:
    """Delete the half-written bags (a local folder's `exports/.<id>.zip.<random>.part`) nobody has
    written to for `older_than`; returns how many. A killed export is built again from the start."""
    unfinished = (key for key in blobs.keys("exports/") if key.rsplit("/", 1)[-1].startswith("."))
    deleted = delete_untouched(blobs, unfinished, older_than)
    if deleted:
        log.info("deleted %d half-written export bags left by processes that died", deleted)
    return deleted


def bag_key(export_id: str) -> str:
    return f"exports/{export_id}.zip"


def bag_root(export_id: str) -> str:
    return f"verity-export-{export_id}"


def request_export(archive: Archive, wanted: ExportRequest, actor: str) -> Export:
    """Record a queued export, committed before its job is handed over (so the job finds its row)."""
    with archive.sessions.begin() as session:
        export = create_export(session, wanted, actor)
    return export


def run_export(archive: Archive, _finder: NearDuplicateFinder, export_id: str) -> str:
    """The job: build the export's bag, mark it ready, and return its status. Raises when it fails
    (the runner's guard records why: `record_failure`)."""
    if not start_export(archive.sessions, export_id):
        with archive.reads() as session:
            return load_export(session, export_id).status
    build_bag(archive, export_id)
    return ExportStatus.ready


def record_failure(archive: Archive, export_id: str, exc: Exception) -> None:
    """What the runner does when an export job raises: the export fails with the reason."""
    reason = exc.detail if isinstance(exc, VerityError) else f"internal error: {type(exc).__name__}: {exc}"
    log.warning("export %s failed: %s", export_id, reason)
    fail_export(archive.sessions, export_id, reason)


def _covers(session: Session, export: Export) -> tuple[str, str]:
    """A title for the report, and what the export covers in a line (bag-info's External-Description)."""
    if export.scope == "case":
        case = session.get(Case, export.scope_id)
        title = case.title if case else export.scope_id or ""
        return f"Evidence export: {title}", f"case {export.scope_id} ({title})"
    if export.scope == "incident":
        incident = session.get(Incident, export.scope_id)
        title = incident.title if incident else export.scope_id or ""
        return f"Evidence export: {title}", f"incident {export.scope_id} ({title})"
    count = len(json.loads(export.clip_ids))
    return "Evidence export: selected clips", f"{count} clips named by id"


def build_bag(archive: Archive, export_id: str) -> None:
    """Write the export's bag into the store and mark the export ready (module docstring: the order)."""
    with archive.reads() as session:
        export = load_export(session, export_id)
        clip_ids = clips_in_scope(session, export)
        originals = [_original(load_clip(session, clip_id)) for clip_id in clip_ids]
        session.expunge(export)
    # The originals, and room for everything else (keyframes, records): S3 sizes its parts by it.
    size_hint = sum(original.size for original in originals) * 11 // 10 + len(originals) * 16 * 1024**2 + 1024**3
    writer = BagWriter(archive.blobs, bag_key(export_id), bag_root(export_id), size_hint)
    try:
        writer.add_bytes("bagit.txt", BAGIT_TXT)
        if export.include_originals:
            _write_originals(archive, writer, export_id, originals)
        with archive.sessions.begin() as session:
            record_exported(session, clip_ids, export, export.requested_by)
        record_progress(archive.sessions, export_id, "records", writer.bytes_written, ORIGINALS_SHARE)
        exported_at = datetime.now(UTC)
        with archive.reads() as session:
            written = _write_records(archive, session, writer, export, originals)
            title, covers = _covers(session, export)
        export_proofs.anchor_bag_heads(archive, written.heads)
        with archive.reads() as session:
            tokens = export_proofs.timestamp_files(session, clip_ids, written.heads)
        index = written.index
        for token in tokens:
            _write_token(writer, "data/timestamps", token)
        index.update(
            export_id=export.id,
            scope=export.scope,
            scope_id=export.scope_id,
            exported_by=export.requested_by,
            exported_at=exported_at.isoformat().replace("+00:00", "Z"),
            sources="included" if export.sources is not None else "left out",
            verity_version=verity_version(),
            chain_hash=(
                "hash = sha256(bytes.fromhex(prev_hash) + UTF-8 canonical JSON (sorted keys, no spaces, non-ASCII "
                "as is) of the line without prev_hash and hash); the first link's prev_hash is 64 zeros"
            ),
        )
        writer.add_bytes("data/export.json", as_json_bytes(index))
        about = {
            "export_id": export.id,
            "title": title,
            "exported_by": export.requested_by,
            "exported_at": index["exported_at"],
            "covers": covers,
            "clip_count": len(clip_ids),
            "verity_version": verity_version(),
        }
        writer.add("REPORT.html", render_report(about, written.cases, written.incidents, written.summaries))
        writer.add_bytes("verify.py", VERIFY_SCRIPT.read_bytes(), executable=True)
        manifest = writer.payload_manifest()
        stamp = export_proofs.stamp_manifest(archive, _sha256(manifest))
        if stamp is not None:
            _write_token(writer, "timestamps", stamp)
        bag_info = {
            "Source-Organization": "Verity evidence archive",
            "Contact-Name": export.requested_by,
            "Bagging-Date": exported_at.date().isoformat(),
            "Bagging-Time": index["exported_at"],
            "External-Identifier": export.id,
            "External-Description": f"Evidence export of {covers}",
            "Bag-Software-Agent": f"Verity {verity_version()}",
            "Verity-Version": verity_version(),
            "Verity-Export-Scope": f"{export.scope} {export.scope_id or ''}".strip(),
        }
        stored = writer.finish(bag_info, manifest)
    except BaseException as exc:
        writer.abort(exc)
        raise
    bag = BuiltBag(stored.key, stored.size, stored.sha256, stored.manifest_sha256)
    finish_export(archive.sessions, export_id, bag, clip_ids)
    log.info("export %s ready: %d clips, %d bytes", export_id, len(clip_ids), stored.size)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _original(clip: Clip) -> Original:
    return Original(clip.id, clip.sha256, clip.size_bytes, clip.blob_key, original_name(clip))


def _write_originals(archive: Archive, writer: BagWriter, export_id: str, originals: list[Original]) -> None:
    total = sum(original.size for original in originals) or 1

    def report(done: int) -> None:
        record_progress(archive.sessions, export_id, "originals", writer.bytes_written, ORIGINALS_SHARE * done / total)

    advance = throttled(PROGRESS_EVERY_S, report)
    for original in originals:
        try:
            chunks = archive.blobs.open(original.blob_key)
            written = writer.add(original.name, chunks, size=original.size, progress=advance)
        except BlobNotFound:
            export_proofs.record_fixity_failure(archive, original.clip_id, {"missing": True})
            raise ExportFailed(
                f"the original of clip {original.clip_id} ({original.blob_key}) is missing from the object store"
            ) from None
        if written.sha256 != original.sha256 or written.size != original.size:
            found = {"sha256": written.sha256, "size_bytes": written.size}
            archived = {"sha256": original.sha256, "size_bytes": original.size}
            export_proofs.record_fixity_failure(archive, original.clip_id, {"found": found, "archived": archived})
            raise ExportFailed(
                f"the stored original of clip {original.clip_id} is not the one archived: sha256 {written.sha256}, "
                f"{written.size} bytes, where {original.sha256}, {original.size} bytes were archived; nothing was "
                "exported (the object store holds altered bytes: a fixity failure)"
            )


def _write_token(writer: BagWriter, folder: str, token: export_proofs.TimestampFile) -> None:
    certs = f"{token.name}.pem"
    writer.add_bytes(f"{folder}/{token.name}.tsr", token.token)
    writer.add_bytes(f"{folder}/{certs}", token.tsa_certs_pem)
    writer.add_bytes(f"{folder}/{token.name}.json", as_json_bytes({**token.description, "tsa_certs": certs}))


@dataclass
class WrittenRecords:
    """What writing the records leaves for the rest of the bag: data/export.json's lists, the
    chains' heads (for the anchors' proofs), and the report's material."""

    index: dict[str, Any]
    heads: list[export_proofs.ChainHead]
    summaries: list[ClipSummary]
    incidents: list[dict[str, Any]]
    cases: list[dict[str, Any]]


def _write_records(
    archive: Archive, session: Session, writer: BagWriter, export: Export, originals: list[Original]
) -> WrittenRecords:
    """Every record file of the bag: data/clips, custody, incidents, cases, history, keyframes, probe."""
    exported = {original.clip_id for original in originals}
    seen = seen_scope(export)  # what the exporter could see: the bag names nothing beyond it
    clips_index: list[dict[str, Any]] = []
    summaries: list[ClipSummary] = []
    heads: list[export_proofs.ChainHead] = []
    for original in originals:
        clip = load_clip(session, original.clip_id)
        events = list_events(session, clip.id)
        hidden = Hidden(sources_scope(export), clip.acquisitions, seen).outside(session, events)
        custody_file = f"data/custody/{clip.id}.jsonl"
        writer.add(custody_file, chain_lines(events, CUSTODY_NAMES, hidden))
        if events:
            heads.append(export_proofs.ChainHead("custody", clip.id, len(events), events[-1].hash))
        paths: dict[str, Any] = {
            "original": original.name if export.include_originals else None,
            "custody": custody_file,
        }
        if export.include_keyframes:
            paths["keyframes"] = []
            for keyframe in keyframes_of(session, clip.id):
                name = f"data/keyframes/{clip.id}/{keyframe.index:04d}.jpg"
                writer.add(name, archive.blobs.open(keyframe.blob_key), size=keyframe.size_bytes)
                paths["keyframes"].append({"file": name, "index": keyframe.index, "time_s": keyframe.time_s})
        if export.include_probe and clip.probe_raw is not None:
            paths["probe"] = f"data/probe/{clip.id}.json"
            writer.add_bytes(paths["probe"], clip.probe_raw.encode())
        extras = export_proofs.ClipExtras(
            content_credentials=export_proofs.content_credentials_of(session, clip.id),
            fixity_history=export_proofs.fixity_history_of(session, clip.id),
            timestamp=export_proofs.timestamp_of(session, clip.id),
        )
        record = clip_record(session, clip, events, paths, exported, extras, hidden, seen)
        metadata_file = f"data/clips/{clip.id}.json"
        writer.add_bytes(metadata_file, as_json_bytes(record))
        clips_index.append(
            {
                "clip_id": clip.id,
                "sha256": clip.sha256,
                "size_bytes": clip.size_bytes,
                "original": paths["original"],
                "metadata": metadata_file,
                "custody": custody_file,
            }
        )
        thumbnail = first_keyframe(session, clip.id)
        summaries.append(
            ClipSummary(
                record=record,
                thumbnail=b"".join(archive.blobs.open(thumbnail.blob_key)) if thumbnail else None,
                first_event=_event_summary(events[0]) if events else None,
                last_event=_event_summary(events[-1]) if events else None,
                actions=dict(Counter(event.action for event in events)),
            )
        )
    incidents_index: list[dict[str, Any]] = []
    incident_records: list[dict[str, Any]] = []
    for incident_id in incidents_in_scope(session, export, [o.clip_id for o in originals]):
        incident = session.get(Incident, incident_id)
        history_file = f"data/history/incident-{incident_id}.jsonl"
        entries = list_entries(session, "incident", incident_id)
        writer.add(history_file, chain_lines(entries, HISTORY_NAMES))
        if entries:
            heads.append(export_proofs.ChainHead("incident", incident_id, len(entries), entries[-1].hash))
        record_file = f"data/incidents/{incident_id}.json"
        if incident is not None:
            record = incident_record(session, incident, history_file, seen)
            writer.add_bytes(record_file, as_json_bytes(record))
            incident_records.append(record)
        incidents_index.append({"id": incident_id, "record": record_file, "history": history_file})
    cases_index: list[dict[str, Any]] = []
    case_records: list[dict[str, Any]] = []
    for case_id in cases_in_scope(session, export):
        case = session.get_one(Case, case_id)
        history_file = f"data/history/case-{case_id}.jsonl"
        entries = list_entries(session, "case", case_id)
        writer.add(history_file, chain_lines(entries, HISTORY_NAMES))
        if entries:
            heads.append(export_proofs.ChainHead("case", case_id, len(entries), entries[-1].hash))
        record_file = f"data/cases/{case_id}.json"
        case_json = case_record(case, history_file)
        writer.add_bytes(record_file, as_json_bytes(case_json))
        case_records.append(case_json)
        cases_index.append({"id": case_id, "record": record_file, "history": history_file})
    index = {"clips": clips_index, "incidents": incidents_index, "cases": cases_index}
    return WrittenRecords(index, heads, summaries, incident_records, case_records)


def _event_summary(event: Any) -> dict[str, Any]:
    return {"action": event.action, "occurred_at": event.occurred_at.isoformat().replace("+00:00", "Z")}
