"""Clips as rows: loading one by id (more of the clip's queries move here as routes shed them)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from storage.models import Clip
from verity.errors import ClipNotFound


def load_clip(session: Session, clip_id: str) -> Clip:
    clip = session.get(Clip, clip_id)
    if clip is None:
        raise ClipNotFound(f"no clip with id {clip_id}")
    return clip
