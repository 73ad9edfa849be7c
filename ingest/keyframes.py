"""Keyframes: the first frame, every scene change, and one at least every N seconds, with their
presentation times, taken from the decode pass's thumbnails and its selection log."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ingest.decode import DecodedFrames
from ingest.fingerprint import phash64
from verity.errors import MediaFailed

_FRAME_LINE = re.compile(r"^frame:(\d+)\s+pts:(-?\d+)\s+pts_time:(-?[\d.]+)")
_SCORE_LINE = re.compile(r"^lavfi\.scene_score=([\d.]+)")


@dataclass(frozen=True)
class Keyframe:
    index: int
    time_s: float
    reason: str  # "first", "scene" or "interval"
    scene_score: float | None
    path: Path
    width: int
    height: int
    phash: str  # 64-bit pHash of the thumbnail, hex


def _read_log(log: Path) -> list[tuple[float, float | None]]:
    entries: list[tuple[float, float | None]] = []
    for line in log.read_text("utf-8", "replace").splitlines():
        if frame := _FRAME_LINE.match(line):
            entries.append((float(frame.group(3)), None))
        elif (score := _SCORE_LINE.match(line)) and entries:
            entries[-1] = (entries[-1][0], float(score.group(1)))
    return entries


def extract_keyframes(frames: DecodedFrames, *, scene_threshold: float) -> list[Keyframe]:
    entries = _read_log(frames.keyframe_log)
    if len(entries) != len(frames.thumbnails):
        raise MediaFailed(
            f"keyframe log lists {len(entries)} frames but {len(frames.thumbnails)} thumbnails were written"
        )
    keyframes = []
    for index, ((time_s, score), path) in enumerate(zip(entries, frames.thumbnails, strict=True)):
        if index == 0:
            reason = "first"
        elif score is not None and score > scene_threshold:
            reason = "scene"
        else:
            reason = "interval"
        with Image.open(path) as image:
            width, height = image.size
            phash = f"{phash64(np.asarray(image.convert('L'))):016x}"
        keyframes.append(Keyframe(index, round(time_s, 3), reason, score, path, width, height, phash))
    return keyframes
