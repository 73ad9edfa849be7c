"""Incidents, the clip segments linked to them, and clips' verification status (cases are in
storage/cases.py). Every link, unlink and status change is also a custody event on the clip;
every change to an incident is also an entry in its history (storage/history.py), in the same
transaction."""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from storage.access import EVERYTHING, Scope, clip_visible, incident_visible, visible_clip_ids
from storage.custody import append_event
from storage.history import changed_fields, record_entry, snapshot
from storage.models import CaseIncident, Clip, ClipLink, Incident, VerificationChange, utcnow
from storage.vocabulary import TIME_PRECISIONS, VERIFICATION_STEPS
from verity.errors import ClipNotFound, Conflict, InvalidInput, NotFound, PreconditionRequired, StaleWrite
from verity.times import to_utc


@dataclass(frozen=True)
class IncidentFields:
    title: str
    description: str
    starts_at: datetime
    ends_at: datetime | None
    time_precision: str
    place_name: str | None
    lat: float | None
    lon: float | None
    radius_m: float | None
    tags: list[str]


# The versions a change names as the one it read; None when it names none.
NamedVersions = Collection[int] | None


def check_version(current: int, expected: NamedVersions, what: str = "incident") -> None:
    """Optimistic concurrency: the caller must name the version it read (`expected`: the versions
    it named, None when it named none), and it must still be the current one."""
    if expected is None:
        raise PreconditionRequired("send If-Match with the ETag you read, so no one's change is overwritten")
    if current not in expected:
        sent = ", ".join(str(version) for version in expected) or "no version"
        raise StaleWrite(
            f'the {what} changed since you read it (you sent {sent}, it is now "{current}"); read it again'
        )


# What a start time with this precision leaves open after it, when no end is given.
PRECISION_SPAN = {
    "exact": timedelta(0),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "approximate": timedelta(days=1),
}


def covers_until(fields: IncidentFields) -> datetime:
    """The end of the time an incident covers, for time filters: its end, or its start plus what
    its precision leaves open (14:00 to the hour covers 14:00–15:00)."""
    if fields.ends_at is not None:
        return fields.ends_at
    try:
        return fields.starts_at + PRECISION_SPAN[fields.time_precision]
    except OverflowError:
        return fields.starts_at


def flush_change(session: Session, what: str) -> None:
    """Send the change now: an incident, case or link changed by someone else since it was read
    (its version moved on under us) is a stale write, not a silent overwrite."""
    try:
        session.flush()
    except StaleDataError:
        session.rollback()
        raise StaleWrite(f"the {what} changed while you were changing it; read it again") from None


def _checked(fields: IncidentFields) -> IncidentFields:
    """The fields as stored: refused where they make no incident, times in UTC (as they are
    stored and answered), tags trimmed, sorted and without repeats."""
    for name in ("title", "description", "starts_at", "time_precision", "tags"):
        if getattr(fields, name) is None:
            raise InvalidInput(f"{name} cannot be null")
    if any(not tag.strip() for tag in fields.tags):
        raise InvalidInput("a tag cannot be blank")
    fields = replace(
        fields,
        starts_at=to_utc(fields.starts_at, "starts_at"),
        ends_at=to_utc(fields.ends_at, "ends_at") if fields.ends_at else None,
        tags=sorted({tag.strip() for tag in fields.tags}),
    )
    if fields.time_precision not in TIME_PRECISIONS:
        raise InvalidInput(f"time_precision must be one of {', '.join(TIME_PRECISIONS)}")
    if fields.ends_at is not None and fields.ends_at < fields.starts_at:
        raise InvalidInput("ends_at is before starts_at")
    if (fields.lat is None) != (fields.lon is None):
        raise InvalidInput("give both lat and lon, or neither")
    return fields


def create_incident(session: Session, fields: IncidentFields, actor: str) -> Incident:
    fields = _checked(fields)
    incident = Incident(
        **{**vars(fields), "tags": json.dumps(fields.tags)}, covers_until=covers_until(fields), created_by=actor
    )
    session.add(incident)
    session.flush()
    record_entry(session, "incident", incident.id, "created", actor, {"record": snapshot(incident)})
    return incident


# Row locks (PostgreSQL; SQLite takes one writer at a time anyway): "update" holds the incident
# against any change until the transaction ends, "share" only against its deletion.
INCIDENT_LOCKS: dict[str, Any] = {"update": True, "share": {"read": True, "key_share": True}}


def load_incident(session: Session, incident_id: str, *, lock: str | None = None) -> Incident:
    locking = INCIDENT_LOCKS[lock] if lock else None
    incident = session.get(Incident, incident_id, with_for_update=locking, populate_existing=lock is not None)
    if incident is None:
        raise NotFound(f"no incident with id {incident_id}")
    return incident


def update_incident(
    session: Session, incident_id: str, changes: dict[str, Any], expected: NamedVersions, actor: str
) -> Incident:
    """Apply `changes`; one that changes nothing leaves the incident, its version and its history
    as they are."""
    incident = load_incident(session, incident_id)
    check_version(incident.version, expected)
    current = IncidentFields(
        incident.title,
        incident.description,
        incident.starts_at,
        incident.ends_at,
        incident.time_precision,
        incident.place_name,
        incident.lat,
        incident.lon,
        incident.radius_m,
        json.loads(incident.tags),
    )
    merged = IncidentFields(**{**vars(current), **changes})
    merged = _checked(merged)
    if merged == current:
        return incident
    for name, value in vars(merged).items():
        setattr(incident, name, json.dumps(value) if name == "tags" else value)
    incident.covers_until = covers_until(merged)
    incident.updated_at = utcnow()
    flush_change(session, "incident")
    details = {"version": incident.version, **changed_fields(vars(current), vars(merged))}
    record_entry(session, "incident", incident_id, "updated", actor, details)
    return incident


def delete_incident(session: Session, incident_id: str, expected: NamedVersions, actor: str) -> None:
    """Delete an incident nothing refers to; its history keeps the whole record as it was. Locked
    first, so a link or a case taking it in meanwhile waits, and is then told it is gone."""
    incident = load_incident(session, incident_id, lock="update")
    check_version(incident.version, expected)
    if active_links(session, incident_id=incident_id):
        raise Conflict("the incident has linked clips; unlink them first")
    if session.scalar(select(func.count()).where(ClipLink.incident_id == incident_id)):
        raise Conflict("the incident has link history that the custody log refers to; it cannot be deleted")
    if session.scalar(select(func.count()).where(CaseIncident.incident_id == incident_id)):
        raise Conflict("the incident belongs to a case; remove it from the case first")
    record = snapshot(incident)
    session.delete(incident)
    flush_change(session, "incident")
    record_entry(session, "incident", incident_id, "deleted", actor, {"record": record})


def active_links(session: Session, *, incident_id: str | None = None, clip_id: str | None = None) -> list[ClipLink]:
    query = select(ClipLink).where(ClipLink.unlinked_at.is_(None)).order_by(ClipLink.id)
    if incident_id:
        query = query.where(ClipLink.incident_id == incident_id)
    if clip_id:
        query = query.where(ClipLink.clip_id == clip_id)
    return list(session.scalars(query))


def links_of(session: Session, incident_id: str, *, include_removed: bool, scope: Scope = EVERYTHING) -> list[ClipLink]:
    """An incident's links in the order they were made; removed ones too if asked, those of clips
    `scope` may see: a live link's clip is seen by whoever sees the incident, but a removed one's
    may since have left the caller's cases, and its id is then not theirs to learn."""
    query = select(ClipLink).where(ClipLink.incident_id == incident_id, clip_visible(scope, ClipLink.clip_id))
    if not include_removed:
        query = query.where(ClipLink.unlinked_at.is_(None))
    return list(session.scalars(query.order_by(ClipLink.id)))


def incident_links_of_clip(session: Session, clip_id: str, scope: Scope) -> list[ClipLink]:
    """A clip's live links to the incidents `scope` may see (a clip in two cases is linked to
    incidents of both; a member of one learns nothing of the other's)."""
    query = select(ClipLink).where(
        ClipLink.clip_id == clip_id,
        ClipLink.unlinked_at.is_(None),
        incident_visible(scope, ClipLink.incident_id),
    )
    return list(session.scalars(query.order_by(ClipLink.id)))


def _check_segment(clip: Clip, start_s: float | None, end_s: float | None) -> None:
    """A segment lies within the clip and is not empty; a missing start is the clip's start, a
    missing end its end. Only the whole clip can be linked until its duration is known."""
    duration = clip.duration_s
    start = 0.0 if start_s is None else start_s
    if duration is None and not (start == 0 and end_s is None):
        if clip.status in ("queued", "processing"):
            why = "the clip has not been probed yet; link the segment once it is"
        else:
            why = f"the clip is {clip.status}: {clip.status_reason or 'no duration found'}"
        raise Conflict(
            f"a segment needs the clip's duration, which is not known ({why}); "
            "the whole clip can be linked (no start_s or end_s)"
        )
    if start < 0 or (duration is not None and start > duration + 0.01):
        raise InvalidInput(f"start_s {start_s} is outside the clip (0 to {duration} s)")
    if end_s is not None and (end_s < 0 or (duration is not None and end_s > duration + 0.01)):
        raise InvalidInput(f"end_s {end_s} is outside the clip (0 to {duration} s)")
    if end_s is None and duration is not None and start >= duration:
        raise InvalidInput(
            f"start_s {start_s} is at or after the clip's end ({duration} s): the segment would be empty"
        )
    if end_s is not None and end_s <= start:
        raise InvalidInput(f"end_s must be after start_s ({start} s): the segment would be empty")


def _refuse_same_segment(
    session: Session, incident_id: str, clip: Clip, start_s: float | None, end_s: float | None, other_than: int = 0
) -> None:
    """A live link of the same stretch of the clip to the same incident is a twin: a missing start
    is the clip's start and a missing end its end, so "whole clip" and 0–duration are one."""

    def stretch(start: float | None, end: float | None) -> tuple[float, float | None]:
        return (start or 0.0, clip.duration_s if end is None else end)

    wanted = stretch(start_s, end_s)
    for link in active_links(session, incident_id=incident_id, clip_id=clip.id):
        if link.id != other_than and stretch(link.start_s, link.end_s) == wanted:
            raise Conflict(f"this segment of the clip is already linked to the incident as link {link.id}")


def link_clip(
    session: Session,
    incident_id: str,
    clip_id: str,
    start_s: float | None,
    end_s: float | None,
    note: str | None,
    actor: str,
) -> ClipLink:
    load_incident(session, incident_id, lock="share")  # not deleted under the new link
    # Locked (as the custody log locks it), so two identical links sent at once are seen as twins.
    clip = session.get(Clip, clip_id, with_for_update={"key_share": True}, populate_existing=True)
    if clip is None:
        raise ClipNotFound(f"no clip with id {clip_id}")
    _check_segment(clip, start_s, end_s)
    _refuse_same_segment(session, incident_id, clip, start_s, end_s)
    link = ClipLink(incident_id=incident_id, clip_id=clip_id, start_s=start_s, end_s=end_s, note=note, linked_by=actor)
    session.add(link)
    session.flush()
    append_event(
        session,
        clip_id,
        "linked",
        actor,
        {"link_id": link.id, "incident_id": incident_id, "start_s": start_s, "end_s": end_s, "note": note},
    )
    return link


def load_link(session: Session, incident_id: str, link_id: int, scope: Scope = EVERYTHING) -> ClipLink:
    """The link, if it is the incident's and its clip is one `scope` may see (as for `links_of`:
    a removed link's clip may lie outside the caller's cases)."""
    link = session.get(ClipLink, link_id)
    if (
        link is None
        or link.incident_id != incident_id
        or link.clip_id not in visible_clip_ids(session, scope, [link.clip_id])
    ):
        raise NotFound(f"incident {incident_id} has no link {link_id}")
    return link


def _live_link(session: Session, incident_id: str, link_id: int, expected: NamedVersions, scope: Scope) -> ClipLink:
    link = load_link(session, incident_id, link_id, scope)
    if link.unlinked_at is not None:
        raise Conflict(f"link {link_id} was removed; link the clip again instead")
    check_version(link.version, expected, "link")
    return link


def update_link(
    session: Session,
    incident_id: str,
    link_id: int,
    changes: dict[str, Any],
    expected: NamedVersions,
    actor: str,
    scope: Scope = EVERYTHING,
) -> ClipLink:
    """Change a link's segment or note; the custody event keeps what it was before. A change that
    changes nothing leaves the link, its version and the custody log as they are."""
    link = _live_link(session, incident_id, link_id, expected, scope)
    before = {"start_s": link.start_s, "end_s": link.end_s, "note": link.note}
    after = {**before, **{name: changes[name] for name in before if name in changes}}
    if after == before:
        return link
    clip = session.get_one(Clip, link.clip_id, with_for_update={"key_share": True}, populate_existing=True)
    _check_segment(clip, after["start_s"], after["end_s"])
    _refuse_same_segment(session, incident_id, clip, after["start_s"], after["end_s"], other_than=link.id)
    link.start_s, link.end_s, link.note = after["start_s"], after["end_s"], after["note"]
    flush_change(session, "link")
    append_event(
        session,
        link.clip_id,
        "link_changed",
        actor,
        {"link_id": link.id, "incident_id": incident_id, "before": before, "after": after},
    )
    return link


def unlink_clip(
    session: Session, incident_id: str, link_id: int, expected: NamedVersions, actor: str, scope: Scope = EVERYTHING
) -> ClipLink:
    """Remove the link (the row stays, marked removed); a link of a clip `scope` may not see, as
    a removed one's may be, is no link of the incident to it."""
    link = _live_link(session, incident_id, link_id, expected, scope)
    link.unlinked_at, link.unlinked_by = utcnow(), actor
    flush_change(session, "link")
    append_event(session, link.clip_id, "unlinked", actor, {"link_id": link.id, "incident_id": incident_id})
    return link


def change_verification(
    session: Session, clip_id: str, status: str, rationale: str, reviewer: str
) -> VerificationChange:
    clip = session.get(Clip, clip_id)
    if clip is None:
        raise ClipNotFound(f"no clip with id {clip_id}")
    if status not in VERIFICATION_STEPS:
        raise InvalidInput(f"status must be one of {', '.join(VERIFICATION_STEPS)}")
    if not rationale.strip():
        raise InvalidInput("a rationale is required")
    allowed = VERIFICATION_STEPS[clip.verification_status]
    if status not in allowed:
        raise Conflict(
            f"a clip that is {clip.verification_status} can go to {', '.join(sorted(allowed))}, not {status}"
        )
    change = VerificationChange(
        clip_id=clip_id, from_status=clip.verification_status, to_status=status, rationale=rationale, reviewer=reviewer
    )
    clip.verification_status = status
    session.add(change)
    session.flush()
    append_event(
        session,
        clip_id,
        "verification_changed",
        reviewer,
        {"from": change.from_status, "to": status, "rationale": rationale},
    )
    return change


def verification_history(session: Session, clip_id: str) -> list[VerificationChange]:
    query = select(VerificationChange).where(VerificationChange.clip_id == clip_id).order_by(VerificationChange.id)
    return list(session.scalars(query))
