"""Viewing-copy benchmark: what making the copy adds to the decode pass, against a plain decode.

Generates clips a browser cannot play (cached outside the repository, keyed by their parameters):
1080p30 HEVC/AAC in Matroska (x265 `fast` at 12 Mbit/s over a noisy test pattern, about what
phones write), 576i MPEG-2/MP2 in MPEG-TS (interlaced SD broadcast footage), 1080i25 H.264/AC-3 in
MPEG-TS (interlaced HD television and AVCHD camcorders), and 1080p30 H.264/AAC
in QuickTime shown turned 90° (a phone held upright), and the same not turned (whose H.264 and AAC
move into the MP4 as they are). For each clip it times, in CPU seconds
(user + system of the child processes: steadier than wall time on a shared machine) and wall
seconds:

  * `ffmpeg -v error -i CLIP -f null -`: the decode-only baseline (video and audio);
  * Verity's decode pass (`ingest.ffmpeg.run_decode`: thumbnails and fingerprint samples);
  * the same pass writing the viewing copy too, for each preset and size cap asked for.

The added cost is (pass with copy − pass) / decode-only. Goal (issue 12): at most 0.5.

    .venv/bin/python bench/viewing_copy.py [--seconds 20] [--repeat 2] [--preset veryfast ...]
        [--cap 720 ...]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from ingest.ffmpeg import DecodeOutputs, Limits, ViewingCopyOutput, run_decode  # noqa: E402
from ingest.pipeline import decode_plan  # noqa: E402
from ingest.probe import probe  # noqa: E402
from ingest.viewing_copy import playability_of, viewing_copy_output  # noqa: E402
from tests.helpers.rotation import set_rotation  # noqa: E402
from verity.settings import Settings  # noqa: E402

CACHE = Path(tempfile.gettempdir()) / "verity-bench-media"
GOAL = 0.5


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True)


def hevc_mkv(path: Path, seconds: int) -> None:
    ffmpeg(
        "-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate=30:duration={seconds},noise=alls=12:allf=t",
        "-f", "lavfi", "-i", f"sine=duration={seconds}",
        "-c:v", "libx265", "-preset", "fast", "-b:v", "12M", "-x265-params", "log-level=error",
        "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path),
    )  # fmt: skip


def interlaced_ts(path: Path, seconds: int) -> None:
    ffmpeg(
        "-f", "lavfi", "-i", f"testsrc2=size=720x576:rate=50:duration={seconds},noise=alls=8:allf=t",
        "-f", "lavfi", "-i", f"sine=duration={seconds}",
        "-vf", "tinterlace=mode=interleave_top,setfield=tff", "-c:v", "mpeg2video", "-flags", "+ilme+ildct",
        "-top", "1", "-b:v", "8M", "-c:a", "mp2", "-f", "mpegts", str(path),
    )  # fmt: skip


def interlaced_h264_ts(path: Path, seconds: int) -> None:
    """1080i25 as television and camcorders (AVCHD) record it: interlaced H.264 with AC-3 sound."""
    ffmpeg(
        "-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate=50:duration={seconds},noise=alls=12:allf=t",
        "-f", "lavfi", "-i", f"sine=duration={seconds}",
        "-vf", "tinterlace=mode=interleave_top,setfield=tff", "-c:v", "libx264", "-preset", "fast",
        "-flags", "+ilme+ildct", "-x264-params", "tff=1", "-b:v", "16M", "-pix_fmt", "yuv420p",
        "-c:a", "ac3", "-f", "mpegts", str(path),
    )  # fmt: skip


def rotated_mov(path: Path, seconds: int) -> None:
    ffmpeg(
        "-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate=30:duration={seconds},noise=alls=12:allf=t",
        "-f", "lavfi", "-i", f"sine=duration={seconds}",
        "-c:v", "libx264", "-preset", "fast", "-b:v", "16M", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
        str(path),
    )  # fmt: skip
    set_rotation(path, 90)


def quicktime_mov(path: Path, seconds: int) -> None:
    rotated_mov(path, seconds)
    set_rotation(path, 0)


CLIPS: dict[str, tuple[str, Callable[[Path, int], None]]] = {
    "1080p HEVC MKV": ("mkv", hevc_mkv),
    "576i MPEG-2 TS": ("ts", interlaced_ts),
    "1080i H.264 TS": ("ts", interlaced_h264_ts),
    "1080p H.264 MOV, rotated": ("mov", rotated_mov),
    "1080p H.264 MOV": ("mov", quicktime_mov),
}


@dataclass(frozen=True)
class Timing:
    cpu_s: float
    wall_s: float


def timed(run: Callable[[], object]) -> Timing:
    before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic()
    run()
    after, wall = resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic() - start
    return Timing(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, wall)


def median(timings: list[Timing]) -> Timing:
    return Timing(statistics.median(t.cpu_s for t in timings), statistics.median(t.wall_s for t in timings))


def measure(name: str, path: Path, repeat: int, presets: list[str], caps: list[int]) -> None:
    """One table row per preset and cap for the clip at `path`."""
    settings = Settings()
    limits = Limits(settings.decode_timeout_s, settings.ffmpeg_memory_mb)
    info = probe(path, Limits(60, settings.ffmpeg_memory_mb))
    why = "; ".join(playability_of(info, path).reasons)
    with tempfile.TemporaryDirectory(prefix="verity-bench-") as scratch:
        work = Path(scratch)

        def decode_pass(copy: ViewingCopyOutput | None) -> None:
            for leftover in work.iterdir():
                leftover.unlink()
            run_decode(
                path,
                decode_plan(settings),
                DecodeOutputs(work / "k-%06d.jpg", work / "k.txt", work / "s.gray", copy),
                limits,
            )

        null = ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-f", "null", "-"]
        decode_only = median([timed(lambda: subprocess.run(null, check=True)) for _ in range(repeat)])
        plain = median([timed(lambda: decode_pass(None)) for _ in range(repeat)])
        for preset in presets:
            for cap in caps:
                base = viewing_copy_output(info, work / "copy.mp4")
                copy = replace(base, max_long_side=cap * 16 // 9, max_short_side=cap, preset=preset)
                both = median([timed(lambda copy=copy: decode_pass(copy)) for _ in range(repeat)])
                cpu = (both.cpu_s - plain.cpu_s) / decode_only.cpu_s
                wall = (both.wall_s - plain.wall_s) / decode_only.wall_s
                print(
                    f"| {name} | {why} | {decode_only.cpu_s:.2f} s ({decode_only.wall_s:.2f}) | "
                    f"{plain.cpu_s:.2f} s ({plain.wall_s:.2f}) | {both.cpu_s:.2f} s ({both.wall_s:.2f}) "
                    f"({preset}, {cap}p) | **{cpu:.2f}**; {wall:.2f} | {copy.path.stat().st_size / 1e6:.1f} MB |",
                    flush=True,
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--preset", action="append", help="x264 presets to try (default: the pipeline's)")
    parser.add_argument("--cap", action="append", type=int, help="short-side caps to try (default: the pipeline's)")
    parser.add_argument("--clip", action="append", choices=sorted(CLIPS), help="clips to measure (default: all)")
    args = parser.parse_args()
    default = ViewingCopyOutput(Path("x"), False, False)
    presets, caps = args.preset or [default.preset], args.cap or [default.max_short_side]
    CACHE.mkdir(parents=True, exist_ok=True)
    revision = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO_ROOT)
    print(
        f"# {platform.node()}, {len(os.sched_getaffinity(0))} CPUs, load {os.getloadavg()[0]:.1f}; "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; code {revision.stdout.strip()}; {args.seconds} s clips, "
        f"median of {args.repeat}"
    )
    print(
        "| clip | why a copy | decode-only CPU (wall) | pass | pass + copy (preset, cap) "
        "| added / decode-only: CPU; wall | copy |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, (suffix, make) in CLIPS.items():
        if args.clip and name not in args.clip:
            continue
        path = CACHE / f"viewing-{name.replace(',', '').replace(' ', '-')}-{args.seconds}s.{suffix}"
        if not path.exists():
            make(path, args.seconds)
        measure(name, path, args.repeat, presets, caps)
    print(f"\nGoal: added / decode-only <= {GOAL}")


if __name__ == "__main__":
    main()
