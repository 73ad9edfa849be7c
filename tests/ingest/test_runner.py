"""The guard every runner puts around a job: an error the pipeline could not record itself still
leaves the clip in a final state with the reason, never `processing` for ever."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.near_duplicates import NearDuplicateFinder
from ingest.runner import run_job
from ingest.upload import Receipt, receive_original
from storage.archive import Archive, open_archive
from storage.custody import list_events, verify_chain
from storage.models import Clip
from storage.vocabulary import ClipStatus
from verity.settings import Settings


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[Archive]:
    opened = open_archive(Settings(data_dir=tmp_path), upgrade=True)
    yield opened
    opened.close()


def stored_clip(archive: Archive) -> str:
    return receive_original(archive, iter([os.urandom(4096)]), Receipt("tester", "clip.mp4")).clip.id


def broken_job(archive: Archive, _finder: NearDuplicateFinder, clip_id: str) -> None:
    with archive.sessions.begin() as session:
        clip = session.get(Clip, clip_id)
        assert clip is not None
        clip.status = ClipStatus.processing
    raise RuntimeError("database went away mid-step")


def test_job_that_raises_leaves_its_clip_failed_with_the_reason(archive: Archive) -> None:
    clip_id = stored_clip(archive)
    with pytest.raises(RuntimeError):
        run_job(broken_job, archive, NearDuplicateFinder(archive.sessions), clip_id)
    with archive.sessions() as session:
        clip = session.get(Clip, clip_id)
        assert clip is not None
        assert clip.status == ClipStatus.failed
        assert clip.status_reason == "internal error: RuntimeError: database went away mid-step"
        events = list_events(session, clip_id)
        assert events[-1].action == "ingest_failed"
        assert verify_chain(events).verified


def test_job_that_raises_after_its_clip_finished_leaves_the_status_alone(archive: Archive) -> None:
    clip_id = stored_clip(archive)

    def finish_then_raise(archive: Archive, _finder: NearDuplicateFinder, clip_id: str) -> None:
        with archive.sessions.begin() as session:
            clip = session.get(Clip, clip_id)
            assert clip is not None
            clip.status = ClipStatus.ready
        raise RuntimeError("logging failed after the work was done")

    with pytest.raises(RuntimeError):
        run_job(finish_then_raise, archive, NearDuplicateFinder(archive.sessions), clip_id)
    with archive.sessions() as session:
        clip = session.get(Clip, clip_id)
        assert clip is not None and clip.status == ClipStatus.ready and clip.status_reason is None
