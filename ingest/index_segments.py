"""Immutable segments of the fingerprint index: the frames of a run of clips, sorted by chunk.

A segment holds, for its frames, the whole and centre hashes and the informative bits, per clip
where its frames start and how its sample times run, and six lookup tables (three chunks × whole
or centre hash): each the segment's informative frames ordered by that chunk of that hash, as
3-byte frame numbers (so a segment holds at most 2^24 frames), with a directory over the chunk's
top bits that narrows a lookup to a few entries before a binary search on the chunk itself (read
from the hashes, so keys are not stored). About 34 bytes per frame. Written once to a folder of
.npy files (under a temporary name, renamed when complete) and opened read-only with
`numpy.memmap`, so every process on a machine shares one copy in the page cache.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ingest.fingerprint import Hashes

CHUNK_SPANS = ((0, 21), (21, 21), (42, 22))  # (first bit, width)
CHUNKS = len(CHUNK_SPANS)
TABLES = 2 * CHUNKS  # table = chunk × 2 + (1 for the centre hash)
MAX_SEGMENT_FRAMES = 2**24  # frame numbers within a segment are 3 bytes
# Never a stop-word, whatever the segment's size: a small archive's buckets are all read.
STOP_WORD_ENTRIES = 128
ENTRIES_PER_BUCKET = 16  # the directory's resolution: about this many entries per bucket
ARRAYS = (
    "hashes",
    "informative",
    "clip_frames",
    "clip_start_s",
    "clip_step_s",
    "irregular_at",
    "irregular_times",
    "entries",
    "directory",
)


def chunk_of(hashes: Hashes, number: int) -> npt.NDArray[np.uint32]:
    first, width = CHUNK_SPANS[number]
    return ((hashes >> np.uint64(first)) & np.uint64((1 << width) - 1)).astype(np.uint32)


def radix_order(keys: npt.NDArray[np.uint32]) -> npt.NDArray[np.int64]:
    """Sorting permutation of 22-bit keys in two stable 11-bit passes (NumPy radix-sorts 16-bit
    keys in linear time; a general sort of 10^8 keys takes minutes on two cores)."""
    low = np.argsort((keys & 0x7FF).astype(np.uint16), kind="stable")
    high = np.argsort((keys[low] >> 11).astype(np.uint16), kind="stable")
    order: npt.NDArray[np.int64] = low[high]
    return order


def _three_bytes(values: npt.NDArray[np.int64]) -> npt.NDArray[np.uint8]:
    return values.astype("<u4").view(np.uint8).reshape(-1, 4)[:, :3]


def _from_three_bytes(rows: npt.NDArray[np.uint8]) -> npt.NDArray[np.int64]:
    padded = np.zeros((len(rows), 4), np.uint8)
    padded[:, :3] = rows
    joined: npt.NDArray[np.int64] = padded.view("<u4").reshape(-1).astype(np.int64)
    return joined


@dataclass(frozen=True)
class ClipTimes:
    """Per clip of a run: where its frames start (one more than clips, relative to the run's
    first frame), and its sample times: `start_s + k × step_s` rounded to float32, or, for a clip
    whose times are not evenly spaced (`irregular_at` ≥ 0), its own float32 times from there on."""

    clip_frames: npt.NDArray[np.int64]
    start_s: npt.NDArray[np.float64]
    step_s: npt.NDArray[np.float64]
    irregular_at: npt.NDArray[np.int64]
    irregular_times: npt.NDArray[np.float32]

    def times(self, clip: int, frames: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
        """Sample times of these frames (numbers within the clip) of clip number `clip` of the run."""
        at = int(self.irregular_at[clip])
        if at >= 0:
            irregular: npt.NDArray[np.float32] = self.irregular_times[at + frames]
            return irregular
        regular: npt.NDArray[np.float32] = (self.start_s[clip] + frames * self.step_s[clip]).astype(np.float32)
        return regular


class Segment:
    """One immutable segment, in memory (just built) or memory-mapped from its folder."""

    def __init__(self, arrays: dict[str, npt.NDArray[Any]], first_clip: int, first_frame: int, name: str) -> None:
        self.arrays = arrays
        self.first_clip, self.first_frame, self.name = first_clip, first_frame, name
        # Each frame's whole and centre hash side by side: a lookup reads either with one gather.
        self.pairs: Hashes = arrays["hashes"].reshape(-1)
        self.hashes: Hashes = arrays["hashes"][:, 0]
        self.centre: Hashes = arrays["hashes"][:, 1]
        self.frames = len(self.hashes)
        self.clips = len(arrays["clip_frames"]) - 1
        self.times = ClipTimes(
            arrays["clip_frames"],
            arrays["clip_start_s"],
            arrays["clip_step_s"],
            arrays["irregular_at"],
            arrays["irregular_times"],
        )
        self.entries: npt.NDArray[np.uint8] = arrays["entries"]  # (TABLES × informative frames, 3)
        self.directory: npt.NDArray[np.int64] = arrays["directory"]  # (TABLES, buckets + 1), absolute rows
        self.bits = int(self.directory.shape[1] - 1).bit_length() - 1

    @classmethod
    def build(
        cls,
        hashes: Hashes,
        centre: Hashes,
        informative: npt.NDArray[np.bool_],
        times: ClipTimes,
        first_clip: int,
        first_frame: int,
    ) -> Segment:
        if len(hashes) > MAX_SEGMENT_FRAMES:
            raise OverflowError(f"a fingerprint index segment holds at most {MAX_SEGMENT_FRAMES} frames")
        frames = np.flatnonzero(informative)
        count = len(frames)
        bits = int(min(min(w for _f, w in CHUNK_SPANS), max(4, np.ceil(np.log2(max(count, 1) / ENTRIES_PER_BUCKET)))))
        entries = np.zeros((TABLES * count, 3), np.uint8)
        directory = np.zeros((TABLES, (1 << bits) + 1), np.uint32)
        for table in range(TABLES):
            number, kind = divmod(table, 2)
            keys = chunk_of((centre if kind else hashes)[frames], number)
            order = radix_order(keys)
            entries[table * count : (table + 1) * count] = _three_bytes(frames[order])
            buckets = keys[order] >> np.uint32(CHUNK_SPANS[number][1] - bits)
            directory[table] = table * count + np.searchsorted(buckets, np.arange((1 << bits) + 1), "left")
        arrays: dict[str, npt.NDArray[Any]] = {
            "hashes": np.stack([hashes, centre], axis=1).astype(np.uint64),
            "informative": np.packbits(informative),
            "clip_frames": times.clip_frames.astype(np.int64),
            "clip_start_s": times.start_s.astype(np.float64),
            "clip_step_s": times.step_s.astype(np.float64),
            "irregular_at": times.irregular_at.astype(np.int64),
            "irregular_times": times.irregular_times.astype(np.float32),
            "entries": entries,
            "directory": directory,
        }
        name = f"{first_clip:09d}-{uuid.uuid4().hex[:12]}"
        return cls(arrays, first_clip, first_frame, name)

    def informative(self, start: int, end: int) -> npt.NDArray[np.bool_]:
        packed = self.arrays["informative"][start // 8 : (end + 7) // 8]
        bits: npt.NDArray[np.bool_] = np.unpackbits(packed).astype(bool)[start % 8 : start % 8 + end - start]
        return bits

    def lookup(
        self, keys: npt.NDArray[np.uint32], tables: npt.NDArray[np.int64], *, most_common: float = np.inf
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """(probe, table entry row) for every entry whose chunk equals its probe's key, in that
        probe's table (chunk × 2 + centre); a key holding more than `most_common` times the entries
        it would if the segment's chunk values were evenly spread, and more than STOP_WORD_ENTRIES
        (a stop-word), gives none."""
        chunk = tables // 2
        shifts = np.array([first for first, _w in CHUNK_SPANS], np.uint64)[chunk]
        widths = np.array([width for _f, width in CHUNK_SPANS], np.uint64)[chunk]
        bucket = (keys.astype(np.uint64) >> (widths - np.uint64(self.bits))).astype(np.int64)
        low = self.directory[tables, bucket].astype(np.int64)
        high = self.directory[tables, bucket + 1].astype(np.int64)
        # First row whose chunk is ≥ key, and first whose chunk is > key, in one vectorised search.
        targets = np.concatenate([keys, keys + np.uint32(1)]).astype(np.uint64)
        lo, hi = np.concatenate([low, low]), np.concatenate([high, high])
        both_shifts, both_tables = np.concatenate([shifts, shifts]), np.concatenate([tables, tables])
        masks = (np.uint64(1) << np.concatenate([widths, widths])) - np.uint64(1)
        kind = both_tables & 1
        while True:
            active = np.flatnonzero(lo < hi)
            if not len(active):
                break
            middle = (lo[active] + hi[active]) >> 1
            hashes = self.pairs[_from_three_bytes(self.entries[middle]) * 2 + kind[active]]
            below = ((hashes >> both_shifts[active]) & masks[active]) < targets[active]
            lo[active] = np.where(below, middle + 1, lo[active])
            hi[active] = np.where(below, hi[active], middle)
        first, last = lo[: len(keys)], lo[len(keys) :]
        counts = last - first
        if most_common < np.inf:
            even = (self.entries.shape[0] // TABLES) / (np.uint64(1) << widths).astype(np.float64)
            counts = np.where(counts > np.maximum(most_common * even, STOP_WORD_ENTRIES), 0, counts)
        total = int(counts.sum())
        probes = np.repeat(np.arange(len(keys)), counts)
        rows = np.repeat(first - (np.cumsum(counts) - counts), counts) + np.arange(total)
        return probes, rows

    def entry_frames(self, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Frame numbers (within the segment) of table entry rows."""
        return _from_three_bytes(self.entries[rows])

    def write(self, folder: Path) -> None:
        """Write under `folder/<name>` once: into a temporary folder, each file synced, then renamed."""
        target = folder / self.name
        partial = folder / f".{self.name}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        for name in ARRAYS:
            with (partial / f"{name}.npy").open("wb") as out:
                np.save(out, np.asarray(self.arrays[name]))
                out.flush()
                os.fsync(out.fileno())
        with (partial / "segment.json").open("w") as out:
            json.dump({"first_clip": self.first_clip, "first_frame": self.first_frame}, out)
            out.flush()
            os.fsync(out.fileno())
        partial.rename(target)
        fsync_dir(folder)

    @classmethod
    def open(cls, folder: Path) -> Segment:
        """Memory-map a written segment, read-only."""
        state = json.loads((folder / "segment.json").read_text())
        # Plain arrays over the mapping: np.memmap's own indexing costs a Python call per lookup.
        arrays = {name: np.load(folder / f"{name}.npy", mmap_mode="r").view(np.ndarray) for name in ARRAYS}
        return cls(arrays, int(state["first_clip"]), int(state["first_frame"]), folder.name)

    def nbytes(self) -> int:
        return sum(int(np.asarray(a).nbytes) for a in self.arrays.values())


def fsync_dir(folder: Path) -> None:
    """Make a rename in `folder` durable."""
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def segment_files(folder: Path) -> list[str]:
    """The files a segment folder holds, relative to it (what a copy to object storage uploads)."""
    return [f"{name}.npy" for name in ARRAYS] + ["segment.json"]
