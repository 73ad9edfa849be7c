"""Clips and their keyframes as rows, for the routes that read them, the custody event of a download,
and what ingest read of a clip's Content Credentials."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.custody import append_event
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


def record_download(
    sessions: sessionmaker[Session],
    clip_id: str,
    actor: str,
    byte_range: tuple[int, int] | None,
    size: int,
    *,
    playback: bool = False,
) -> None:
    """The download's custody event, in a short transaction of its own: the request's session only
    reads (and takes no lock), so downloads never hold up readers. `playback`: the bytes went to
    the workbench's player rather than to a file."""
    with sessions.begin() as session:
        details: dict[str, object] = {
            "range": f"bytes={byte_range[0]}-{byte_range[1]}" if byte_range else None,
            "bytes": size,
        }
        if playback:
            details["playback"] = True
        append_event(session, clip_id, "downloaded", actor, details)


def save_content_credentials(session: Session, clip_id: str, summary: dict[str, Any], report: str | None) -> None:
    """What reading the clip's Content Credentials found: the summary (its `state` searchable) and
    the reader's whole report, verbatim (None when there was no manifest to report on)."""
    clip = load_clip(session, clip_id)
    clip.content_credentials = json.dumps(summary)
    clip.content_credentials_state = summary["state"]
    clip.content_credentials_report = report
