"""Fixity audits on both databases and both stores: intact originals pass, altered, resized or
missing ones fail with what differs, a run cut off resumes after the last clip it finished, and
two audits never run at once."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from ingest.fixity import AUDIT_HOLD, Pace, check_clip, run_fixity_audit, scheduled_fixity_audit
from storage.archive import Archive
from storage.blobs import LocalBlobStore
from storage.custody import list_events
from storage.holds import hold
from storage.models import Clip, FixityRun
from tests.helpers.backends import embedded_only
from tests.helpers.evidence import archived_clip
from verity.errors import StorageUnavailable


def last_event(archive: Archive, clip_id: str) -> tuple[str, dict[str, object]]:
    with archive.sessions() as session:
        event = list_events(session, clip_id)[-1]
        return event.action, json.loads(event.details)


def fixity_of(archive: Archive, clip_id: str) -> str:
    with archive.sessions() as session:
        return session.get_one(Clip, clip_id).fixity_status


def test_an_audit_of_intact_originals_records_fixity_checked_on_each(archive: Archive) -> None:
    clip_ids = [archived_clip(archive)[0] for _ in range(3)]
    progress = run_fixity_audit(archive)
    assert progress is not None and progress.finished
    assert sorted(o.clip_id for o in progress.outcomes) == sorted(clip_ids)
    assert progress.failed == []
    for clip_id in clip_ids:
        action, details = last_event(archive, clip_id)
        assert action == "fixity_checked"
        assert details["found_sha256"] == details["sha256"]
        assert fixity_of(archive, clip_id) == "ok"
    with archive.sessions() as session:
        run = session.scalars(select(FixityRun)).one()
        assert (run.clips_checked, run.clips_failed, run.bytes_read) == (3, 0, 3 * 300_000)
        assert run.finished_at is not None


def test_an_altered_original_fails_the_audit_naming_its_sha256(archive: Archive) -> None:
    clip_id, data = archived_clip(archive)
    with archive.sessions() as session:
        key = session.get_one(Clip, clip_id).blob_key
    archive.blobs.put_stream(key, iter([data[:-1] + bytes([data[-1] ^ 1])]))
    outcome = check_clip(archive, clip_id)
    assert len(outcome.problems) == 1 and "SHA-256" in outcome.problems[0]
    action, details = last_event(archive, clip_id)
    assert action == "fixity_failed"
    assert details["problems"] == outcome.problems
    assert details["found_sha256"] != details["sha256"]
    assert fixity_of(archive, clip_id) == "failed"


def test_a_shortened_original_fails_naming_both_sizes(archive: Archive) -> None:
    clip_id, data = archived_clip(archive)
    with archive.sessions() as session:
        key = session.get_one(Clip, clip_id).blob_key
    archive.blobs.put_stream(key, iter([data[:1000]]))
    outcome = check_clip(archive, clip_id)
    assert "the original holds 1000 bytes, the clip says 300000" in outcome.problems


def test_a_missing_original_is_a_failure(archive: Archive) -> None:
    clip_id, _data = archived_clip(archive)
    with archive.sessions() as session:
        key = session.get_one(Clip, clip_id).blob_key
    archive.blobs.delete(key)
    progress = run_fixity_audit(archive)
    assert progress is not None
    [failed] = progress.failed
    assert failed.problems == [f"the original is missing from the object store (key {key})"]
    assert fixity_of(archive, clip_id) == "failed"


def test_a_clip_whose_key_names_no_object_fails_and_the_audit_goes_on(archive: Archive) -> None:
    first, second = sorted(archived_clip(archive)[0] for _ in range(2))
    with archive.sessions.begin() as session:
        session.get_one(Clip, first).blob_key = "../outside"
    progress = run_fixity_audit(archive)
    assert progress is not None and progress.finished
    assert [(o.clip_id, o.failed) for o in progress.outcomes] == [(first, True), (second, False)]


def test_a_passing_check_after_the_bytes_are_restored_clears_the_flag(archive: Archive) -> None:
    clip_id, data = archived_clip(archive)
    with archive.sessions() as session:
        key = session.get_one(Clip, clip_id).blob_key
    archive.blobs.delete(key)
    assert check_clip(archive, clip_id).failed
    archive.blobs.put_stream(key, iter([data]))
    assert not check_clip(archive, clip_id).failed
    assert fixity_of(archive, clip_id) == "ok"
    with archive.sessions() as session:
        actions = [e.action for e in list_events(session, clip_id)]
    assert actions[-2:] == ["fixity_failed", "fixity_checked"]


class Crash(Exception):
    pass


def test_an_audit_cut_off_resumes_after_the_last_clip_it_finished(archive: Archive) -> None:
    clip_ids = sorted(archived_clip(archive)[0] for _ in range(4))
    seen: list[str] = []

    def crash_after_two(outcome: object) -> None:
        seen.append(outcome.clip_id)  # type: ignore[attr-defined]
        if len(seen) == 2:
            raise Crash

    with pytest.raises(Crash):
        run_fixity_audit(archive, on_clip=crash_after_two)
    with archive.sessions() as session:
        run = session.scalars(select(FixityRun)).one()
        assert (run.cursor, run.clips_checked, run.finished_at) == (clip_ids[1], 2, None)
    progress = run_fixity_audit(archive)
    assert progress is not None and progress.finished and progress.run_id == run.id
    assert [o.clip_id for o in progress.outcomes] == clip_ids[2:]
    with archive.sessions() as session:
        assert session.get_one(FixityRun, run.id).clips_checked == 4
        for clip_id in clip_ids:
            checks = [e.action for e in list_events(session, clip_id) if e.action.startswith("fixity")]
            assert checks == ["fixity_checked"], "each clip is checked once in the run"


def test_an_audit_does_not_start_while_another_holds_the_run(archive: Archive) -> None:
    archived_clip(archive)
    with hold(archive, AUDIT_HOLD) as held:
        assert held
        assert run_fixity_audit(archive) is None
    assert run_fixity_audit(archive) is not None


def test_a_time_budget_ends_the_call_and_the_next_call_continues_the_same_run(archive: Archive) -> None:
    clip_ids = [archived_clip(archive)[0] for _ in range(2)]
    first = run_fixity_audit(archive, budget_s=0)
    assert first is not None and not first.finished and first.outcomes == []
    second = run_fixity_audit(archive)
    assert second is not None and second.run_id == first.run_id and second.finished
    assert len(second.outcomes) == len(clip_ids)


def test_the_schedule_starts_a_run_only_once_the_interval_has_passed(archive: Archive) -> None:
    clip_id, *_ = archived_clip(archive)
    assert scheduled_fixity_audit(archive) is None, "the first run is due a day after the oldest original came in"
    with archive.sessions.begin() as session:
        session.get_one(Clip, clip_id).created_at -= timedelta(days=1, seconds=1)
    first = scheduled_fixity_audit(archive)
    assert first is not None and first.finished
    assert scheduled_fixity_audit(archive) is None, "the last run began less than a day ago"
    with archive.sessions.begin() as session:
        run = session.get_one(FixityRun, first.run_id)
        run.started_at -= timedelta(days=1, seconds=1)
    again = scheduled_fixity_audit(archive)
    assert again is not None and again.run_id != first.run_id


def test_pace_keeps_reading_at_or_under_its_rate() -> None:
    pace = Pace(4)  # MB/s
    started = time.monotonic()
    for _ in range(4):
        pace.took(500_000)
    assert time.monotonic() - started >= 0.45


class UnreachableStore(LocalBlobStore):
    """The archive's folder, answering no read: what an S3 server that has gone away looks like to the audit."""

    def open(self, key: str, start: int | None = None, end: int | None = None) -> Iterator[bytes]:
        raise StorageUnavailable("the object store is not answering")


@embedded_only
def test_an_unreachable_store_records_nothing_and_the_run_resumes_once_it_answers(archive: Archive) -> None:
    clip_id, _data = archived_clip(archive)
    assert isinstance(archive.blobs, LocalBlobStore)
    cut_off = dataclasses.replace(archive, blobs=UnreachableStore(archive.blobs.root))
    with pytest.raises(StorageUnavailable):
        run_fixity_audit(cut_off)
    with archive.sessions() as session:
        assert not [e for e in list_events(session, clip_id) if e.action.startswith("fixity")]
        assert session.get_one(Clip, clip_id).fixity_status == "unchecked"
    progress = run_fixity_audit(archive)
    assert progress is not None and progress.finished and [o.clip_id for o in progress.outcomes] == [clip_id]
    assert fixity_of(archive, clip_id) == "ok"
