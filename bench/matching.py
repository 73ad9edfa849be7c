"""Matching benchmark: Verity's near-duplicate matcher vs. Meta's vPDQ on the same corpus.

One run:

  1. builds (or reuses) a corpus with `shared/tools/make-corpus.sh DIR SECONDS`: two sources,
     copies of src-a under nine transforms (truth.csv gives the shared stretch of each), and
     unrelated clips, some of them low-information (black, bars, noise);
  2. fingerprints every video with Verity's own code (`ingest.pipeline.analyse_file`, default
     settings) and, interleaved video by video so both see the same machine load, hashes it with
     vPDQ (`vpdq.computeHash`, run in a separate virtualenv: vpdq is a benchmark-only dependency);
  3. Verity: indexes the sources and unrelated clips in a `FingerprintIndex` and queries every copy
     and every unrelated clip (excluding itself) with `ingest.match.match_clip`;
     vPDQ: compares every query with every indexed video the way Meta's python-threatexchange
     does (`match_VPDQ_hash_brute`: exact-duplicate hashes dropped, frames of quality < 50
     ignored, a query frame matches when some frame of the other video is within Hamming
     distance 31; a video matches when >= 80 % of its frames do);
  4. scores each transform against truth.csv (matched, recall of the shared seconds, offset
     error), counts false matches and precision, and the fingerprinting time per minute of video;
  5. checks the real phone footage in shared/fixtures/real/threatexchange-tmk: with
     pattern-hd-no-bar and doorknob-hd-no-bar indexed, every other pattern-* file must match
     pattern-hd-no-bar and doorknob (queried without itself) must match nothing.

    .venv/bin/python bench/matching.py [--corpus DIR] [--seconds 30] [--repeat N] [--json]

vPDQ is installed on first use into `--vpdq-venv` (default /tmp/verity-bench-vpdq-venv) with
`pip install vpdq==VERSION`; it builds from source and needs Debian's libavcodec-dev
libavformat-dev libavutil-dev libswscale-dev libavfilter-dev libavdevice-dev libswresample-dev
and pkg-config. If it cannot be had, the peer columns are skipped with the reason. `--no-vpdq`
skips them on purpose.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import hashlib
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
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

# Run as a script, this file's folder comes first on sys.path, and bench/ingest.py would shadow the
# `ingest` package there: take the folder off before importing Verity.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _HERE]

from ingest.fingerprint import Fingerprint  # noqa: E402
from ingest.index import FingerprintIndex  # noqa: E402
from ingest.match import Match, match_clip  # noqa: E402
from ingest.pipeline import analyse_query  # noqa: E402
from verity.settings import Settings  # noqa: E402

sys.path.append(str(_HERE))  # after Verity's imports: bench/'s own modules, the shadowing is past
import corpus_transforms  # noqa: E402

REPO_ROOT = _HERE.parent
WORKSPACE = Path(__file__).resolve().parents[2]
MAKE_CORPUS = WORKSPACE / "shared/tools/make-corpus.sh"
REAL_DIR = WORKSPACE / "shared/fixtures/real/threatexchange-tmk"
DEFAULT_VPDQ_VENV = Path(tempfile.gettempdir()) / "verity-bench-vpdq-venv"
VPDQ_VERSION = "0.2.5"
VPDQ_APT = (
    "libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libavfilter-dev libavdevice-dev "
    "libswresample-dev pkg-config"
)

# vPDQ's matching parameters, as in python-threatexchange (extensions/vpdq/vpdq_util.py).
VPDQ_QUALITY = 50
VPDQ_DISTANCE = 31
VPDQ_QUERY_MATCH_PERCENT = 80.0

# The goals.
GOAL_RECALL = 0.8
GOAL_OFFSET_S = 1.0

REAL_INDEX = ("pattern-hd-no-bar.mp4", "doorknob-hd-no-bar.mp4")
REAL_EXPECTED_MATCH = "pattern-hd-no-bar.mp4"
# Not in the list: a synthetic test card from the same folder, which must match nothing.
REAL_EXTRA_UNRELATED = ("test-padded-dimensions.mp4",)


class BenchError(Exception):
    pass


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# Corpus


@dataclass(frozen=True)
class Video:
    name: str
    kind: str  # "source", "copy", "unrelated" or "real"
    path: Path
    duration_s: float


@dataclass(frozen=True)
class Truth:
    """One stretch of the source in a copy: query time t shows source time
    `source_start_s + (t - query_start_s) * rate`."""

    copy: str
    source: str
    query_start_s: float
    source_start_s: float
    duration_s: float
    rate: float = 1.0

    def source_time(self, query_s: float) -> float:
        return self.source_start_s + (query_s - self.query_start_s) * self.rate


def build_corpus(directory: Path, seconds: int) -> None:
    if not MAKE_CORPUS.is_file():
        raise BenchError(
            f"corpus generator not found: {MAKE_CORPUS} (expected shared/tools/make-corpus.sh beside the repository)"
        )
    log(f"corpus: {MAKE_CORPUS} {directory} {seconds}")
    result = subprocess.run(
        ["bash", str(MAKE_CORPUS), str(directory), str(seconds)],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    if result.returncode != 0:
        raise BenchError(f"make-corpus.sh failed ({result.returncode}): {result.stderr.strip()[-2000:]}")
    try:
        corpus_transforms.build(directory, seconds, log)
    except corpus_transforms.TransformError as exc:
        raise BenchError(str(exc)) from None


def media_duration(path: Path) -> float:
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    try:
        return float(result.stdout.strip())
    except ValueError:
        raise BenchError(f"ffprobe cannot read the duration of {path}: {result.stderr.strip()}") from None


def load_corpus(directory: Path, seconds: int) -> tuple[list[Video], dict[str, list[Truth]]]:
    videos = []
    for kind, folder in (("source", "sources"), ("copy", "copies"), ("unrelated", "unrelated")):
        for path in sorted((directory / folder).glob("*.mp4")):
            videos.append(Video(path.name, kind, path, media_duration(path)))
    truth: dict[str, list[Truth]] = {}
    for name in ("truth.csv", corpus_transforms.TRUTH_FILE):
        with (directory / name).open(newline="") as handle:
            for row in csv.DictReader(handle):
                truth.setdefault(row["copy"], []).append(
                    Truth(
                        row["copy"],
                        row["source"],
                        float(row["query_start_s"]),
                        float(row["source_start_s"]),
                        float(row["duration_s"]),
                        float(row.get("rate") or 1.0),
                    )
                )
    source = next((v for v in videos if v.name == "src-a.mp4"), None)
    if source is None or not truth:
        raise BenchError(f"{directory} holds no corpus (no sources/src-a.mp4 or truth.csv)")
    if abs(source.duration_s - seconds) > 1.5:
        raise BenchError(
            f"{directory} was made for {source.duration_s:.0f} s sources, not {seconds} s: "
            "pass the matching --seconds or another --corpus"
        )
    missing = [name for name in truth if not any(v.name == name for v in videos)]
    if missing:
        raise BenchError(f"truth.csv names copies that are not in {directory}/copies: {missing}")
    return videos, truth


def transform_of(copy: str) -> str:
    # src-a.<transform>.mp4
    return copy.removeprefix("src-a.").removesuffix(".mp4")


# --------------------------------------------------------------------------------------------
# Verity


@dataclass
class Timing:
    wall_s: list[float] = field(default_factory=list)
    cpu_s: list[float] = field(default_factory=list)

    def add(self, wall: float, cpu: float) -> None:
        self.wall_s.append(wall)
        self.cpu_s.append(cpu)

    @property
    def wall(self) -> float:
        return statistics.median(self.wall_s)

    @property
    def cpu(self) -> float:
        return statistics.median(self.cpu_s)


@dataclass
class VerityPrint:
    print_: Fingerprint
    mirrored: Fingerprint
    turned: tuple[Fingerprint, ...]
    insets: tuple[Fingerprint, ...]
    timing: Timing = field(default_factory=Timing)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@contextlib.contextmanager
def _clock(timing: Timing) -> Iterator[None]:
    """Wall time and CPU time of this process and of the children it waited for (ffprobe, ffmpeg)."""
    wall, cpu, children = time.perf_counter(), time.process_time(), _children_cpu()
    yield
    timing.add(time.perf_counter() - wall, time.process_time() - cpu + _children_cpu() - children)


def verity_fingerprint(video: Video, settings: Settings, scratch: Path, timing: Timing) -> VerityPrint:
    """What a provenance query makes of the video's pictures (`analyse_query` without the sound)."""
    workdir = Path(tempfile.mkdtemp(prefix="analyse-", dir=scratch))
    try:
        with _clock(timing):
            analysed = analyse_query(video.path, settings, workdir, sound=False)
        return VerityPrint(analysed.print_, analysed.mirrored, analysed.turned, analysed.insets, timing)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def verity_index(prints: dict[str, VerityPrint], names: list[str], mode: str) -> FingerprintIndex:
    """ "sorted": every entry in the index's sorted runs, as in an archive loaded in bulk or past the
    index's unsorted tail (`FingerprintIndex.TAIL` entries, a few hours of footage), where a seed
    must share a hash chunk exactly. "tail": clips added one by one to a small index, whose entries
    wait in the unsorted tail that `query` compares directly (by the same chunk rule since
    2026-11-25 15:00 UTC; by full Hamming distance before, which made answers change on a restart)."""
    index = FingerprintIndex()
    for name in names:
        index.add(name, prints[name].print_, defer_sorting=mode == "sorted")
    if mode == "sorted":
        index.finish_loading()
    return index


def verity_query(index: FingerprintIndex, name: str, entry: VerityPrint, settings: Settings) -> list[Match]:
    return match_clip(
        index,
        entry.print_,
        entry.mirrored,
        sample_step_s=1 / settings.sample_fps,
        exclude_clip_id=name,
        turned=entry.turned,
        insets=entry.insets,
    )


def match_summary(match: Match) -> dict[str, Any]:
    return {
        "clip": match.clip_id,
        "matched_seconds": match.matched_seconds,
        "score": match.score,
        "mirrored": match.mirrored,
        "segments": [[s.query_start_s, s.clip_start_s, s.duration_s] for s in match.segments],
    }


def _overlap(start: float, end: float, window_start: float, window_end: float) -> float:
    return max(0.0, min(end, window_end) - max(start, window_start))


def score_verity(stretches: list[Truth], matches: list[Match]) -> dict[str, Any]:
    """Found (the right clip first), recall (its matched seconds over the shared ones; and of the
    seconds inside the shared stretches), and the offset error: per stretch, of the segment that
    covers most of it, at the middle of what they share (where a speed-changed copy's offset has
    drifted least from the truth's); the median over stretches."""
    source = stretches[0].source
    right = next((m for m in matches if m.clip_id == source), None)
    wrong = [m for m in matches if m.clip_id != source]
    shared = sum(t.duration_s for t in stretches)
    result: dict[str, Any] = {
        "matched": bool(matches) and matches[0].clip_id == source,
        "top": matches[0].clip_id if matches else None,
        "recall": 0.0,
        "recall_in_window": 0.0,
        "offset_error_s": None,
        "false_matches": [m.clip_id for m in wrong],
        "matches": [match_summary(m) for m in matches],
    }
    if right is not None and right.segments:
        result["recall"] = min(right.matched_seconds / shared, 1.0)
        inside, errors = 0.0, []
        for truth in stretches:
            window_end = truth.query_start_s + truth.duration_s
            overlaps = [
                (_overlap(s.query_start_s, s.query_start_s + s.duration_s, truth.query_start_s, window_end), s)
                for s in right.segments
            ]
            inside += sum(overlap for overlap, _s in overlaps)
            overlap, best = max(overlaps, key=lambda pair: pair[0])
            if overlap <= 0:
                continue
            middle = max(best.query_start_s, truth.query_start_s) + overlap / 2
            reported = best.clip_start_s + (middle - best.query_start_s)
            errors.append(abs(reported - truth.source_time(middle)))
        result["recall_in_window"] = min(inside / shared, 1.0)
        if errors:
            result["offset_error_s"] = round(statistics.median(errors), 3)
        elif len(stretches) == 1:  # found, but nowhere near where the footage is
            best = max(right.segments, key=lambda s: s.duration_s)
            truth = stretches[0]
            result["offset_error_s"] = round(abs(best.clip_start_s - truth.source_time(best.query_start_s)), 3)
    return result


def verity_breakdown(video: Video, settings: Settings, scratch: Path, repeat: int) -> dict[str, float]:
    """Where `analyse_file`'s time goes: its steps timed one by one (the same calls, in the same
    order), plus a plain `ffmpeg -f null` decode of the video stream for reference."""
    from ingest.decode import decode
    from ingest.ffmpeg import Limits
    from ingest.keyframes import extract_keyframes
    from ingest.pipeline import decode_plan, fingerprints_of, inset_prints_of, turned_prints_of
    from ingest.probe import probe, require_video

    steps: dict[str, Timing] = {
        name: Timing() for name in ("probe", "decode", "keyframes", "fingerprint", "insets", "ffmpeg_decode_only")
    }
    for _ in range(repeat):
        workdir = Path(tempfile.mkdtemp(prefix="breakdown-", dir=scratch))
        try:
            with _clock(steps["probe"]):
                info = probe(video.path, Limits(settings.ffprobe_timeout_s, settings.ffmpeg_memory_mb))
                require_video(info)
            with _clock(steps["decode"]):
                frames = decode(
                    video.path,
                    decode_plan(settings),
                    workdir,
                    Limits(settings.decode_timeout_s, settings.ffmpeg_memory_mb),
                )
            with _clock(steps["keyframes"]):
                keyframes = extract_keyframes(frames, scene_threshold=settings.scene_threshold)
            with _clock(steps["fingerprint"]):
                fingerprints_of(frames, keyframes)
                turned_prints_of(frames, keyframes)
            with _clock(steps["insets"]):  # looking for an inset, and its print when there is one
                inset_prints_of(frames, keyframes)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        with _clock(steps["ffmpeg_decode_only"]):
            subprocess.run(
                ["ffmpeg", "-v", "error", "-nostdin", "-i", str(video.path), "-map", "0:v", "-f", "null", "-"],
                check=True,
                stdin=subprocess.DEVNULL,
            )
    out: dict[str, float] = {}
    for name, timing in steps.items():
        out[f"{name}_wall_s"] = round(timing.wall, 3)
        out[f"{name}_cpu_s"] = round(timing.cpu, 3)
    return out


# --------------------------------------------------------------------------------------------
# vPDQ, in its own interpreter


def _vpdq_worker_main() -> None:  # pragma: no cover - runs in the vpdq virtualenv, stdlib + vpdq only
    """Hash the videos named on stdin (one JSON request per line), answer one JSON line each."""
    import importlib.metadata
    import json
    import sys
    import time

    import vpdq  # type: ignore[import-not-found]  # only in the vpdq virtualenv

    print(json.dumps({"ready": True, "vpdq": importlib.metadata.version("vpdq")}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        try:
            wall, cpu = time.perf_counter(), time.process_time()
            features = vpdq.computeHash(request["path"], seconds_per_hash=request["seconds_per_hash"])
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            rows = [[f.hex, f.quality, f.timestamp, f.frame_number] for f in features]
            print(json.dumps({"features": rows, "wall_s": wall, "cpu_s": cpu}), flush=True)
        except Exception as exc:
            print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}), flush=True)


@dataclass
class VpdqPrint:
    hexes: list[str]
    quality: npt.NDArray[np.int64]
    times: npt.NDArray[np.float64]
    frames: npt.NDArray[np.int64]
    bits: npt.NDArray[np.uint8]  # (n, 32): the 256-bit PDQ hashes
    timing: Timing = field(default_factory=Timing)

    @classmethod
    def from_rows(cls, rows: list[list[Any]]) -> VpdqPrint:
        hexes = [str(row[0]) for row in rows]
        bits = np.array([np.frombuffer(bytes.fromhex(h), np.uint8) for h in hexes], np.uint8).reshape(-1, 32)
        return cls(
            hexes,
            np.array([int(row[1]) for row in rows], np.int64),
            np.array([float(row[2]) for row in rows], np.float64),
            np.array([int(row[3]) for row in rows], np.int64),
            bits,
        )

    def usable(self) -> npt.NDArray[np.int64]:
        """Rows vpdq's matcher compares: first of each exact hash, quality >= 50 (dedupe, then filter)."""
        seen: set[str] = set()
        keep = []
        for row, hex_ in enumerate(self.hexes):
            if hex_ not in seen:
                seen.add(hex_)
                if self.quality[row] >= VPDQ_QUALITY:
                    keep.append(row)
        return np.array(keep, np.int64)


class VpdqWorker:
    """vpdq.computeHash in a separate interpreter (the vpdq virtualenv), kept running across videos."""

    def __init__(self, python: Path) -> None:
        source = inspect.getsource(_vpdq_worker_main) + "\n_vpdq_worker_main()\n"
        self.process = subprocess.Popen(
            [str(python), "-c", source], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )
        hello = self._read()
        self.version = str(hello.get("vpdq"))

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise BenchError(f"the vpdq worker stopped (exit code {self.process.wait()})")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def hash(self, path: Path, seconds_per_hash: float) -> tuple[list[list[Any]], float, float]:
        stdin: IO[str] | None = self.process.stdin
        assert stdin is not None
        stdin.write(json.dumps({"path": str(path), "seconds_per_hash": seconds_per_hash}) + "\n")
        stdin.flush()
        answer = self._read()
        if "error" in answer:
            raise BenchError(f"vpdq could not hash {path}: {answer['error']}")
        return answer["features"], float(answer["wall_s"]), float(answer["cpu_s"])

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def ensure_vpdq(venv: Path, python: Path | None) -> tuple[Path | None, str]:
    """The interpreter that has vpdq, making the virtualenv if needed; or None and the reason."""
    if python is None:
        python = venv / "bin/python"
        if not python.exists():
            log(f"vpdq: creating {venv} (python -m venv; pip install vpdq=={VPDQ_VERSION}, built from source)")
            made = subprocess.run([sys.executable, "-m", "venv", str(venv)], capture_output=True, text=True)
            if made.returncode != 0:
                return None, f"python -m venv {venv} failed: {made.stderr.strip()[-500:]}"
    if not python.exists():
        return None, f"{python} does not exist"
    check = subprocess.run([str(python), "-c", "import vpdq"], capture_output=True, text=True)
    if check.returncode != 0:
        log(f"vpdq: installing vpdq=={VPDQ_VERSION} into {python.parent.parent}")
        pip = subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", f"vpdq=={VPDQ_VERSION}"], capture_output=True, text=True
        )
        if pip.returncode != 0:
            tail = (pip.stderr or pip.stdout).strip()[-1500:]
            return None, (
                f"pip install vpdq=={VPDQ_VERSION} failed in {python.parent.parent} (it builds against FFmpeg's "
                f"development files: apt-get install {VPDQ_APT}): {tail}"
            )
    return python, ""


def vpdq_distances(query: npt.NDArray[np.uint8], target: npt.NDArray[np.uint8]) -> npt.NDArray[np.int64]:
    """Hamming distances between two sets of 256-bit hashes, (len(query), len(target))."""
    xor = np.bitwise_xor(query[:, None, :], target[None, :, :])
    counts: npt.NDArray[np.int64] = _POPCOUNT[xor].sum(axis=-1, dtype=np.int64)
    return counts


_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def vpdq_compare(query: VpdqPrint, target: VpdqPrint) -> tuple[float, float]:
    """python-threatexchange's match_VPDQ_hash_brute: (% of query frames found in target, and the reverse)."""
    q, t = query.usable(), target.usable()
    if len(q) == 0 or len(t) == 0:
        return 0.0, 0.0
    close = vpdq_distances(query.bits[q], target.bits[t]) <= VPDQ_DISTANCE
    return float(close.any(axis=1).mean() * 100), float(close.any(axis=0).mean() * 100)


def vpdq_rank(query: VpdqPrint, targets: dict[str, VpdqPrint]) -> list[dict[str, Any]]:
    """Every target with at least one matching frame, best first, with vpdq's verdict (>= 80 % of query frames)."""
    ranked = []
    for name, target in targets.items():
        query_pct, target_pct = vpdq_compare(query, target)
        if query_pct > 0:
            ranked.append(
                {
                    "clip": name,
                    "query_match_pct": round(query_pct, 1),
                    "target_match_pct": round(target_pct, 1),
                    "match": query_pct >= VPDQ_QUERY_MATCH_PERCENT,
                }
            )
    return sorted(ranked, key=lambda r: -r["query_match_pct"])


def score_vpdq(
    stretches: list[Truth], query: VpdqPrint, targets: dict[str, VpdqPrint], step_s: float
) -> dict[str, Any]:
    source_name = stretches[0].source
    ranked = vpdq_rank(query, targets)
    right = next((r for r in ranked if r["clip"] == source_name), None)
    source = targets[source_name]
    # Time-aligned recall: of the copy's hashes inside the shared stretches (one per `step_s`), the
    # share that vpdq's frame rule matches to some source frame; "aligned" also asks that frame to be
    # within one step of where the truth puts it.
    window = np.zeros(len(query.times), bool)
    expected = np.zeros(len(query.times))
    for truth in stretches:
        end = truth.query_start_s + truth.duration_s
        inside = (query.times >= truth.query_start_s - 1e-6) & (query.times < end - 1e-6)
        window |= inside
        expected = np.where(inside, truth.source_start_s + (query.times - truth.query_start_s) * truth.rate, expected)
    rows = np.flatnonzero(window)
    usable_source = np.flatnonzero(source.quality >= VPDQ_QUALITY)
    recall = aligned = 0.0
    if len(rows) and len(usable_source):
        close = vpdq_distances(query.bits[rows], source.bits[usable_source]) <= VPDQ_DISTANCE
        close &= (query.quality[rows] >= VPDQ_QUALITY)[:, None]
        near = np.abs(source.times[usable_source][None, :] - expected[rows][:, None]) <= step_s + 1e-6
        recall = float(close.any(axis=1).mean())
        aligned = float((close & near).any(axis=1).mean())
    return {
        "top": ranked[0]["clip"] if ranked else None,
        "query_match_pct": right["query_match_pct"] if right else 0.0,
        "target_match_pct": right["target_match_pct"] if right else 0.0,
        "match": bool(right and right["match"] and ranked[0]["clip"] == source_name),
        "recall": recall,
        "recall_aligned": aligned,
        "false_matches": [r["clip"] for r in ranked if r["clip"] != source_name and r["match"]],
        "false_frame_hits": [r["clip"] for r in ranked if r["clip"] != source_name],
        "ranked": ranked,
    }


# --------------------------------------------------------------------------------------------
# The run


def machine() -> dict[str, Any]:
    model = platform.processor() or "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory_gib = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gib = round(int(line.split()[1]) / 1024**2, 1)
    ffmpeg_version = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True).stdout.split("\n")[0]
    return {
        "date_utc": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "nproc": os.cpu_count(),
        "cpu": model,
        "memory_gib": memory_gib,
        "python": platform.python_version(),
        "ffmpeg": ffmpeg_version,
        "uptime_at_start": uptime(),
    }


def uptime() -> str:
    result = subprocess.run(["uptime"], capture_output=True, text=True)
    return result.stdout.strip() or " ".join(f"{x:.2f}" for x in os.getloadavg())


def code_version() -> dict[str, Any]:
    """Which Verity code was measured: where `ingest` was imported from, a digest of its files, and
    (when that is a git checkout) the commit and whether ingest/ or verity/ differ from it."""
    import ingest

    package = Path(ingest.__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(package.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    info: dict[str, Any] = {"ingest_path": str(package), "ingest_sha256": digest.hexdigest()[:16]}
    tree = package.parent
    head = subprocess.run(["git", "-C", str(tree), "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode == 0:
        info["git_head"] = head.stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(tree), "status", "--porcelain", "--", "ingest", "verity"], capture_output=True, text=True
        )
        info["uncommitted_changes"] = status.stdout.splitlines()
    else:
        info["git_head"] = None  # e.g. a `git archive` export
    return info


def fingerprint_all(
    videos: list[Video],
    settings: Settings,
    scratch: Path,
    worker: VpdqWorker | None,
    seconds_per_hash: float,
    repeat: int,
) -> tuple[dict[str, VerityPrint], dict[str, VpdqPrint]]:
    """Verity and vpdq on each video in turn (alternating which goes first), `repeat` times."""
    verity: dict[str, VerityPrint] = {}
    peer: dict[str, VpdqPrint] = {}
    for number, video in enumerate(videos):
        verity_timing, vpdq_timing = Timing(), Timing()
        for attempt in range(repeat):

            def run_verity(video: Video = video, timing: Timing = verity_timing) -> None:
                entry = verity_fingerprint(video, settings, scratch, timing)
                if video.name not in verity:
                    verity[video.name] = entry

            def run_vpdq(video: Video = video, timing: Timing = vpdq_timing) -> None:
                if worker is None:
                    return
                rows, wall, cpu = worker.hash(video.path, seconds_per_hash)
                timing.add(wall, cpu)
                if video.name not in peer:
                    peer[video.name] = VpdqPrint.from_rows(rows)
                    peer[video.name].timing = timing

            order = (run_verity, run_vpdq) if (number + attempt) % 2 == 0 else (run_vpdq, run_verity)
            for step in order:
                step()
        line = f"  {video.name:32} {video.duration_s:5.1f} s  verity {verity_timing.wall:6.2f} s"
        if worker is not None:
            line += f"  vpdq {vpdq_timing.wall:6.2f} s"
        log(line)
    return verity, peer


def per_minute(timings: list[Timing], minutes: float) -> dict[str, float]:
    return {
        "wall_s_per_min": round(sum(t.wall for t in timings) / minutes, 2),
        "cpu_s_per_min": round(sum(t.cpu for t in timings) / minutes, 2),
    }


def run_corpus(
    videos: list[Video],
    truth: dict[str, list[Truth]],
    verity: dict[str, VerityPrint],
    peer: dict[str, VpdqPrint],
    settings: Settings,
    seconds_per_hash: float,
    index_mode: str = "sorted",
) -> dict[str, Any]:
    indexed = [v.name for v in videos if v.kind in ("source", "unrelated")]
    index = verity_index(verity, indexed, index_mode)
    copies = [v for v in videos if v.kind == "copy"]
    unrelated = [v for v in videos if v.kind == "unrelated"]
    have_peer = bool(peer)

    rows = []
    verity_pairs = verity_correct = 0
    peer_pairs = peer_correct = 0
    for video in copies:
        t = truth[video.name]
        matches = verity_query(index, video.name, verity[video.name], settings)
        row: dict[str, Any] = {
            "transform": transform_of(video.name),
            "copy": video.name,
            "verity": score_verity(t, matches),
        }
        verity_pairs += len(matches)
        verity_correct += any(m.clip_id == t[0].source for m in matches)
        if have_peer:
            targets = {name: peer[name] for name in indexed}
            row["vpdq"] = score_vpdq(t, peer[video.name], targets, seconds_per_hash)
            verdicts = [r for r in row["vpdq"]["ranked"] if r["match"]]
            peer_pairs += len(verdicts)
            peer_correct += any(r["clip"] == t[0].source for r in verdicts)
        rows.append(row)

    unrelated_rows = []
    for video in unrelated:
        matches = verity_query(index, video.name, verity[video.name], settings)
        verity_pairs += len(matches)
        entry: dict[str, Any] = {"clip": video.name, "verity": [match_summary(m) for m in matches]}
        if have_peer:
            targets = {name: peer[name] for name in indexed if name != video.name}
            ranked = vpdq_rank(peer[video.name], targets)
            entry["vpdq"] = ranked
            peer_pairs += sum(r["match"] for r in ranked)
        unrelated_rows.append(entry)

    minutes = sum(v.duration_s for v in videos) / 60
    offsets = [r["verity"]["offset_error_s"] for r in rows if r["verity"]["offset_error_s"] is not None]
    verity_summary = {
        "false_matches_unrelated": sum(len(u["verity"]) for u in unrelated_rows),
        "false_matches_wrong_clip": sum(len(r["verity"]["false_matches"]) for r in rows),
        "precision": round(verity_correct / verity_pairs, 3) if verity_pairs else None,
        "median_offset_error_s": round(statistics.median(offsets), 3) if offsets else None,
        "fingerprint": per_minute([verity[v.name].timing for v in videos], minutes),
    }
    result: dict[str, Any] = {
        "videos": [{"name": v.name, "kind": v.kind, "duration_s": round(v.duration_s, 3)} for v in videos],
        "minutes_of_video": round(minutes, 3),
        "transforms": rows,
        "unrelated": unrelated_rows,
        "verity": verity_summary,
        "timings": {
            v.name: {
                "verity_wall_s": [round(x, 3) for x in verity[v.name].timing.wall_s],
                "verity_cpu_s": [round(x, 3) for x in verity[v.name].timing.cpu_s],
                **(
                    {
                        "vpdq_wall_s": [round(x, 3) for x in peer[v.name].timing.wall_s],
                        "vpdq_cpu_s": [round(x, 3) for x in peer[v.name].timing.cpu_s],
                    }
                    if have_peer
                    else {}
                ),
            }
            for v in videos
        },
    }
    if have_peer:
        result["vpdq"] = {
            "false_matches_unrelated": sum(sum(r["match"] for r in u["vpdq"]) for u in unrelated_rows),
            "false_matches_wrong_clip": sum(len(r["vpdq"]["false_matches"]) for r in rows),
            "unrelated_with_frame_hits": sum(bool(u["vpdq"]) for u in unrelated_rows),
            "precision": round(peer_correct / peer_pairs, 3) if peer_pairs else None,
            "fingerprint": per_minute([peer[v.name].timing for v in videos], minutes),
        }
    return result


def real_videos(directory: Path) -> list[Video]:
    names = sorted(p.name for p in directory.glob("*.mp4"))
    missing = [n for n in REAL_INDEX if n not in names]
    if missing:
        raise BenchError(f"{directory} lacks {missing}")
    return [Video(n, "real", directory / n, media_duration(directory / n)) for n in names]


def run_real(
    directory: Path,
    videos: list[Video],
    verity: dict[str, VerityPrint],
    peer: dict[str, VpdqPrint],
    settings: Settings,
    index_mode: str = "sorted",
) -> dict[str, Any]:
    """The real phone footage: pattern-* copies must find pattern-hd-no-bar, doorknob nothing."""
    names = [v.name for v in videos]
    index = verity_index(verity, list(REAL_INDEX), index_mode)
    queries = [n for n in names if n.startswith("pattern-") and n not in REAL_INDEX]
    queries += ["doorknob-hd-no-bar.mp4", *[n for n in REAL_EXTRA_UNRELATED if n in names]]
    rows = []
    for name in queries:
        expected = REAL_EXPECTED_MATCH if name.startswith("pattern-") else None
        matches = verity_query(index, name, verity[name], settings)
        verity_ok = [m.clip_id for m in matches] == [expected] if expected else not matches
        row: dict[str, Any] = {
            "clip": name,
            "required": name not in REAL_EXTRA_UNRELATED,
            "expected": expected,
            "duration_s": round(next(v.duration_s for v in videos if v.name == name), 2),
            "verity_ok": bool(verity_ok),
            "verity": [match_summary(m) for m in matches],
        }
        if peer:
            targets = {n: peer[n] for n in REAL_INDEX if n != name}
            ranked = vpdq_rank(peer[name], targets)
            verdicts = [r["clip"] for r in ranked if r["match"]]
            row["vpdq"] = ranked
            row["vpdq_ok"] = verdicts == [expected] if expected else not verdicts
        rows.append(row)
    result: dict[str, Any] = {"directory": str(directory), "queries": rows}
    if peer:
        result["vpdq_vs_reference_hashes"] = vpdq_reference_check(directory, peer)
    return result


def vpdq_reference_check(directory: Path, peer: dict[str, VpdqPrint]) -> dict[str, Any]:
    """Our vpdq build against Meta's published hashes of the same frames (*.vpdq.txt)."""
    out: dict[str, Any] = {}
    for name, features in sorted(peer.items()):
        reference = directory / name.replace(".mp4", ".vpdq.txt")
        if not reference.exists():
            continue
        by_frame: dict[int, str] = {}
        for line in reference.read_text().splitlines():
            parts = line.strip().split(",")
            if len(parts) >= 3:
                by_frame[int(parts[0])] = parts[2]
        pairs = [(row, by_frame[int(frame)]) for row, frame in enumerate(features.frames) if int(frame) in by_frame]
        if not pairs:
            continue
        ours = features.bits[[row for row, _ in pairs]]
        theirs = np.array([np.frombuffer(bytes.fromhex(h), np.uint8) for _, h in pairs], np.uint8)
        distance = _POPCOUNT[np.bitwise_xor(ours, theirs)].sum(axis=-1)
        out[name] = {"frames": len(pairs), "median_bits": float(np.median(distance)), "max_bits": int(distance.max())}
    return out


# --------------------------------------------------------------------------------------------
# Report


def _yes(value: bool | None) -> str:
    return "—" if value is None else ("yes" if value else "**no**")


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}"


def table(results: dict[str, Any]) -> str:
    corpus = results["corpus"]
    have_peer = "vpdq" in corpus
    head = "| transform | Verity matched | Verity recall % | Verity offset err s |"
    rule = "|---|---|---|---|"
    if have_peer:
        head += " vPDQ matched (≥80 % rule) | vPDQ frames % | vPDQ recall % | vPDQ aligned recall % |"
        rule += "---|---|---|---|"
    lines = [head, rule]
    for row in corpus["transforms"]:
        v = row["verity"]
        offset = "—" if v["offset_error_s"] is None else f"{v['offset_error_s']:.1f}"
        recall = _pct(v["recall"])
        if abs(v["recall"] - v["recall_in_window"]) > 0.01:
            recall += f" ({_pct(v['recall_in_window'])} in window)"
        line = f"| {row['transform']} | {_yes(v['matched'])} | {recall} | {offset} |"
        if have_peer:
            p = row["vpdq"]
            line += f" {_yes(p['match'])} | {p['query_match_pct']:.0f} |"
            line += f" {_pct(p['recall'])} | {_pct(p['recall_aligned'])} |"
        lines.append(line)
    lines.append("")
    v = corpus["verity"]
    lines.append("| | Verity | vPDQ |" if have_peer else "| | Verity |")
    lines.append("|---|---|---|" if have_peer else "|---|---|")
    p = corpus.get("vpdq", {})

    def both(label: str, ours: Any, theirs: Any) -> None:
        lines.append(f"| {label} | {ours} | {theirs} |" if have_peer else f"| {label} | {ours} |")

    both("false matches: unrelated queries", v["false_matches_unrelated"], p.get("false_matches_unrelated"))
    both("false matches: copies to a wrong clip", v["false_matches_wrong_clip"], p.get("false_matches_wrong_clip"))
    both("precision (clip pairs reported)", v["precision"], p.get("precision"))
    both("median offset error s", v["median_offset_error_s"], "— (no alignment)")
    both(
        "fingerprint wall s per min of video",
        v["fingerprint"]["wall_s_per_min"],
        p.get("fingerprint", {}).get("wall_s_per_min"),
    )
    both(
        "fingerprint CPU s per min of video",
        v["fingerprint"]["cpu_s_per_min"],
        p.get("fingerprint", {}).get("cpu_s_per_min"),
    )
    if have_peer:
        lines.append("")
        lines.append(
            f"vPDQ frame-level hits (≥1 query frame within {VPDQ_DISTANCE} bits) from unrelated queries: "
            + (
                "; ".join(
                    f"{u['clip']} → " + ", ".join(f"{r['clip']} {r['query_match_pct']:.0f} %" for r in u["vpdq"])
                    for u in corpus["unrelated"]
                    if u["vpdq"]
                )
                or "none"
            )
        )
    real = results.get("real")
    if real:
        lines.append("")
        lines.append(
            "| real footage query | expected | Verity | Verity ok |" + (" vPDQ | vPDQ ok |" if have_peer else "")
        )
        lines.append("|---|---|---|---|" + ("---|---|" if have_peer else ""))
        for q in real["queries"]:
            found = ", ".join(f"{m['clip']} {m['matched_seconds']:.1f} s" for m in q["verity"]) or "nothing"
            label = q["clip"] + ("" if q["required"] else " (extra)")
            line = f"| {label} | {q['expected'] or 'nothing'} | {found} | {_yes(q['verity_ok'])} |"
            if have_peer:
                peer_found = (
                    ", ".join(
                        f"{r['clip']} {r['query_match_pct']:.0f} %" + ("" if r["match"] else " (<80)")
                        for r in q["vpdq"]
                    )
                    or "nothing"
                )
                line += f" {peer_found} | {_yes(q['vpdq_ok'])} |"
            lines.append(line)
    lines.append("")
    lines.append(tail_note(results))
    return "\n".join(lines)


def tail_note(results: dict[str, Any]) -> str:
    """How Verity does when the indexed clips sit in the index's unsorted tail (a small archive,
    compared directly) instead of its sorted runs (the table above); it should not differ."""
    tail = results.get("corpus_tail_index")
    if not tail:
        return ""
    changes = []
    for sorted_row, tail_row in zip(results["corpus"]["transforms"], tail["transforms"], strict=True):
        a, b = sorted_row["verity"], tail_row["verity"]
        if (a["matched"], round(a["recall"], 2), a["offset_error_s"]) != (
            b["matched"],
            round(b["recall"], 2),
            b["offset_error_s"],
        ):
            changes.append(
                f"{tail_row['transform']}: matched {_yes(b['matched'])}, recall {_pct(b['recall'])} %, "
                f"offset error {b['offset_error_s']} s"
            )
    summary = tail["verity"]
    changes.append(
        f"false matches {summary['false_matches_unrelated']} unrelated / "
        f"{summary['false_matches_wrong_clip']} wrong clip, "
        f"precision {summary['precision']}, median offset error {summary['median_offset_error_s']} s"
    )
    real, real_tail = results.get("real", {}).get("queries", []), results.get("real_tail_index", {}).get("queries", [])
    for sorted_q, tail_q in zip(real, real_tail, strict=True):
        if sorted_q["verity_ok"] != tail_q["verity_ok"]:
            found = ", ".join(f"{m['clip']} {m['matched_seconds']:.1f} s" for m in tail_q["verity"]) or "nothing"
            changes.append(f"real {tail_q['clip']}: {found} (ok: {_yes(tail_q['verity_ok'])})")
    return (
        "Verity with the indexed clips in the index's unsorted tail (small archive, compared directly): "
        + "; ".join(changes)
    )


def goals(results: dict[str, Any]) -> list[str]:
    corpus = results["corpus"]
    rows = corpus["transforms"]
    v = corpus["verity"]
    out = []
    short = [r["transform"] for r in rows if not (r["verity"]["matched"] and r["verity"]["recall"] >= GOAL_RECALL)]
    out.append(
        f"every copy matched with >= {GOAL_RECALL:.0%} of its shared seconds: "
        + ("met" if not short else f"NOT met ({', '.join(short)})")
    )
    if "vpdq" in corpus:
        behind = [
            f"{r['transform']} ({r['verity']['recall']:.0%} < {r['vpdq']['recall']:.0%})"
            for r in rows
            if r["verity"]["recall"] + 1e-9 < r["vpdq"]["recall"]
        ]
        out.append("recall >= vPDQ's on each transform: " + ("met" if not behind else f"NOT met: {', '.join(behind)}"))
        for kind in ("wall", "cpu"):
            ours, theirs = v["fingerprint"][f"{kind}_s_per_min"], corpus["vpdq"]["fingerprint"][f"{kind}_s_per_min"]
            out.append(
                f"fingerprinting time <= vPDQ's ({kind.upper() if kind == 'cpu' else kind} s per min of video): "
                f"{ours} vs {theirs}: " + ("met" if ours <= theirs else "NOT met")
            )
    else:
        out.append("recall >= vPDQ's, fingerprinting time <= vPDQ's: not measured (no vPDQ)")
    out.append(
        "zero false matches on unrelated clips: "
        + ("met" if v["false_matches_unrelated"] == 0 else f"NOT met ({v['false_matches_unrelated']})")
    )
    median = v["median_offset_error_s"]
    out.append(
        f"median offset error <= {GOAL_OFFSET_S:g} s: "
        + ("met" if median is not None and median <= GOAL_OFFSET_S else "NOT met")
        + f" ({median} s)"
    )
    real = results.get("real")
    if real:
        bad = [q["clip"] for q in real["queries"] if q["required"] and not q["verity_ok"]]
        out.append(
            "real footage (pattern-* → pattern-hd-no-bar, doorknob → nothing): "
            + ("met" if not bad else f"NOT met: {bad}")
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--corpus", type=Path, help="corpus folder (made or reused; default /tmp/verity-bench-corpus-<S>s)"
    )
    parser.add_argument("--seconds", type=int, default=30, help="length of the corpus sources (default 30)")
    parser.add_argument("--repeat", type=int, default=1, help="time each video N times, report medians (default 1)")
    parser.add_argument("--real", type=Path, default=REAL_DIR, help="folder of the real footage (threatexchange-tmk)")
    parser.add_argument("--no-real", action="store_true", help="skip the real footage")
    parser.add_argument("--no-vpdq", action="store_true", help="skip the vPDQ peer")
    parser.add_argument(
        "--vpdq-venv", type=Path, default=DEFAULT_VPDQ_VENV, help="virtualenv for vpdq (made if absent)"
    )
    parser.add_argument("--vpdq-python", type=Path, help="an interpreter that already has vpdq (overrides --vpdq-venv)")
    parser.add_argument(
        "--vpdq-seconds-per-hash",
        type=float,
        default=1.0,
        help="vpdq.computeHash seconds_per_hash (default 1, python-threatexchange's)",
    )
    parser.add_argument("--breakdown", default="src-a.mp4", help="corpus video whose Verity steps are timed one by one")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument(
        "--only",
        action="append",
        metavar="TRANSFORM",
        help="match only these copies (repeatable; sources and unrelated clips are kept): for iterating",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    corpus_dir = (args.corpus or Path(tempfile.gettempdir()) / f"verity-bench-corpus-{args.seconds}s").resolve()
    scratch = Path(tempfile.mkdtemp(prefix="verity-bench-matching-"))
    worker: VpdqWorker | None = None
    try:
        info, code = machine(), code_version()  # the code as imported, before anything can change the tree
        log(
            f"{info['date_utc']}: {info['nproc']} CPUs ({info['cpu']}), {info['memory_gib']} GiB;"
            f" {info['uptime_at_start']}"
        )
        build_corpus(corpus_dir, args.seconds)
        videos, truth = load_corpus(corpus_dir, args.seconds)
        if args.only:
            videos = [v for v in videos if v.kind != "copy" or transform_of(v.name) in args.only]
            truth = {name: rows for name, rows in truth.items() if transform_of(name) in args.only}
        settings = Settings(_env_file=None, data_dir=scratch / "data")

        vpdq_note = "skipped (--no-vpdq)"
        if not args.no_vpdq:
            python, reason = ensure_vpdq(args.vpdq_venv, args.vpdq_python)
            if python is None:
                vpdq_note = f"skipped: {reason}"
                log(f"vpdq: {vpdq_note}")
            else:
                worker = VpdqWorker(python)
                vpdq_note = f"vpdq {worker.version} in {python}, seconds_per_hash={args.vpdq_seconds_per_hash:g}"
                log(f"vpdq: {vpdq_note}")

        log(f"fingerprinting {len(videos)} videos (x{args.repeat}):")
        verity, peer = fingerprint_all(videos, settings, scratch, worker, args.vpdq_seconds_per_hash, args.repeat)
        results: dict[str, Any] = {
            "machine": info,
            "code": code,
            "corpus_dir": str(corpus_dir),
            "seconds": args.seconds,
            "repeat": args.repeat,
            "settings": {
                k: getattr(settings, k)
                for k in ("sample_fps", "sample_size", "scene_threshold", "keyframe_every_s", "thumbnail_max_side")
            },
            "vpdq": vpdq_note,
            "corpus": run_corpus(videos, truth, verity, peer, settings, args.vpdq_seconds_per_hash),
            "corpus_tail_index": run_corpus(videos, truth, verity, {}, settings, args.vpdq_seconds_per_hash, "tail"),
        }
        breakdown_video = next((v for v in videos if v.name == args.breakdown), None)
        if breakdown_video is not None:
            log(f"timing Verity's steps on {breakdown_video.name}")
            results["breakdown"] = {
                "clip": breakdown_video.name,
                "duration_s": round(breakdown_video.duration_s, 3),
                **verity_breakdown(breakdown_video, settings, scratch, args.repeat),
            }
            if peer:
                timing = peer[breakdown_video.name].timing
                results["breakdown"]["vpdq_wall_s"] = round(timing.wall, 3)
                results["breakdown"]["vpdq_cpu_s"] = round(timing.cpu, 3)
        if not args.no_real:
            if args.real.is_dir():
                log(f"real footage in {args.real}:")
                real = real_videos(args.real)
                real_verity, real_peer = fingerprint_all(
                    real, settings, scratch, worker, args.vpdq_seconds_per_hash, args.repeat
                )
                results["real"] = run_real(args.real, real, real_verity, real_peer, settings)
                results["real_tail_index"] = run_real(args.real, real, real_verity, {}, settings, "tail")
            else:
                log(f"real footage: {args.real} not found, skipped")
        results["uptime_at_end"] = uptime()
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if worker is not None:
            worker.close()
        shutil.rmtree(scratch, ignore_errors=True)

    results["goals"] = goals(results)
    if args.json:
        print(json.dumps(results, indent=2, default=str))
    else:
        print(f"corpus {results['corpus_dir']} ({args.seconds} s sources); {results['vpdq']}")
        print()
        print(table(results))
        if "breakdown" in results:
            b = results["breakdown"]
            print()
            print(
                f"Verity's steps on {b['clip']} ({b['duration_s']:.0f} s), wall / CPU s: "
                + ", ".join(
                    f"{step} {b[step + '_wall_s']:.2f} / {b[step + '_cpu_s']:.2f}"
                    for step in ("probe", "decode", "keyframes", "fingerprint", "insets", "ffmpeg_decode_only", "vpdq")
                    if step + "_wall_s" in b
                )
            )
        print()
        print("\n".join(f"- {g}" for g in results["goals"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
