"""Perceptual fingerprints of a clip: a 64-bit pHash (imagehash) per frame sample, computed on
the picture that remains after the clip's uniform borders (letterbox, pillarbox, side bars) are
cut away, once on that whole picture and once on its centre (so a copy cropped by up to ~10 %
per side still finds the original). Frames with too little detail (black, flat colour) are
marked and never used for matching.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import imagehash
import numpy as np
import numpy.typing as npt
from PIL import Image

CENTRE_FRACTION = 0.8  # the centre hash covers the middle 80 % of each side
MIN_DETAIL = 12.0  # grey-level standard deviation below which a frame is degenerate
BORDER_STD = 6.0  # a border row/column is this uniform over the whole clip
MAX_BORDER = 0.35  # never cut more than this fraction from one side

Hashes = npt.NDArray[np.uint64]


@dataclass(frozen=True)
class Fingerprint:
    """Per sample: time (s), whole-picture hash, centre hash, and whether it carries detail."""

    times: npt.NDArray[np.float64]
    hashes: Hashes
    centre_hashes: Hashes
    informative: npt.NDArray[np.bool_]

    def __len__(self) -> int:
        return len(self.times)

    @classmethod
    def empty(cls) -> Fingerprint:
        return cls(np.zeros(0), np.zeros(0, np.uint64), np.zeros(0, np.uint64), np.zeros(0, bool))


def _bits_to_int(bits: npt.NDArray[np.bool_]) -> int:
    value = 0
    for bit in bits.flatten():
        value = (value << 1) | int(bit)
    return value


def phash64(picture: npt.NDArray[np.uint8]) -> int:
    """imagehash's pHash of a grey picture, as an unsigned 64-bit integer."""
    return _bits_to_int(imagehash.phash(Image.fromarray(picture, mode="L")).hash)


class _BorderStats:
    """Running per-row and per-column variance over every pixel of every frame seen."""

    def __init__(self, height: int, width: int) -> None:
        self.count = 0
        self.row_sum = np.zeros(height)
        self.row_sq = np.zeros(height)
        self.col_sum = np.zeros(width)
        self.col_sq = np.zeros(width)

    def add(self, picture: npt.NDArray[np.uint8]) -> None:
        values = picture.astype(np.float64)
        self.count += 1
        self.row_sum += values.mean(axis=1)
        self.row_sq += (values**2).mean(axis=1)
        self.col_sum += values.mean(axis=0)
        self.col_sq += (values**2).mean(axis=0)

    def box(self) -> tuple[int, int, int, int]:
        """(top, bottom, left, right) of the picture inside borders that are one colour throughout."""
        rows = np.sqrt(np.maximum(self.row_sq / self.count - (self.row_sum / self.count) ** 2, 0))
        cols = np.sqrt(np.maximum(self.col_sq / self.count - (self.col_sum / self.count) ** 2, 0))
        top, bottom = _inner(rows)
        left, right = _inner(cols)
        return top, bottom, left, right


def _inner(profile: npt.NDArray[np.float64]) -> tuple[int, int]:
    size = len(profile)
    limit = int(size * MAX_BORDER)
    start = 0
    while start < limit and profile[start] < BORDER_STD:
        start += 1
    end = size
    while size - end < limit and profile[end - 1] < BORDER_STD:
        end -= 1
    return start, end


def _centre(picture: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    height, width = picture.shape
    dy, dx = round(height * (1 - CENTRE_FRACTION) / 2), round(width * (1 - CENTRE_FRACTION) / 2)
    return picture[dy : height - dy, dx : width - dx]


Samples = Callable[[], Iterable[tuple[float, npt.NDArray[np.uint8]]]]
# (top, left, height, width) as fractions of a sample
Window = tuple[float, float, float, float]


def _cut(picture: npt.NDArray[np.uint8], window: Window) -> npt.NDArray[np.uint8]:
    height, width = picture.shape
    top, left = round(height * window[0]), round(width * window[1])
    return picture[top : top + max(round(height * window[2]), 8), left : left + max(round(width * window[3]), 8)]


def _windowed(samples: Samples, window: Window) -> Samples:
    return lambda: ((time_s, _cut(picture, window)) for time_s, picture in samples())


def fingerprint(
    samples: Samples, *, mirror: bool = False, quarter_turns: int = 0, window: Window | None = None
) -> Fingerprint:
    """Fingerprint a clip from its grey frame samples, read twice (borders first, then hashes),
    so memory does not grow with clip length. With `mirror`, of the mirror images; with
    `quarter_turns`, of the pictures turned that many times a quarter anticlockwise (a sideways
    upload turned back: samples are square, so a turned copy's sample turned back is the
    original's); with `window`, of that part of each sample only, as if it were the whole picture
    (footage shown inside other footage, picture-in-picture: `ingest.inset.find_inset`)."""
    if window is not None:
        samples = _windowed(samples, window)
    stats: _BorderStats | None = None
    for _time, picture in samples():
        if stats is None:
            stats = _BorderStats(*picture.shape)
        stats.add(picture)
    if stats is None:
        return Fingerprint.empty()
    top, bottom, left, right = stats.box()
    times, hashes, centre, informative = [], [], [], []
    for time_s, picture in samples():
        inside = picture[top:bottom, left:right]
        if mirror:
            inside = inside[:, ::-1]
        if quarter_turns % 4:
            inside = np.ascontiguousarray(np.rot90(inside, quarter_turns))
        times.append(time_s)
        hashes.append(phash64(inside))
        centre.append(phash64(_centre(inside)))
        informative.append(float(inside.std()) >= MIN_DETAIL)
    return Fingerprint(
        np.asarray(times, np.float64),
        np.asarray(hashes, np.uint64),
        np.asarray(centre, np.uint64),
        np.asarray(informative, bool),
    )


def hamming(a: Hashes, b: Hashes) -> npt.NDArray[np.int64]:
    """Bitwise distance between two arrays of 64-bit hashes (broadcasting)."""
    # NumPy's popcount ufunc (2.0+): a hardware instruction, ~17x the byte-table lookup it replaced.
    counts: npt.NDArray[np.int64] = np.bitwise_count(np.bitwise_xor(a, b)).astype(np.int64)
    return counts
