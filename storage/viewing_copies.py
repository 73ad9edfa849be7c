"""A clip's viewing copy as a row: what the analysis made (or why it could not), replacing the row
of an earlier analysis, and the one the viewing-copy route serves."""

from __future__ import annotations

from sqlalchemy.orm import Session

from storage.clips import load_clip
from storage.models import ViewingCopy
from verity.errors import NotFound


def save_viewing_copy(session: Session, clip_id: str, playable: bool, made: ViewingCopy | None) -> str | None:
    """Record whether a browser plays the clip's original and the viewing copy made for it (None:
    it needs none), in place of the earlier analysis's. Returns the blob key that copy leaves
    behind, for the caller to delete once this has committed."""
    clip = load_clip(session, clip_id)
    clip.browser_playable = playable
    before = session.get(ViewingCopy, clip_id)
    replaced = before.blob_key if before is not None else None
    if before is not None:
        session.delete(before)
        session.flush()
    if made is not None:
        session.add(made)
    return replaced if replaced != (made.blob_key if made else None) else None


def load_viewing_copy(session: Session, clip_id: str) -> ViewingCopy:
    """The clip's viewing copy, or `NotFound` saying why it has none."""
    clip = load_clip(session, clip_id)
    row = session.get(ViewingCopy, clip_id)
    if row is not None and row.blob_key is not None:
        return row
    if row is not None:
        raise NotFound(f"making a viewing copy of clip {clip_id} failed: {row.failure}")
    if clip.browser_playable:
        raise NotFound(f"clip {clip_id} needs no viewing copy: browsers play its original as it is")
    if clip.browser_playable is None:
        raise NotFound(f"clip {clip_id} has no viewing copy (status {clip.status}; not analysed for one yet)")
    raise NotFound(f"clip {clip_id} has no viewing copy")
