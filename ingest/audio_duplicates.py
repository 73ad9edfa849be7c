"""Near-duplicates by sound over the archive: the `audio_fingerprints` table ↔ an in-memory
`AudioIndex`, kept in step the way `NearDuplicateFinder` keeps the picture index (rows only get
newer ids, so each sync loads just what this process has not seen). The index is rebuilt from the
table when a process starts; at about 230 bytes a second of sound (two lookup entries of 12
bytes and the value itself per 0.12 s), it fits the embedded archive, not yet 100,000 hours."""

from __future__ import annotations

import threading

import numpy as np
from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session, sessionmaker

from ingest.audio_match import AudioIndex, match_audio
from ingest.chromaprint import ALGORITHM, ITEM_STEP_S, AudioFingerprint
from ingest.match import Match
from storage.models import StoredAudioFingerprint

# Taken by each sound fingerprint writer on PostgreSQL until its transaction ends (as
# ingest/near_duplicates.py's FINGERPRINT_WRITE_LOCK_KEY is for pictures).
AUDIO_FINGERPRINT_WRITE_LOCK_KEY = 0x7665726974790003


def pack_audio(clip_id: str, print_: AudioFingerprint) -> StoredAudioFingerprint:
    return StoredAudioFingerprint(
        clip_id=clip_id,
        algorithm=ALGORITHM,
        start_s=print_.start_s,
        step_s=ITEM_STEP_S,
        value_count=len(print_),
        values=print_.values.astype("<u4").tobytes(),
    )


def unpack_audio(row: StoredAudioFingerprint) -> AudioFingerprint:
    return AudioFingerprint(row.start_s, np.frombuffer(row.values, "<u4").astype(np.uint32))


def save_audio_fingerprint(session: Session, clip_id: str, print_: AudioFingerprint | None) -> None:
    """Replace the clip's stored sound fingerprint with `print_` (none: the clip keeps none). The
    rows become visible in id order as picture fingerprints do (ingest/near_duplicates.py)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIO_FINGERPRINT_WRITE_LOCK_KEY})
    session.execute(delete(StoredAudioFingerprint).where(StoredAudioFingerprint.clip_id == clip_id))
    if print_ is not None:
        session.flush()
        session.add(pack_audio(clip_id, print_))


class AudioFinder:
    """One process's sound index, synced from the database, and the sound matches of a query."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions
        self.index = AudioIndex()
        self._last_id = 0
        self._lock = threading.Lock()

    def sync(self) -> int:
        """Load sound fingerprints stored since the last sync; returns how many."""
        with self._lock, self.sessions() as session:
            rows = list(
                session.scalars(
                    select(StoredAudioFingerprint)
                    .where(StoredAudioFingerprint.id > self._last_id)
                    .order_by(StoredAudioFingerprint.id)
                )
            )
            self.index.add_many([(row.clip_id, unpack_audio(row)) for row in rows])
            if rows:
                self._last_id = rows[-1].id
            return len(rows)

    def find(self, query: AudioFingerprint, *, exclude_clip_id: str | None = None) -> list[Match]:
        self.sync()
        return match_audio(self.index, query, exclude_clip_id=exclude_clip_id)
