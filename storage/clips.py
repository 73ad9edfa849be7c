"""Clips and their keyframes as rows, for the routes that read them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Clip, Keyframe
from verity.errors import ClipNotFound, NotFound


def load_clip(session: Session, clip_id: str) -> Clip:
    clip = session.get(Clip, clip_id)
    if clip is None:
        raise ClipNotFound(f"no clip with id {clip_id}")
    return clip


def keyframes_of(session: Session, clip_id: str) -> list[Keyframe]:
    """The clip's keyframes in time order (404 for an unknown clip)."""
    clip = load_clip(session, clip_id)
    return list(session.scalars(select(Keyframe).where(Keyframe.clip_id == clip.id).order_by(Keyframe.index)))


def load_keyframe(session: Session, clip_id: str, index: int) -> Keyframe:
    clip = load_clip(session, clip_id)
    row = session.scalar(select(Keyframe).where(Keyframe.clip_id == clip.id, Keyframe.index == index))
    if row is None:
        raise NotFound(f"clip {clip_id} has no keyframe {index}")
    return row
