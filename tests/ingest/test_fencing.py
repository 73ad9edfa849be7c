"""Claiming a clip for analysis: each claim takes the next attempt number in one conditional
UPDATE, and every write of an analysis is refused once the clip has been claimed again, so a
second analysis of the same clip (a restarted process, a worker that was paused) never interleaves
its custody events or overwrites the other's results."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from ingest.near_duplicates import NearDuplicateFinder
from ingest.pipeline import claim_clip, fail_unfinished, run_ingest
from ingest.upload import Receipt, receive_original
from storage.archive import Archive
from storage.custody import list_events, verify_chain
from storage.models import Clip, Keyframe
from tests.helpers.backends import scaled_only
from verity.errors import Superseded


def receive(archive: Archive, path: Path) -> str:
    with path.open("rb") as handle:
        result = receive_original(archive, iter(lambda: handle.read(65536), b""), Receipt("tester", path.name))
    return result.clip.id


def custody(archive: Archive, clip_id: str) -> list[tuple[str, int | None]]:
    """The clip's custody events as (action, attempt), after checking the chain."""
    with archive.sessions() as session:
        events = list_events(session, clip_id)
        assert verify_chain(events).verified
        return [(event.action, json.loads(event.details).get("attempt")) for event in events]


def test_each_claim_of_a_clip_takes_the_next_attempt(archive: Archive, clips: dict[str, Path]) -> None:
    clip_id = receive(archive, clips["h264.mp4"])
    first, _status, _key = claim_clip(archive, clip_id)
    second, status, _key = claim_clip(archive, clip_id)
    assert first is not None and second is not None
    assert (first.attempt, second.attempt, status) == (1, 2, "processing")
    assert custody(archive, clip_id) == [("uploaded", None), ("ingest_started", 1), ("ingest_started", 2)]


def test_claims_made_at_once_never_share_an_attempt(archive: Archive, clips: dict[str, Path]) -> None:
    clip_id = receive(archive, clips["h264.mp4"])
    start = threading.Barrier(6)
    attempts: list[int] = []

    def claim() -> None:
        start.wait(timeout=30)
        claimed, _status, _key = claim_clip(archive, clip_id)
        assert claimed is not None
        attempts.append(claimed.attempt)

    threads = [threading.Thread(target=claim) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(attempts) == [1, 2, 3, 4, 5, 6]


def test_a_claimed_away_analysis_cannot_fail_the_clip(archive: Archive, clips: dict[str, Path]) -> None:
    clip_id = receive(archive, clips["h264.mp4"])
    stale, _status, _key = claim_clip(archive, clip_id)
    assert stale is not None
    run_ingest(archive, NearDuplicateFinder(archive.sessions), clip_id)  # attempt 2, to ready
    with pytest.raises(Superseded), stale.write() as session:
        session.get(Clip, clip_id)
    assert fail_unfinished(archive, clip_id, "worker died") is False
    with archive.sessions() as session:
        clip = session.get(Clip, clip_id)
        assert clip is not None and (clip.status, clip.ingest_attempt) == ("ready", 2)


class ClaimedAgainWhileMatching(NearDuplicateFinder):
    """A real finder that, the moment the first analysis reaches matching, lets a second analysis
    of the same clip claim it and run to the end (as a second process on the archive did)."""

    def __init__(self, archive: Archive, clip_id: str) -> None:
        super().__init__(archive.sessions)
        self.archive, self.clip_id = archive, clip_id
        self.second: Any = None

    def find(self, *args: Any, **kwargs: Any) -> Any:
        if self.second is None:
            self.second = run_ingest(self.archive, NearDuplicateFinder(self.archive.sessions), self.clip_id)
        return super().find(*args, **kwargs)


def test_an_analysis_claimed_again_midway_writes_nothing_more(archive: Archive, clips: dict[str, Path]) -> None:
    clip_id = receive(archive, clips["h264.mp4"])
    finder = ClaimedAgainWhileMatching(archive, clip_id)
    first = run_ingest(archive, finder, clip_id)
    assert finder.second.status == "ready"
    assert first.status == "superseded" and "attempt 2" in (first.reason or "")
    events = custody(archive, clip_id)
    second_start = events.index(("ingest_started", 2))
    assert all(attempt == 2 for _action, attempt in events[second_start:])  # no interleaving after the fence
    assert [action for action, _ in events].count("ingest_finished") == 1
    assert ("near_duplicates_found", 1) not in events and ("ingest_finished", 1) not in events
    with archive.sessions() as session:
        clip = session.get(Clip, clip_id)
        assert clip is not None and (clip.status, clip.ingest_attempt) == ("ready", 2)
        keys = list(session.scalars(select(Keyframe.blob_key).where(Keyframe.clip_id == clip_id)))
    assert keys and all("/2-" in key for key in keys)
    for key in keys:
        assert archive.blobs.exists(key)


@scaled_only
def test_an_analysis_paused_inside_a_write_does_not_keep_the_clip_from_its_next_claim(
    archive: Archive, clips: dict[str, Path]
) -> None:
    impatient = dataclasses.replace(archive, settings=archive.settings.model_copy(update={"worker_stalled_after_s": 1}))
    clip_id = receive(archive, clips["h264.mp4"])
    stale, _status, _key = claim_clip(impatient, clip_id)
    assert stale is not None
    claimed: list[int] = []
    with contextlib.ExitStack() as paused:
        paused.enter_context(stale.write())  # holds the clip's row, then goes silent (as under SIGSTOP)

        def claim_again() -> None:
            again, _status, _key = claim_clip(archive, clip_id)
            assert again is not None
            claimed.append(again.attempt)

        other = threading.Thread(target=claim_again)
        other.start()
        other.join(timeout=60)
        assert claimed == [2], "the next claim waited on the paused analysis's transaction"
        with pytest.raises(Exception):  # noqa: B017 - its connection was ended by the database
            paused.close()
