"""Ingest benchmark: Verity's whole analysis of a clip (`run_ingest`) vs. a plain ffmpeg decode.

Generates 1080p30 H.264 + AAC clips with ffmpeg (lavfi test sources cut together, so there are
scene changes; cached outside the repository, keyed by their parameters, so reruns are fast),
then for each clip:

  * times `ffmpeg -v error -i CLIP -f null -` (the decode-only baseline; it decodes audio too),
    and the same with `-map 0:v` (video only, what the ingest decodes) for reference;
  * stores the clip in a fresh embedded archive (SQLite + local folder, upload not timed) and
    times `ingest.pipeline.run_ingest` on it, in a worker process of its own so that its
    `getrusage` figures belong to that clip alone; a thread samples the RSS of the worker and of
    its children (ffprobe, ffmpeg) every 50 ms while it runs. `run_ingest` reports its own
    per-step times (fetch, probe, decode, keyframes, and whatever steps the pipeline has).

Each timing also notes how many CPUs other processes kept busy meanwhile; above 0.1 the figures
are disturbed and the run should be repeated on a quiet machine.

Goal: the whole ingest takes at most 1.3x the decode-only time, and memory does not grow with
clip length.

    .venv/bin/python bench/ingest_speed.py [--only-short] [--repeat N] [--keep-media DIR] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import inspect
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

REPO_ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024
SAMPLE_SECONDS = 0.05
GOAL_RATIO = 1.3
NOISY_CPUS = 0.1  # other processes' average CPU use above which a timing counts as disturbed
# Memory counts as flat when the long clip's peak is within this of the short clip's.
FLAT_FACTOR, FLAT_SLACK_MIB = 1.25, 16.0
DEFAULT_CACHE = Path(tempfile.gettempdir()) / "verity-bench-media"
GENERATOR_VERSION = 1  # bump when the generated content changes, so cached clips are remade

SHORT_S, LONG_S = 60, 600
WIDTH, HEIGHT, FPS = 1920, 1080, 30
CRF = 20
NOISE = 2  # light temporal grain, so the bitrate is closer to a camera's than a test card's
SEGMENT_SECONDS = (6, 14, 9, 11)  # scene lengths, cycled; > keyframe_every_s (10) now and then
# Picture sources, cycled, one per scene. Costly ones are rendered small and scaled up.
SOURCES = (
    "testsrc2=s={w}x{h}:r={fps}",
    "mandelbrot=s=320x180:r={fps}:maxiter=256,scale={w}:{h}",
    "life=s=480x270:r={fps}:mold=10:ratio=0.3:seed={seed}:life_color=#ffcc33:death_color=#102040"
    ":mold_color=#306030,scale={w}:{h}:flags=neighbor",
    "gradients=s=480x270:r={fps}:speed=0.02:seed={seed},scale={w}:{h}",
    "cellauto=s=640x360:r={fps}:rule=110:random_fill_ratio=0.5:seed={seed},scale={w}:{h}:flags=neighbor",
)


class BenchError(Exception):
    pass


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def ffmpeg_binary(name: str = "ffmpeg") -> str:
    found = shutil.which(name)
    if found is None:
        raise BenchError(f"{name} is not installed")
    return found


# --- clips ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClipSpec:
    duration_s: int
    preset: str
    width: int = WIDTH
    height: int = HEIGHT
    fps: int = FPS
    crf: int = CRF

    @property
    def label(self) -> str:
        return f"{self.duration_s // 60} min" if self.duration_s >= 120 else f"{self.duration_s} s"

    @property
    def filename(self) -> str:
        return (
            f"clip-{self.duration_s}s-{self.width}x{self.height}p{self.fps}-h264-{self.preset}-crf{self.crf}"
            f"-noise{NOISE}-g{GENERATOR_VERSION}.mp4"
        )


def segments(duration_s: int) -> Iterator[float]:
    left, index = float(duration_s), 0
    while left > 0:
        length = min(SEGMENT_SECONDS[index % len(SEGMENT_SECONDS)], left)
        yield length
        left -= length
        index += 1


def generate_command(spec: ClipSpec, output: Path) -> list[str]:
    parts, labels = [], []
    for index, length in enumerate(segments(spec.duration_s)):
        source = SOURCES[index % len(SOURCES)].format(w=spec.width, h=spec.height, fps=spec.fps, seed=index + 1)
        parts.append(f"{source},trim=duration={length},setpts=PTS-STARTPTS,format=yuv420p,setsar=1[v{index}]")
        labels.append(f"[v{index}]")
    parts.append(f"{''.join(labels)}concat=n={len(labels)}:v=1:a=0,noise=alls={NOISE}:allf=t[v]")
    parts.append(f"sine=f=440:beep_factor=4:sample_rate=48000:d={spec.duration_s}[a]")
    return [
        ffmpeg_binary(),
        "-nostdin",
        "-hide_banner",
        "-v",
        "error",
        "-y",
        "-filter_complex",
        ";".join(parts),
        "-map",
        "[v]",
        "-map",
        "[a]",
        "-t",
        str(spec.duration_s),
        "-c:v",
        "libx264",
        "-preset",
        spec.preset,
        "-crf",
        str(spec.crf),
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-b:a",
        "128k",
        "-ac",
        "2",
        "-f",
        "mp4",
        str(output),
    ]


def ensure_clip(spec: ClipSpec, media_dir: Path) -> Path:
    """The clip for `spec` from the cache, made first when it is not there."""
    path = media_dir / spec.filename
    if path.is_file():
        log(f"using cached {path}")
        return path
    media_dir.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.mp4")
    log(f"generating the {spec.label} clip ({spec.preset}) into {path}; this takes a while ...")
    started = time.perf_counter()
    completed = subprocess.run(
        generate_command(spec, partial), stdin=subprocess.DEVNULL, capture_output=True, text=True
    )
    if completed.returncode != 0:
        partial.unlink(missing_ok=True)
        raise BenchError(f"generating {spec.filename} failed:\n{completed.stderr[-3000:]}")
    partial.rename(path)
    log(f"  generated in {time.perf_counter() - started:.0f} s")
    return path


def probe_clip(path: Path) -> dict[str, Any]:
    completed = subprocess.run(
        [
            ffmpeg_binary("ffprobe"),
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_format",
            "-show_streams",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    raw = json.loads(completed.stdout)
    video = next(s for s in raw["streams"] if s["codec_type"] == "video")
    return {
        "duration_s": round(float(raw["format"]["duration"]), 3),
        "size_mib": round(int(raw["format"]["size"]) / MIB, 1),
        "bit_rate_mbps": round(int(raw["format"]["bit_rate"]) / 1e6, 2),
        "video": f"{video['codec_name']} {video.get('profile', '')} {video['width']}x{video['height']} "
        f"{video['avg_frame_rate']} fps, {video.get('nb_frames', '?')} frames",
        "audio": [f"{s['codec_name']} {s.get('channels')}ch" for s in raw["streams"] if s["codec_type"] == "audio"],
    }


def warm_page_cache(path: Path) -> None:
    with path.open("rb") as handle:
        while handle.read(8 * MIB):
            pass


# --- the baseline -----------------------------------------------------------------------------


def busy_cpu_seconds() -> float:
    """CPU time the whole machine has spent busy since boot, all CPUs together."""
    times = psutil.cpu_times()
    return float(sum(getattr(times, name, 0.0) for name in ("user", "nice", "system", "irq", "softirq", "steal")))


def other_cpus(busy_before: float, own_cpu_seconds: float, wall_seconds: float) -> float:
    """How many CPUs, on average, something other than the measured work kept busy meanwhile."""
    return round(max(busy_cpu_seconds() - busy_before - own_cpu_seconds, 0.0) / wall_seconds, 2)


@dataclass
class ChildRun:
    seconds: float
    cpu_seconds: float
    max_rss_mib: float
    other_cpus: float  # CPUs kept busy by other processes meanwhile: noise in `seconds` when > ~0.1


def time_child(command: list[str]) -> ChildRun:
    """Wall time, CPU time and peak RSS (`wait4`, exact) of one command."""
    with tempfile.TemporaryFile() as stderr:
        busy = busy_cpu_seconds()
        started = time.perf_counter()
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        cpu = usage.ru_utime + usage.ru_stime
        others = other_cpus(busy, cpu, elapsed)
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            stderr.seek(0)
            raise BenchError(f"{command} exited with {process.returncode}: {stderr.read()[-2000:]!r}")
    return ChildRun(round(elapsed, 3), round(cpu, 2), round(usage.ru_maxrss / 1024, 1), others)


def baseline_command(clip: Path, *, video_only: bool = False) -> list[str]:
    return [
        ffmpeg_binary(),
        "-v",
        "error",
        "-i",
        str(clip),
        *(["-map", "0:v"] if video_only else []),
        "-f",
        "null",
        "-",
    ]


# --- the ingest (runs in a worker process) ----------------------------------------------------


class RssSampler(threading.Thread):
    """Peak RSS of this process and, by name, of each of its children, sampled every 50 ms.

    Finding the children means a scan of /proc (~3 ms), so it runs only every CHILD_SCAN_EVERY
    samples; reading a known process's RSS is cheap. Short-lived children (ffprobe) may go unseen:
    `getrusage(RUSAGE_CHILDREN).ru_maxrss` has their exact peak. The thread's own CPU time is
    recorded, since on a small machine it competes with ffmpeg."""

    CHILD_SCAN_EVERY = 20

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.me = psutil.Process()
        self.children: list[psutil.Process] = []
        self.peaks: dict[str, int] = {}
        self.samples = 0
        self.cpu_seconds = 0.0
        self._stop_event = threading.Event()

    def _sample(self) -> None:
        if self.samples % self.CHILD_SCAN_EVERY == 0:
            self.children = self.me.children(recursive=True)
        self._note("python", self.me.memory_info().rss)
        for child in self.children:
            with contextlib.suppress(psutil.Error):
                self._note(child.name(), child.memory_info().rss)
        self.samples += 1

    def _note(self, name: str, rss: int) -> None:
        self.peaks[name] = max(self.peaks.get(name, 0), rss)

    def run(self) -> None:
        while not self._stop_event.is_set():
            with contextlib.suppress(psutil.Error):
                self._sample()
            self._stop_event.wait(SAMPLE_SECONDS)
        self.cpu_seconds = time.thread_time()

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def worker(clip: Path, data_dir: Path) -> dict[str, Any]:
    """Store `clip` in a fresh embedded archive, then time `run_ingest` on it alone."""
    # Run as a script, this file's folder (bench/) comes first on sys.path; keep it from shadowing anything.
    here = Path(__file__).resolve().parent
    sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != here]
    from sqlalchemy import func, select

    from ingest.pipeline import decode_plan, run_ingest
    from ingest.upload import Receipt, receive_original
    from storage.archive import open_archive
    from storage.models import Keyframe
    from verity.settings import Settings

    archive = open_archive(Settings(data_dir=data_dir), upgrade=True)
    try:
        with clip.open("rb") as handle:
            received = receive_original(archive, iter(lambda: handle.read(MIB), b""), Receipt("bench", clip.name))
        clip_id = received.clip.id
        # Newer pipelines also match against the archive's fingerprints, through a finder.
        arguments: tuple[Any, ...] = (archive, clip_id)
        if "finder" in inspect.signature(run_ingest).parameters:
            finder = importlib.import_module("ingest.near_duplicates").NearDuplicateFinder(archive.sessions)
            finder.sync()
            arguments = (archive, finder, clip_id)
        python_before = psutil.Process().memory_info().rss
        own_before = cpu_seconds(resource.RUSAGE_SELF)
        children_before = cpu_seconds(resource.RUSAGE_CHILDREN)
        sampler = RssSampler()
        sampler.start()
        busy = busy_cpu_seconds()
        started = time.perf_counter()
        try:
            result = run_ingest(*arguments)
        finally:
            elapsed = time.perf_counter() - started
            sampler.stop()
        own_cpu = cpu_seconds(resource.RUSAGE_SELF) - own_before
        children_cpu = cpu_seconds(resource.RUSAGE_CHILDREN) - children_before
        others = other_cpus(busy, own_cpu + children_cpu, elapsed)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        own = resource.getrusage(resource.RUSAGE_SELF)
        with archive.sessions() as session:
            reasons = list(session.scalars(select(Keyframe.reason).where(Keyframe.clip_id == clip_id)))
            assert session.scalar(select(func.count()).select_from(Keyframe)) == len(reasons)
        return {
            "status": result.status,
            "reason": result.reason,
            "seconds": round(elapsed, 3),
            "step_seconds": result.step_seconds,
            "keyframes": len(reasons),
            "scene_keyframes": reasons.count("scene"),
            "decode_plan": asdict(decode_plan(archive.settings)),
            "python_cpu_seconds": round(own_cpu, 2),
            "children_cpu_seconds": round(children_cpu, 2),  # ffprobe + ffmpeg
            "other_cpus": others,
            "children_max_rss_mib": round(children.ru_maxrss / 1024, 1),  # the largest of ffprobe and ffmpeg
            "ffmpeg_rss_peak_sampled_mib": round(sampler.peaks.get("ffmpeg", 0) / MIB, 1),
            "python_rss_before_mib": round(python_before / MIB, 1),
            "python_rss_peak_sampled_mib": round(sampler.peaks.get("python", 0) / MIB, 1),
            "python_max_rss_mib": round(own.ru_maxrss / 1024, 1),  # whole worker life, upload included
            "rss_samples": sampler.samples,
            "sampler_cpu_seconds": round(sampler.cpu_seconds, 2),  # included in python_cpu_seconds
        }
    finally:
        archive.close()


def cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return float(usage.ru_utime + usage.ru_stime)


def run_worker(clip: Path, data_dir: Path) -> dict[str, Any]:
    data_dir.mkdir(parents=True)
    # A clean environment and working folder: no VERITY_* variables, no .env file, default settings.
    env = {name: value for name, value in os.environ.items() if not name.startswith("VERITY_")}
    completed = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--worker", str(clip), "--worker-dir", str(data_dir)],
        cwd=data_dir,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
    )
    if completed.returncode != 0:
        raise BenchError(f"the ingest worker failed ({completed.returncode}):\n{completed.stderr[-4000:]}")
    outcome: dict[str, Any] = json.loads(completed.stdout)
    if outcome["status"] != "ready":
        raise BenchError(f"ingest ended {outcome['status']}: {outcome['reason']}")
    return outcome


# --- the run ----------------------------------------------------------------------------------


@dataclass
class ClipResult:
    clip: str
    file: str
    media: dict[str, Any]
    duration_s: float
    baseline_seconds: float
    baseline_video_only_seconds: float
    ingest_seconds: float
    ratio: float
    ratio_video_only: float
    step_seconds: dict[str, float]
    baseline_cpu_seconds: float
    ingest_ffmpeg_cpu_seconds: float
    ingest_python_cpu_seconds: float
    other_cpus_max: float  # the most CPUs other processes kept busy during any timed run: noise
    ffmpeg_rss_baseline_mib: float
    ffmpeg_rss_ingest_mib: float
    python_rss_ingest_mib: float
    python_rss_growth_mib: float  # peak during run_ingest over the worker's RSS just before it
    keyframes: int
    scene_keyframes: int
    runs: list[dict[str, Any]] = field(default_factory=list)


def machine() -> dict[str, Any]:
    model = platform.processor() or "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    version = subprocess.run([ffmpeg_binary(), "-version"], capture_output=True, text=True).stdout.split("\n")[0]
    return {
        "date_utc": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "nproc": os.cpu_count(),
        "cpu": model,
        "memory_gib": round(psutil.virtual_memory().total / 1024**3, 1),
        "python": platform.python_version(),
        "ffmpeg": version,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def busy_note() -> str | None:
    """A warning when something else is using the CPU (the figures are then noisy). Not the load
    average: it still counts this benchmark's own previous runs for minutes afterwards."""
    processes = [p for p in psutil.process_iter(["name"]) if p.pid != os.getpid()]
    for process in processes:
        with contextlib.suppress(psutil.Error):
            process.cpu_percent(None)
    time.sleep(1.0)
    others = []
    for process in processes:
        with contextlib.suppress(psutil.Error):
            if (percent := process.cpu_percent(None)) > 20:
                others.append(f"{process.info['name']} ({percent:.0f}%)")
    return f"busy processes: {', '.join(others)}" if others else None


def measure(spec: ClipSpec, clip: Path, run_dir: Path, repeat: int) -> ClipResult:
    media = probe_clip(clip)
    warm_page_cache(clip)
    runs: list[dict[str, Any]] = []
    for index in range(repeat):
        if note := busy_note():
            log(f"  note: the machine is not idle ({note})")
        log(f"  [{spec.label} run {index + 1}/{repeat}] baseline: ffmpeg -v error -i CLIP -f null - ...")
        baseline = time_child(baseline_command(clip))
        log(f"    {baseline.seconds:.2f} s (others busy: {baseline.other_cpus} CPUs); same with -map 0:v ...")
        video_only = time_child(baseline_command(clip, video_only=True))
        log(f"    {video_only.seconds:.2f} s (others busy: {video_only.other_cpus} CPUs); run_ingest ...")
        ingest = run_worker(clip, run_dir / f"{spec.duration_s}s-{index}")
        log(f"    {ingest['seconds']:.2f} s (others busy: {ingest['other_cpus']} CPUs); steps {ingest['step_seconds']}")
        runs.append(
            {
                "baseline": asdict(baseline),
                "baseline_video_only": asdict(video_only),
                "ingest": ingest,
                "load_average": [round(x, 2) for x in os.getloadavg()],
            }
        )

    def median(pick: Callable[[dict[str, Any]], float]) -> float:
        return round(statistics.median(pick(run) for run in runs), 3)

    baseline_s = median(lambda r: r["baseline"]["seconds"])
    video_only_s = median(lambda r: r["baseline_video_only"]["seconds"])
    ingest_s = median(lambda r: r["ingest"]["seconds"])
    names = list(dict.fromkeys(step for run in runs for step in run["ingest"]["step_seconds"]))
    steps = {
        step: round(statistics.median(r["ingest"]["step_seconds"].get(step, 0.0) for r in runs), 3) for step in names
    }
    last = runs[-1]["ingest"]
    return ClipResult(
        clip=spec.label,
        file=str(clip),
        media=media,
        duration_s=media["duration_s"],
        baseline_seconds=baseline_s,
        baseline_video_only_seconds=video_only_s,
        ingest_seconds=ingest_s,
        ratio=round(ingest_s / baseline_s, 3),
        ratio_video_only=round(ingest_s / video_only_s, 3),
        step_seconds=steps,
        baseline_cpu_seconds=median(lambda r: r["baseline"]["cpu_seconds"]),
        ingest_ffmpeg_cpu_seconds=median(lambda r: r["ingest"]["children_cpu_seconds"]),
        ingest_python_cpu_seconds=median(lambda r: r["ingest"]["python_cpu_seconds"]),
        other_cpus_max=max(
            max(r["baseline"]["other_cpus"], r["baseline_video_only"]["other_cpus"], r["ingest"]["other_cpus"])
            for r in runs
        ),
        ffmpeg_rss_baseline_mib=max(r["baseline"]["max_rss_mib"] for r in runs),
        ffmpeg_rss_ingest_mib=max(r["ingest"]["children_max_rss_mib"] for r in runs),
        python_rss_ingest_mib=max(r["ingest"]["python_rss_peak_sampled_mib"] for r in runs),
        python_rss_growth_mib=max(
            r["ingest"]["python_rss_peak_sampled_mib"] - r["ingest"]["python_rss_before_mib"] for r in runs
        ),
        keyframes=last["keyframes"],
        scene_keyframes=last["scene_keyframes"],
        runs=runs,
    )


def table(results: list[ClipResult]) -> str:
    steps = list(dict.fromkeys(step for r in results for step in r.step_seconds))
    header = [
        "clip",
        "duration",
        "baseline",
        "video-only",
        "ingest",
        "ratio",
        *steps,
        "ffmpeg RSS base/ingest",
        "Python RSS (growth)",
        "keyframes",
    ]
    rows = [header]
    for r in results:
        rows.append(
            [
                r.clip,
                f"{r.duration_s:.1f} s",
                f"{r.baseline_seconds:.2f} s",
                f"{r.baseline_video_only_seconds:.2f} s",
                f"{r.ingest_seconds:.2f} s",
                f"{r.ratio:.2f}x",
                *(f"{r.step_seconds.get(step, 0.0):.2f}" for step in steps),
                f"{r.ffmpeg_rss_baseline_mib:.0f} / {r.ffmpeg_rss_ingest_mib:.0f} MiB",
                f"{r.python_rss_ingest_mib:.0f} MiB (+{r.python_rss_growth_mib:.0f})",
                f"{r.keyframes} ({r.scene_keyframes} scene)",
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [" | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(lines)


def verdicts(results: list[ClipResult]) -> list[str]:
    lines = []
    for r in results:
        met = "meets" if r.ratio <= GOAL_RATIO else "MISSES"
        lines.append(
            f"{r.clip}: ingest / decode-only = {r.ratio:.2f}x ({met} the goal <= {GOAL_RATIO}x); "
            f"vs. video-only decode {r.ratio_video_only:.2f}x; CPU: ingest ffmpeg {r.ingest_ffmpeg_cpu_seconds:.1f} s "
            f"+ Python {r.ingest_python_cpu_seconds:.1f} s vs. baseline {r.baseline_cpu_seconds:.1f} s"
        )
        if r.other_cpus_max > NOISY_CPUS:
            lines.append(
                f"  warning: other processes kept up to {r.other_cpus_max:.2f} CPUs busy during these timings; "
                "rerun on a quiet machine"
            )
    if len(results) >= 2:
        short, long = results[0], results[-1]
        # Python's own peak includes ~85 MiB of imports that do not depend on the clip: judge its growth.
        for name, a, b in (
            ("ffmpeg peak RSS", short.ffmpeg_rss_ingest_mib, long.ffmpeg_rss_ingest_mib),
            ("Python RSS growth during run_ingest", short.python_rss_growth_mib, long.python_rss_growth_mib),
        ):
            flat = b <= a * FLAT_FACTOR + FLAT_SLACK_MIB
            lines.append(
                f"{name} {a:.0f} MiB ({short.clip}) -> {b:.0f} MiB ({long.clip}): "
                f"{'flat' if flat else 'GROWS'} in clip length"
            )
    return lines


def media_dir_for(option: str | None) -> Path:
    media_dir = Path(option).resolve() if option else DEFAULT_CACHE
    if media_dir == REPO_ROOT or REPO_ROOT in media_dir.parents:
        raise BenchError(f"--keep-media must be outside the repository ({REPO_ROOT})")
    return media_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only-short", action="store_true", help=f"only the {SHORT_S} s clip, not the 10 min one")
    parser.add_argument("--repeat", type=int, default=1, help="measure each clip N times, report medians (default 1)")
    parser.add_argument(
        "--keep-media",
        metavar="DIR",
        help=f"generate/reuse the clips in DIR (outside the repository) instead of {DEFAULT_CACHE}",
    )
    parser.add_argument(
        "--preset",
        default="veryfast",
        help="x264 preset of the generated clips (default veryfast; ultrafast is quicker)",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--worker-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker is not None:
        print(json.dumps(worker(args.worker, args.worker_dir)))
        return 0
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    try:
        media_dir = media_dir_for(args.keep_media)
        info = machine()
        log(f"{info['date_utc']}: {info['nproc']} CPUs ({info['cpu']}), {info['memory_gib']} GiB, {info['ffmpeg']}")
        specs = [ClipSpec(SHORT_S, args.preset)] + ([] if args.only_short else [ClipSpec(LONG_S, args.preset)])
        clips = [ensure_clip(spec, media_dir) for spec in specs]
        run_dir = Path(tempfile.mkdtemp(prefix="verity-bench-ingest-"))
        try:
            results = [measure(spec, clip, run_dir, args.repeat) for spec, clip in zip(specs, clips, strict=True)]
        finally:
            shutil.rmtree(run_dir, ignore_errors=True)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1

    if args.json:
        print(
            json.dumps({"machine": info, "goal_ratio": GOAL_RATIO, "results": [asdict(r) for r in results]}, indent=2)
        )
    else:
        for result in results:
            print(f"{result.clip}: {result.media['video']}, {result.media['bit_rate_mbps']} Mbit/s, {result.file}")
        print()
        print(table(results))
        print()
        print("\n".join(verdicts(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
