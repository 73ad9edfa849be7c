"""Does the file hold what it promises? The duration and frame count its container declares,
against what the single decode pass actually decoded, and the errors met on the way."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ingest.decode import DecodedFrames
from ingest.probe import MediaInfo

# A decoded duration this much short of the declared one is a warning: more than a quarter of a
# second and 2 % (audio and video tracks often end a frame or two apart in whole files).
SHORT_BY_S = 0.25
SHORT_BY_FRACTION = 0.02


@dataclass(frozen=True)
class Integrity:
    declared_duration_s: float | None
    decoded_duration_s: float | None
    declared_frames: int | None
    decoded_frames: int | None
    decode_errors: int
    first_errors: list[str]
    warnings: list[str]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _short(decoded: float, declared: float, floor: float) -> bool:
    return declared - decoded > max(floor, SHORT_BY_FRACTION * declared)


def check_integrity(info: MediaInfo, frames: DecodedFrames) -> Integrity:
    """Compare what the container declares for the video with what decoded: its frame count where
    it states one, else its duration (the video stream's own, or the container's). The decoded
    duration is the decoded frames at the stream's average frame rate; for a variable frame rate
    (or none stated), the span the frame samples cover (to 1/sample_fps). A pass that skipped
    non-reference frames counts the frames it read (`DecodeReport.frames_accounted`)."""
    video = info.media.get("video") or {}
    declared_s = video.get("duration_s") or info.duration_s
    declared_frames = video.get("frame_count")
    decoded_frames = frames.report.frames_accounted
    rate = video.get("avg_frame_rate") or video.get("real_frame_rate")
    if decoded_frames is not None and rate and not video.get("variable_frame_rate"):
        decoded_s: float | None = round(decoded_frames / rate, 3)
    else:
        decoded_s = round(frames.sample_count / frames.sample_fps, 3)
    # What the declared frames last at the stream's rate (an AVI's index, once cut, states less).
    span = f" ({decoded_s:.1f} s of {declared_frames / rate:.1f} s)" if declared_frames and rate and decoded_s else ""
    warnings = []
    if declared_frames and decoded_frames is not None:
        if _short(decoded_frames, declared_frames, 2):
            warnings.append(
                f"only {decoded_frames} of {declared_frames} frames{span} decode: the file is probably truncated"
            )
    elif declared_s and decoded_s is not None and _short(decoded_s, declared_s, SHORT_BY_S):
        warnings.append(f"only {decoded_s:.1f} s of {declared_s:.1f} s decode: the file is probably truncated")
    errors = frames.report.error_count
    if errors:
        first = frames.report.first_messages[0] if frames.report.first_messages else "no message"
        warnings.append(
            f"{errors} decode error{'s' if errors != 1 else ''} (first: {first}): the file is damaged in places"
        )
    return Integrity(
        declared_duration_s=declared_s,
        decoded_duration_s=decoded_s,
        declared_frames=declared_frames,
        decoded_frames=decoded_frames,
        decode_errors=errors,
        first_errors=frames.report.first_messages,
        warnings=warnings,
    )
