"""The index's segment files: written once and never changed, a crash while writing leaves the
saved index usable, every process on a machine maps one copy, and a new process of the scaled
archive fetches them from the object store instead of rebuilding."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import delete

from ingest import index_segments
from ingest.fingerprint import Fingerprint
from ingest.index import FingerprintIndex
from ingest.near_duplicates import NearDuplicateFinder, save_fingerprint
from ingest.upload import Receipt, receive_original
from storage.archive import Archive, open_archive
from storage.blobs import BlobStore
from storage.models import StoredFingerprint
from verity.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def some_print(seed: int, frames: int = 40) -> Fingerprint:
    rng = np.random.default_rng(seed)
    hashes = rng.integers(0, 2**63, frames, dtype=np.uint64)
    return Fingerprint(0.25 + np.arange(frames) / 2.0, hashes, hashes ^ np.uint64(0xFF00), np.ones(frames, bool))


def hits_of(index: FingerprintIndex, print_: Fingerprint) -> set[tuple[int, int, int]]:
    hits = index.query(print_.hashes, 10)
    return set(zip(hits.query_frame.tolist(), hits.clip.tolist(), hits.clip_frame.tolist(), strict=True))


def file_states(folder: Path) -> dict[str, tuple[int, bytes]]:
    return {str(p.relative_to(folder)): (p.stat().st_ino, p.read_bytes()) for p in folder.rglob("*") if p.is_file()}


def test_a_chunk_value_most_frames_share_is_a_stop_word_for_the_closer_look_only() -> None:
    rng = np.random.default_rng(5)
    common = rng.integers(0, 2**63, 1000, dtype=np.uint64)
    low_chunk = np.uint64((1 << index_segments.CHUNK_SPANS[0][1]) - 1)
    common[:200] = (common[:200] & ~low_chunk) | np.uint64(0x1234)  # 200 frames share chunk 0's value
    index = FingerprintIndex()
    index.add("bulk", Fingerprint(np.arange(1000) / 2.0, common, common, np.ones(1000, bool)), defer_sorting=True)
    index.finish_loading()
    two_bits_in_chunks_1_and_2 = np.uint64((0b11 << 21) | (0b11 << 42))
    exact = common[:1] ^ two_bits_in_chunks_1_and_2  # shares chunk 0 only
    one_bit = exact ^ np.uint64(1)  # one bit from it in chunk 0 too
    assert 0 in index.query(exact, 10).clip_frame.tolist()  # the exact path, that finds copies, reads it
    assert index.query(one_bit, 10, probe_radius=1).clip_frame.tolist() == []


def test_saved_segments_are_never_rewritten_and_are_mapped_read_only(tmp_path: Path) -> None:
    index = FingerprintIndex()
    index.add("first", some_print(1, frames=400))  # larger than what comes next: not merged with it
    index.save(tmp_path / "index")
    before = file_states(tmp_path / "index" / "segments")
    loaded, _meta = FingerprintIndex.load(tmp_path / "index")
    [segment] = loaded.segments
    assert isinstance(segment.arrays["hashes"].base, np.memmap)
    assert not segment.arrays["entries"].flags.writeable
    loaded.add("second", some_print(2))
    loaded.save(tmp_path / "index")
    after = file_states(tmp_path / "index" / "segments")
    assert {name: after.get(name) for name in before} == before  # same files, same bytes: never opened for writing
    assert len(after) > len(before)
    again, _meta = FingerprintIndex.load(tmp_path / "index")
    assert hits_of(again, some_print(2)) == {(n, 1, n) for n in range(40)}


def test_a_crash_while_saving_leaves_the_saved_index_usable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    index = FingerprintIndex()
    index.add("first", some_print(1))
    index.save(tmp_path / "index", last_fingerprint_id=1)
    index.add("second", some_print(2))
    real_fsync, calls = os.fsync, []

    def disk_full_after_two(descriptor: int) -> None:  # the disk fills up half-way through a segment
        calls.append(descriptor)
        if len(calls) > 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(descriptor)

    monkeypatch.setattr(index_segments.os, "fsync", disk_full_after_two)
    with pytest.raises(OSError, match="No space"):
        index.save(tmp_path / "index", last_fingerprint_id=2)
    monkeypatch.undo()
    assert any(p.name.endswith(".partial") for p in (tmp_path / "index" / "segments").iterdir())
    loaded, meta = FingerprintIndex.load(tmp_path / "index")
    assert meta == {"last_fingerprint_id": 1} and loaded.clip_ids == ["first"]
    assert hits_of(loaded, some_print(1)) == {(n, 0, n) for n in range(40)}
    index.save(tmp_path / "index", last_fingerprint_id=2)  # the next save tidies up what the crash left
    assert not any(p.name.startswith(".") for p in (tmp_path / "index" / "segments").iterdir())
    assert FingerprintIndex.load(tmp_path / "index")[0].clip_ids == ["first", "second"]


MAP_AND_TOUCH = """
import json, sys
import numpy as np
import psutil
from pathlib import Path
from ingest.index import FingerprintIndex

def private() -> int:
    info = psutil.Process().memory_info()
    return info.rss - info.shared

before_private, before_rss = private(), psutil.Process().memory_info().rss
index, _meta = FingerprintIndex.load(Path(sys.argv[1]))
total = 0
for segment in index.segments:
    for array in segment.arrays.values():
        total += int(np.asarray(array).view(np.uint8).reshape(-1)[::4096].sum())  # one read per page
after = psutil.Process().memory_info()
print(json.dumps({"private": private() - before_private, "rss": after.rss - before_rss, "index": index.memory_bytes()}))
"""


def test_a_second_process_maps_the_saved_index_instead_of_copying_it(tmp_path: Path) -> None:
    index = FingerprintIndex()
    rng = np.random.default_rng(5)
    for number in range(50):
        hashes = rng.integers(0, 2**63, 6_000, dtype=np.uint64)
        index.add(f"clip-{number}", Fingerprint(np.arange(6_000) / 2.0, hashes, ~hashes, np.ones(6_000, bool)))
    index.save(tmp_path / "index")
    measured = []
    for _process in range(2):
        run = subprocess.run(
            [sys.executable, "-c", MAP_AND_TOUCH, str(tmp_path / "index")],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        measured.append(json.loads(run.stdout))
    for memory in measured:
        assert memory["index"] > 9_000_000
        assert memory["rss"] > 0.8 * memory["index"]  # every page was read ...
        assert memory["private"] < 0.1 * memory["index"]  # ... from the shared page cache, not copied


def archive_in(folder: Path) -> Archive:
    return open_archive(Settings(data_dir=folder, database_url=f"sqlite:///{folder / 'verity.db'}"), upgrade=True)


def stored_clip(archive: Archive, seed: int) -> str:
    clip = receive_original(archive, iter([os.urandom(4096)]), Receipt("tester", "clip.mp4")).clip.id
    with archive.sessions.begin() as session:
        save_fingerprint(session, clip, some_print(seed), 2.0)
    return clip


def test_a_process_takes_up_the_segments_another_saved_and_only_one_folds_at_a_time(tmp_path: Path) -> None:
    archive = archive_in(tmp_path)
    try:
        first = stored_clip(archive, 1)
        api = NearDuplicateFinder(archive.sessions, tmp_path / "index")
        api.sync()
        assert api.save_snapshot()
        second = stored_clip(archive, 2)
        worker = NearDuplicateFinder(archive.sessions, tmp_path / "index")
        assert worker.index.clip_ids == [first] and len(worker.index.segments) == 1  # mapped, not rebuilt
        assert worker.sync() == 1 and worker.index.clip_ids == [first, second]
        with (tmp_path / "index" / "write.lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # another process is folding
            assert not worker.save_snapshot(wait=False)
        assert worker.save_snapshot(wait=False)
        assert not api.save_snapshot()  # holds less than what is saved: leaves it be
        assert api.sync() == 0 and api.index.clip_ids == [first, second]  # took up the worker's segments
    finally:
        archive.close()


def test_a_new_process_of_the_scaled_archive_fetches_the_segments_from_the_object_store(
    tmp_path: Path, blob_store: BlobStore
) -> None:
    archive = archive_in(tmp_path)
    try:
        first = stored_clip(archive, 1)
        api = NearDuplicateFinder(archive.sessions, tmp_path / "machine-a", blob_store)
        api.sync()
        assert api.save_snapshot()
        keys = set(blob_store.keys("index/"))
        [name] = json.loads((tmp_path / "machine-a" / "index.json").read_text())["segments"]
        assert "index/index.json" in keys and f"index/segments/{name}/entries.npy" in keys
        with archive.sessions.begin() as session:  # the database no longer offers the row to rebuild from
            session.execute(delete(StoredFingerprint))
        worker = NearDuplicateFinder(archive.sessions, tmp_path / "machine-b", blob_store)
        assert worker.index.clip_ids == [first]
        assert (tmp_path / "machine-b" / "segments" / name / "entries.npy").is_file()
        assert hits_of(worker.index, some_print(1)) == {(n, 0, n) for n in range(40)}
    finally:
        archive.close()
