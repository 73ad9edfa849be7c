"""Why pHash, on the whole picture and its centre: measured on make-corpus.sh's corpus.

For each transform, the median Hamming distance (of 64 bits) between a copy's frame samples and
the source's frames at the same time, per hash kind and preprocessing, next to the distance
between unrelated frames (the 1st percentile: what a threshold must stay below). A good choice
keeps every transform's distance far below the unrelated one.

    .venv/bin/python bench/hash_choice.py /tmp/corpus [TRANSFORM,TRANSFORM...]
    .venv/bin/python bench/hash_choice.py /tmp/corpus --strips

`--strips`: whether archived frames could carry hashes of 9:16 windows ("strips") for vertical
copies: the distance between a vertical copy's frames and the source's strip at the copy's true
place, and at that place moved by 1-8 % of the frame's width (how finely strips would have to
be spaced), per hash kind.

The corpus is bench/matching.py's (make-corpus.sh's copies and bench/corpus_transforms.py's).
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import imagehash
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest.decode import decode  # noqa: E402
from ingest.ffmpeg import DecodePlan, Limits  # noqa: E402
from ingest.fingerprint import _BorderStats, _centre, hamming  # noqa: E402

PLAN = DecodePlan(every_s=10, scene_threshold=0.3, thumbnail_max_side=640, sample_fps=2, sample_size=64)
KINDS: dict[str, Callable[[Image.Image], imagehash.ImageHash]] = {
    "ahash": imagehash.average_hash,
    "dhash": imagehash.dhash,
    "phash": imagehash.phash,
    "whash": imagehash.whash,
}


def frames_of(path: Path) -> np.ndarray:
    decoded = decode(path, PLAN, Path(tempfile.mkdtemp()), Limits(600, 4096))
    return np.stack([picture for _t, picture in decoded.iter_samples()])


def as_int(value: imagehash.ImageHash) -> int:
    return int(str(value), 16)


# Copies whose frames are not at the source's time (compilations, speed changes): not compared here.
NOT_TIME_ALIGNED = ("excerpt10", "compilation", "compilation-cuts", "speed+10", "speed-10")
# Sideways copies, compared turned back the way the matcher's turned prints are.
QUARTER_TURNS = {"rotate90": 1, "rotate270": 3}


def hashes(
    frames: np.ndarray, kind: str, borders: bool, centre: bool, mirror: bool = False, quarter_turns: int = 0
) -> np.ndarray:
    top, bottom, left, right = 0, frames.shape[1], 0, frames.shape[2]
    if borders:
        stats = _BorderStats(*frames.shape[1:])
        for picture in frames:
            stats.add(picture)
        top, bottom, left, right = stats.box()
    out = []
    for picture in frames[:, top:bottom, left:right]:
        picture = picture[:, ::-1] if mirror else picture
        picture = np.rot90(picture, quarter_turns) if quarter_turns else picture
        picture = _centre(picture) if centre else picture
        out.append(as_int(KINDS[kind](Image.fromarray(np.ascontiguousarray(picture)))))
    return np.asarray(out, np.uint64)


# Vertical copies (bench/corpus_transforms.py): the left edge of their 9:16 window, as a fraction
# of the source's width (1280x720 sources; the window is 405 px wide).
STRIP_WIDTH = 405 / 1280
STRIP_LEFT = {"vertical-centre": (1 - STRIP_WIDTH) / 2, "vertical-left": 0.1}
STRIP_MOVES = (0.0, 0.01, 0.02, 0.04, 0.06, 0.08)


def strips(corpus: Path) -> None:
    """Median bits between each vertical copy's frames and the source's strip at its place,
    moved by each of STRIP_MOVES; the share within 16 bits (the matcher's MATCH_DISTANCE)."""
    source = frames_of(corpus / "sources" / "src-a.mp4")
    width = source.shape[2]
    print(f"{'hash':6} {'copy':16} " + " ".join(f"{f'+{move:.0%}':>10}" for move in STRIP_MOVES))
    for kind in KINDS:
        for name, left in STRIP_LEFT.items():
            copy = frames_of(corpus / "copies" / f"src-a.{name}.mp4")
            n = min(len(copy), len(source))
            query = np.asarray([as_int(KINDS[kind](Image.fromarray(p))) for p in copy[:n]], np.uint64)
            cells = []
            for move in STRIP_MOVES:
                first = round((left + move) * width)
                window = source[:n, :, first : first + round(STRIP_WIDTH * width)]
                archived = np.asarray(
                    [as_int(KINDS[kind](Image.fromarray(np.ascontiguousarray(p)))) for p in window], np.uint64
                )
                distance = hamming(query, archived)
                cells.append(f"{int(np.median(distance)):>3} ({np.mean(distance <= 16):.0%})")
            print(f"{kind:6} {name:16} " + " ".join(f"{cell:>10}" for cell in cells))
    print("cells: median bits apart (share of frames within 16 bits), the strip moved right by that share of the width")


def main() -> None:
    corpus = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/corpus")
    if "--strips" in sys.argv[2:]:
        strips(corpus)
        return
    source = frames_of(corpus / "sources" / "src-a.mp4")
    others = np.concatenate([frames_of(p) for p in sorted((corpus / "unrelated").glob("*.mp4"))])
    wanted = sys.argv[2].split(",") if len(sys.argv) > 2 else None
    copies = {
        p.name.split(".")[1]: frames_of(p)
        for p in sorted((corpus / "copies").glob("*.mp4"))
        if wanted is None or p.name.split(".")[1] in wanted
    }
    variants = {
        "plain": (False, False),
        "borders cut": (True, False),
    }
    print(f"{'hash':6} {'preprocessing':22} " + " ".join(f"{t:>11}" for t in copies) + "   unrelated p1")
    for kind in KINDS:
        for label, (borders, _c) in variants.items():
            base = hashes(source, kind, borders, False)
            base_centre = hashes(source, kind, borders, True)
            row = []
            for name, frames in copies.items():
                if name in NOT_TIME_ALIGNED:
                    row.append("-")
                    continue
                n = min(len(frames), len(base))
                turns = QUARTER_TURNS.get(name, 0)
                query = hashes(frames[:n], kind, borders, False, mirror=(name == "mirror"), quarter_turns=turns)
                plain = hamming(query, base[:n])
                best = np.minimum(plain, hamming(query, base_centre[:n]))  # whole-vs-centre as Verity does
                row.append(f"{int(np.median(plain)):>4}/{int(np.median(best)):<4}")
            unrelated = hashes(others, kind, borders, False)
            pairs = hamming(base[:, None], unrelated[None, :]).ravel()
            print(
                f"{kind:6} {label:22} "
                + " ".join(f"{cell:>11}" for cell in row)
                + f"   {int(np.percentile(pairs, 1)):>6}"
            )
    print(
        "cells: median bits apart, whole picture only / best of whole and centre"
        " (mirror: query mirrored; rotate90/270: query turned back)"
    )


if __name__ == "__main__":
    main()
