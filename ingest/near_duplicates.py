"""Near-duplicate search over the archive: stored fingerprints ↔ the in-memory index.

`NearDuplicateFinder` keeps one process's index in step with the `fingerprints` table (rows
only ever get newer ids, so each sync loads just what this process has not seen, whichever
process wrote it) and answers match queries against it.
"""

from __future__ import annotations

import fcntl
import json
import logging
import shutil
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np
from sqlalchemy import delete, or_, select, text
from sqlalchemy.orm import Session, sessionmaker

from ingest.audio_duplicates import AudioFinder
from ingest.audio_match import combine
from ingest.chromaprint import AudioFingerprint
from ingest.fingerprint import Fingerprint
from ingest.index import FORMAT as INDEX_FORMAT
from ingest.index import FingerprintIndex
from ingest.index_segments import segment_files
from ingest.match import Match, Segment, match_clip
from storage.blobs import BlobStore
from storage.matches import rejected_with
from storage.models import ClipRelation, StoredFingerprint
from verity.errors import BlobNotFound, StorageUnavailable


def pack(clip_id: str, print_: Fingerprint, sample_fps: float) -> StoredFingerprint:
    start = float(print_.times[0]) if len(print_) else 0.0
    return StoredFingerprint(
        clip_id=clip_id,
        start_s=start,
        sample_fps=sample_fps,
        frame_count=len(print_),
        hashes=print_.hashes.astype("<u8").tobytes(),
        centre_hashes=print_.centre_hashes.astype("<u8").tobytes(),
        informative=print_.informative.astype(np.uint8).tobytes(),
    )


def unpack(row: StoredFingerprint) -> Fingerprint:
    count = row.frame_count
    return Fingerprint(
        row.start_s + np.arange(count) / row.sample_fps,
        np.frombuffer(row.hashes, "<u8").astype(np.uint64),
        np.frombuffer(row.centre_hashes, "<u8").astype(np.uint64),
        np.frombuffer(row.informative, np.uint8).astype(bool),
    )


log = logging.getLogger("verity.index")
BULK_ROWS = 500  # more new fingerprints than this at once: sort the index once at the end
FOLD_EVERY_S = 60.0  # how often a process folds what it sorted into new segment files at most
BLOB_PREFIX = "index"  # segment files and the list of them in the object store (scaled archive)


class NearDuplicateFinder:
    """One process's view of the index. With `snapshot` (a folder every process on the machine
    shares), it memory-maps the segments saved there, syncs only newer fingerprints, folds its
    newly sorted ones into new segment files now and then (whichever process holds the folder's
    write lock; the others skip), and takes up segments another process saved. With `blobs` (the
    scaled archive's object store), saved segments are uploaded there too, and a process whose
    folder is empty or older fetches them first: a new worker starts serving in seconds."""

    def __init__(
        self, sessions: sessionmaker[Session], snapshot: Path | None = None, blobs: BlobStore | None = None
    ) -> None:
        self.sessions = sessions
        self.snapshot = snapshot
        self.blobs = blobs
        self.index = FingerprintIndex()
        self.audio = AudioFinder(sessions)  # the sound index: rebuilt from its table, never snapshotted
        self._last_id = 0
        self._seen_stamp: float | None = None  # of the saved index last looked at
        self._saved_at = time.monotonic()
        self._lock = threading.Lock()
        if snapshot is not None:
            snapshot.mkdir(parents=True, exist_ok=True)
            if blobs is not None:
                try:
                    with (snapshot / "write.lock").open("a") as lock:  # one fetch or save at a time
                        fcntl.flock(lock, fcntl.LOCK_EX)
                        fetch_segments(blobs, snapshot)
                except (StorageUnavailable, BlobNotFound, OSError, ValueError, KeyError) as exc:
                    log.warning("fingerprint index segments could not be fetched (%s); syncing from the database", exc)
            self._take_up_saved()

    def _take_up_saved(self) -> bool:
        """Load the index saved in the folder if it holds more than this process has; whether it did."""
        assert self.snapshot is not None
        manifest = self.snapshot / "index.json"
        try:
            stamp = manifest.stat().st_mtime
            if stamp == self._seen_stamp:
                return False
            self._seen_stamp = stamp
            if saved_fingerprint_id(self.snapshot) <= self._last_id:
                return False
            index, meta = FingerprintIndex.load(self.snapshot)
        except FileNotFoundError:
            return False
        except (OSError, ValueError, KeyError):
            log.warning("fingerprint index snapshot at %s is unreadable; rebuilding", self.snapshot)
            return False
        self.index, self._last_id = index, int(meta.get("last_fingerprint_id", 0))
        return True

    def save_snapshot(self, *, wait: bool = True) -> bool:
        """Fold this process's index into the shared folder (and the object store), unless another
        process saved as much already or, without `wait`, is saving now; whether it saved."""
        if self.snapshot is None:
            return False
        with self._lock, (self.snapshot / "write.lock").open("a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                return False
            self._saved_at = time.monotonic()
            saved = saved_fingerprint_id(self.snapshot) < self._last_id
            if saved:
                self.index.save(self.snapshot, last_fingerprint_id=self._last_id)
                self._seen_stamp = (self.snapshot / "index.json").stat().st_mtime
            if self.blobs is not None:
                try:
                    upload_segments(self.blobs, self.snapshot)
                except Exception as exc:  # whatever the S3 client raises: the next fold tries again
                    log.warning("fingerprint index segments not uploaded (%s); kept locally", exc)
            return saved

    def sync(self) -> int:
        """Load fingerprints stored since the last sync; returns how many."""
        with self._lock:
            if self.snapshot is not None:
                self._take_up_saved()
            with self.sessions() as session:
                rows = list(
                    session.scalars(
                        select(StoredFingerprint)
                        .where(StoredFingerprint.id > self._last_id)
                        .order_by(StoredFingerprint.id)
                    )
                )
            bulk = len(rows) > BULK_ROWS
            for row in rows:
                self.index.add(row.clip_id, unpack(row), defer_sorting=bulk)
                self._last_id = row.id
            if bulk:
                self.index.finish_loading()
        if rows and (bulk or time.monotonic() - self._saved_at >= FOLD_EVERY_S):
            self.save_snapshot(wait=False)
        return len(rows)

    def find(
        self,
        query: Fingerprint,
        mirrored: Fingerprint | None,
        *,
        sample_step_s: float,
        exclude_clip_id: str | None = None,
        audio: AudioFingerprint | None = None,
        turned: Sequence[Fingerprint] = (),
        insets: Sequence[Fingerprint] = (),
    ) -> list[Match]:
        """Clips sharing footage with the query by its pictures or, given `audio`, by its sound."""
        self.sync()
        found = match_clip(
            self.index,
            query,
            mirrored,
            sample_step_s=sample_step_s,
            exclude_clip_id=exclude_clip_id,
            turned=turned,
            insets=insets,
        )
        if audio is None:
            return found
        return combine(found, self.audio.find(audio, exclude_clip_id=exclude_clip_id))


def saved_fingerprint_id(folder: Path) -> int:
    """The newest fingerprint row the index saved in `folder` holds (0: none saved)."""
    try:
        state = json.loads((folder / "index.json").read_text())
    except FileNotFoundError:
        return 0
    return int(state.get("meta", {}).get("last_fingerprint_id", 0)) if state.get("format") == INDEX_FORMAT else 0


def upload_segments(blobs: BlobStore, folder: Path) -> bool:
    """Copy the segments saved in `folder` that the object store lacks, then the list of them
    (last, so a reader never sees a list naming segments not there yet); then remove the
    segments the list no longer names. Nothing, if the object store holds as much already;
    whether it uploaded."""
    manifest = folder / "index.json"
    if not manifest.exists() or stored_fingerprint_id(blobs) >= saved_fingerprint_id(folder):
        return False
    state = json.loads(manifest.read_text())
    stored = set(blobs.keys(f"{BLOB_PREFIX}/segments/"))
    for name in state["segments"]:
        for file in segment_files(folder / "segments" / name):
            key = f"{BLOB_PREFIX}/segments/{name}/{file}"
            if key not in stored:
                path = folder / "segments" / name / file
                with path.open("rb") as handle:
                    blobs.put_stream(key, iter(lambda: handle.read(1 << 22), b""), size_hint=path.stat().st_size)
    blobs.put_stream(f"{BLOB_PREFIX}/index.json", [(folder / "index.json").read_bytes()])
    named = {f"{BLOB_PREFIX}/segments/{name}/" for name in state["segments"]}
    for key in stored:
        if not any(key.startswith(prefix) for prefix in named):
            blobs.delete(key)
    return True


def stored_fingerprint_id(blobs: BlobStore) -> int:
    """The newest fingerprint row the index in the object store holds (0: none there)."""
    key = f"{BLOB_PREFIX}/index.json"
    if not blobs.exists(key):
        return 0
    state = json.loads(b"".join(blobs.open(key)))
    return int(state.get("meta", {}).get("last_fingerprint_id", 0)) if state.get("format") == INDEX_FORMAT else 0


def fetch_segments(blobs: BlobStore, folder: Path) -> bool:
    """Bring `folder` up to the index in the object store if that holds more: download the
    segments missing locally (each into a temporary folder, renamed when complete), then the list
    of them; whether it did."""
    key = f"{BLOB_PREFIX}/index.json"
    if not blobs.exists(key):
        return False
    manifest = b"".join(blobs.open(key))
    state = json.loads(manifest)
    if state.get("format") != INDEX_FORMAT:
        return False
    if int(state["meta"].get("last_fingerprint_id", 0)) <= saved_fingerprint_id(folder):
        return False
    segments = folder / "segments"
    segments.mkdir(parents=True, exist_ok=True)
    for name in state["segments"]:
        if (segments / name / "segment.json").exists():
            continue
        partial = segments / f".{name}.fetching"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir()
        for file in segment_files(segments / name):
            with (partial / file).open("wb") as out:
                for chunk in blobs.open(f"{BLOB_PREFIX}/segments/{name}/{file}"):
                    out.write(chunk)
        partial.rename(segments / name)
    temporary = folder / ".index.json.fetching"
    temporary.write_bytes(manifest)
    temporary.replace(folder / "index.json")
    return True


# Taken by each fingerprint writer on PostgreSQL until its transaction ends (see save_fingerprint).
FINGERPRINT_WRITE_LOCK_KEY = 0x7665726974790002


def save_fingerprint(session: Session, clip_id: str, print_: Fingerprint, sample_fps: float) -> None:
    """Replace the clip's stored fingerprint (a new row, so every process picks it up).

    `sync` reads only ids above the last it saw, so rows must become visible in id order. On
    PostgreSQL two writers could commit out of sequence order (a finder syncing in between would
    skip the lower id for good), so writers take turns from before the insert until commit;
    SQLite already lets one writer at a time."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": FINGERPRINT_WRITE_LOCK_KEY})
    session.execute(delete(StoredFingerprint).where(StoredFingerprint.clip_id == clip_id))
    session.flush()
    session.add(pack(clip_id, print_, sample_fps))


def save_relations(session: Session, clip_id: str, matches: list[Match]) -> None:
    session.execute(delete(ClipRelation).where(ClipRelation.clip_id == clip_id))
    for found in matches:
        session.add(
            ClipRelation(
                clip_id=clip_id,
                related_clip_id=found.clip_id,
                score=found.score,
                matched_seconds=found.matched_seconds,
                mirrored=found.mirrored,
                segments=json.dumps([asdict(s) for s in found.segments]),
                signals=json.dumps(list(found.signals)),
            )
        )


def relations_of(session: Session, clip_id: str, *, with_rejected: bool = False) -> list[Match]:
    """Every clip found to share footage with this one, from either side, in this clip's time;
    a pair an analyst rejected only `with_rejected` (storage/matches.py: never suggested again)."""
    rejected = set() if with_rejected else rejected_with(session, clip_id)
    rows = session.scalars(
        select(ClipRelation).where(or_(ClipRelation.clip_id == clip_id, ClipRelation.related_clip_id == clip_id))
    )
    found: dict[str, Match] = {}
    for row in rows:
        segments = [Segment(**s) for s in json.loads(row.segments)]
        if row.clip_id == clip_id:
            other = row.related_clip_id
        else:
            other = row.clip_id
            segments = [Segment(s.clip_start_s, s.query_start_s, s.duration_s) for s in segments]
        if other in rejected:
            continue
        match = Match(other, row.score, row.matched_seconds, segments, row.mirrored, tuple(json.loads(row.signals)))
        if other not in found or match.matched_seconds > found[other].matched_seconds:
            found[other] = match
    return sorted(found.values(), key=lambda m: (-m.matched_seconds, -m.score))
