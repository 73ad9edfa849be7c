"""The single decode pass: one ffmpeg run yields keyframe thumbnails and the small grey frame
samples that fingerprints are made from. Memory stays flat in clip length: ffmpeg streams its
products to files in a work folder, read back afterwards one at a time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ingest.ffmpeg import DecodeOutputs, DecodePlan, DecodeReport, Limits, run_decode
from verity.errors import MediaFailed


@dataclass(frozen=True)
class DecodedFrames:
    thumbnails: list[Path]  # in time order
    keyframe_log: Path
    samples: Path
    sample_size: int
    sample_fps: float
    report: DecodeReport  # frames decoded and errors met, for the integrity check

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
) -> DecodedFrames:
    workdir.mkdir(parents=True, exist_ok=True)
    outputs = DecodeOutputs(
        thumbnail_pattern=workdir / "keyframe-%06d.jpg",
        keyframe_log=workdir / "keyframes.txt",
        samples=workdir / "samples.gray",
    )
    report = run_decode(path, plan, outputs, limits, on_progress)
    thumbnails = sorted(workdir.glob("keyframe-*.jpg"))
    if not thumbnails or not outputs.samples.exists():
        raise MediaFailed("the video stream has no decodable frames")
    return DecodedFrames(thumbnails, outputs.keyframe_log, outputs.samples, plan.sample_size, plan.sample_fps, report)
