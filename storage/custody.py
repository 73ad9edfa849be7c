"""The chain of custody: per clip, an append-only list of events, each sealed by a SHA-256 over
the previous event's hash and a canonical serialisation of the event itself (storage/chain.py).
Changing, removing or reordering any stored event breaks every hash after it, which
`verify_chain` reports."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.chain import ChainCheck, canonical_json, link_hash, next_link, refuse_changes, timestamp, verify_links
from storage.models import Clip, CustodyEvent, utcnow


def _hashed(clip_id: str, seq: int, action: str, actor: str, occurred_at: datetime, details: str) -> dict[str, Any]:
    """What an event's hash covers (with the previous event's hash)."""
    return {
        "clip_id": clip_id,
        "seq": seq,
        "action": action,
        "actor": actor,
        "occurred_at": timestamp(occurred_at),
        "details": details,
    }


def append_event(
    session: Session, clip_id: str, action: str, actor: str, details: dict[str, Any] | None = None
) -> CustodyEvent:
    """Add the next event to the clip's chain in the caller's transaction. Two writers racing on
    one clip wait for each other on the clip's row lock (PostgreSQL) or the write lock (SQLite);
    the (clip_id, seq) unique constraint backs that up, so the chain can never fork."""
    session.execute(select(Clip.id).where(Clip.id == clip_id).with_for_update())
    last = (
        select(CustodyEvent.seq, CustodyEvent.hash)
        .where(CustodyEvent.clip_id == clip_id)
        .order_by(CustodyEvent.seq.desc())
    )
    seq, prev_hash = next_link(session, last)
    occurred_at = utcnow()
    serialised = canonical_json(details or {})
    record = CustodyEvent(
        clip_id=clip_id,
        seq=seq,
        action=action,
        actor=actor,
        occurred_at=occurred_at,
        details=serialised,
        prev_hash=prev_hash,
        hash=link_hash(prev_hash, _hashed(clip_id, seq, action, actor, occurred_at, serialised)),
    )
    session.add(record)
    session.flush()
    return record


def verify_chain(events: Sequence[CustodyEvent]) -> ChainCheck:
    """Recompute every link of one clip's chain, in `seq` order."""
    return verify_links(events, lambda e: _hashed(e.clip_id, e.seq, e.action, e.actor, e.occurred_at, e.details))


def list_events(session: Session, clip_id: str) -> list[CustodyEvent]:
    return list(session.scalars(select(CustodyEvent).where(CustodyEvent.clip_id == clip_id).order_by(CustodyEvent.seq)))


def count_events(session: Session, clip_id: str) -> int:
    return int(session.scalar(select(func.count()).where(CustodyEvent.clip_id == clip_id)) or 0)


refuse_changes(CustodyEvent)
