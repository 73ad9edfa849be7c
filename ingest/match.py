"""Near-duplicate matching with time alignment.

Seed: query frame hashes find archived frames within a few bits (through the index); each hit
votes for (clip, time offset). Extend: for each well-supported (clip, offset), every query frame
is compared with the archived frame at that offset (the offset is refined, around the seeds, to
where the frames agree most closely, to a tenth of a second), and runs of matching frames become
segments. A segment counts only if it is long
enough and its archived frames change over time: a black screen or a static test card looks
the same in every video and must not make two unrelated clips match.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from ingest.fingerprint import Fingerprint, Hashes, hamming
from ingest.index import FingerprintIndex

SEED_DISTANCE = 10  # bits: a hash this close to a query frame proposes an alignment
MATCH_DISTANCE = 16  # bits: a frame this close, at the aligned time, counts as matching
OFFSET_BIN_S = 1.0
MIN_VOTES = 3  # query frames that must agree on a (clip, offset) before it is checked
MAX_CANDIDATES = 24
SAME_PLACE_S = 2.0  # proposals for one clip closer than this are one alignment
# Offsets tried around a proposal's median: the whole stretch its merged seeds came from (slowly
# changing footage seeds many neighbouring offsets, and the median need not be the true one).
SEARCH_S = SAME_PLACE_S
CLOSER_LOOK_FRAMES = 60  # query frames probed one bit around, when nothing matched exactly
GAP_S = 3.0  # unmatched stretch that ends a segment
MIN_SEGMENT_FRAMES = 4
MIN_CHANGES = 2  # the archived side of a segment must change picture this many times
CHANGE_BITS = 12
# A run whose archived picture changes once only still counts when its frames match this closely
# (median bits): a compilation's 2 s shot rarely changes twice, while chance agreement between
# unrelated footage that passes MATCH_DISTANCE sits 8-16 bits off (bench/search.py's skewed bulk).
CLOSE_RUN_BITS = 4
# A copy played faster or slower (+-10 % is common, to dodge matching): its offset drifts, so a
# fixed one explains a few seconds only. Rates tried, when a fixed offset leaves more than
# EXPLAINED of the query it spans unmatched; a rate is kept only if it matches RATE_GAIN times the
# frames the fixed offset does (and MIN_SEGMENT_FRAMES more).
RATES = tuple(round(0.88 + 0.01 * k, 2) for k in range(25) if k != 12)
EXPLAINED = 0.9
RATE_GAIN = 1.2


@dataclass(frozen=True)
class Segment:
    query_start_s: float
    clip_start_s: float
    duration_s: float


@dataclass(frozen=True)
class Match:
    clip_id: str
    score: float
    matched_seconds: float
    segments: list[Segment] = field(default_factory=list)
    mirrored: bool = False
    signals: tuple[str, ...] = ("picture",)  # what matched: storage/vocabulary.py MATCH_SIGNALS


@dataclass(frozen=True)
class _Alignment:
    """Query time t is archived time `t * rate + offset`."""

    offset: float
    matched: npt.NDArray[np.bool_]
    distance: npt.NDArray[np.int64]
    clip_frame: npt.NDArray[np.int64]
    in_range: npt.NDArray[np.bool_]
    rate: float = 1.0

    @property
    def strength(self) -> int:
        """How many frames agree, and how closely: the true offset beats a near one even in
        slowly changing footage, where frames a second apart still pass MATCH_DISTANCE."""
        return int((MATCH_DISTANCE + 1 - self.distance[self.matched]).sum())


def _frame_distance(
    whole: npt.NDArray[np.uint64], centre: npt.NDArray[np.uint64], clip: Fingerprint, frame: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """Bits between query frames (`whole` and `centre` hashes, shaped to broadcast against
    `frame`) and the archived frames `frame`: the least of whole against whole, whole against
    the archived centre and centre against the archived whole (a cropped copy's whole picture is
    the original's centre, and the other way round)."""
    distance: npt.NDArray[np.int64] = np.minimum.reduce(
        [
            hamming(whole, clip.hashes[frame]),
            hamming(whole, clip.centre_hashes[frame]),
            hamming(centre, clip.hashes[frame]),
        ]
    )
    return distance


def _align(
    query: Fingerprint, clip: Fingerprint, offset: float, step: float, *, strict: bool = False, rate: float = 1.0
) -> _Alignment:
    """Compare each query frame with the archived frames nearest its time (times `rate`) plus
    `offset` (within a sample step either way, as two clips' samples need not fall at the same
    instants); with `strict`, only with the one nearest in time, which tells offsets half a step
    apart apart."""
    target = query.times * rate + offset
    after = np.clip(np.searchsorted(clip.times, target), 0, len(clip.times) - 1)
    before = np.clip(after - 1, 0, len(clip.times) - 1)
    nearest = np.where(np.abs(clip.times[before] - target) < np.abs(clip.times[after] - target), before, after)
    best = np.full(len(query), 64, np.int64)
    best_frame = nearest.copy()
    for shift in (0,) if strict else (-1, 0, 1):
        frame = np.clip(nearest + shift, 0, len(clip.times) - 1)
        close_in_time = np.abs(clip.times[frame] - target) <= step
        usable = close_in_time & clip.informative[frame]
        distance = _frame_distance(query.hashes, query.centre_hashes, clip, frame)
        distance = np.where(usable, distance, 64)
        better = distance < best
        best = np.where(better, distance, best)
        best_frame = np.where(better, frame, best_frame)
    in_range = (target >= clip.times[0] - step) & (target <= clip.times[-1] + step)
    matched = query.informative & in_range & (best <= MATCH_DISTANCE)
    return _Alignment(offset, matched, best, best_frame, in_range, rate)


def _best_alignment(query: Fingerprint, clip: Fingerprint, proposed: float, step: float) -> _Alignment:
    """The offset within SEARCH_S of `proposed` where most frames agree, and most closely, each
    judged against the one archived frame nearest in time. Only offsets at which the two clips'
    samples coincide are tried (their start times differ by a whole number of steps from them):
    finer offsets cannot be told apart. The segments are then read from the usual, tolerant
    comparison at the chosen offset."""
    phase = float(clip.times[0] - query.times[0]) % step
    first = math.ceil((proposed - SEARCH_S - phase) / step)
    offsets = [phase + step * k for k in range(first, first + int(2 * SEARCH_S / step) + 1)]
    matched, strength = _strict_agreement(query, clip, np.array(offsets), step)
    best = max(range(len(offsets)), key=lambda k: (int(matched[k]), int(strength[k]), -abs(offsets[k] - proposed)))
    return _align(query, clip, offsets[best], step)


def _strict_agreement(
    query: Fingerprint,
    clip: Fingerprint,
    offsets: npt.NDArray[np.float64],
    step: float,
    rate: float | npt.NDArray[np.float64] = 1.0,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """`_align(..., strict=True)`'s matched-frame count and strength at each of `offsets`, all at
    once (a row per offset: the matcher tries many offsets per proposal); `rate` is one for all
    or one per offset."""
    last = len(clip.times) - 1
    rates = np.broadcast_to(np.asarray(rate, np.float64), offsets.shape)
    target = query.times[None, :] * rates[:, None] + offsets[:, None]
    after = np.clip(np.searchsorted(clip.times, target.ravel()).reshape(target.shape), 0, last)
    before = np.clip(after - 1, 0, last)
    frame = np.where(np.abs(clip.times[before] - target) < np.abs(clip.times[after] - target), before, after)
    usable = (np.abs(clip.times[frame] - target) <= step) & clip.informative[frame]
    distance = _frame_distance(query.hashes[None, :], query.centre_hashes[None, :], clip, frame)
    distance = np.where(usable, distance, 64)
    in_range = (target >= clip.times[0] - step) & (target <= clip.times[-1] + step)
    matched = query.informative[None, :] & in_range & (distance <= MATCH_DISTANCE)
    strength = np.where(matched, MATCH_DISTANCE + 1 - distance, 0).sum(axis=1)
    return matched.sum(axis=1), strength


def _reachable(
    query: Fingerprint,
    clip: Fingerprint,
    earliest: npt.NDArray[np.float64],
    latest: npt.NDArray[np.float64],
    step: float,
) -> int:
    """Query frames that some archived frame timed within a step of [earliest, latest] (each
    frame's own span of archived times) matches: a bound on `_strict_agreement`'s count at every
    rate and offset that keeps each frame's archived time in its span, found in one small band."""
    first = np.searchsorted(clip.times, earliest - step - 1e-6, "left")
    end = np.searchsorted(clip.times, latest + step + 1e-6, "right")
    width = int((end - first).max(initial=0))
    if width <= 0:
        return 0
    frame = first[:, None] + np.arange(width)[None, :]
    inside = frame < end[:, None]
    frame = np.minimum(frame, len(clip.times) - 1)
    distance = _frame_distance(query.hashes[:, None], query.centre_hashes[:, None], clip, frame)
    close = inside & clip.informative[frame] & (distance <= MATCH_DISTANCE)
    return int((query.informative & close.any(axis=1)).sum())


def _rated_alignment(
    query: Fingerprint, clip: Fingerprint, fixed: _Alignment, fixed_segments: list[Segment], step: float
) -> tuple[_Alignment, list[Segment]]:
    """A copy played at another speed: where a fixed offset matches only part of the query it
    spans, the rate (of RATES) and offset through the middle of the frames it did match that
    match the most frames, with its segments; `fixed` and `fixed_segments` (its own) when none
    does clearly better, judged strictly and tolerantly."""
    anchors = np.flatnonzero(fixed.matched)
    spanned = int((query.informative & fixed.in_range).sum())
    # Judged strictly (nearest archived frame only): slowly changing footage passes the tolerant
    # comparison seconds away from the true time, which a drift of 10 % stays within for long.
    [fixed_matched], _ = _strict_agreement(query, clip, np.array([fixed.offset]), step)
    unchanged = fixed, fixed_segments
    if len(anchors) < MIN_SEGMENT_FRAMES or fixed_matched >= EXPLAINED * spanned:
        return unchanged
    # A drifting copy still matches as a segment where the fixed offset crosses the true one
    # (for ~5 s either side at 10 %); a proposal that holds no segment at all is not searched.
    if not fixed_segments:
        return unchanged
    anchor = float(np.median(query.times[anchors]))
    # Every rate and offset in one array operation, a row each (rate by rate, offsets within);
    # the first row with the most matched frames, then the most strength, wins.
    shifts = np.arange(-SEARCH_S, SEARCH_S + 1e-9, step / 2)
    rates = np.repeat(np.array(RATES), len(shifts))
    offsets = (anchor + fixed.offset - rates * anchor) + np.tile(shifts, len(RATES))
    needed = max(RATE_GAIN * fixed_matched, fixed_matched + MIN_SEGMENT_FRAMES)
    targets = query.times[None, :] * rates[:, None] + offsets[:, None]
    if _reachable(query, clip, targets.min(axis=0), targets.max(axis=0), step) < needed:
        return unchanged  # no rate can match enough frames: most proposals of unrelated footage
    matched, strength = _strict_agreement(query, clip, offsets, step, rates)
    best = int(np.lexsort((-strength, -matched))[0])
    if matched[best] < needed:
        return unchanged
    rated = _align(query, clip, float(offsets[best]), step, rate=float(rates[best]))
    # Compared the usual, tolerant way too: footage shown only in part (picture-in-picture) can
    # favour a wrong rate strictly while matching fewer frames.
    if int(rated.matched.sum()) < int(fixed.matched.sum()) or rated.strength <= fixed.strength:
        return unchanged
    # And by the segments it makes: in a compilation, a rate can thread one shot and stray frames
    # of others that form no segment, and so outnumber the shot's own frames at a wrong offset.
    rated_segments = _segments(query, clip, rated, step)
    if segment_seconds(rated_segments) < RATE_GAIN * segment_seconds(fixed_segments):
        return unchanged
    return rated, rated_segments


def segment_seconds(segments: Sequence[Segment]) -> float:
    """Query seconds the segments cover, summed."""
    return sum(segment.duration_s for segment in segments)


def drift_pieces(start_s: float, seconds: float, piece_s: float, archived_s: Callable[[float], float]) -> list[Segment]:
    """A shared stretch of the query from `start_s` as segments of at most `piece_s` (the whole
    stretch for math.inf), each at the archived time `archived_s` gives its start: at a rate
    other than 1, pieces short enough that each one's fixed offset stays close to the drift."""
    count = max(1, math.ceil(seconds / piece_s - 1e-9))
    # Rounded once, so that pieces meet exactly and none seems to overlap the next.
    bounds = [round(start_s + seconds * number / count, 3) for number in range(count + 1)]
    return [
        Segment(first, round(archived_s(first), 3), round(last - first, 3))
        for first, last in zip(bounds, bounds[1:], strict=False)
    ]


def _changes(clip: Fingerprint, frames: npt.NDArray[np.int64]) -> int:
    """How many times the archived picture changes along these frames."""
    changes, reference = 0, clip.hashes[frames[0]]
    for frame in frames[1:]:
        if int(hamming(np.asarray([reference]), np.asarray([clip.hashes[frame]]))[0]) > CHANGE_BITS:
            changes += 1
            reference = clip.hashes[frame]
    return changes


def _changes_enough(clip: Fingerprint, alignment: _Alignment, run: list[int]) -> bool:
    """Whether the archived picture along a run of matched query frames changes enough for the
    run to be shared footage rather than alike stills: MIN_CHANGES times, or once when the
    frames match within CLOSE_RUN_BITS."""
    changes = _changes(clip, alignment.clip_frame[run])
    return changes >= MIN_CHANGES or (changes >= 1 and float(np.median(alignment.distance[run])) <= CLOSE_RUN_BITS)


def _segments(query: Fingerprint, clip: Fingerprint, alignment: _Alignment, step: float) -> list[Segment]:
    """Runs of matching frames. At a rate other than 1 a run is reported as pieces short enough
    that each one's fixed offset stays within half a sample step of the drifting one."""
    segments: list[Segment] = []
    run: list[int] = []
    offset, rate = alignment.offset, alignment.rate
    piece_s = step / (2 * abs(rate - 1)) if rate != 1 else math.inf

    def close_run() -> None:
        if len(run) >= MIN_SEGMENT_FRAMES and _changes_enough(clip, alignment, run):
            # A first frame matched within a sample step of the clip's start is not before it.
            start = max(float(query.times[run[0]]), float(clip.times[0] - offset) / rate)
            end = float(query.times[run[-1]] + step)
            segments.extend(drift_pieces(start, end - start, piece_s, lambda t: t * rate + offset))
        run.clear()

    for index in np.flatnonzero(alignment.matched):
        if run and query.times[index] - query.times[run[-1]] > GAP_S:
            close_run()
        run.append(int(index))
    close_run()
    return segments


def _candidates(
    index: FingerprintIndex, query: Fingerprint, exclude: set[int], *, closer_look: bool
) -> list[tuple[int, float, int]]:
    """(clip, offset, votes) proposals, best supported first; the offset is the median of the
    seeds that voted for it, and proposals for one clip at nearly the same place are merged.
    With `closer_look`, for a query whose exact chunks proposed nothing anywhere: heavily
    altered copies (a large logo over the picture) may share no hash chunk exactly with the
    original, while the centre of the picture is spared. So centre hashes of up to
    CLOSER_LOOK_FRAMES frames are probed one bit around each chunk, and two agreeing frames
    propose; the frame-by-frame check that follows is what decides."""
    rows = np.flatnonzero(query.informative)
    if len(rows) == 0:
        return []
    if not closer_look:
        return _proposals(index, query, query.hashes[rows], rows, exclude, probe_radius=0, min_votes=MIN_VOTES)
    rows = rows[np.linspace(0, len(rows) - 1, min(len(rows), CLOSER_LOOK_FRAMES)).astype(np.int64)]
    return _proposals(index, query, query.centre_hashes[rows], rows, exclude, probe_radius=1, min_votes=2)


def _proposals(
    index: FingerprintIndex,
    query: Fingerprint,
    hashes: Hashes,
    rows: npt.NDArray[np.int64],
    exclude: set[int],
    *,
    probe_radius: int,
    min_votes: int,
) -> list[tuple[int, float, int]]:
    hits = index.query(hashes, SEED_DISTANCE, probe_radius=probe_radius, exclude=frozenset(exclude))
    if len(hits.clip) == 0:
        return []
    query_frame = rows[hits.query_frame]
    offsets = hits.clip_time - query.times[query_frame]
    bins = np.round(offsets / OFFSET_BIN_S).astype(np.int64)
    # Votes are distinct query frames per (clip, offset bin).
    keys = np.stack([hits.clip, bins], axis=1)
    pairs, inverse = np.unique(keys, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    distinct = np.unique(inverse * (int(query_frame.max()) + 1) + query_frame)
    votes = np.bincount(distinct // (int(query_frame.max()) + 1), minlength=len(pairs))
    proposals: list[tuple[int, float, int]] = []
    for position in np.argsort(-votes, kind="stable"):
        if votes[position] < min_votes or len(proposals) >= MAX_CANDIDATES:
            break
        clip = int(pairs[position, 0])
        offset = float(np.median(offsets[inverse == position]))  # only for the few proposals kept
        if clip in exclude or any(c == clip and abs(o - offset) < SAME_PLACE_S for c, o, _ in proposals):
            continue
        proposals.append((clip, offset, int(votes[position])))
    return proposals


def match_clip(
    index: FingerprintIndex,
    query: Fingerprint,
    mirrored_query: Fingerprint | None = None,
    *,
    sample_step_s: float = 0.5,
    exclude_clip_id: str | None = None,
    turned: Sequence[Fingerprint] = (),
    insets: Sequence[Fingerprint] = (),
) -> list[Match]:
    """Archived clips sharing footage with the query, best first. `turned`: the query's pictures
    turned a quarter either way (`pipeline.turned_prints_of`), tried only when neither the upright
    nor the mirrored query finds anything, as a sideways upload shares nothing with either.
    `insets`: the part of the query's picture that shows other footage (`pipeline.inset_prints_of`,
    picture-in-picture), tried after those, for the same reason."""
    excluded = index.clip_number(exclude_clip_id) if exclude_clip_id else None
    exclude = {excluded} if excluded is not None else set()
    sides = [(mirrored, side) for mirrored, side in ((False, query), (True, mirrored_query)) if side is not None]
    proposed = {mirrored: _candidates(index, side, exclude, closer_look=False) for mirrored, side in sides}
    found = _checked(index, sides, proposed, sample_step_s)
    for side in (*turned, *insets) if not found else ():
        found = _checked(
            index, [(False, side)], {False: _candidates(index, side, exclude, closer_look=False)}, sample_step_s
        )
        if found:
            break
    if not found:  # heavily altered copies; the mirrored side is not looked at this closely
        closer = {False: _candidates(index, query, exclude, closer_look=True)}
        found = _checked(index, [(False, query)], closer, sample_step_s)
    return sorted(found.values(), key=lambda m: (-m.matched_seconds, -m.score))


def _checked(
    index: FingerprintIndex,
    sides: list[tuple[bool, Fingerprint]],
    proposed: dict[bool, list[tuple[int, float, int]]],
    step: float,
) -> dict[int, Match]:
    """The proposals that hold up frame by frame, as one match per clip."""
    best: dict[int, Match] = {}
    for mirrored, side in sides:
        if len(side) == 0 or not proposed.get(mirrored):
            continue
        found: dict[int, list[tuple[Segment, int]]] = {}
        checked: set[tuple[int, float, float]] = set()
        # A clip one segment already matches along the whole query: its other proposals (the
        # same footage seconds off, in slowly changing scenes) could only add shorter segments,
        # which `_non_overlapping` drops.
        whole_span, explained = _span(side, step), set[int]()
        for clip, offset, _votes in proposed[mirrored]:
            if clip in explained:
                continue
            clip_print = index.clip_print(clip)
            fixed = _best_alignment(side, clip_print, offset, step)
            fixed_segments = _segments(side, clip_print, fixed, step)
            alignment, segments = _rated_alignment(side, clip_print, fixed, fixed_segments, step)
            key = (clip, round(alignment.offset, 1), alignment.rate)
            if key in checked:
                continue
            checked.add(key)
            for segment in segments:
                found.setdefault(clip, []).append((segment, alignment.strength))
                if segment.duration_s >= whole_span - 1e-6:
                    explained.add(clip)
        for clip, candidates in found.items():
            kept = _non_overlapping(candidates)
            seconds = round(segment_seconds(kept), 3)
            score = _score(side, index.clip_print(clip), kept, step)
            candidate = Match(index.clip_ids[clip], score, seconds, kept, mirrored)
            if clip not in best or candidate.matched_seconds > best[clip].matched_seconds:
                best[clip] = candidate
    return best


def _non_overlapping(segments: list[tuple[Segment, int]]) -> list[Segment]:
    """Longest segments first (of equal ones, the more closely aligned); drop any that covers
    query time already explained (segments that only meet, as a drifting run's pieces do, both stay)."""
    kept: list[Segment] = []
    for segment, _strength in sorted(segments, key=lambda pair: (-pair[0].duration_s, -pair[1])):
        start, end = segment.query_start_s, segment.query_start_s + segment.duration_s
        if all(end <= k.query_start_s + 1e-6 or start >= k.query_start_s + k.duration_s - 1e-6 for k in kept):
            kept.append(segment)
    return sorted(kept, key=lambda s: s.query_start_s)


def _score(query: Fingerprint, clip: Fingerprint, segments: list[Segment], step: float) -> float:
    """Share of the shorter video that the segments cover (0–1)."""
    shorter = min(_span(query, step), _span(clip, step))
    if shorter <= 0:
        return 0.0
    return round(min(segment_seconds(segments) / shorter, 1.0), 3)


def _span(print_: Fingerprint, step: float) -> float:
    informative = print_.times[print_.informative]
    return float(informative[-1] - informative[0] + step) if len(informative) else 0.0
