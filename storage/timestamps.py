"""Trusted timestamps as rows: the tokens, and where the stamp of each clip's original stands.
Talking to an authority is ingest/timestamps.py's; checking a token is verity/timestamp_tokens.py's.

A clip's stamp row exists from its upload when an authority is configured (pending, due at once);
no row means none was configured when it arrived, until the retry task takes it up. Whoever
stamps a clip first claims it (`claim_stamp`), so a job and the retry task never ask twice."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from storage.chain import refuse_changes
from storage.models import Clip, ClipTimestamp, TimestampToken, utcnow
from storage.vocabulary import StampState
from verity.errors import ClipNotFound, NotFound
from verity.timestamp_tokens import CheckedToken


def save_token(
    session: Session, digest_hex: str, purpose: str, tsa_url: str, token: bytes, checked: CheckedToken
) -> TimestampToken:
    """Keep a verified token, in the caller's transaction."""
    row = TimestampToken(
        digest=digest_hex,
        purpose=purpose,
        tsa_url=tsa_url,
        gen_time=checked.gen_time,
        serial_number=format(checked.serial_number, "x"),
        token=token,
        tsa_certs_pem=checked.tsa_certs_pem,
        root_pem=checked.root_pem,
    )
    session.add(row)
    session.flush()
    return row


def load_token(session: Session, token_id: int) -> TimestampToken:
    token = session.get(TimestampToken, token_id)
    if token is None:
        raise NotFound(f"no timestamp token {token_id}")
    return token


def mark_pending(session: Session, clip_id: str) -> ClipTimestamp:
    """A new original's stamp, due now (called in the transaction that records the clip)."""
    row = ClipTimestamp(clip_id=clip_id, state=StampState.pending, attempts=0, next_attempt_at=utcnow())
    session.add(row)
    session.flush()
    return row


def due_stamps(session: Session, now: datetime, *, force: bool = False, limit: int = 1000) -> list[str]:
    """Clips whose stamp is due: pending ones whose next attempt has come, clips without a stamp
    row (stored before an authority was configured), and with `force` every pending or failed one."""
    condition = and_(
        ClipTimestamp.state == StampState.pending,
        or_(ClipTimestamp.next_attempt_at.is_(None), ClipTimestamp.next_attempt_at <= now),
    )
    if force:
        condition = ClipTimestamp.state.in_([StampState.pending, StampState.failed])
    due = select(ClipTimestamp.clip_id).where(condition)
    unrecorded = select(Clip.id).outerjoin(ClipTimestamp, ClipTimestamp.clip_id == Clip.id)
    unrecorded = unrecorded.where(ClipTimestamp.clip_id.is_(None))
    found = list(session.scalars(due.order_by(ClipTimestamp.next_attempt_at).limit(limit)))
    if len(found) < limit:
        found += list(session.scalars(unrecorded.order_by(Clip.created_at).limit(limit - len(found))))
    return found


def claim_stamp(
    session: Session, clip_id: str, now: datetime, lease_until: datetime, *, force: bool = False
) -> str | None:
    """Take the clip's stamp for one attempt (until `lease_until`) and return the digest to stamp,
    or None when it is stamped, or (unless `force`) failed, not due yet or held by another attempt."""
    clip = session.get(Clip, clip_id)
    if clip is None:
        raise ClipNotFound(f"no clip with id {clip_id}")
    row = session.scalar(_locked(clip_id))
    if row is None:
        row = ClipTimestamp(clip_id=clip_id, state=StampState.pending, attempts=0)
        session.add(row)
    else:
        waiting = row.state == StampState.failed or (row.next_attempt_at is not None and row.next_attempt_at > now)
        if row.state == StampState.stamped or (waiting and not force):
            return None
    row.state, row.next_attempt_at, row.updated_at = StampState.pending, lease_until, now
    session.flush()
    return clip.sha256


def _locked(clip_id: str) -> Select[ClipTimestamp]:
    """The clip's stamp row, locked, as it stands once the lock is held: `session.get(Clip)` has
    usually loaded it already (the clip's `timestamp` relationship), and without
    populate_existing the ORM would keep that unlocked read, so two claims waiting on each other
    would both see it pending and both stamp (seen on PostgreSQL)."""
    query = select(ClipTimestamp).where(ClipTimestamp.clip_id == clip_id).with_for_update()
    return query.execution_options(populate_existing=True)


def _row(session: Session, clip_id: str) -> ClipTimestamp:
    row = session.scalar(_locked(clip_id))
    if row is None:
        raise ClipNotFound(f"clip {clip_id} has no timestamp record")
    return row


def record_stamped(session: Session, clip_id: str, token: TimestampToken) -> None:
    row = _row(session, clip_id)
    row.state, row.token_id, row.reason, row.next_attempt_at = StampState.stamped, token.id, None, None
    row.attempts += 1
    row.updated_at = utcnow()


def record_unavailable(session: Session, clip_id: str, reason: str, retry_at: Callable[[int], datetime]) -> int:
    """No authority could be reached: still pending, tried again at `retry_at(attempts made)`.
    Returns the attempts made so far."""
    row = _row(session, clip_id)
    row.attempts += 1
    row.state, row.reason, row.next_attempt_at = StampState.pending, reason, retry_at(row.attempts)
    row.updated_at = utcnow()
    return row.attempts


def record_failed(session: Session, clip_id: str, reason: str) -> None:
    """Every authority answered, none with a token that verifies: failed, not tried again by itself."""
    row = _row(session, clip_id)
    row.state, row.reason, row.next_attempt_at = StampState.failed, reason, None
    row.attempts += 1
    row.updated_at = utcnow()


def clip_token(session: Session, clip_id: str) -> TimestampToken:
    """The token of a stamped clip's original (NotFound while it has none)."""
    if session.get(Clip, clip_id) is None:
        raise ClipNotFound(f"no clip with id {clip_id}")
    row = session.get(ClipTimestamp, clip_id)
    if row is None or row.token is None:
        state = row.state if row is not None else StampState.not_configured
        raise NotFound(f"clip {clip_id} has no timestamp token (timestamp: {state})")
    return row.token


refuse_changes(TimestampToken)
