"""What a file says about itself, from ffprobe: kept verbatim, plus normalised fields.
A value the file does not carry is None, never guessed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

from ingest.ffmpeg import Limits, run_ffprobe
from verity.errors import UnsupportedMedia

_ISO6709 = re.compile(r"^\s*([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)?")

LOCATION_TAGS = ("com.apple.quicktime.location.ISO6709", "location", "location-eng", "com.android.location")
MAKE_TAGS = ("com.apple.quicktime.make", "make", "com.android.manufacturer", "manufacturer")
MODEL_TAGS = ("com.apple.quicktime.model", "model", "com.android.model")
SOFTWARE_TAGS = ("com.apple.quicktime.software", "software", "com.android.version")
CREATION_TAGS = ("com.apple.quicktime.creationdate", "creation_time", "date")


@dataclass(frozen=True)
class MediaInfo:
    raw: dict[str, Any]  # ffprobe's JSON, verbatim
    media: dict[str, Any]  # the normalised fields

    @property
    def duration_s(self) -> float | None:
        value = self.media.get("duration_s")
        return float(value) if value is not None else None


def probe(path: Path, limits: Limits) -> MediaInfo:
    raw = run_ffprobe(path, limits)
    return MediaInfo(raw, normalise(raw))


def require_video(info: MediaInfo) -> None:
    """Refuse what has no moving picture to analyse."""
    video = info.media["video"]
    if video is None:
        kind = "audio only" if info.media["audio"] else "no video or audio stream"
        raise UnsupportedMedia(f"no video stream ({kind})")
    if str(info.media["container"] or "").endswith("_pipe"):
        raise UnsupportedMedia(f"a still image ({video['codec']}), not video")


def _tags(entry: dict[str, Any]) -> dict[str, str]:
    # Tag names differ in case between muxers (e.g. "Make" in some Android files).
    return {str(k).lower(): str(v) for k, v in (entry.get("tags") or {}).items()}


def _first(tags: dict[str, str], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = tags.get(name.lower())
        if value and value.strip():
            return value.strip()
    return None


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number else None  # NaN is no value


def _integer(value: Any) -> int | None:
    number = _number(value)
    return int(number) if number is not None else None


def _clock_seconds(value: str | None) -> float | None:
    """`00:01:02.500000000` → 62.5."""
    parts = (value or "").strip().split(":")
    if len(parts) != 3:
        return None
    try:
        hours, minutes, seconds = int(parts[0]), int(parts[1]), float(parts[2])
    except ValueError:
        return None
    total = hours * 3600 + minutes * 60 + seconds
    return round(total, 3) if total > 0 and total == total and total != float("inf") else None


def _rate(value: Any) -> float | None:
    try:
        rate = Fraction(str(value))
    except (ValueError, ZeroDivisionError):
        return None
    return round(float(rate), 3) if rate > 0 else None


def parse_iso6709(text: str | None) -> dict[str, float | None] | None:
    """`+35.6895+139.6917+040.000/` → lat, lon, alt (decimal degrees, metres)."""
    if not text:
        return None
    match = _ISO6709.match(text)
    if not match:
        return None
    lat, lon = float(match.group(1)), float(match.group(2))
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    if lat == 0 and lon == 0:
        return None  # "null island": what devices write when they had no fix
    alt = float(match.group(3)) if match.group(3) else None
    return {"lat": lat, "lon": lon, "alt": alt}


def parse_time(text: str | None) -> str | None:
    """A tag's date-time as ISO 8601: in UTC (`Z`) when the tag names its zone, else as written,
    with no zone (camera clocks in AVI files are local time); None when it is not a date-time."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        if moment.tzinfo is None:
            return moment.isoformat()
        return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    except (ValueError, OverflowError):  # not a date-time, or one that in UTC is before year 1 or after 9999
        return None


def _creation_time(text: str | None, where: str, warnings: list[str]) -> str | None:
    """`parse_time`, noting a tag that is there but no usable date-time among the warnings."""
    parsed = parse_time(text)
    if text and text.strip() and parsed is None:
        warnings.append(f"the {where} creation time {text.strip()[:80]!r} is not a possible date-time; ignored")
    return parsed


def _rotation(stream: dict[str, Any]) -> int | None:
    for side in stream.get("side_data_list") or []:
        if "rotation" in side:
            value = _number(side["rotation"])
            if value is not None:
                # ffprobe reports the display matrix counter-clockwise; say how far to turn clockwise.
                return int(round(-value)) % 360
    rotate = _number(_tags(stream).get("rotate"))
    return int(round(rotate)) % 360 if rotate is not None else None


def main_video_stream(raw: dict[str, Any]) -> dict[str, Any] | None:
    """ffprobe's entry for the clip's video: its first video stream that is not cover art."""
    streams = raw.get("streams") or []
    return next((s for s in streams if s.get("codec_type") == "video" and not _is_cover_art(s)), None)


def normalise(raw: dict[str, Any]) -> dict[str, Any]:
    container = raw.get("format") or {}
    streams = raw.get("streams") or []
    format_tags = _tags(container)
    video_stream = main_video_stream(raw)
    audio_stream = next((s for s in streams if s.get("codec_type") == "audio"), None)
    video_tags = _tags(video_stream) if video_stream else {}
    all_tags = {**video_tags, **format_tags}

    video = None
    if video_stream:
        avg, real = _rate(video_stream.get("avg_frame_rate")), _rate(video_stream.get("r_frame_rate"))
        rotation = _rotation(video_stream)
        width, height = _integer(video_stream.get("width")), _integer(video_stream.get("height"))
        video = {
            "codec": video_stream.get("codec_name"),
            "profile": video_stream.get("profile"),
            "width": width,
            "height": height,
            "display_width": height if rotation in (90, 270) else width,
            "display_height": width if rotation in (90, 270) else height,
            "display_aspect_ratio": video_stream.get("display_aspect_ratio"),
            "pixel_format": video_stream.get("pix_fmt"),
            "avg_frame_rate": avg,
            "real_frame_rate": real,
            "variable_frame_rate": (abs(avg - real) / real > 0.005) if avg and real else None,
            "frame_count": _integer(video_stream.get("nb_frames")),
            # The stream's own, where the container says (Matroska in a per-stream DURATION tag).
            "duration_s": _number(video_stream.get("duration")) or _clock_seconds(video_tags.get("duration")),
            "bit_rate": _integer(video_stream.get("bit_rate")),
        }
    audio = None
    if audio_stream:
        audio = {
            "codec": audio_stream.get("codec_name"),
            "channels": _integer(audio_stream.get("channels")),
            "sample_rate": _integer(audio_stream.get("sample_rate")),
        }
    warnings: list[str] = []  # metadata that is there but unusable; the analysis goes on without it
    created = {
        "container": _creation_time(_first(format_tags, CREATION_TAGS), "container", warnings),
        "stream": _creation_time(_first(video_tags, ("creation_time",)), "video stream", warnings),
    }
    duration = _number(container.get("duration"))
    if duration is None and video_stream:
        duration = _number(video_stream.get("duration"))
    return {
        "container": container.get("format_name"),
        "duration_s": round(duration, 3) if duration is not None else None,
        "size": _integer(container.get("size")),
        "bit_rate": _integer(container.get("bit_rate")),
        "video": video,
        "rotation": _rotation(video_stream) if video_stream else None,
        "audio": audio,
        "creation_time": created,
        "location": parse_iso6709(_first(all_tags, LOCATION_TAGS)),
        "device": {
            "make": _first(all_tags, MAKE_TAGS),
            "model": _first(all_tags, MODEL_TAGS),
            "software": _first(all_tags, SOFTWARE_TAGS),
        },
        "encoder": _first(format_tags, ("encoder", "encoded_by")) or _first(video_tags, ("encoder",)),
        "warnings": warnings,
    }


def _is_cover_art(stream: dict[str, Any]) -> bool:
    return bool((stream.get("disposition") or {}).get("attached_pic"))
