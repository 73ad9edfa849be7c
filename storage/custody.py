"""The chain of custody: per clip, an append-only list of events, each sealed by a SHA-256 over
the previous event's hash and a canonical serialisation of the event itself. Changing, removing
or reordering any stored event breaks every hash after it, which `verify_chain` reports."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from storage.models import Clip, CustodyEvent, utcnow

GENESIS_HASH = "0" * 64


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _timestamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(
    prev_hash: str, clip_id: str, seq: int, action: str, actor: str, occurred_at: datetime, details: str
) -> str:
    body = canonical_json(
        {
            "clip_id": clip_id,
            "seq": seq,
            "action": action,
            "actor": actor,
            "occurred_at": _timestamp(occurred_at),
            "details": details,
        }
    )
    return hashlib.sha256(bytes.fromhex(prev_hash) + body.encode()).hexdigest()


def append_event(
    session: Session, clip_id: str, action: str, actor: str, details: dict[str, Any] | None = None
) -> CustodyEvent:
    """Add the next event to the clip's chain in the caller's transaction. Two writers racing on
    one clip wait for each other on the clip's row lock (PostgreSQL) or the write lock (SQLite);
    the (clip_id, seq) unique constraint backs that up, so the chain can never fork."""
    session.execute(select(Clip.id).where(Clip.id == clip_id).with_for_update())
    last = session.execute(
        select(CustodyEvent.seq, CustodyEvent.hash)
        .where(CustodyEvent.clip_id == clip_id)
        .order_by(CustodyEvent.seq.desc())
        .limit(1)
    ).first()
    seq, prev_hash = (last[0] + 1, last[1]) if last else (0, GENESIS_HASH)
    # Microsecond precision is what every backend stores, so the hash survives a round trip.
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
        hash=event_hash(prev_hash, clip_id, seq, action, actor, occurred_at, serialised),
    )
    session.add(record)
    session.flush()
    return record


@dataclass(frozen=True)
class ChainCheck:
    verified: bool
    first_bad_seq: int | None
    reason: str | None


def verify_chain(events: Sequence[CustodyEvent]) -> ChainCheck:
    """Recompute every link of one clip's chain, in `seq` order."""
    prev_hash = GENESIS_HASH
    for expected_seq, item in enumerate(events):
        if item.seq != expected_seq:
            return ChainCheck(False, expected_seq, f"event {expected_seq} is missing")
        if item.prev_hash != prev_hash:
            return ChainCheck(False, item.seq, f"event {item.seq} does not follow the event before it")
        recomputed = event_hash(
            prev_hash, item.clip_id, item.seq, item.action, item.actor, item.occurred_at, item.details
        )
        if recomputed != item.hash:
            return ChainCheck(False, item.seq, f"event {item.seq} was altered after it was recorded")
        prev_hash = item.hash
    return ChainCheck(True, None, None)


def list_events(session: Session, clip_id: str) -> list[CustodyEvent]:
    return list(session.scalars(select(CustodyEvent).where(CustodyEvent.clip_id == clip_id).order_by(CustodyEvent.seq)))


def count_events(session: Session, clip_id: str) -> int:
    return int(session.scalar(select(func.count()).where(CustodyEvent.clip_id == clip_id)) or 0)


def _refuse_change(_mapper: Any, _connection: Any, target: CustodyEvent) -> None:
    raise PermissionError(f"custody event {target.id} is append-only")


event.listen(CustodyEvent, "before_update", _refuse_change)
event.listen(CustodyEvent, "before_delete", _refuse_change)
