"""Answers about a clip's copies, for the API and the workbench alike: the near-duplicates found
(as a caller may see them, with the analysts' decisions on each pair) and the family of confirmed
copies."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.orm import Session

from api.schemas import FamilyMemberOut, FamilyOut, NearDuplicateOut, RelatedOut, SegmentOut
from api.sources import hidden_of
from ingest.match import Match, Segment
from ingest.near_duplicates import relations_of
from storage.access import Scope, on_clip, visible_clip_ids
from storage.clips import load_clip
from storage.keys import Role
from storage.matches import decisions_of, family_of
from storage.models import Clip, MatchDecision


def describe_matches(
    session: Session,
    matches: list[Match],
    scope: Scope,
    query_duration_s: float | None = None,
    decisions: Mapping[str, MatchDecision] | None = None,
) -> list[NearDuplicateOut]:
    """The matches as answered; segments end where the matched clip (and the query, when its
    duration is known) ends, so each can be linked as it stands. A clip's filename is shown as
    `scope` may see it (api/sources.py); `decisions` (by clip id) are the analysts' on each pair."""
    decisions = decisions or {}
    described = []
    for found in matches:
        clip = session.get(Clip, found.clip_id)
        if clip is None:
            continue
        segments = [_within(s, clip.duration_s, query_duration_s) for s in found.segments]
        decided = decisions.get(clip.id)
        described.append(
            NearDuplicateOut(
                clip_id=clip.id,
                filename=hidden_of(clip, scope).filename(clip.filename),
                score=found.score,
                matched_seconds=round(sum(s.duration_s for s in segments), 3),
                mirrored=found.mirrored,
                signals=list(found.signals),
                segments=segments,
                first_seen_at=clip.created_at,
                verification_status=clip.verification_status,
                decision=decided.decision if decided else None,
                decided_by=decided.decided_by if decided else None,
                decided_at=decided.decided_at if decided else None,
                note=decided.note if decided else None,
            )
        )
    return described


def _within(segment: Segment, clip_duration_s: float | None, query_duration_s: float | None) -> SegmentOut:
    """The matcher's segments end one sample step after their last matching sample, which may lie
    a little past the end of the file."""
    duration = segment.duration_s
    if clip_duration_s is not None:
        duration = min(duration, clip_duration_s - segment.clip_start_s)
    if query_duration_s is not None:
        duration = min(duration, query_duration_s - segment.query_start_s)
    return SegmentOut(
        query_start_s=segment.query_start_s, clip_start_s=segment.clip_start_s, duration_s=round(max(duration, 0), 3)
    )


def related_answer(session: Session, clip: Clip, scope: Scope) -> RelatedOut:
    """`clip`'s copies that `scope` may see, the rejected pairs apart."""
    relations = relations_of(session, clip.id, with_rejected=True)
    visible = visible_clip_ids(session, scope, [m.clip_id for m in relations])
    decisions = decisions_of(session, clip.id)
    shown = [m for m in relations if m.clip_id in visible]
    rejected = {other for other, row in decisions.items() if row.decision == "rejected"}
    copies = describe_matches(
        session, [m for m in shown if m.clip_id not in rejected], scope, clip.duration_s, decisions
    )
    refused = describe_matches(session, [m for m in shown if m.clip_id in rejected], scope, clip.duration_s, decisions)
    first = min([(clip.created_at, clip.id), *[(c.first_seen_at, c.clip_id) for c in copies]])
    return RelatedOut(clip_id=clip.id, first_seen_clip_id=first[1], related=copies, rejected=refused)


def first_seen_of(session: Session, clip_ids: list[str], scope: Scope) -> str | None:
    """Of these clips and their families of confirmed copies (as `scope` sees them), the one
    archived first; None for no clips."""
    members = {clip.id: clip for clip_id in clip_ids for clip in family_of(session, clip_id, scope)}
    if not members:
        return None
    return min(members.values(), key=lambda clip: (clip.created_at, clip.id)).id


def family_answer(session: Session, clip_id: str, scope: Scope) -> FamilyOut:
    """The clip and its confirmed copies that `scope` may see, first seen first."""
    clips = family_of(session, clip_id, scope)
    first = clips[0].id
    members = [
        FamilyMemberOut(
            clip_id=clip.id,
            filename=hidden_of(clip, scope).filename(clip.filename),
            first_seen_at=clip.created_at,
            first_seen=clip.id == first,
            verification_status=clip.verification_status,
        )
        for clip in clips
    ]
    return FamilyOut(clip_id=clip_id, first_seen_clip_id=first, clips=members)


def on_pair(session: Session, scope: Scope, clip_id: str, other_id: str, needed: Role) -> None:
    """Both clips as `on_clip` has them: a hidden one (either side) is an unknown id."""
    on_clip(session, scope, clip_id, needed)
    load_clip(session, clip_id)
    on_clip(session, scope, other_id, needed)
    load_clip(session, other_id)
