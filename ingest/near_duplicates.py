"""Near-duplicate search over the archive: stored fingerprints ↔ the in-memory index.

`NearDuplicateFinder` keeps one process's index in step with the `fingerprints` table (rows
only ever get newer ids, so each sync loads just what this process has not seen, whichever
process wrote it) and answers match queries against it.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import asdict
from pathlib import Path

import numpy as np
from sqlalchemy import delete, or_, select, text
from sqlalchemy.orm import Session, sessionmaker

from ingest.audio_duplicates import AudioFinder
from ingest.audio_match import combine
from ingest.chromaprint import AudioFingerprint
from ingest.fingerprint import Fingerprint
from ingest.index import FingerprintIndex
from ingest.match import Match, Segment, match_clip
from storage.matches import rejected_with
from storage.models import ClipRelation, StoredFingerprint


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


class NearDuplicateFinder:
    def __init__(self, sessions: sessionmaker[Session], snapshot: Path | None = None) -> None:
        """With `snapshot`, start from the index saved there (if any) and sync only what is newer."""
        self.sessions = sessions
        self.snapshot = snapshot
        self.index = FingerprintIndex()
        self.audio = AudioFinder(sessions)  # the sound index: rebuilt from its table, never snapshotted
        self._last_id = 0
        self._lock = threading.Lock()
        if snapshot is not None and (snapshot / "index.json").exists():
            try:
                self.index, meta = FingerprintIndex.load(snapshot)
                self._last_id = int(meta.get("last_fingerprint_id", 0))
            except (OSError, ValueError, KeyError):
                log.warning("fingerprint index snapshot at %s is unreadable; rebuilding", snapshot)
                self.index, self._last_id = FingerprintIndex(), 0

    def save_snapshot(self) -> None:
        if self.snapshot is not None:
            with self._lock:
                self.index.save(self.snapshot, last_fingerprint_id=self._last_id)

    def sync(self) -> int:
        """Load fingerprints stored since the last sync; returns how many."""
        with self._lock, self.sessions() as session:
            rows = list(
                session.scalars(
                    select(StoredFingerprint).where(StoredFingerprint.id > self._last_id).order_by(StoredFingerprint.id)
                )
            )
            bulk = len(rows) > BULK_ROWS
            for row in rows:
                self.index.add(row.clip_id, unpack(row), defer_sorting=bulk)
                self._last_id = row.id
            if bulk:
                self.index.finish_loading()
            return len(rows)

    def find(
        self,
        query: Fingerprint,
        mirrored: Fingerprint | None,
        *,
        sample_step_s: float,
        exclude_clip_id: str | None = None,
        audio: AudioFingerprint | None = None,
    ) -> list[Match]:
        """Clips sharing footage with the query by its pictures or, given `audio`, by its sound."""
        self.sync()
        found = match_clip(self.index, query, mirrored, sample_step_s=sample_step_s, exclude_clip_id=exclude_clip_id)
        if audio is None:
            return found
        return combine(found, self.audio.find(audio, exclude_clip_id=exclude_clip_id))


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
