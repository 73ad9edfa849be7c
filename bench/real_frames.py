"""Frame hashes of the real fixtures (../shared/fixtures/real), and how often an index chunk of
one clip's frames equals that of another, unrelated clip's: the skew a synthetic bulk must copy.

    .venv/bin/python bench/real_frames.py            # prints the real chunk-match rate
"""

from __future__ import annotations

import json
import sys
import tempfile
from itertools import combinations
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest.fingerprint import Fingerprint, Hashes  # noqa: E402
from ingest.index import CHUNK_SPANS, FingerprintIndex  # noqa: E402
from ingest.match import match_clip  # noqa: E402
from ingest.pipeline import analyse_file  # noqa: E402
from verity.errors import VerityError  # noqa: E402
from verity.settings import Settings  # noqa: E402

REAL = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "real"
VIDEO_SUFFIXES = {".mp4", ".mov", ".avi", ".m4v", ".3gp", ".mkv", ".webm"}
SAME_FOOTAGE = "pattern-"  # the threatexchange pattern-* files are copies of one another


def real_prints(sample_fps: float = 2.0) -> dict[str, Fingerprint]:
    """Every real fixture video Verity can fingerprint, by its path under the fixtures folder."""
    settings = Settings(sample_fps=sample_fps)
    prints: dict[str, Fingerprint] = {}
    with tempfile.TemporaryDirectory(prefix="verity-real-frames-") as work:
        for number, path in enumerate(sorted(p for p in REAL.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES)):
            try:
                print_, _mirror = analyse_file(path, settings, Path(work) / str(number))
            except (VerityError, OSError):
                continue  # no video stream, or nothing ffmpeg can decode
            if print_.informative.any():
                prints[str(path.relative_to(REAL))] = print_
    return prints


def unrelated_pairs(prints: dict[str, Fingerprint], sample_step_s: float) -> list[tuple[str, str]]:
    """Pairs of different clips that do not share footage: not two pattern-* copies, and not a
    pair the matcher itself relates (some fixture folders hold one recording in two containers)."""
    related: set[frozenset[str]] = set()
    for name, print_ in prints.items():
        index = FingerprintIndex()
        for other, other_print in prints.items():
            if other != name:
                index.add(other, other_print)
        for found in match_clip(index, print_, sample_step_s=sample_step_s):
            related.add(frozenset((name, found.clip_id)))
    return [
        (a, b)
        for a, b in combinations(sorted(prints), 2)
        if frozenset((a, b)) not in related and not (SAME_FOOTAGE in a and SAME_FOOTAGE in b)
    ]


def _chunks(hashes: Hashes, number: int) -> np.ndarray:
    first, width = CHUNK_SPANS[number]
    return (hashes >> np.uint64(first)) & np.uint64((1 << width) - 1)


def chunk_match_rate(groups: list[tuple[Fingerprint, Fingerprint]]) -> float:
    """Share of (query frame, archived entry) pairs, over the given pairs of unrelated clips and
    the index's three chunks, whose chunk is equal, as a query sees them: the query's whole hash
    against the archived whole and centre hashes of informative frames."""
    equal = total = 0
    for query, archived in groups:
        q = query.hashes[query.informative]
        entries = np.concatenate([archived.hashes[archived.informative], archived.centre_hashes[archived.informative]])
        for number in range(len(CHUNK_SPANS)):
            a, b = _chunks(q, number), _chunks(entries, number)
            values, counts = np.unique(b, return_counts=True)
            where = np.searchsorted(values, a)
            hit = (where < len(values)) & (values[np.minimum(where, len(values) - 1)] == a)
            equal += int(counts[where[hit]].sum())
            total += len(a) * len(b)
    return equal / total if total else 0.0


def uniform_rate() -> float:
    """The chunk-match rate of uniformly random hashes."""
    return float(np.mean([2.0**-width for _first, width in CHUNK_SPANS]))


def main() -> None:
    prints = real_prints()
    pairs = unrelated_pairs(prints, 0.5)
    groups = [(prints[a], prints[b]) for a, b in pairs] + [(prints[b], prints[a]) for a, b in pairs]
    rate = chunk_match_rate(groups)
    frames = sum(len(p) for p in prints.values())
    print(
        json.dumps(
            {
                "clips": len(prints),
                "frames": frames,
                "unrelated_pairs": len(pairs),
                "chunk_match_rate": rate,
                "uniform_rate": uniform_rate(),
                "times_uniform": round(rate / uniform_rate(), 1),
            }
        )
    )


if __name__ == "__main__":
    main()
