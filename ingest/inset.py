"""Where a clip shows other footage inside its picture (picture-in-picture: a news broadcast
showing a phone video in a corner or in the middle), found from the clip's grey samples alone.

The inset's border is a straight edge that stays put while both pictures move: across each of
its four sides the picture steps, sample after sample, from one footage to the other, so the
time-averaged gradient across that line is higher than just inside or outside it. An ordinary
picture has edges too, but rarely four that close a rectangle and hold for the whole clip.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ingest.fingerprint import Samples, Window

MIN_AREA = 0.15  # of the sample: smaller insets carry too little of the footage to hash
MAX_AREA = 0.7  # larger ones are what the centre hash already covers
MIN_SIDE = 0.3  # of the sample's side
MIN_CONTRAST = 1.6  # each side's gradient over that of the lines beside it (2 pixels in and out)
MIN_SAMPLES = 8  # fewer samples cannot tell a lasting edge from one picture's edges
NEAR = 3  # pixels: the lines an edge is compared with
FIRST, END = 2, 1  # from a two-pixel step's first column to an inset's first column, its end


def _sums(lines: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Running sums along each line's length, with a 0 in front (segment means by subtraction)."""
    return np.concatenate([np.zeros((lines.shape[0], 1)), np.cumsum(lines, axis=1)], axis=1)


def _side_contrast(
    across: npt.NDArray[np.float64],
    line: npt.NDArray[np.int64],
    start: npt.NDArray[np.int64],
    end: npt.NDArray[np.int64],
) -> npt.NDArray[np.float64]:
    """For candidate edges (the step after `line`, from `start` to `end` along it), the mean
    gradient across the edge over the mean across the lines NEAR before and after it."""
    sums = _sums(across)
    last = across.shape[0] - 1

    def mean(at: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        at = np.clip(at, 0, last)
        total: npt.NDArray[np.float64] = (sums[at, end] - sums[at, start]) / np.maximum(end - start, 1)
        return total

    # Beside an edge near the picture's border, the one line there is (the other is off the picture).
    before, after = mean(line - NEAR), mean(line + NEAR)
    beside = np.where(line - NEAR < 0, after, np.where(line + NEAR > last, before, (before + after) / 2))
    contrast: npt.NDArray[np.float64] = mean(line) / np.maximum(beside, 1.0)
    return contrast


def _edge_lines(across: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """Lines with MIN_CONTRAST along a stretch of MIN_SIDE
    of their length somewhere."""
    count, length = across.shape
    span = max(int(MIN_SIDE * length), 2)
    starts = np.arange(0, length - span + 1, max(span // 4, 1))
    lines = np.arange(count)
    line, start = (a.ravel() for a in np.meshgrid(lines, starts, indexing="ij"))
    strong = _side_contrast(across, line, start, start + span) >= MIN_CONTRAST
    return np.unique(line[strong])


def find_inset(samples: Samples) -> Window | None:
    """The rectangle (fractions of the sample) whose four sides are lasting edges, the strongest
    such; None when no rectangle of MIN_AREA..MAX_AREA has four sides of MIN_CONTRAST."""
    pictures = [picture.astype(np.float64) for _time, picture in samples()]
    if len(pictures) < MIN_SAMPLES:
        return None
    height, width = pictures[0].shape
    # Time-averaged gradient over two pixels (a border inside a sample pixel is still one step):
    # across[x] from column x to x+2, down[y] from row y to y+2.
    across = np.mean([np.abs(p[:, 2:] - p[:, :-2]) for p in pictures], axis=0).T  # (columns - 2, rows)
    down = np.mean([np.abs(p[2:] - p[:-2]) for p in pictures], axis=0)  # (rows - 2, columns)
    # Rectangles strictly inside the picture (an inset's top and left sides not on its border).
    # Lines that are a lasting edge along some stretch of MIN_SIDE: the only sides worth trying.
    # A sharp side is seen by two neighbouring two-pixel steps; the largest rectangle takes the
    # outer one, which starts two pixels before an inset's first column and one before its end.
    columns, rows = _edge_lines(across), _edge_lines(down)
    top, bottom, left, right = (
        a.ravel() for a in np.meshgrid(rows + FIRST, rows + END, columns + FIRST, columns + END, indexing="ij")
    )
    area = (bottom - top) * (right - left) / (height * width)
    keep = (
        (bottom - top >= MIN_SIDE * height)
        & (right - left >= MIN_SIDE * width)
        & (area >= MIN_AREA)
        & (area <= MAX_AREA)
    )
    top, bottom, left, right, area = top[keep], bottom[keep], left[keep], right[keep], area[keep]
    if len(top) == 0:
        return None
    sides = np.minimum.reduce(
        [
            _side_contrast(across, left - FIRST, top, bottom),  # the step into the inset's first column
            _side_contrast(across, right - END, top, bottom),  # out of its last
            _side_contrast(down, top - FIRST, left, right),
            _side_contrast(down, bottom - END, left, right),
        ]
    )
    passing = np.flatnonzero(sides >= MIN_CONTRAST)
    if len(passing) == 0:
        return None
    # The largest: footage inside the inset has edges of its own, which can close smaller rectangles.
    best = int(passing[np.argmax(area[passing])])
    return (
        float(top[best] / height),
        float(left[best] / width),
        float((bottom[best] - top[best]) / height),
        float((right[best] - left[best]) / width),
    )
