"""The single decode pass: one ffmpeg run yields keyframe thumbnails and the small grey frame
samples that fingerprints are made from. Memory stays flat in clip length: ffmpeg streams its
products to files in a work folder, read back afterwards one at a time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ingest.ffmpeg import DecodeOutputs, DecodePlan, Limits, run_decode
from verity.errors import MediaFailed


@dataclass(frozen=True)
class DecodedFrames:
    thumbnails: list[Path]  # in time order
    keyframe_log: Path
    samples: Path
    sample_size: int
    sample_fps: float

    @property
    def sample_count(self) -> int:
        return self.samples.stat().st_size // (self.sample_size * self.sample_size)

    def iter_samples(self, start_s: float = 0.0) -> Iterator[tuple[float, bytes]]:
        """(presentation time, grey pixels row by row) for each sample; `start_s` is the time of
        the first decoded frame (the first keyframe's), where the sampling clock starts."""
        frame_bytes = self.sample_size * self.sample_size
        with self.samples.open("rb") as handle:
            index = 0
            while len(frame := handle.read(frame_bytes)) == frame_bytes:
                yield start_s + index / self.sample_fps, frame
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
    run_decode(path, plan, outputs, limits, on_progress)
    thumbnails = sorted(workdir.glob("keyframe-*.jpg"))
    if not thumbnails or not outputs.samples.exists():
        raise MediaFailed("the video stream has no decodable frames")
    return DecodedFrames(thumbnails, outputs.keyframe_log, outputs.samples, plan.sample_size, plan.sample_fps)
