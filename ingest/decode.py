"""The single decode pass: one ffmpeg run yields keyframe thumbnails and the small grey frame
samples that fingerprints are made from (and the sound, as PCM for its Chromaprint values).
Memory stays flat in clip length: ffmpeg streams its products to files in a work folder, read
back afterwards one at a time."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ingest.chromaprint import AUDIO_RATE
from ingest.ffmpeg import DecodeOutputs, DecodePlan, DecodeReport, DecodeTimeout, Limits, ViewingCopyOutput, run_decode
from verity.errors import MediaFailed

log = logging.getLogger("verity.ingest")


@dataclass(frozen=True)
class DecodedFrames:
    thumbnails: list[Path]  # in time order
    keyframe_log: Path
    samples: Path
    sample_size: int
    sample_fps: float
    report: DecodeReport  # frames decoded and errors met, for the integrity check
    viewing_copy: Path | None = None  # made when asked for and the pass could make it
    viewing_copy_failure: str | None = None  # why not, when it was asked for
    audio: Path | None = None  # the first audio stream as PCM (ingest/chromaprint.py), when asked for and made
    audio_failure: str | None = None  # why not, when it was asked for

    @property
    def sample_count(self) -> int:
        return self.samples.stat().st_size // (self.sample_size * self.sample_size)

    def iter_samples(self, start_s: float = 0.0) -> Iterator[tuple[float, npt.NDArray[np.uint8]]]:
        """(presentation time, grey picture) for each sample, read from disk one at a time;
        `start_s` is the time of the first decoded frame, where the sampling clock starts."""
        size = self.sample_size
        with self.samples.open("rb") as handle:
            index = 0
            while len(frame := handle.read(size * size)) == size * size:
                yield start_s + index / self.sample_fps, np.frombuffer(frame, np.uint8).reshape(size, size)
                index += 1


def decode(
    path: Path,
    plan: DecodePlan,
    workdir: Path,
    limits: Limits,
    on_progress: Callable[[float], None] | None = None,
    viewing_copy: ViewingCopyOutput | None = None,
    *,
    audio: bool = False,
) -> DecodedFrames:
    """Decode once; with `viewing_copy`, the same pass writes it too, and with `audio` the first
    audio stream as PCM. Neither is the analysis: a pass that fails with them is run again without
    (unless it ran out of time), and their failure is told in `viewing_copy_failure` and
    `audio_failure` (the pass cannot say which of its outputs broke it: a damaged audio stream
    breaks the copy, which carries it, as well)."""
    workdir.mkdir(parents=True, exist_ok=True)
    outputs = DecodeOutputs(
        thumbnail_pattern=workdir / "keyframe-%06d.jpg",
        keyframe_log=workdir / "keyframes.txt",
        samples=workdir / "samples.gray",
        viewing_copy=viewing_copy,
        audio=workdir / "audio.s16le" if audio else None,
        audio_rate=AUDIO_RATE,
    )
    failure = None
    try:
        report = run_decode(path, plan, outputs, limits, on_progress)
    except DecodeTimeout:
        raise
    except MediaFailed as exc:
        if viewing_copy is None and not audio:
            raise
        failure = exc.detail
        extras = " and ".join(name for name, asked in (("viewing copy", viewing_copy), ("sound", audio)) if asked)
        log.warning("decoding %s with its %s failed (%s); decoding it again without", path, extras, failure)
        _clear(workdir)
        if viewing_copy is not None:
            viewing_copy.path.unlink(missing_ok=True)
        report = run_decode(path, plan, replace(outputs, viewing_copy=None, audio=None), limits, on_progress)
    thumbnails = sorted(workdir.glob("keyframe-*.jpg"))
    if not thumbnails or not outputs.samples.exists():
        raise MediaFailed("the video stream has no decodable frames")
    made = viewing_copy.path if viewing_copy and failure is None else None
    sound = outputs.audio if outputs.audio and failure is None else None
    return DecodedFrames(
        thumbnails,
        outputs.keyframe_log,
        outputs.samples,
        plan.sample_size,
        plan.sample_fps,
        report,
        made,
        failure if viewing_copy else None,
        sound,
        failure if audio else None,
    )


def _clear(workdir: Path) -> None:
    for leftover in workdir.iterdir():
        if leftover.is_file():
            leftover.unlink()
