"""Decisions on suggested near-duplicates: an analyst confirms that two clips the matcher paired
(`ClipRelation`) are copies of one footage, or rejects the pair. A rejected pair is never
suggested again (the relation rows stay as the matcher found them, and re-analysis may write them
again; every reader leaves the pair out); confirmed pairs join clips into a family. One row per
unordered pair; each decision is a custody event on both clips (`MATCH_ACTIONS`), which the chain
check holds the row to (storage/vouched.py)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.orm import Session

from storage.access import IdColumn, Scope, visible_clip_ids
from storage.clips import load_clip
from storage.custody import append_event
from storage.models import Clip, ClipRelation, MatchDecision, utcnow
from storage.vocabulary import MATCH_DECISIONS
from verity.errors import InvalidInput, NotFound

# The custody event of each decision, on both clips of the pair.
MATCH_ACTIONS = {"confirmed": "match_confirmed", "rejected": "match_rejected"}


def ordered(clip_id: str, other_id: str) -> tuple[str, str]:
    """The pair as its row holds it: the lower id first."""
    return (clip_id, other_id) if clip_id < other_id else (other_id, clip_id)


def decision_between(session: Session, clip_id: str, other_id: str) -> MatchDecision | None:
    low, high = ordered(clip_id, other_id)
    return session.scalar(
        select(MatchDecision).where(MatchDecision.clip_id == low, MatchDecision.other_clip_id == high)
    )


def is_suggested(session: Session, clip_id: str, other_id: str) -> bool:
    """Whether the matcher paired the two clips, from either side."""
    pair = or_(
        and_(ClipRelation.clip_id == clip_id, ClipRelation.related_clip_id == other_id),
        and_(ClipRelation.clip_id == other_id, ClipRelation.related_clip_id == clip_id),
    )
    return bool(session.scalar(select(exists().where(pair))))


def decide_match(session: Session, clip_id: str, other_id: str, decision: str, note: str, actor: str) -> MatchDecision:
    """Confirm or reject a suggested pair, replacing any earlier decision on it; the same decision
    with the same note again changes nothing (no custody event). Only a pair the matcher suggested,
    or one decided before (a re-analysis may no longer pair them), can be decided."""
    if clip_id == other_id:
        raise InvalidInput("a clip cannot be matched with itself")
    if decision not in MATCH_DECISIONS:
        raise InvalidInput(f"decision must be one of {', '.join(MATCH_DECISIONS)}")
    if not note.strip():
        raise InvalidInput("a note is required")
    load_clip(session, clip_id)
    load_clip(session, other_id)
    # Both clips' rows, in id order, before reading the decision: two deciders of one pair take
    # turns, so the row is made once and both chains get the events in the same order.
    pair = ordered(clip_id, other_id)
    session.execute(select(Clip.id).where(Clip.id.in_(pair)).order_by(Clip.id).with_for_update(key_share=True))
    row = decision_between(session, clip_id, other_id)
    if row is None and not is_suggested(session, clip_id, other_id):
        raise NotFound(f"clip {clip_id} has no suggested match with clip {other_id}")
    if row is not None and row.decision == decision and row.note == note:
        return row
    if row is None:
        row = MatchDecision(clip_id=pair[0], other_clip_id=pair[1])
        session.add(row)
    row.decision, row.note, row.decided_by, row.decided_at = decision, note, actor, utcnow()
    session.flush()
    for this, other in ((clip_id, other_id), (other_id, clip_id)):
        details = {"decision_id": row.id, "other_clip_id": other, "note": note}
        append_event(session, this, MATCH_ACTIONS[decision], actor, details)
    return row


def decisions_of(session: Session, clip_id: str) -> dict[str, MatchDecision]:
    """Every decision on a pair of this clip, by the other clip's id."""
    rows = session.scalars(
        select(MatchDecision).where(or_(MatchDecision.clip_id == clip_id, MatchDecision.other_clip_id == clip_id))
    )
    return {row.other_clip_id if row.clip_id == clip_id else row.clip_id: row for row in rows}


def rejected_with(session: Session, clip_id: str) -> set[str]:
    """The clips whose pairing with this one was rejected."""
    return {other for other, row in decisions_of(session, clip_id).items() if row.decision == "rejected"}


def rejected_pair(clip_column: IdColumn, other_column: IdColumn) -> ColumnElement[bool]:
    """A WHERE clause: the pair of clips in the two columns was rejected (for a search)."""
    return exists().where(
        MatchDecision.decision == "rejected",
        or_(
            and_(MatchDecision.clip_id == clip_column, MatchDecision.other_clip_id == other_column),
            and_(MatchDecision.clip_id == other_column, MatchDecision.other_clip_id == clip_column),
        ),
    )


def family_of(session: Session, clip_id: str, scope: Scope) -> list[Clip]:
    """The clip and those joined to it by confirmed decisions, transitively, oldest first. Only
    through clips `scope` may see: a hidden clip is as if it did not exist, so it joins nothing."""
    members = {clip_id}
    frontier: Iterable[str] = {clip_id}
    while frontier:
        found = sorted(frontier)
        rows = session.scalars(
            select(MatchDecision).where(
                MatchDecision.decision == "confirmed",
                or_(MatchDecision.clip_id.in_(found), MatchDecision.other_clip_id.in_(found)),
            )
        )
        joined = {id_ for row in rows for id_ in (row.clip_id, row.other_clip_id)} - members
        frontier = visible_clip_ids(session, scope, joined)
        members |= frontier
    clips = session.scalars(select(Clip).where(Clip.id.in_(sorted(members))))
    return sorted(clips, key=lambda clip: (clip.created_at, clip.id))
