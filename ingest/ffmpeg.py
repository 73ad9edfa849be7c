"""The one place that runs ffmpeg and ffprobe, hardened for hostile files.

Every run: reads only the one local file it is given (`file:` protocol only, and only container
demuxers that cannot name other files — no HLS, DASH, concat or image-sequence demuxers), gets
no stdin, runs under a time limit and `prlimit` resource limits, dies with the process that
started it (even one killed with -9), and turns a failure into a `MediaFailed`/`UnsupportedMedia`
that carries ffmpeg's own words.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import re
import shutil
import signal
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ffmpeg

from verity.errors import MediaFailed, UnsupportedMedia

# Demuxers that read a single self-contained file. Deliberately absent: hls, dash, concat,
# image2 (filename patterns), tee, data URIs, and anything that follows references.
SAFE_DEMUXERS = (
    "mov",
    "matroska",
    "avi",
    "mpegts",
    "mpeg",
    "flv",
    "asf",
    "ogg",
    "mxf",
    "gif",
    "h264",
    "hevc",
    "m4v",
    "ivf",
    "wav",
    "mp3",
    "aac",
    "flac",
    "amr",
    "png_pipe",
    "jpeg_pipe",
    "webp_pipe",
    "bmp_pipe",
    "tiff_pipe",
)
INPUT_GUARDS: dict[str, Any] = {"protocol_whitelist": "file", "format_whitelist": ",".join(SAFE_DEMUXERS)}
STDERR_LIMIT = 4000


@dataclass(frozen=True)
class Limits:
    """Resource limits for one ffmpeg/ffprobe run."""

    timeout_s: float
    memory_mb: int
    output_mb: int = 4096
    cpu_s: int | None = None  # CPU seconds before the process is killed (SIGXCPU), if bounded


_PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _die_with_parent(parent_pid: int) -> Callable[[], None]:
    """For `preexec_fn`: the child (still before exec) asks Linux to SIGKILL it when the thread
    that started it ends, as when its process is killed with -9; a parent already gone by then
    is caught by the getppid check. `prlimit` keeps the setting, as it execs the tool itself."""

    def arrange() -> None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent_pid:
            os.kill(os.getpid(), signal.SIGKILL)

    return arrange


def spawn_options() -> dict[str, Any]:
    """What every ffmpeg/ffprobe run is started with (and the C2PA reader's child process)."""
    return {"stdin": subprocess.DEVNULL, "preexec_fn": _die_with_parent(os.getpid())}


def _binary(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise MediaFailed(f"{name} is not installed on this server")
    return found


def limited(command: list[str], limits: Limits) -> list[str]:
    """`command` run under `limits` by prlimit (as it is, where prlimit is missing)."""
    prlimit = shutil.which("prlimit")
    if not prlimit:
        return command
    return [
        prlimit,
        f"--as={limits.memory_mb * 1024 * 1024}",
        f"--fsize={limits.output_mb * 1024 * 1024}",
        "--nofile=256",
        "--core=0",
        *([f"--cpu={limits.cpu_s}"] if limits.cpu_s else []),
        "--",
        *command,
    ]


def _input(path: Path, **options: Any) -> Any:
    return ffmpeg.input(f"file:{path.resolve()}", **INPUT_GUARDS, **options)


def _lines(stderr: str) -> list[str]:
    # ffmpeg repeats itself; keep each line once, in order.
    return list(dict.fromkeys(line.strip() for line in stderr.strip().splitlines() if line.strip()))


def _reason(stderr: str) -> str:
    return "; ".join(_lines(stderr))[-STDERR_LIMIT:] or "no message"


_DETECTED = re.compile(r"^\[(\w+) @ 0x[0-9a-f]+\] Format not on whitelist")


def classify_failure(stderr: str, tool: str, path: Path) -> Exception:
    """A clip ffmpeg cannot read is `unsupported` when it is not a media file we accept at all,
    `failed` when it is one but damaged (then a demuxer or decoder says what is wrong)."""
    stderr = stderr.replace(f"file:{path.resolve()}", "input").replace(str(path.resolve()), "input")
    lines, reason = _lines(stderr), _reason(stderr)
    for line in lines:
        if detected := _DETECTED.match(line):
            return UnsupportedMedia(
                f"not an accepted video container (ffmpeg detects {detected.group(1)!r}; playlists, "
                "concat lists and other files that reference further files are refused)"
            )
    if lines and all(line.endswith("Invalid data found when processing input") for line in lines):
        return UnsupportedMedia(f"not a recognised audio/video file: {reason}")
    if any(line.startswith("Cannot determine format of input stream") for line in lines):
        return MediaFailed(f"the video stream has no decodable frames ({tool}: {reason})")
    return MediaFailed(f"{tool} could not read the file: {reason}")


def run_ffprobe(path: Path, limits: Limits) -> dict[str, Any]:
    """ffprobe's JSON for the file's container and streams."""
    command = [
        _binary("ffprobe"),
        "-v",
        "error",
        *[item for key, value in INPUT_GUARDS.items() for item in (f"-{key}", value)],
        "-print_format",
        "json",
        "-show_format",
        "-show_streams",
        f"file:{path.resolve()}",
    ]
    try:
        result = subprocess.run(
            limited(command, limits), capture_output=True, timeout=limits.timeout_s, **spawn_options()
        )
    except subprocess.TimeoutExpired:
        raise MediaFailed(f"ffprobe gave no answer within {limits.timeout_s:.0f} s") from None
    stderr = result.stderr.decode("utf-8", "replace")
    if limits.cpu_s and result.returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        # Reading a header should take a fraction of a second; one that takes this long is built to
        # exhaust the reader (e.g. 100,000 metadata tags, which ffmpeg stores one by one).
        raise UnsupportedMedia(
            f"reading the file's header took more than the limit of {limits.cpu_s} s of CPU "
            "(e.g. an enormous number of metadata tags); the file is refused"
        )
    if result.returncode != 0:
        raise classify_failure(stderr, "ffprobe", path)
    try:
        parsed: dict[str, Any] = json.loads(result.stdout)
    except ValueError:
        raise MediaFailed(f"ffprobe printed something that is not JSON: {_reason(stderr)}") from None
    return parsed


class DecodeTimeout(MediaFailed):
    """The decode pass ran past its time limit."""


@dataclass(frozen=True)
class ViewingCopyOutput:
    """A viewing copy for the decode pass to write as well: H.264/AAC MP4, upright, 8-bit 4:2:0,
    even dimensions within `max_long_side` × `max_short_side`, the index at the front. The preset
    and size keep its cost within half of a 1080p HEVC or H.264 decode's (bench/README.md)."""

    path: Path
    deinterlace: bool
    audio: bool  # the original has audio: keep its first stream
    max_long_side: int = 960
    max_short_side: int = 540
    preset: str = "ultrafast"
    crf: int = 23
    copy_video: bool = False  # the original's H.264 as it is (remuxed), not decoded and encoded
    copy_audio: bool = False  # the original's AAC or MP3 as it is
    # Deinterlace by keeping this field ("top" or "bottom") of each frame rather than with yadif:
    # for a copy no taller than one field (1080i into 540 lines), the same picture at a fraction
    # of the cost.
    one_field: str | None = None


@dataclass(frozen=True)
class DecodeOutputs:
    """Where one decode pass writes its products."""

    thumbnail_pattern: Path  # printf-style, numbered from 1 in time order
    keyframe_log: Path  # ffmpeg `metadata=print` output: times and scene scores
    samples: Path  # raw 8-bit grey frames, sample_size², one after another
    viewing_copy: ViewingCopyOutput | None = None
    audio: Path | None = None  # the first audio stream as raw PCM (mono s16le at `audio_rate`), for Chromaprint
    audio_rate: int = 11025

    @property
    def encodes_copy(self) -> bool:
        """A viewing copy is encoded from the decoded frames (not made of the original's packets)."""
        return self.viewing_copy is not None and not self.viewing_copy.copy_video


@dataclass(frozen=True)
class DecodePlan:
    every_s: float
    scene_threshold: float
    thumbnail_max_side: int
    sample_fps: float
    sample_size: int
    # Decode no frame that no other frame refers to (B-frames, mostly), when no output needs every
    # frame: about 40 % of an H.264 decode's CPU (bench/README.md, ingest_speed.py). Off by
    # default: interval keyframes then drift to the next decoded frame, and an error in a
    # skipped frame is never met, so the integrity check cannot report it.
    skip_nonreference: bool = False


def skips_nonreference(plan: DecodePlan, outputs: DecodeOutputs) -> bool:
    """Whether the pass leaves non-reference frames undecoded: not when it encodes a viewing copy,
    which needs every frame (a copy of the original's packets needs none decoded)."""
    return plan.skip_nonreference and not outputs.encodes_copy


def decode_command(path: Path, plan: DecodePlan, outputs: DecodeOutputs) -> list[str]:
    """One ffmpeg run: decode the video once (upright: ffmpeg applies the display matrix) and split
    it into keyframe thumbnails and grey frame samples (and, asked for, the sound as PCM for its
    fingerprint, and a viewing copy). With `plan.skip_nonreference`, and unless a viewing copy is
    encoded, the decoder skips the frames no other frame refers to (`-skip_frame noref`: the
    scene scores, interval keyframes and samples come from the frames decoded anyway; the first
    frame of a scene is usually coded as a reference frame, and a sample lands a few frames from
    its tick at most). Each
    branch first drops the frames it does not need and only then scales, so the cost of scaling
    does not grow with the frame rate (measured: scaling every frame first cost ~35 % more CPU
    than a plain decode).
    `-copyts` keeps the file's own presentation times, which need not start at zero."""
    side = plan.thumbnail_max_side
    source = _input(path, **({"skip_frame": "noref"} if skips_nonreference(plan, outputs) else {}))
    branches = source.video.filter_multi_output("split", 3 if outputs.encodes_copy else 2)
    selection = f"eq(n,0)+gt(scene,{plan.scene_threshold})+gte(t-prev_selected_t,{plan.every_s})"
    thumbnails = (
        branches[0]
        .filter("select", selection)
        .filter("metadata", mode="print", file=str(outputs.keyframe_log))
        .filter(
            "scale",
            w=f"if(gte(iw,ih),min({side},iw),-2)",
            h=f"if(gte(iw,ih),-2,min({side},ih))",
            flags="bicubic",
        )
    )
    samples = (
        branches[1]
        .filter("fps", fps=plan.sample_fps)
        .filter("scale", plan.sample_size, plan.sample_size, flags="area")
        .filter("format", "gray")
    )
    products = [
        ffmpeg.output(thumbnails, str(outputs.thumbnail_pattern), fps_mode="passthrough", **{"q:v": 3}),
        ffmpeg.output(samples, str(outputs.samples), f="rawvideo"),
    ]
    if outputs.viewing_copy:
        frames = branches[2] if outputs.encodes_copy else source["v:0"]
        products.append(_viewing_copy(source, frames, outputs.viewing_copy))
    if outputs.audio:
        products.append(
            ffmpeg.output(source["a:0"], str(outputs.audio), f="s16le", acodec="pcm_s16le", ac=1, ar=outputs.audio_rate)
        )
    graph = ffmpeg.merge_outputs(*products).global_args(
        # Each line tagged with its level: the errors make the failure reason and the integrity
        # report, the verbose end-of-run statistics say how many frames decoded.
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "level+verbose",
        "-progress",
        "pipe:1",
        "-nostats",
        "-copyts",
    )
    command: list[str] = graph.compile(cmd=_binary("ffmpeg"), overwrite_output=True)
    return command


def _viewing_copy(source: Any, frames: Any, copy: ViewingCopyOutput) -> Any:
    """The decode pass's third branch: the upright frames, deinterlaced (one frame per frame) if
    need be, scaled down to fit (never up), encoded with the original's first audio stream; or,
    with `copy_video`, the original's own video packets (`frames` is then the input stream).
    `avoid_negative_ts` starts the copy at zero, as players expect, while the pass keeps the
    original's own times (`-copyts`) for the keyframes."""
    video: dict[str, Any] = {"c:v": "copy"}
    if not copy.copy_video:
        if copy.deinterlace and copy.one_field:
            frames = _one_field(frames, copy)
        else:
            if copy.deinterlace:
                frames = frames.filter("yadif", mode="send_frame", deint="all")
            long_side, short_side = copy.max_long_side, copy.max_short_side
            frames = frames.filter(
                "scale",
                w=f"if(gte(iw,ih),min(iw,{long_side}),min(iw,{short_side}))",
                h=f"if(gte(iw,ih),min(ih,{short_side}),min(ih,{long_side}))",
                force_original_aspect_ratio="decrease",
                force_divisible_by=2,
                flags="bicubic",
            )
        frames = frames.filter("format", "yuv420p")
        video = {"c:v": "libx264", "preset": copy.preset, "crf": copy.crf, "fps_mode": "vfr"}
    audio = {"c:a": "copy"} if copy.copy_audio else {"c:a": "aac", "b:a": "128k", "ac": 2}
    return ffmpeg.output(
        *([frames, source["a:0"]] if copy.audio else [frames]),
        str(copy.path),
        f="mp4",
        movflags="+faststart",
        avoid_negative_ts="make_zero",
        map_metadata=-1,
        metadata="comment=Verity viewing copy: not the original",
        **video,
        **(audio if copy.audio else {}),
    )


def _one_field(frames: Any, copy: ViewingCopyOutput) -> Any:
    """One field of each frame (`copy.one_field`), fitted within the copy's size as the whole frame
    would be: a field is the frame's width by half its height (`2*ih` is the frame's height), its
    pixels twice as tall (`setsar`), so the copy keeps the frame's shape. Bilinear: the field is
    already the copy's height or close to it, and it costs a third less than bicubic here."""
    long_side, short_side = copy.max_long_side, copy.max_short_side
    fit = f"min(1,min({long_side}/max(iw,2*ih),{short_side}/min(iw,2*ih)))"
    return (
        frames.filter("field", type=copy.one_field)
        .filter("setsar", "sar/2")
        .filter("scale", w=f"2*trunc(iw*{fit}/2)", h=f"2*trunc(2*ih*{fit}/2)", flags="bilinear")
    )


@dataclass(frozen=True)
class DecodeReport:
    """What the decode pass said about the file: how many video frames decoded, and the errors
    on the way (a damaged or cut-off file decodes "successfully", with errors or fewer frames)."""

    frames_decoded: int | None  # None when ffmpeg printed no statistics
    error_count: int
    first_messages: list[str]  # distinct error messages, in order, at most MESSAGES_KEPT
    frames_read: int | None = None  # video packets the decoder was given (None: no statistics)
    skipped_nonreference: bool = False  # the pass left non-reference frames undecoded on purpose

    @property
    def frames_accounted(self) -> int | None:
        """The video frames the file yielded: those decoded, or, when the pass skipped
        non-reference frames, those read (a skipped frame is read and parsed, not decoded)."""
        if self.skipped_nonreference and self.frames_read is not None:
            return max(self.frames_read, self.frames_decoded or 0)
        return self.frames_decoded


MESSAGES_KEPT = 5
# `[h264 @ 0x55d0…] [error] message` or `[error] message` (with `-loglevel level+…`).
_LEVELLED = re.compile(r"^(\[[^\]]+ @ 0x[0-9a-f]+\] )?\[(trace|debug|verbose|info|warning|error|fatal|panic)\] (.*)$")
_FRAMES_DECODED = re.compile(r"Input stream #\d+:\d+ \(video\): (\d+) packets read \(\d+ bytes\); (\d+) frames decoded")
_PROBLEM_LEVELS = ("error", "fatal", "panic")


def read_decode_log(stderr: str, path: Path, *, skipped_nonreference: bool = False) -> tuple[str, DecodeReport]:
    """Split a `level+verbose` log into the problems alone (as `-v error` would print them, for
    `classify_failure`) and the report of what decoded."""
    problems: list[str] = []
    messages: list[str] = []
    frames: int | None = None
    read: int | None = None
    errors = 0
    for line in stderr.splitlines():
        match = _LEVELLED.match(line.strip())
        if not match:
            continue
        context, level, message = match.group(1) or "", match.group(2), match.group(3).strip()
        if level in _PROBLEM_LEVELS:
            problems.append(context + message)
            errors += 1
        if level in _PROBLEM_LEVELS and message:
            messages.append(message.replace(f"file:{path.resolve()}", "input").replace(f"file:{path}", "input"))
        if counted := _FRAMES_DECODED.search(message):
            read = max(read or 0, int(counted.group(1)))
            frames = max(frames or 0, int(counted.group(2)))
    kept = list(dict.fromkeys(messages))[:MESSAGES_KEPT]
    return "\n".join(problems), DecodeReport(frames, errors, kept, read, skipped_nonreference)


def run_decode(
    path: Path,
    plan: DecodePlan,
    outputs: DecodeOutputs,
    limits: Limits,
    on_progress: Callable[[float], None] | None = None,
) -> DecodeReport:
    """Run the decode pass; `on_progress` gets the media time reached, in seconds, now and then."""
    command = limited(decode_command(path, plan, outputs), limits)
    stderr_path = outputs.samples.with_suffix(".stderr")
    with stderr_path.open("wb") as stderr_file:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr_file, **spawn_options())
        timed_out = threading.Event()

        def stop() -> None:
            timed_out.set()
            process.kill()

        timer = threading.Timer(limits.timeout_s, stop)
        timer.start()
        try:
            assert process.stdout is not None
            for raw in process.stdout:
                key, _, value = raw.decode("ascii", "replace").strip().partition("=")
                if key == "out_time_us" and on_progress and value.lstrip("-").isdigit():
                    on_progress(max(int(value), 0) / 1e6)
            returncode = process.wait()
        finally:
            timer.cancel()
            if process.poll() is None:
                process.kill()
                process.wait()
    stderr = stderr_path.read_text("utf-8", "replace")
    problems, report = read_decode_log(stderr, path, skipped_nonreference=skips_nonreference(plan, outputs))
    if returncode != 0:
        if timed_out.is_set():
            raise DecodeTimeout(f"decoding took longer than the limit of {limits.timeout_s:.0f} s")
        raise classify_failure(problems, "ffmpeg", path)
    os.unlink(stderr_path)
    return report
