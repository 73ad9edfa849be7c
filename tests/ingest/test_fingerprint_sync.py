"""Every process's index follows the `fingerprints` table by id. With several writers (workers)
on PostgreSQL, a row must never become visible after a higher-numbered one, or a finder that
synced in between would skip it for good (and two copies ingested at once could miss each other)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import numpy as np

from ingest.fingerprint import Fingerprint
from ingest.near_duplicates import NearDuplicateFinder, save_fingerprint
from ingest.upload import Receipt, receive_original
from storage.archive import Archive, open_archive
from verity.settings import Settings


def some_print(seed: int) -> Fingerprint:
    hashes = np.random.default_rng(seed).integers(0, 2**63, 20, dtype=np.uint64)
    return Fingerprint(np.arange(20) / 2.0, hashes, hashes ^ np.uint64(0xFF), np.ones(20, bool))


def stored_clip(archive: Archive) -> str:
    return receive_original(archive, iter([os.urandom(4096)]), Receipt("tester", "clip.mp4")).clip.id


def test_finder_never_skips_a_fingerprint_committed_after_a_higher_numbered_one(
    postgres_url: str, tmp_path: Path
) -> None:
    archive = open_archive(Settings(data_dir=tmp_path, database_url=postgres_url))
    try:
        first_clip, second_clip = stored_clip(archive), stored_clip(archive)
        finder = NearDuplicateFinder(archive.sessions)
        with archive.sessions() as slow_writer:
            save_fingerprint(slow_writer, first_clip, some_print(1), 2.0)
            slow_writer.flush()  # its row has its id now, but is not committed

            def quick_writer() -> None:
                with archive.sessions.begin() as session:
                    save_fingerprint(session, second_clip, some_print(2), 2.0)

            other = threading.Thread(target=quick_writer)
            other.start()
            time.sleep(0.5)  # long enough for the second writer to commit, were it allowed to
            finder.sync()
            slow_writer.commit()
        other.join(timeout=30)
        finder.sync()
        assert set(finder.index.clip_ids) == {first_clip, second_clip}
    finally:
        archive.close()
