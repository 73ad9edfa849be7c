"""Near-duplicates by sound: archived clips whose Chromaprint values (ingest/chromaprint.py) line
up with a query's at some time offset, with the stretches where they do.

Seed: each query value is looked up by its two 16-bit halves (after a re-encode about a third of
the values keep one half exactly, while a whole value survives less than one time in eight);
each archived value found votes for (clip, offset in values). Check: at the best-supported
offsets (refined a couple of values either way), every aligned pair of values is compared by the
bits they differ in; where the difference, averaged over WINDOW values (about 2 s), stays at most
MATCH_BITS of 32 (unrelated sound differs in about 16, a re-encoded copy in 2–4), the sound is
shared. A stretch counts only if it is long enough and the archived sound changes along it: a
steady tone, hum or silence gives the same values in every clip and must not pair two clips.

Offsets are whole values (ITEM_STEP_S, about 0.12 s) apart. Sound played faster or slower with
its pitch kept (ffmpeg's `atempo`, as a sped-up repost has it) keeps its values, 3-4 bits apart
along the drifting alignment at +-10 %, but a fixed offset explains only the values around where
it crosses the true one: so where the fixed offset shares sound yet explains little of the
overlap, the rates of `ingest.match.RATES` are tried through that crossing, as for pictures.
Sound played faster with its pitch raised (resampled) changes its values and is not found.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from ingest.chromaprint import ITEM_SPAN_S, ITEM_STEP_S, AudioFingerprint, Values
from ingest.match import EXPLAINED, RATE_GAIN, RATES, Match, Segment, drift_pieces, segment_seconds

HALF_BITS = 16
# A half this common proposes nothing (silence, a steady tone): more than MAX_BUCKET entries of a
# run, or COMMON times the run's average bucket where that is more (a large archive).
MAX_BUCKET = 512
COMMON = 64
MIN_VOTES = 4  # query values that must agree on a (clip, offset) before it is checked
MAX_CANDIDATES = 16
REFINE_ITEMS = 2  # offsets tried either side of a proposal
WINDOW = 16  # values averaged when judging whether the sound is shared
MATCH_BITS = 8.0
MIN_SEGMENT_ITEMS = 16  # shorter shared stretches (under ~4.7 s of sound) do not count
CHANGE_BITS = 10  # the archived sound changes when its value moves this far from the last change
MIN_CHANGES = 3
MIN_CHANGES_PER_S = 0.5
EDGE_S = ITEM_SPAN_S / 4
# At a rate other than 1, a shared stretch is reported in pieces whose fixed offset stays within
# this of the drifting one (2.5 s pieces at 10 %).
PIECE_ERROR_S = 0.125

_POPCOUNT16 = np.array([bin(i).count("1") for i in range(1 << 16)], np.uint8)


def bit_errors(a: Values, b: Values) -> npt.NDArray[np.int64]:
    """How many of their 32 bits each pair of values differs in."""
    x = np.bitwise_xor(a, b)
    counts: npt.NDArray[np.int64] = _POPCOUNT16[x & 0xFFFF].astype(np.int64) + _POPCOUNT16[x >> 16]
    return counts


def _keys(values: Values) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint32]]:
    """Each value's two lookup keys: its high half, and its low half tagged apart from high ones."""
    return (values >> HALF_BITS).astype(np.uint32), ((values & 0xFFFF) | (1 << HALF_BITS)).astype(np.uint32)


@dataclass(frozen=True)
class _Run:
    """Lookup entries sorted by key: (key, clip number, value number)."""

    keys: npt.NDArray[np.uint32]
    clips: npt.NDArray[np.int32]
    items: npt.NDArray[np.int32]


class AudioIndex:
    """Every archived clip's Chromaprint values in memory, findable by either half of a value, in
    a few runs sorted by key. A clip analysed again gets a new number; the old one is dropped from
    answers at once and from the runs when they are next merged."""

    def __init__(self) -> None:
        self.clip_ids: list[str] = []
        self.prints: list[AudioFingerprint] = []
        self._current: dict[str, int] = {}
        self._runs: list[_Run] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._current)

    def clip_number(self, clip_id: str) -> int | None:
        return self._current.get(clip_id)

    def add(self, clip_id: str, print_: AudioFingerprint) -> None:
        self.add_many([(clip_id, print_)])

    def add_many(self, prints: list[tuple[str, AudioFingerprint]]) -> None:
        """Add clips as one sorted run (a process's first sync adds every stored clip at once)."""
        with self._lock:
            keys, clips, items = [], [], []
            for clip_id, print_ in prints:
                number = len(self.clip_ids)
                self.clip_ids.append(clip_id)
                self.prints.append(print_)
                self._current[clip_id] = number
                high, low = _keys(print_.values)
                keys += [high, low]
                clips.append(np.full(2 * len(print_), number, np.int32))
                positions = np.arange(len(print_), dtype=np.int32)
                items += [positions, positions]
            if not clips or not sum(len(c) for c in clips):
                return
            self._runs.append(self._sorted(np.concatenate(keys), np.concatenate(clips), np.concatenate(items)))
            # Like a log-structured merge: a run is merged into the one before it once it is at least
            # half its size, so there are O(log n) runs and each entry is re-sorted O(log n) times.
            while len(self._runs) > 1 and 2 * len(self._runs[-1].keys) >= len(self._runs[-2].keys):
                newer, older = self._runs.pop(), self._runs.pop()
                self._runs.append(self._merged(older, newer))

    def _merged(self, older: _Run, newer: _Run) -> _Run:
        """One run of both, without the entries of clips analysed again since."""
        live = np.asarray(sorted(self._current.values()), np.int32)
        keys = np.concatenate([older.keys, newer.keys])
        clips = np.concatenate([older.clips, newer.clips])
        items = np.concatenate([older.items, newer.items])
        kept = np.isin(clips, live)
        return self._sorted(keys[kept], clips[kept], items[kept])

    @staticmethod
    def _sorted(keys: npt.NDArray[np.uint32], clips: npt.NDArray[np.int32], items: npt.NDArray[np.int32]) -> _Run:
        order = np.argsort(keys, kind="stable")
        return _Run(keys[order], clips[order], items[order])

    def lookup(self, values: Values, exclude: frozenset[int]) -> tuple[npt.NDArray[np.int64], ...]:
        """(query value number, clip number, archived value number) of every archived value sharing
        a half with a query value, leaving out buckets too common to tell clips apart."""
        with self._lock:
            runs, current = list(self._runs), set(self._current.values()) - exclude
        high, low = _keys(values)
        keys = np.concatenate([high, low])
        query_items = np.concatenate([np.arange(len(values))] * 2)
        found: list[tuple[npt.NDArray[np.int64], ...]] = []
        for run in runs:
            start, end = np.searchsorted(run.keys, keys, "left"), np.searchsorted(run.keys, keys, "right")
            limit = max(MAX_BUCKET, COMMON * len(run.keys) / (1 << (HALF_BITS + 1)))
            counts = np.where(end - start > limit, 0, end - start)
            total = int(counts.sum())
            if total == 0:
                continue
            which = np.repeat(np.arange(len(keys)), counts)
            position = start[which] + np.arange(total) - (np.cumsum(counts) - counts)[which]
            clips = run.clips[position].astype(np.int64)
            live = np.isin(clips, np.asarray(sorted(current), np.int64))
            found.append((query_items[which][live], clips[live], run.items[position][live].astype(np.int64)))
        if not found:
            empty = np.zeros(0, np.int64)
            return empty, empty, empty
        return tuple(np.concatenate(parts) for parts in zip(*found, strict=True))


def _proposals(index: AudioIndex, query: AudioFingerprint, exclude: frozenset[int]) -> list[tuple[int, int]]:
    """(clip number, offset in values) with the most distinct query values voting for it."""
    query_item, clip, clip_item = index.lookup(query.values, exclude)
    if len(clip) == 0:
        return []
    # One integer per (clip, offset), and per (that, query value): plain sorts, not row-wise ones.
    span = 1 << 32
    pair = clip * span + (clip_item - query_item + (1 << 31))
    pairs, inverse = np.unique(pair, return_inverse=True)
    width = len(query) + 1
    distinct = np.unique(inverse.reshape(-1) * width + query_item)
    votes = np.bincount(distinct // width, minlength=len(pairs))
    proposals: list[tuple[int, int]] = []
    for position in np.argsort(-votes, kind="stable"):
        if votes[position] < MIN_VOTES or len(proposals) >= MAX_CANDIDATES:
            break
        number, shift = int(pairs[position] // span), int(pairs[position] % span) - (1 << 31)
        if not any(c == number and abs(o - shift) <= REFINE_ITEMS for c, o in proposals):
            proposals.append((number, shift))
    return proposals


@dataclass(frozen=True)
class _Line:
    """Query value i against archived value round(i * rate + offset), where there is one."""

    offset: float
    rate: float = 1.0

    def pairs(self, query: AudioFingerprint, clip: AudioFingerprint) -> tuple[npt.NDArray[np.int64], ...]:
        """(query values, archived values, bit errors) along the line, over the stretch it overlaps."""
        items = np.arange(len(query))
        at = np.rint(items * self.rate + self.offset).astype(np.int64)
        inside = (at >= 0) & (at < len(clip))
        items, at = items[inside], at[inside]
        return items, at, bit_errors(query.values[items], clip.values[at])


def _shared(query: AudioFingerprint, clip: AudioFingerprint, line: _Line) -> int:
    """Values along the line whose smoothed bit errors are within MATCH_BITS."""
    return _agreement(query, clip, line)[0]


def _agreement(query: AudioFingerprint, clip: AudioFingerprint, line: _Line) -> tuple[int, float]:
    """Values along the line whose smoothed bit errors are within MATCH_BITS, and how closely
    (less their mean bit errors: of lines sharing as much, the nearer rate is the closer one)."""
    errors = line.pairs(query, clip)[2]
    if len(errors) == 0:
        return 0, 0.0
    shared = _smoothed(errors) <= MATCH_BITS
    return int(shared.sum()), -float(errors[shared].mean()) if shared.any() else 0.0


def _rated(query: AudioFingerprint, clip: AudioFingerprint, offset: int) -> _Line | None:
    """For sound played at another speed: the rate (of RATES) and offset through the best-shared
    value at the fixed `offset` that shares the most values; None when the fixed offset shares
    nothing (no crossing to turn about) or already explains EXPLAINED of its overlap."""
    items, _at, errors = _Line(offset).pairs(query, clip)
    if len(errors) < MIN_SEGMENT_ITEMS:
        return None
    smoothed = _smoothed(errors)
    fixed = int((smoothed <= MATCH_BITS).sum())
    if fixed == 0 or fixed >= EXPLAINED * len(errors):
        return None
    pivot = int(items[int(np.argmin(smoothed))])
    lines = [
        _Line(pivot + offset + shift - rate * pivot, rate)
        for rate in RATES
        for shift in range(-REFINE_ITEMS, REFINE_ITEMS + 1)
    ]
    agreement = [_agreement(query, clip, line) for line in lines]
    best = max(range(len(lines)), key=agreement.__getitem__)
    return lines[best] if agreement[best][0] >= max(RATE_GAIN * fixed, fixed + MIN_SEGMENT_ITEMS) else None


def _best_offset(query: AudioFingerprint, clip: AudioFingerprint, proposed: int) -> int:
    def quality(offset: int) -> tuple[int, int]:
        return _shared(query, clip, _Line(offset)), -abs(offset - proposed)

    return max(range(proposed - REFINE_ITEMS, proposed + REFINE_ITEMS + 1), key=quality)


def _smoothed(errors: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """Each value's bit errors averaged over the WINDOW values around it (fewer at the ends)."""
    sums = np.concatenate([[0], np.cumsum(errors)])
    at = np.arange(len(errors))
    low, high = np.maximum(at - WINDOW // 2, 0), np.minimum(at + WINDOW // 2, len(errors))
    means: npt.NDArray[np.float64] = (sums[high] - sums[low]) / (high - low)
    return means


def _changes(values: Values) -> int:
    """How many times the sound moves on: a value CHANGE_BITS or more from the last change's."""
    changes, reference = 0, int(values[0])
    for value in values[1:].tolist():
        if (value ^ reference).bit_count() >= CHANGE_BITS:
            changes += 1
            reference = value
    return changes


def _segments(query: AudioFingerprint, clip: AudioFingerprint, line: _Line) -> list[Segment]:
    items, at, errors = line.pairs(query, clip)
    if len(errors) < MIN_SEGMENT_ITEMS:
        return []
    shared = _smoothed(errors) <= MATCH_BITS
    segments = []
    edges = np.flatnonzero(np.diff(np.concatenate([[0], shared.astype(np.int8), [0]])))
    for start, end in zip(edges[::2], edges[1::2], strict=True):
        # The window smears a shared stretch over the values beside it: trim those that differ.
        while start < end and errors[start] > MATCH_BITS:
            start += 1
        while end > start and errors[end - 1] > MATCH_BITS:
            end -= 1
        if end - start < MIN_SEGMENT_ITEMS:
            continue
        archived = clip.values[at[start:end]]
        seconds = (end - start - 1) * ITEM_STEP_S + ITEM_SPAN_S
        if _changes(archived) < max(MIN_CHANGES, MIN_CHANGES_PER_S * seconds):
            continue
        # Where shared sound begins or ends inside the aligned stretch, the values whose span is
        # mostly shared match too: the edge lies about a quarter of a span inside.
        lead = EDGE_S if start > 0 else 0.0
        trail = EDGE_S if end < len(errors) else 0.0
        query_start = query.time_of(int(items[start])) + lead
        piece_s = 2 * PIECE_ERROR_S / abs(line.rate - 1) if line.rate != 1 else math.inf

        def archived_s(query_s: float) -> float:
            item = (query_s - query.start_s) / ITEM_STEP_S
            return clip.start_s + (item * line.rate + line.offset) * ITEM_STEP_S

        segments += drift_pieces(query_start, float(seconds) - lead - trail, piece_s, archived_s)
    return segments


def sound_seconds(print_: AudioFingerprint) -> float:
    """How much sound the values describe."""
    return (len(print_) - 1) * ITEM_STEP_S + ITEM_SPAN_S if len(print_) else 0.0


def match_audio(index: AudioIndex, query: AudioFingerprint, *, exclude_clip_id: str | None = None) -> list[Match]:
    """Archived clips whose sound the query shares, best first (signals: audio)."""
    excluded = index.clip_number(exclude_clip_id) if exclude_clip_id else None
    exclude = frozenset() if excluded is None else frozenset({excluded})
    if len(query) < MIN_SEGMENT_ITEMS:
        return []
    found: dict[int, list[Segment]] = {}
    tried: set[tuple[int, int]] = set()
    for number, proposed in _proposals(index, query, exclude):
        clip = index.prints[number]
        offset = _best_offset(query, clip, proposed)
        if (number, offset) in tried:
            continue
        tried.add((number, offset))
        segments = _segments(query, clip, _Line(offset))
        rated = _rated(query, clip, offset)
        if rated is not None:
            drifting = _segments(query, clip, rated)
            if segment_seconds(drifting) >= RATE_GAIN * segment_seconds(segments):
                segments = drifting
        for segment in segments:
            kept = found.setdefault(number, [])
            end = segment.query_start_s + segment.duration_s
            if all(end <= k.query_start_s or segment.query_start_s >= k.query_start_s + k.duration_s for k in kept):
                kept.append(segment)
    matches = []
    for number, segments in found.items():
        segments.sort(key=lambda s: s.query_start_s)
        seconds = round(float(segment_seconds(segments)), 3)
        shorter = min(sound_seconds(query), sound_seconds(index.prints[number]))
        score = round(min(seconds / shorter, 1.0), 3) if shorter > 0 else 0.0
        matches.append(Match(index.clip_ids[number], score, seconds, segments, signals=("audio",)))
    return sorted(matches, key=lambda m: (-m.matched_seconds, -m.score))


def combine(picture: list[Match], audio: list[Match]) -> list[Match]:
    """One match per clip from both signals: a clip found by its pictures keeps the picture
    matcher's answer (segments, score, mirrored), and says whether its sound matched too; a clip
    found by sound alone is answered from the sound."""
    by_sound = {m.clip_id: m for m in audio}
    combined = [replace(m, signals=("picture", "audio")) if m.clip_id in by_sound else m for m in picture]
    seen = {m.clip_id for m in picture}
    combined += [m for m in audio if m.clip_id not in seen]
    return sorted(combined, key=lambda m: (-m.matched_seconds, -m.score))
