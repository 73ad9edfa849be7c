"""The fingerprint index: every archived frame hash, found by multi-index hashing.

Each 64-bit hash is cut into three chunks of 21–22 bits; a hash within distance d of a query
shares at least one chunk exactly when d < 3, and in practice a true copy shares one on enough
of its frames for the matcher to find it and then check every frame. Frames are numbered clip
by clip, so a clip's whole fingerprint is a slice. They live in immutable segments
(ingest/index_segments.py: sorted per chunk, a lookup is a directory step and a short binary
search, never a scan), which a saved index keeps as files that every process memory-maps. New
clips go to a small unsorted tail that is compared directly, by the same rule as the segments
(so an answer never depends on whether a clip has been sorted yet, or on a restart), and become
a segment when it grows; segments of similar size are merged, like a log-structured tree.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from ingest.fingerprint import Fingerprint, Hashes, hamming
from ingest.index_segments import (
    CHUNK_SPANS,
    MAX_SEGMENT_FRAMES,
    ClipTimes,
    Segment,
    chunk_of,
    fsync_dir,
)

__all__ = ["CHUNK_SPANS", "FingerprintIndex", "FingerprintLookup", "Hits"]

CHUNK_MASKS = tuple(np.uint64(((1 << width) - 1) << first) for first, width in CHUNK_SPANS)
TAIL_BLOCK_PAIRS = 2_000_000  # query hash × tail entry pairs compared at once
# In one-bit probing (the closer look), a chunk value holding more than this many times the
# entries an evenly spread one would is a stop-word and is not read: in footage as skewed as real,
# a few hundred such buckets held three quarters of the entries the closer look read.
STOP_WORD_TIMES = 32.0
FORMAT = 2  # of the saved index; an older snapshot is rebuilt from the database


@dataclass(frozen=True)
class Hits:
    """Archived frames near some query frames: parallel arrays, one row per (query frame, hit)."""

    query_frame: npt.NDArray[np.int64]
    clip: npt.NDArray[np.int64]  # position in `FingerprintIndex.clip_ids`
    clip_frame: npt.NDArray[np.int64]  # frame number within that clip
    clip_time: npt.NDArray[np.float64]  # that frame's time in its clip
    distance: npt.NDArray[np.int64]


class FingerprintLookup(Protocol):
    def add(self, clip_id: str, print_: Fingerprint) -> None: ...

    def query(self, hashes: Hashes, max_distance: int) -> Hits: ...

    def clip_print(self, clip: int) -> Fingerprint: ...


class _Growing:
    """An append-only NumPy array with spare capacity, so adding a clip copies only that clip."""

    def __init__(self, dtype: type) -> None:
        self._data: npt.NDArray[Any] = np.zeros(1024, dtype)
        self.size = 0

    def extend(self, values: npt.NDArray[np.generic]) -> None:
        needed = self.size + len(values)
        if needed > len(self._data):
            grown = np.zeros(max(needed, 2 * len(self._data)), self._data.dtype)
            grown[: self.size] = self._data[: self.size]
            self._data = grown
        self._data[self.size : needed] = values
        self.size = needed

    @property
    def array(self) -> npt.NDArray[Any]:
        return self._data[: self.size]


class _Tail:
    """Clips added since the last segment, in memory, compared directly."""

    def __init__(self, first_clip: int, first_frame: int) -> None:
        self.first_clip, self.first_frame = first_clip, first_frame
        self.hashes = _Growing(np.uint64)
        self.centre = _Growing(np.uint64)
        self.informative = _Growing(np.bool_)
        self.times = _Growing(np.float32)
        self.clip_frames = _Growing(np.int64)
        self.clip_frames.extend(np.zeros(1, np.int64))
        self.start_s = _Growing(np.float64)
        self.step_s = _Growing(np.float64)
        self.irregular_at = _Growing(np.int64)
        self.irregular_times = _Growing(np.float32)
        self.entry_code = _Growing(np.int64)  # tail frame × 2, plus 1 for the centre hash

    @property
    def frames(self) -> int:
        return self.hashes.size

    @property
    def clips(self) -> int:
        return self.clip_frames.size - 1

    def add(self, print_: Fingerprint) -> None:
        first = self.frames
        times32 = print_.times.astype(np.float32)
        count = len(print_)
        start = float(print_.times[0]) if count else 0.0
        step = float(print_.times[-1] - print_.times[0]) / (count - 1) if count > 1 else 0.0
        regular = np.array_equal((start + np.arange(count) * step).astype(np.float32), times32)
        self.start_s.extend(np.array([start]))
        self.step_s.extend(np.array([step]))
        self.irregular_at.extend(np.array([-1 if regular else self.irregular_times.size], np.int64))
        if not regular:
            self.irregular_times.extend(times32)
        self.times.extend(times32)
        self.hashes.extend(print_.hashes)
        self.centre.extend(print_.centre_hashes)
        self.informative.extend(print_.informative)
        self.clip_frames.extend(np.array([first + count], np.int64))
        frames = first + np.flatnonzero(print_.informative)
        self.entry_code.extend(np.concatenate([frames * 2, frames * 2 + 1]))

    def clip_times(self, first: int = 0, last: int | None = None) -> ClipTimes:
        """Times of tail clips [first, last), their frames counted from the first's first frame."""
        last = self.clips if last is None else last
        frames = self.clip_frames.array[first : last + 1]
        at = self.irregular_at.array[first:last]
        regular = at < 0
        irregular_first = int(at[~regular].min()) if (~regular).any() else 0
        irregular_last = self.irregular_times.size
        if (~regular).any() and last < self.clips:
            later = self.irregular_at.array[last:]
            irregular_last = int(later[later >= 0].min()) if (later >= 0).any() else irregular_last
        return ClipTimes(
            frames - frames[0],
            self.start_s.array[first:last],
            self.step_s.array[first:last],
            np.where(regular, -1, at - irregular_first),
            self.irregular_times.array[irregular_first:irregular_last] if (~regular).any() else np.zeros(0, np.float32),
        )

    def entry_hashes(self, codes: npt.NDArray[np.int64]) -> Hashes:
        frames, centre = codes >> 1, (codes & 1).astype(bool)
        hashes: Hashes = np.where(centre, self.centre.array[frames], self.hashes.array[frames])
        return hashes


class FingerprintIndex:
    """Multi-index over the informative frame hashes (whole and centre) of every clip: immutable
    segments plus a small unsorted tail."""

    TAIL = 20_000  # entries
    SEGMENT_FRAMES = MAX_SEGMENT_FRAMES

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.clip_ids: list[str] = []
        self._clip_of: dict[str, int] = {}
        self._removed: set[int] = set()
        self._segments: list[Segment] = []
        self._starts = _Growing(np.int64)  # global first frame of each clip, and one past the last
        self._starts.extend(np.zeros(1, np.int64))
        # Every clip's sample clock (a few bytes per clip), so a hit's time needs no segment.
        self._start_s = _Growing(np.float64)
        self._step_s = _Growing(np.float64)
        self._irregular = _Growing(np.bool_)
        self._tail = _Tail(0, 0)

    def __len__(self) -> int:
        return int(self._starts.array[-1])

    def __contains__(self, clip_id: str) -> bool:
        return clip_id in self._clip_of

    def clip_number(self, clip_id: str) -> int | None:
        return self._clip_of.get(clip_id)

    @property
    def clip_count(self) -> int:
        return len(self._clip_of)

    @property
    def segments(self) -> list[Segment]:
        return list(self._segments)

    @property
    def segment_frames(self) -> int:
        """Frames in segments (the rest wait in the tail)."""
        return self._tail.first_frame

    def add(self, clip_id: str, print_: Fingerprint, *, defer_sorting: bool = False) -> None:
        """Make a clip searchable (replacing an earlier fingerprint of it). With `defer_sorting`,
        for bulk loads, its entries wait in the tail until `finish_loading`."""
        if len(print_) > self.SEGMENT_FRAMES:
            raise OverflowError(f"a clip of the fingerprint index has at most {self.SEGMENT_FRAMES} frames")
        with self._lock:
            self.remove(clip_id)
            clip = len(self.clip_ids)
            self.clip_ids.append(clip_id)
            self._clip_of[clip_id] = clip
            self._starts.extend(np.array([len(self) + len(print_)], np.int64))
            self._tail.add(print_)
            self._start_s.extend(self._tail.start_s.array[-1:])
            self._step_s.extend(self._tail.step_s.array[-1:])
            self._irregular.extend(self._tail.irregular_at.array[-1:] >= 0)
            if not defer_sorting and self._tail.entry_code.size >= self.TAIL:
                self._seal_tail()

    def _seal_tail(self) -> None:
        """Turn the tail into segments (each at most SEGMENT_FRAMES, cut at clip boundaries), then
        merge the newest segments while the older of two is no larger than the newer."""
        tail = self._tail
        if not tail.clips:
            return
        first = 0
        frames = tail.clip_frames.array
        while first < tail.clips:
            last = int(np.searchsorted(frames, frames[first] + self.SEGMENT_FRAMES, "right")) - 1
            last = max(last, first + 1)
            start, end = int(frames[first]), int(frames[last])
            self._segments.append(
                Segment.build(
                    tail.hashes.array[start:end],
                    tail.centre.array[start:end],
                    tail.informative.array[start:end],
                    tail.clip_times(first, last),
                    tail.first_clip + first,
                    tail.first_frame + start,
                )
            )
            first = last
        self._tail = _Tail(len(self.clip_ids), len(self))
        while len(self._segments) >= 2:
            older, newer = self._segments[-2], self._segments[-1]
            if older.frames > newer.frames or older.frames + newer.frames > self.SEGMENT_FRAMES:
                break
            self._segments[-2:] = [_merged(older, newer)]

    def finish_loading(self) -> None:
        """Put every waiting entry into segments (after a bulk load at startup)."""
        with self._lock:
            self._seal_tail()

    def remove(self, clip_id: str) -> None:
        """Forget a clip for matching; its entries stay but are never returned."""
        with self._lock:
            clip = self._clip_of.pop(clip_id, None)
            if clip is not None:
                self._removed.add(clip)

    def query(
        self, hashes: Hashes, max_distance: int, *, probe_radius: int = 0, exclude: frozenset[int] = frozenset()
    ) -> Hits:
        """Archived frames within `max_distance` bits of each query hash that share a chunk with it
        exactly, or with `probe_radius=1` up to one bit (21 times the lookups), wherever they sit
        (segments or the unsorted tail). With `probe_radius=1` a segment's stop-words (chunk values
        far commoner than an even spread gives, STOP_WORD_TIMES) are not read; the small tail's
        are, so such a hit can be found before its clip is sorted and not after."""
        with self._lock:
            keys, rows, tables = _probes(hashes, probe_radius)
            # Neighbouring query frames mostly share a chunk: each distinct (table, key) is looked
            # up, and its entries read from the (large, randomly accessed) segment, once.
            distinct, inverse = np.unique(tables << 32 | keys.astype(np.int64), return_inverse=True)
            distinct_keys, distinct_tables = (distinct & 0xFFFFFFFF).astype(np.uint32), distinct >> 32
            found_query: list[npt.NDArray[np.int64]] = []
            found_frame: list[npt.NDArray[np.int64]] = []
            found_distance: list[npt.NDArray[np.int64]] = []
            for segment in self._segments:
                probe, entry = segment.lookup(
                    distinct_keys, distinct_tables, most_common=STOP_WORD_TIMES if probe_radius else np.inf
                )
                if not len(probe):
                    continue
                distinct_frame = segment.entry_frames(entry)
                distinct_archived = segment.pairs[distinct_frame * 2 + (distinct_tables[probe] & 1)]
                counts = np.bincount(probe, minlength=len(distinct))
                offsets = np.cumsum(counts) - counts
                per_probe = counts[inverse]
                total = int(per_probe.sum())
                if not total:
                    continue
                picked = np.repeat(offsets[inverse] - (np.cumsum(per_probe) - per_probe), per_probe) + np.arange(total)
                frame, archived = distinct_frame[picked], distinct_archived[picked]
                query_frame = np.repeat(rows, per_probe)
                distance = hamming(hashes[query_frame], archived)
                close = distance <= max_distance
                found_query.append(query_frame[close])
                found_frame.append(frame[close] + segment.first_frame)
                found_distance.append(distance[close])
            self._query_tail(hashes, max_distance, probe_radius, exclude, found_query, found_frame, found_distance)
            empty = np.zeros(0, np.int64)
            if not found_query:
                return Hits(empty, empty, empty, np.zeros(0), empty)
            query_frame = np.concatenate(found_query)
            frame = np.concatenate(found_frame)
            distance = np.concatenate(found_distance)
            starts = self._starts.array
            clip = np.searchsorted(starts, frame, "right") - 1
            if self._removed or exclude:
                live = ~np.isin(clip, list(self._removed | set(exclude)))
                query_frame, frame, distance, clip = query_frame[live], frame[live], distance[live], clip[live]
            # One row per (query frame, archived frame), at its smallest distance: a pair can be
            # found through several chunks and through both of the frame's hashes.
            order = np.lexsort((distance, frame, query_frame))
            query_frame, frame, distance, clip = query_frame[order], frame[order], distance[order], clip[order]
            first = np.ones(len(order), bool)
            first[1:] = (query_frame[1:] != query_frame[:-1]) | (frame[1:] != frame[:-1])
            query_frame, frame, distance, clip = query_frame[first], frame[first], distance[first], clip[first]
            clip_frame = frame - starts[clip]
            return Hits(query_frame, clip, clip_frame, self._times(clip, clip_frame), distance)

    def _query_tail(
        self,
        hashes: Hashes,
        max_distance: int,
        probe_radius: int,
        exclude: frozenset[int],
        found_query: list[npt.NDArray[np.int64]],
        found_frame: list[npt.NDArray[np.int64]],
        found_distance: list[npt.NDArray[np.int64]],
    ) -> None:
        tail = self._tail
        codes = tail.entry_code.array
        skip = self._removed | set(exclude)
        if len(codes) and skip:
            clips = tail.first_clip + np.searchsorted(tail.clip_frames.array, codes >> 1, "right") - 1
            codes = codes[~np.isin(clips, list(skip))]
        # Compared directly, in blocks, so a long query against a full tail stays small in memory;
        # a pair counts only if the segments would have found it too (a chunk within
        # `probe_radius`), so answers never depend on whether a clip has been sorted yet.
        block = max(1, TAIL_BLOCK_PAIRS // max(1, len(hashes)))
        for start in range(0, len(codes) if len(hashes) else 0, block):
            part = codes[start : start + block]
            entry_hashes = tail.entry_hashes(part)
            distances = hamming(hashes[:, None], entry_hashes[None, :])
            rows, cols = np.nonzero(distances <= max_distance)
            shared = np.zeros(len(rows), bool)
            for mask in CHUNK_MASKS:
                shared |= hamming(hashes[rows] & mask, entry_hashes[cols] & mask) <= probe_radius
            found_query.append(rows[shared].astype(np.int64))
            found_frame.append((part[cols[shared]] >> 1) + tail.first_frame)
            found_distance.append(distances[rows[shared], cols[shared]])

    def _place(self, clip: int) -> tuple[Segment | None, int]:
        """The segment holding a clip (None: the tail), and the clip's number within it."""
        for segment in self._segments:
            if segment.first_clip <= clip < segment.first_clip + segment.clips:
                return segment, clip - segment.first_clip
        return None, clip - self._tail.first_clip

    def _times(self, clip: npt.NDArray[np.int64], clip_frame: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        regular = self._start_s.array[clip] + clip_frame * self._step_s.array[clip]
        times: npt.NDArray[np.float64] = regular.astype(np.float32).astype(np.float64)
        irregular = self._irregular.array[clip]
        for number in np.unique(clip[irregular]):
            rows = np.flatnonzero(clip == number)
            segment, within = self._place(int(number))
            clip_times = segment.times if segment is not None else self._tail.clip_times()
            times[rows] = clip_times.times(within, clip_frame[rows])
        return times

    def clip_print(self, clip: int) -> Fingerprint:
        with self._lock:
            segment, within = self._place(clip)
            if segment is None:
                tail = self._tail
                start, end = int(tail.clip_frames.array[within]), int(tail.clip_frames.array[within + 1])
                return Fingerprint(
                    tail.times.array[start:end].astype(np.float64),
                    tail.hashes.array[start:end],
                    tail.centre.array[start:end],
                    tail.informative.array[start:end],
                )
            frames = segment.times.clip_frames
            start, end = int(frames[within]), int(frames[within + 1])
            return Fingerprint(
                segment.times.times(within, np.arange(end - start)).astype(np.float64),
                np.asarray(segment.hashes[start:end]),
                np.asarray(segment.centre[start:end]),
                segment.informative(start, end),
            )

    def save(self, folder: Path, **meta: object) -> None:
        """Write the index so a restart (or another process) memory-maps it instead of rebuilding:
        the tail becomes a segment, segments not yet in `folder` are written (each once, never
        changed), then the list of segments, clips and `meta` is replaced atomically, and the
        segments it no longer names are removed (a process that has them mapped keeps reading
        them until it lets go). A crash at any point leaves the previous index readable. One
        process saves into a folder at a time (NearDuplicateFinder takes turns by a lock)."""
        with self._lock:
            self._seal_tail()
            segments = folder / "segments"
            segments.mkdir(parents=True, exist_ok=True)
            for number, segment in enumerate(self._segments):
                if not (segments / segment.name / "segment.json").exists():
                    segment.write(segments)
                    self._segments[number] = Segment.open(segments / segment.name)  # and let go of the copy in memory
            named = [s.name for s in self._segments]
            state = {
                "format": FORMAT,
                "segments": named,
                "clip_ids": self.clip_ids,
                "live": sorted(self._clip_of),
                "meta": meta,
            }
            _write_atomically(folder / "index.json", json.dumps(state).encode())
            for old in segments.iterdir():  # what earlier saves left, and any a crash left half-written
                if old.name not in named:
                    shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path) -> tuple[FingerprintIndex, dict[str, Any]]:
        """Memory-map a saved index (read-only; new clips go to the tail)."""
        state = json.loads((folder / "index.json").read_text())
        if state.get("format") != FORMAT:
            raise ValueError(f"fingerprint index at {folder} is in an older format")
        index = cls()
        index._segments = [Segment.open(folder / "segments" / name) for name in state["segments"]]
        index.clip_ids = list(state["clip_ids"])
        live = set(state["live"])
        index._clip_of = {clip_id: number for number, clip_id in enumerate(index.clip_ids) if clip_id in live}
        # A clip fingerprinted again holds several slots; only its newest is live.
        index._removed = {n for n, clip_id in enumerate(index.clip_ids) if index._clip_of.get(clip_id) != n}
        starts = [np.zeros(1, np.int64)]
        for segment in index._segments:
            starts.append(segment.first_frame + segment.times.clip_frames[1:])
        index._starts = _Growing(np.int64)
        index._starts.extend(np.concatenate(starts))
        if len(index._starts.array) != len(index.clip_ids) + 1:
            raise ValueError(f"fingerprint index at {folder} does not name as many clips as its segments hold")
        for segment, growing, name in (
            (segment, growing, name)
            for segment in index._segments
            for growing, name in ((index._start_s, "start_s"), (index._step_s, "step_s"))
        ):
            growing.extend(getattr(segment.times, name))
        for segment in index._segments:
            index._irregular.extend(segment.times.irregular_at >= 0)
        index._tail = _Tail(len(index.clip_ids), len(index))
        return index, dict(state["meta"])

    def memory_bytes(self) -> int:
        """Bytes the index needs in memory (its segments mapped or not), per-process state included."""
        tail = self._tail
        growing = [tail.hashes, tail.centre, tail.informative, tail.times, tail.entry_code, self._starts]
        return sum(s.nbytes() for s in self._segments) + sum(g.array.nbytes for g in growing)


def _probes(
    hashes: Hashes, probe_radius: int
) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """(chunk key, query row, table) of every lookup a query makes: each chunk of each hash (and,
    with `probe_radius=1`, each one-bit variant of it) in that chunk's whole and centre tables."""
    keys, rows, tables = [], [], []
    for number in range(len(CHUNK_SPANS)):
        chunk = chunk_of(hashes, number)
        row = np.arange(len(hashes))
        if probe_radius:
            width = CHUNK_SPANS[number][1]
            flips = np.concatenate([[0], np.uint32(1) << np.arange(width, dtype=np.uint32)]).astype(np.uint32)
            chunk = (chunk[:, None] ^ flips[None, :]).ravel()
            row = np.repeat(row, width + 1)
        for kind in (0, 1):
            keys.append(chunk)
            rows.append(row)
            tables.append(np.full(len(chunk), 2 * number + kind, np.int64))
    return np.concatenate(keys).astype(np.uint32), np.concatenate(rows), np.concatenate(tables)


def _merged(older: Segment, newer: Segment) -> Segment:
    """One segment with the clips of two adjacent ones."""
    shift = older.frames
    irregular_shift, newer_at = len(older.times.irregular_times), newer.times.irregular_at
    times = ClipTimes(
        np.concatenate([older.times.clip_frames, newer.times.clip_frames[1:] + shift]),
        np.concatenate([older.times.start_s, newer.times.start_s]),
        np.concatenate([older.times.step_s, newer.times.step_s]),
        np.concatenate([older.times.irregular_at, np.where(newer_at < 0, -1, newer_at + irregular_shift)]),
        np.concatenate([older.times.irregular_times, newer.times.irregular_times]),
    )
    return Segment.build(
        np.concatenate([older.hashes, newer.hashes]),
        np.concatenate([older.centre, newer.centre]),
        np.concatenate([older.informative(0, older.frames), newer.informative(0, newer.frames)]),
        times,
        older.first_clip,
        older.first_frame,
    )


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.partial")
    with temporary.open("wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)
    fsync_dir(path.parent)
