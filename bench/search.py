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
import gc
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.real_frames import chunk_match_rate, real_prints, uniform_rate, unrelated_pairs  # noqa: E402
from ingest.fingerprint import Fingerprint, Hashes  # noqa: E402
from ingest.index import CHUNK_SPANS, FingerprintIndex  # noqa: E402
from ingest.match import match_clip  # noqa: E402
from ingest.pipeline import analyse_file  # noqa: E402
from tests import media  # noqa: E402
from verity.settings import Settings  # noqa: E402

CLIP_MINUTES = 5
# A second process on the machine: maps the saved index, answers one query, reads every page of
# it; reports the time to that first answer and how much memory it holds privately (the rest is
# the page cache the first process shares with it).
SECOND_PROCESS = """
import json, sys, time
began = time.perf_counter()
import numpy as np
import psutil
from pathlib import Path
from ingest.index import FingerprintIndex

def private() -> int:
    info = psutil.Process().memory_info()
    return info.rss - info.shared

before = private()
index, _meta = FingerprintIndex.load(Path(sys.argv[1]))
index.query(np.load(sys.argv[2]), 10)
first_answer = time.perf_counter() - began
for segment in index.segments:
    for array in segment.arrays.values():
        np.asarray(array).view(np.uint8).reshape(-1)[::4096].sum()
print(json.dumps({"private": private() - before, "first_answer_s": first_answer}))
"""


class SkewedBulk:
    """Synthetic clips whose hashes are as skewed as real footage's: scenes of 1–6 s, frames within
    a scene one bit apart, and each scene's picture assembled chunk by chunk from real frames
    (each index chunk of its whole and centre hash taken from a randomly chosen real frame, with
    `flips` bits of that chunk flipped), so chunk values are as unevenly spread as in the real
    fixtures while two scenes are still unrelated pictures."""

    def __init__(self, pool: list[Fingerprint], rng: np.random.Generator, flips: float) -> None:
        whole = np.concatenate([p.hashes[p.informative] for p in pool])
        centre = np.concatenate([p.centre_hashes[p.informative] for p in pool])
        self.whole, self.centre, self.rng, self.flips = whole, centre, rng, flips

    def _scenes(self, count: int) -> tuple[Hashes, Hashes]:
        whole, centre = np.zeros(count, np.uint64), np.zeros(count, np.uint64)
        for first, width in CHUNK_SPANS:
            mask = np.uint64(((1 << width) - 1) << first)
            source = self.rng.integers(0, len(self.whole), count)
            flip = np.zeros(count, np.uint64)
            flips = int(self.flips) + (self.rng.random(count) < self.flips % 1)  # a fraction: some scenes one more
            for number in range(int(np.ceil(self.flips))):
                bit = np.uint64(1) << (np.uint64(first) + self.rng.integers(0, width, count, dtype=np.uint64))
                flip |= np.where(number < flips, bit, np.uint64(0))
            whole |= (self.whole[source] & mask) ^ flip
            centre |= (self.centre[source] & mask) ^ flip
        return whole, centre

    def clip(self, frames: int, fps: float) -> Fingerprint:
        scene_frames = self.rng.integers(int(2 * fps), int(12 * fps), frames // int(2 * fps) + 2)
        scene_of = np.repeat(np.arange(len(scene_frames)), scene_frames)[:frames]
        whole, centre = self._scenes(len(scene_frames))
        jitter = np.uint64(1) << self.rng.integers(0, 64, frames, dtype=np.uint64)
        return Fingerprint(
            np.arange(frames) / fps,
            whole[scene_of] ^ jitter,
            centre[scene_of] ^ jitter,
            np.ones(frames, bool),
        )


def bulk_rate(clips: list[Fingerprint]) -> float:
    """Chunk-match rate between frames of different bulk clips, as `real_frames` measures it."""
    return chunk_match_rate([(a, b) for a, b in zip(clips, clips[1:] + clips[:1], strict=True)])


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, default=10_000)
    parser.add_argument("--fps", type=float, default=2.0)
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--flips", type=float, default=2.5, help="bits flipped per chunk of a real frame's hash")
    parser.add_argument("--memory-only", action="store_true", help="build, save and map the index; no queries")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    settings = Settings(sample_fps=args.fps)
    work = Path(tempfile.mkdtemp(prefix="verity-bench-search-"))
    source = media.make_source(work / "source.mp4", seconds=90)
    copy = media.make_copy(work / "copy.mp4", source, "-ss", "20", "-t", "60", "-i", "-vf", "scale=320:180,hflip")
    original_print, _ = analyse_file(source, settings, work / "a")
    copy_print, copy_mirror = analyse_file(copy, settings, work / "b")

    real = real_prints(args.fps)
    pairs = unrelated_pairs(real, 1 / args.fps)
    real_rate = chunk_match_rate([(real[a], real[b]) for a, b in pairs] + [(real[b], real[a]) for a, b in pairs])
    rng = np.random.default_rng(7)
    bulk = SkewedBulk(list(real.values()), rng, args.flips)
    frames_per_clip = int(CLIP_MINUTES * 60 * args.fps)
    clips = int(args.hours * 60 / CLIP_MINUTES)
    index = FingerprintIndex()
    folder = work / "index"
    started = time.perf_counter()
    synthetic: list[Fingerprint] = []
    saved = 0.0
    for number in range(clips):
        print_ = bulk.clip(frames_per_clip, args.fps)
        if number < 200:
            synthetic.append(print_)
        index.add(f"synthetic-{number}", print_, defer_sorting=True)
        if number == clips // 2:
            index.add("planted-original", original_print, defer_sorting=True)
        if len(index) - index.segment_frames >= index.SEGMENT_FRAMES - frames_per_clip:
            began = time.perf_counter()
            index.save(folder, last_fingerprint_id=0)  # a full segment: to its file, out of this heap
            saved += time.perf_counter() - began
    began = time.perf_counter()
    index.save(folder, last_fingerprint_id=0)
    saved += time.perf_counter() - began
    built = time.perf_counter() - started
    del index
    gc.collect()
    began = time.perf_counter()
    index, _meta = FingerprintIndex.load(folder)
    loaded = time.perf_counter() - began
    file_bytes = sum(p.stat().st_size for p in (folder / "segments").rglob("*") if p.is_file())
    np.save(work / "query.npy", synthetic[0].hashes[: int(60 * args.fps)])
    second = json.loads(
        subprocess.run(
            [sys.executable, "-c", SECOND_PROCESS, str(folder), str(work / "query.npy")],
            cwd=Path(__file__).resolve().parents[1],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    memory = {
        "index_file_mb": round(file_bytes / 2**20),
        "bytes_per_frame": round(file_bytes / len(index), 1),
        "index_memory_mb": round(index.memory_bytes() / 2**20),
        "second_process_private_mb": round(second["private"] / 2**20, 1),
        "second_process_private_share": round(second["private"] / file_bytes, 4),
        "second_process_first_answer_s": round(second["first_answer_s"], 2),
    }
    if args.memory_only:
        result = {"hours": args.hours, "frames": len(index), "build_s": round(built, 1), **memory}
        result["snapshot_load_s"] = round(loaded, 2)
        result["process_peak_rss_mb"] = round(peak_rss_mb())
        shutil.rmtree(work, ignore_errors=True)
        print(json.dumps(result))
        return

    latencies: dict[str, list[float]] = {"copy": [], "archived": [], "unrelated": []}
    found = {"copy": 0, "archived": 0, "unrelated": 0}
    cpu_ms: list[float] = []
    window = slice(int(30 * args.fps), int(90 * args.fps))
    for number in range(args.queries):
        kind = ("copy", "archived", "unrelated")[number % 3]
        mirrored: Fingerprint | None = None
        if kind == "copy":
            query, mirrored, expect = copy_print, copy_mirror, "planted-original"
        else:
            whole = synthetic[number % 20] if kind == "archived" else bulk.clip(600, args.fps)
            query = Fingerprint(
                whole.times[window] - whole.times[window][0],
                whole.hashes[window],
                whole.centre_hashes[window],
                whole.informative[window],
            )
            expect = f"synthetic-{number % 20}" if kind == "archived" else ""
        began, cpu = time.perf_counter(), time.process_time()
        matches = match_clip(index, query, mirrored, sample_step_s=1 / args.fps)
        latencies[kind].append((time.perf_counter() - began) * 1000)
        cpu_ms.append((time.process_time() - cpu) * 1000)
        if (matches and matches[0].clip_id == expect) or (kind == "unrelated" and not matches):
            found[kind] += 1
    rate = bulk_rate(synthetic)
    every = sorted(t for times in latencies.values() for t in times)
    result = {
        "hours": args.hours,
        "sample_fps": args.fps,
        "clips": clips + 1,
        "frames": len(index),
        "real_clips": len(real),
        "chunk_match_real_x_uniform": round(real_rate / uniform_rate(), 1),
        "chunk_match_bulk_x_uniform": round(rate / uniform_rate(), 1),
        "build_s": round(built, 1),
        "of_it_writing_segments_s": round(saved, 1),
        "snapshot_load_s": round(loaded, 2),
        **memory,
        "process_peak_rss_mb": round(peak_rss_mb()),
        "queries": args.queries,
        "p50_ms": round(statistics.median(every), 1),
        "p95_ms": round(every[int(0.95 * (len(every) - 1))], 1),
        "p50_cpu_ms": round(statistics.median(cpu_ms), 1),
        "p95_cpu_ms": round(sorted(cpu_ms)[int(0.95 * (len(cpu_ms) - 1))], 1),
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
