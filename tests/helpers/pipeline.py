"""Run a file through the whole ingest pipeline and load what it left in the archive."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from ingest.near_duplicates import NearDuplicateFinder
from ingest.pipeline import run_ingest
from ingest.upload import Receipt, receive_original
from storage.archive import Archive
from storage.custody import list_events, verify_chain
from storage.models import Clip, Keyframe


def ingest_file(archive: Archive, path: Path) -> str:
    with path.open("rb") as handle:
        result = receive_original(archive, iter(lambda: handle.read(65536), b""), Receipt("tester", path.name))
    run_ingest(archive, NearDuplicateFinder(archive.sessions), result.clip.id)
    return result.clip.id


def load(archive: Archive, clip_id: str) -> tuple[Clip, list[Keyframe], list[str]]:
    with archive.sessions() as session:
        clip = session.get(Clip, clip_id)
        assert clip is not None
        keyframes = list(session.scalars(select(Keyframe).where(Keyframe.clip_id == clip_id).order_by(Keyframe.index)))
        events = list_events(session, clip_id)
        assert verify_chain(events).verified
        return clip, keyframes, [e.action for e in events]
