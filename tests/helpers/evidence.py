"""A clip with everything its custody chain vouches for (two acquisitions, a correction, a review,
a link to an incident and a change of its segment), written through storage and ingest as the
API writes it; and the tamperings someone with the database and the store could do to it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import text

from ingest.upload import Receipt, receive_original
from storage.acquisitions import correct_acquisition
from storage.archive import Archive
from storage.chain import canonical_json, link_hash, timestamp
from storage.custody import list_events
from storage.evidence import IncidentFields, change_verification, create_incident, link_clip, update_link
from storage.models import Clip
from tests.helpers.chains import tamper_table

SIZE = 300_000


@dataclass(frozen=True)
class EvidencedClip:
    clip_id: str
    blob_key: str
    data: bytes
    acquisition_id: int
    link_id: int
    incident_id: str


def archived_clip(archive: Archive, data: bytes | None = None, **receipt: object) -> tuple[str, bytes]:
    """A clip of `data` (random bytes by default) archived as an upload archives it: id and bytes."""
    data = data if data is not None else os.urandom(SIZE)
    fields = {"received_by": "field-team", "filename": "VID_0001.mp4", **receipt}
    result = receive_original(archive, iter([data[: len(data) // 2], data[len(data) // 2 :]]), Receipt(**fields))  # type: ignore[arg-type]
    return result.clip.id, data


def evidenced_clip(archive: Archive) -> EvidencedClip:
    captured = datetime(2019, 11, 16, 10, 35, tzinfo=UTC)
    clip_id, data = archived_clip(archive, source="witness A", captured_at=captured, note="rooftop")
    archived_clip(archive, data, received_by="second-team", filename="copy.mp4", source="Telegram")
    with archive.sessions.begin() as session:
        clip = session.get_one(Clip, clip_id)
        acquisition_id = clip.acquisitions[0].id
        correct_acquisition(
            session,
            clip_id,
            acquisition_id,
            "note",
            "roof of the bank",
            "misheard",
            "field-team",
            may_correct_others=False,
        )
        change_verification(session, clip_id, "in_review", "checking the skyline", "analyst-key")
        incident = create_incident(
            session,
            IncidentFields("Shooting", "", captured, None, "hour", None, None, None, None, []),
            "analyst-key",
        )
        # The clip is not analysed here: only the whole clip can be linked, then its note changed.
        link = link_clip(session, incident.id, clip_id, None, None, "shots", "analyst-key")
        update_link(session, incident.id, link.id, {"note": "shots at 0:07"}, [link.version], "analyst-key")
        return EvidencedClip(clip_id, clip.blob_key, data, acquisition_id, link.id, incident.id)


def edit(archive: Archive, statement: str, **params: object) -> None:
    """An UPDATE or DELETE on a table without a guard (clips, acquisitions, links …)."""
    with archive.engine.begin() as connection:
        connection.execute(text(statement), params)


def guarded_edit(archive: Archive, statement: str, table: str, **params: object) -> None:
    """An edit of an append-only table with its guard lifted (its triggers)."""
    tamper_table(archive.settings.resolved_database_url(), statement, table, params)


def rewrite_chain(archive: Archive, clip_id: str, seq: int, details: dict[str, object]) -> None:
    """Give event `seq` new details and recompute every hash from it on, as someone who knows the
    hashing would: the chain's own links then all verify."""
    with archive.sessions() as session:
        events = [
            {
                "seq": e.seq,
                "action": e.action,
                "actor": e.actor,
                "occurred_at": e.occurred_at,
                "details": e.details,
                "prev_hash": e.prev_hash,
            }
            for e in list_events(session, clip_id)
        ]
    events[seq]["details"] = canonical_json(details)
    prev_hash = events[seq]["prev_hash"]
    statements: list[dict[str, object]] = []
    for event in events[seq:]:
        body = {
            "clip_id": clip_id,
            "seq": event["seq"],
            "action": event["action"],
            "actor": event["actor"],
            "occurred_at": timestamp(event["occurred_at"]),  # type: ignore[arg-type]
            "details": event["details"],
        }
        new_hash = link_hash(prev_hash, body)  # type: ignore[arg-type]
        statements.append(
            {"details": event["details"], "prev": prev_hash, "hash": new_hash, "clip": clip_id, "seq": event["seq"]}
        )
        prev_hash = new_hash
    for params in statements:
        guarded_edit(
            archive,
            "UPDATE custody_events SET details = :details, prev_hash = :prev, hash = :hash "
            "WHERE clip_id = :clip AND seq = :seq",
            "custody_events",
            **params,
        )
