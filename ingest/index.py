"""The fingerprint index: every archived frame hash in memory, found by multi-index hashing.

Each 64-bit hash is cut into three chunks of 21–22 bits; a hash within distance d of a query
shares at least one chunk exactly when d < 3, and in practice a true copy shares one on enough
of its frames for the matcher to find it and then check every frame. Chunks of this size keep
buckets small (a few dozen entries at 10,000 hours of footage), so a query touches little. Per chunk the index keeps its
entries sorted by that chunk, so a lookup is a binary search, never a scan. Frames are stored
clip by clip, so a clip's whole fingerprint is a slice. New clips go to a small unsorted tail
that is compared directly, by the same rule as the sorted tables (so an answer never depends on
whether a clip has been sorted yet, or on a restart), and merged into them when it grows.
"""

from __future__ import annotations

import json
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from ingest.fingerprint import Fingerprint, Hashes, hamming

CHUNK_SPANS = ((0, 21), (21, 21), (42, 22))  # (first bit, width)
CHUNKS = len(CHUNK_SPANS)
CHUNK_MASKS = tuple(np.uint64(((1 << width) - 1) << first) for first, width in CHUNK_SPANS)
TAIL_BLOCK_PAIRS = 2_000_000  # query hash × tail entry pairs compared at once
MAX_FRAMES = 2**30  # entry codes are int32: frame × 2 + 1


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


def _chunk(hashes: Hashes, number: int) -> npt.NDArray[np.uint32]:
    first, width = CHUNK_SPANS[number]
    return ((hashes >> np.uint64(first)) & np.uint64((1 << width) - 1)).astype(np.uint32)


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

    def replace(self, values: npt.NDArray[Any]) -> None:
        self._data = values.astype(self._data.dtype, copy=False)
        self.size = len(values)

    @property
    def array(self) -> npt.NDArray[Any]:
        return self._data[: self.size]


@dataclass
class _Run:
    """A block of searchable entries, sorted once per chunk."""

    keys: list[npt.NDArray[np.uint32]]
    entries: list[npt.NDArray[np.int32]]  # positions in the entry list

    @classmethod
    def build(cls, hashes: Hashes, first_entry: int) -> _Run:
        keys, entries = [], []
        for number in range(CHUNKS):
            chunk = _chunk(hashes, number)
            order = _radix_order(chunk)
            keys.append(chunk[order])
            entries.append(order + np.int32(first_entry))
        return cls(keys, entries)


def _radix_order(keys: npt.NDArray[np.uint32]) -> npt.NDArray[np.int32]:
    """Sorting permutation of 22-bit keys in two stable 11-bit passes (NumPy radix-sorts 16-bit
    keys in linear time; a general sort of 10^8 keys takes minutes on two cores)."""
    low = np.argsort((keys & 0x7FF).astype(np.uint16), kind="stable")
    high = np.argsort((keys[low] >> 11).astype(np.uint16), kind="stable")
    order: npt.NDArray[np.int32] = low[high].astype(np.int32)
    return order


class FingerprintIndex:
    """In-memory multi-index over the informative frame hashes (whole and centre) of every clip.

    Searchable entries are kept in sorted runs (built as clips arrive, merged when there are
    many, like a log-structured tree) plus a small unsorted tail that is compared directly."""

    TAIL = 20_000
    MAX_RUNS = 12

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.clip_ids: list[str] = []
        self._clip_of: dict[str, int] = {}
        self._starts = _Growing(np.int64)
        self._starts.extend(np.zeros(1, np.int64))
        self._times = _Growing(np.float32)
        self._hashes = _Growing(np.uint64)
        self._centre = _Growing(np.uint64)
        self._informative = _Growing(np.bool_)
        self._frame_clip = _Growing(np.int32)
        # A searchable entry is a code: frame number × 2, plus 1 for the frame's centre hash.
        self._entry_code = _Growing(np.int32)
        self._removed: set[int] = set()
        self._runs: list[_Run] = []
        self._in_runs = 0  # entries [0, _in_runs) are in runs; the rest is the tail

    def __len__(self) -> int:
        return self._times.size

    def __contains__(self, clip_id: str) -> bool:
        return clip_id in self._clip_of

    def clip_number(self, clip_id: str) -> int | None:
        return self._clip_of.get(clip_id)

    @property
    def clip_count(self) -> int:
        return len(self._clip_of)

    def add(self, clip_id: str, print_: Fingerprint, *, defer_sorting: bool = False) -> None:
        """Make a clip searchable (replacing an earlier fingerprint of it). With `defer_sorting`,
        for bulk loads, its entries wait in the tail until `finish_loading`."""
        with self._lock:
            self.remove(clip_id)
            clip = len(self.clip_ids)
            self.clip_ids.append(clip_id)
            self._clip_of[clip_id] = clip
            first = self._times.size
            self._starts.extend(np.array([first + len(print_)], np.int64))
            self._times.extend(print_.times)
            self._hashes.extend(print_.hashes)
            self._centre.extend(print_.centre_hashes)
            self._informative.extend(print_.informative)
            self._frame_clip.extend(np.full(len(print_), clip, np.int32))
            if first + len(print_) >= MAX_FRAMES:
                raise OverflowError("the fingerprint index holds at most 2^30 frames")
            frames = (first + np.flatnonzero(print_.informative)).astype(np.int32)
            self._entry_code.extend(np.concatenate([frames * 2, frames * 2 + 1]))
            if not defer_sorting and self._entry_code.size - self._in_runs >= self.TAIL:
                self._seal_tail()

    def _entry_hashes(self, codes: npt.NDArray[np.int32]) -> Hashes:
        frames, centre = codes >> 1, (codes & 1).astype(bool)
        hashes: Hashes = np.where(centre, self._centre.array[frames], self._hashes.array[frames])
        return hashes

    def _seal_tail(self) -> None:
        codes = self._entry_code.array[self._in_runs :]
        self._runs.append(_Run.build(self._entry_hashes(codes), self._in_runs))
        self._in_runs = self._entry_code.size
        if len(self._runs) > self.MAX_RUNS:
            self._runs = [_Run.build(self._entry_hashes(self._entry_code.array[: self._in_runs]), 0)]

    def finish_loading(self) -> None:
        """Put every entry into one sorted run (after a bulk load at startup)."""
        with self._lock:
            self._in_runs = self._entry_code.size
            self._runs = [_Run.build(self._entry_hashes(self._entry_code.array), 0)] if self._in_runs else []

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
        (sorted runs or the unsorted tail)."""
        with self._lock:
            found_query: list[npt.NDArray[np.int64]] = []
            found_entry: list[npt.NDArray[np.int32]] = []
            probes = []
            for number in range(CHUNKS):
                keys = _chunk(hashes, number)
                rows = np.arange(len(hashes))
                if probe_radius:
                    width = CHUNK_SPANS[number][1]
                    flips = np.concatenate([[0], np.uint32(1) << np.arange(width, dtype=np.uint32)]).astype(np.uint32)
                    keys = (keys[:, None] ^ flips[None, :]).ravel()
                    rows = np.repeat(rows, width + 1)
                probes.append((keys, rows))
            for run in self._runs:
                for number in range(CHUNKS):
                    probe_keys, probe_rows = probes[number]
                    keys = run.keys[number]
                    lo = np.searchsorted(keys, probe_keys, "left")
                    hi = np.searchsorted(keys, probe_keys, "right")
                    counts = hi - lo
                    total = int(counts.sum())
                    if total:
                        starts = np.repeat(lo - (np.cumsum(counts) - counts), counts)
                        found_query.append(np.repeat(probe_rows, counts))
                        found_entry.append(run.entries[number][starts + np.arange(total)])
            tail = np.arange(self._in_runs, self._entry_code.size)
            skip = self._removed | set(exclude)
            if len(tail) and skip:
                tail_clips = self._frame_clip.array[self._entry_code.array[tail] >> 1]
                tail = tail[~np.isin(tail_clips, list(skip))]
            # Compared directly, in blocks, so a long query against a full tail stays small in memory;
            # a pair counts only if the sorted runs would have found it too (a chunk within
            # `probe_radius`), so answers never depend on whether a clip has been sorted yet.
            block = max(1, TAIL_BLOCK_PAIRS // max(1, len(hashes)))
            for start in range(0, len(tail) if len(hashes) else 0, block):
                part = tail[start : start + block]
                entry_hashes = self._entry_hashes(self._entry_code.array[part])
                rows, cols = np.nonzero(hamming(hashes[:, None], entry_hashes[None, :]) <= max_distance)
                shared = np.zeros(len(rows), bool)
                for mask in CHUNK_MASKS:
                    shared |= hamming(hashes[rows] & mask, entry_hashes[cols] & mask) <= probe_radius
                found_query.append(rows[shared].astype(np.int64))
                found_entry.append(part[cols[shared]].astype(np.int32))
            empty = np.zeros(0, np.int64)
            if not found_query:
                return Hits(empty, empty, empty, np.zeros(0), empty)
            query_frame = np.concatenate(found_query)
            codes = self._entry_code.array[np.concatenate(found_entry)]
            distance = hamming(hashes[query_frame], self._entry_hashes(codes))
            close = distance <= max_distance
            query_frame, distance = query_frame[close], distance[close]
            frame = (codes[close] >> 1).astype(np.int64)
            clip = self._frame_clip.array[frame].astype(np.int64)
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
            starts = self._starts.array
            times = self._times.array[frame].astype(np.float64)
            return Hits(query_frame, clip, frame - starts[clip], times, distance)

    def clip_print(self, clip: int) -> Fingerprint:
        with self._lock:
            start, end = int(self._starts.array[clip]), int(self._starts.array[clip + 1])
            return Fingerprint(
                self._times.array[start:end].astype(np.float64),
                self._hashes.array[start:end],
                self._centre.array[start:end],
                self._informative.array[start:end],
            )

    def save(self, folder: Path, **meta: object) -> None:
        """Write the whole index (sorted runs included) so a restart loads it instead of rebuilding."""
        with self._lock:
            if self._entry_code.size > self._in_runs:
                self._seal_tail()
            partial = folder.with_name(folder.name + ".partial")
            shutil.rmtree(partial, ignore_errors=True)
            partial.mkdir(parents=True)
            arrays = {
                "starts": self._starts.array,
                "times": self._times.array,
                "hashes": self._hashes.array,
                "centre": self._centre.array,
                "informative": self._informative.array,
                "frame_clip": self._frame_clip.array,
                "entry_code": self._entry_code.array,
            }
            for number, run in enumerate(self._runs):
                for chunk in range(CHUNKS):
                    arrays[f"run{number}_keys{chunk}"] = run.keys[chunk]
                    arrays[f"run{number}_entries{chunk}"] = run.entries[chunk]
            for name, array in arrays.items():
                np.save(partial / f"{name}.npy", array)
            state = {"clip_ids": self.clip_ids, "live": sorted(self._clip_of), "runs": len(self._runs), "meta": meta}
            (partial / "index.json").write_text(json.dumps(state))
            shutil.rmtree(folder, ignore_errors=True)
            partial.rename(folder)

    @classmethod
    def load(cls, folder: Path) -> tuple[FingerprintIndex, dict[str, Any]]:
        state = json.loads((folder / "index.json").read_text())
        index = cls()

        def read(name: str) -> npt.NDArray[Any]:
            loaded: npt.NDArray[Any] = np.load(folder / f"{name}.npy")
            return loaded

        for name, growing in (
            ("starts", index._starts),
            ("times", index._times),
            ("hashes", index._hashes),
            ("centre", index._centre),
            ("informative", index._informative),
            ("frame_clip", index._frame_clip),
            ("entry_code", index._entry_code),
        ):
            growing.replace(read(name))
        index.clip_ids = list(state["clip_ids"])
        live = set(state["live"])
        index._clip_of = {clip_id: number for number, clip_id in enumerate(index.clip_ids) if clip_id in live}
        # A clip fingerprinted again holds several slots; only its newest is live.
        index._removed = {n for n, clip_id in enumerate(index.clip_ids) if index._clip_of.get(clip_id) != n}
        index._runs = [
            _Run([read(f"run{n}_keys{c}") for c in range(CHUNKS)], [read(f"run{n}_entries{c}") for c in range(CHUNKS)])
            for n in range(state["runs"])
        ]
        index._in_runs = index._entry_code.size
        return index, dict(state["meta"])

    def memory_bytes(self) -> int:
        growing = [self._times, self._hashes, self._centre, self._informative, self._frame_clip]
        growing += [self._entry_code, self._starts]
        total = sum(g.array.nbytes for g in growing)
        return total + sum(
            k.nbytes + e.nbytes for run in self._runs for k, e in zip(run.keys, run.entries, strict=True)
        )
