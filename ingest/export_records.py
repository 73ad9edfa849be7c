"""What an evidence export says about each record, as plain JSON: a clip with its acquisitions,
review history, incident links and near-duplicates (and the places the other parts fill:
ingest/export_proofs.py), an incident with its links, a case, and every hash chain as JSON Lines
whose each line is exactly what its link's hash covers (storage/chain.py) plus `prev_hash` and
`hash`, so a checker can recompute it."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import PurePosixPath
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest.export_proofs import ClipExtras
from ingest.near_duplicates import relations_of
from storage.access import Scope, incident_visible, visible_clip_ids
from storage.acquisitions import current_values
from storage.chain import LINK_FIELDS, canonical_json, timestamp, verify_links
from storage.evidence import links_of, verification_history
from storage.history import plain, snapshot
from storage.models import Case, Clip, ClipLink, CustodyEvent, HistoryEntry, Incident, Keyframe
from storage.sources import REDACTED, Hidden

CUSTODY_NAMES = ("clip_id",)
HISTORY_NAMES = ("entity_kind", "entity_id")


def original_name(clip: Clip) -> str:
    """data/originals/<sha256><.ext>: the original's extension as it was handed in, when it is a
    plain one (letters and digits, up to 10), lower case; none otherwise."""
    suffix = PurePosixPath(clip.filename.replace("\\", "/")).suffix.lower()
    plain_suffix = suffix if 1 < len(suffix) <= 11 and suffix[1:].isascii() and suffix[1:].isalnum() else ""
    return f"data/originals/{clip.sha256}{plain_suffix}"


def chain_lines(
    links: Sequence[CustodyEvent] | Sequence[HistoryEntry], names: tuple[str, ...], hidden: Hidden | None = None
) -> Iterator[bytes]:
    """A chain as JSON Lines: per link the fields its hash covers, as hashed (time as the hash has it,
    details as the canonical JSON string stored), plus prev_hash and hash, in canonical JSON. A
    custody event that names a source the export leaves out (`hidden`) has it "redacted" and says
    so in `left_out`: its hash can then not be recomputed, only followed (verify.py)."""
    for link in links:
        body: dict[str, Any] = {name: getattr(link, name) for name in (*names, *LINK_FIELDS)}
        body["occurred_at"] = timestamp(link.occurred_at)
        extra: dict[str, Any] = {}
        if hidden is not None and hidden.anything:
            body, left_out = _left_out(body, hidden)
            extra = {"left_out": left_out} if left_out else {}
        yield (canonical_json({**body, **extra, "prev_hash": link.prev_hash, "hash": link.hash}) + "\n").encode()


def _left_out(body: dict[str, Any], hidden: Hidden) -> tuple[dict[str, Any], list[str]]:
    try:
        details = json.loads(body["details"])
    except ValueError:
        details = None
    if not isinstance(details, dict):  # altered into something unreadable: whose it is, nothing says
        return {**body, "details": REDACTED}, ["details"]
    actor, shown, left_out = hidden.event(body["action"], body["actor"], details)
    if not left_out:
        return body, []
    return {**body, "actor": actor, "details": canonical_json(shown)}, left_out


def _time(value: Any) -> Any:
    return plain(value)


def clip_fields(clip: Clip, hidden: Hidden) -> dict[str, Any]:
    parsed = {name: json.loads(getattr(clip, name) or "null") for name in ("media", "integrity")}
    columns = (
        "id",
        "sha256",
        "size_bytes",
        "filename",
        "content_type",
        "status",
        "status_reason",
        "created_at",
        "uploaded_by",
        "verification_status",
        "recorded_at",
        "lat",
        "lon",
        "device_make",
        "device_model",
    )
    fields = {**{name: _time(getattr(clip, name)) for name in columns}, **parsed}
    return {**fields, "filename": hidden.filename(clip.filename), "uploaded_by": hidden.uploaded_by(clip.uploaded_by)}


def acquisition_records(clip: Clip, hidden: Hidden) -> list[dict[str, Any]]:
    records = []
    for acquisition in clip.acquisitions:
        first = {name: _time(getattr(acquisition, name)) for name in ("source", "source_url", "captured_at", "note")}
        records.append(
            {
                "id": acquisition.id,
                "received_at": _time(acquisition.received_at),
                "received_by": acquisition.received_by,
                "filename": acquisition.filename,
                **{name: _time(value) for name, value in current_values(acquisition).items()},
                "as_first_recorded": first,
                "corrections": [
                    {
                        "field": c.field,
                        "old_value": c.old_value,
                        "new_value": c.new_value,
                        "why": c.why,
                        "corrected_by": c.corrected_by,
                        "corrected_at": _time(c.corrected_at),
                    }
                    for c in acquisition.corrections
                ],
            }
        )
    return [hidden.acquisition(record) for record in records]


def link_record(link: ClipLink, incident_title: str | None) -> dict[str, Any]:
    return {
        "link_id": link.id,
        "incident_id": link.incident_id,
        "incident_title": incident_title,
        "clip_id": link.clip_id,
        "start_s": link.start_s,
        "end_s": link.end_s,
        "note": link.note,
        "linked_by": link.linked_by,
        "linked_at": _time(link.linked_at),
        "unlinked_by": link.unlinked_by,
        "unlinked_at": _time(link.unlinked_at),
        "version": link.version,
    }


def clip_record(
    session: Session,
    clip: Clip,
    events: Sequence[CustodyEvent],
    paths: dict[str, Any],
    exported: set[str],
    extras: ClipExtras,
    hidden: Hidden,
    seen: Scope,
) -> dict[str, Any]:
    """The clip's JSON in the bag. `paths` names its files in the bag (original, custody, keyframes,
    probe); `exported` is every clip the bag holds, so a near-duplicate says whether it is in it.
    Links and copies are those the exporter could see (`seen`): a bag names nothing beyond it."""
    query = select(ClipLink).where(ClipLink.clip_id == clip.id, incident_visible(seen, ClipLink.incident_id))
    links = list(session.scalars(query.order_by(ClipLink.id)))
    titles = {
        incident.id: incident.title
        for incident in session.scalars(select(Incident).where(Incident.id.in_({link.incident_id for link in links})))
    }
    check = verify_links(events, CUSTODY_NAMES)
    copies = []
    matches = relations_of(session, clip.id)
    seen_copies = visible_clip_ids(session, seen, [match.clip_id for match in matches])
    for match in (match for match in matches if match.clip_id in seen_copies):
        other = session.get(Clip, match.clip_id)
        copies.append(
            {
                "clip_id": match.clip_id,
                "sha256": other.sha256 if other else None,
                "in_this_export": match.clip_id in exported,
                "score": match.score,
                "matched_seconds": match.matched_seconds,
                "mirrored": match.mirrored,
                "signals": list(match.signals),
                "segments": [asdict(segment) for segment in match.segments],
            }
        )
    return {
        "clip": clip_fields(clip, hidden),
        "files": paths,
        "acquisitions": acquisition_records(clip, hidden),
        "verification_history": [
            {
                "from": change.from_status,
                "to": change.to_status,
                "rationale": change.rationale,
                "reviewer": change.reviewer,
                "changed_at": _time(change.changed_at),
            }
            for change in verification_history(session, clip.id)
        ],
        "incident_links": [link_record(link, titles.get(link.incident_id)) for link in links],
        "near_duplicates": copies,
        "custody": {
            "file": paths["custody"],
            "length": len(events),
            "head_hash": events[-1].hash if events else None,
            "verified_in_verity": check.verified,
            "first_bad_seq": check.first_bad_seq,
        },
        "content_credentials": extras.content_credentials,
        "fixity_history": extras.fixity_history,
        "timestamp": extras.timestamp,
    }


def incident_record(session: Session, incident: Incident, history_file: str, seen: Scope) -> dict[str, Any]:
    """An incident as the bag keeps it: every column, and all its links (removed ones too, of clips
    the exporter could see) with segments."""
    links = links_of(session, incident.id, include_removed=True, scope=seen)
    return {
        "incident": snapshot(incident),
        "links": [link_record(link, incident.title) for link in links],
        "history": history_file,
    }


def case_record(case: Case, history_file: str) -> dict[str, Any]:
    return {"case": snapshot(case), "history": history_file}


def first_keyframe(session: Session, clip_id: str) -> Keyframe | None:
    query = select(Keyframe).where(Keyframe.clip_id == clip_id).order_by(Keyframe.index).limit(1)
    return session.scalar(query)


def as_json_bytes(value: Any) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode()
