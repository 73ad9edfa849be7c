"""Fingerprint index at archive scale: build/load time, memory, and query latency.

The bulk is synthetic (hashes that behave like video: scenes of a few seconds whose frames
differ by a few bits, a new random picture at each cut), with real clips planted: an original
made with ffmpeg, fingerprinted by Verity's own pipeline. Queries are 60 s: a transformed real
copy (360p + mirror) that must find the planted original, stretches of archived synthetic clips
(must find theirs), and synthetic footage that is not archived (must find nothing: it takes the
slower one-bit probing path, since no chunk matches exactly).

    .venv/bin/python bench/search.py                 # 10,000 hours at 2 fps
    .venv/bin/python bench/search.py --hours 1000 --queries 50 --json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest.fingerprint import Fingerprint  # noqa: E402
from ingest.index import FingerprintIndex  # noqa: E402
from ingest.match import match_clip  # noqa: E402
from ingest.pipeline import analyse_file  # noqa: E402
from tests import media  # noqa: E402
from verity.settings import Settings  # noqa: E402

CLIP_MINUTES = 5


def synthetic_clip(rng: np.random.Generator, frames: int, fps: float) -> Fingerprint:
    scene_frames = rng.integers(int(2 * fps), int(12 * fps), frames // int(2 * fps) + 2)
    scene_of = np.repeat(np.arange(len(scene_frames)), scene_frames)[:frames]
    whole = rng.integers(0, 2**63, len(scene_frames), dtype=np.uint64) * np.uint64(2) + rng.integers(
        0, 2, 1, dtype=np.uint64
    )
    centre = rng.integers(0, 2**63, len(scene_frames), dtype=np.uint64) * np.uint64(2)
    jitter = np.uint64(1) << rng.integers(0, 64, frames, dtype=np.uint64)
    return Fingerprint(
        np.arange(frames) / fps,
        whole[scene_of] ^ jitter,
        centre[scene_of] ^ (jitter << np.uint64(1)),
        np.ones(frames, bool),
    )


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, default=10_000)
    parser.add_argument("--fps", type=float, default=2.0)
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    settings = Settings(sample_fps=args.fps)
    work = Path(tempfile.mkdtemp(prefix="verity-bench-search-"))
    source = media.make_source(work / "source.mp4", seconds=90)
    copy = media.make_copy(work / "copy.mp4", source, "-ss", "20", "-t", "60", "-i", "-vf", "scale=320:180,hflip")
    original_print, _ = analyse_file(source, settings, work / "a")
    copy_print, copy_mirror = analyse_file(copy, settings, work / "b")

    rng = np.random.default_rng(7)
    frames_per_clip = int(CLIP_MINUTES * 60 * args.fps)
    clips = int(args.hours * 60 / CLIP_MINUTES)
    index = FingerprintIndex()
    started = time.perf_counter()
    synthetic: list[Fingerprint] = []
    for number in range(clips):
        print_ = synthetic_clip(rng, frames_per_clip, args.fps)
        if number < 20:
            synthetic.append(print_)
        index.add(f"synthetic-{number}", print_, defer_sorting=True)
        if number == clips // 2:
            index.add("planted-original", original_print, defer_sorting=True)
    added = time.perf_counter() - started
    index.finish_loading()
    built = time.perf_counter() - started
    began = time.perf_counter()
    index.save(work / "index", last_fingerprint_id=0)
    saved = time.perf_counter() - began
    del index
    began = time.perf_counter()
    index, _meta = FingerprintIndex.load(work / "index")
    loaded = time.perf_counter() - began

    latencies: dict[str, list[float]] = {"copy": [], "archived": [], "unrelated": []}
    found = {"copy": 0, "archived": 0, "unrelated": 0}
    window = slice(int(30 * args.fps), int(90 * args.fps))
    for number in range(args.queries):
        kind = ("copy", "archived", "unrelated")[number % 3]
        mirrored: Fingerprint | None = None
        if kind == "copy":
            query, mirrored, expect = copy_print, copy_mirror, "planted-original"
        else:
            whole = synthetic[number % len(synthetic)] if kind == "archived" else synthetic_clip(rng, 600, args.fps)
            query = Fingerprint(
                whole.times[window] - whole.times[window][0],
                whole.hashes[window],
                whole.centre_hashes[window],
                whole.informative[window],
            )
            expect = f"synthetic-{number % len(synthetic)}" if kind == "archived" else ""
        began = time.perf_counter()
        matches = match_clip(index, query, mirrored, sample_step_s=1 / args.fps)
        latencies[kind].append((time.perf_counter() - began) * 1000)
        if (matches and matches[0].clip_id == expect) or (kind == "unrelated" and not matches):
            found[kind] += 1
    every = sorted(t for times in latencies.values() for t in times)
    result = {
        "hours": args.hours,
        "sample_fps": args.fps,
        "clips": clips + 1,
        "frames": len(index),
        "add_s": round(added, 1),
        "build_s": round(built, 1),
        "snapshot_save_s": round(saved, 1),
        "snapshot_load_s": round(loaded, 1),
        "index_memory_mb": round(index.memory_bytes() / 2**20),
        "process_peak_rss_mb": round(peak_rss_mb()),
        "queries": args.queries,
        "p50_ms": round(statistics.median(every), 1),
        "p95_ms": round(every[int(0.95 * (len(every) - 1))], 1),
        **{f"p50_ms_{kind}": round(statistics.median(times), 1) for kind, times in latencies.items() if times},
        **{f"correct_{kind}": f"{found[kind]}/{len(latencies[kind])}" for kind in latencies},
        "cpu": os.cpu_count(),
    }
    shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>20}: {value}")


if __name__ == "__main__":
    main()
