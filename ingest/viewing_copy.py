"""Viewing copies: whether a browser can play a clip's original as it is (`browser_playable`), and
if not, how the decode pass makes an H.264/AAC MP4 that it can (`viewing_copy_output`). The copy is
a derivative for watching; the original stays the only evidence."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ingest.ffmpeg import ViewingCopyOutput
from ingest.probe import MediaInfo, main_video_stream

CONTENT_TYPE = "video/mp4"
# What browsers play without help (Chrome, Firefox, Safari and Edge agree on these), by container.
MP4_BRANDS = frozenset({"isom", "iso2", "iso4", "iso5", "iso6", "mp41", "mp42", "avc1", "dash", "M4V "})
VIDEO_CODECS = {"mp4": frozenset({"h264", "av1", "vp9"}), "webm": frozenset({"vp8", "vp9", "av1"})}
AUDIO_CODECS = {"mp4": frozenset({"aac", "mp3", "opus"}), "webm": frozenset({"opus", "vorbis"})}
ANY_VIDEO, ANY_AUDIO = frozenset().union(*VIDEO_CODECS.values()), frozenset().union(*AUDIO_CODECS.values())
# 8-bit 4:2:0 pictures (yuvj420p: the same, full range, as phones and webcams write JPEG-range H.264).
PIXEL_FORMATS = frozenset({"yuv420p", "yuvj420p"})
PROGRESSIVE = (None, "progressive", "unknown")


@dataclass(frozen=True)
class Playability:
    """Whether a browser plays the original as it is, and if not, every reason why not."""

    playable: bool
    reasons: tuple[str, ...]


def container_of(info: MediaInfo, doctype: str | None) -> str:
    """`mp4`, `webm`, or what else the file is (`mov`, `matroska`, `mpegts`, `avi` ...).
    ffprobe names MP4 and QuickTime alike, and Matroska and WebM alike: the file's MP4 brand
    and its EBML document type (`matroska_doctype`) tell them apart."""
    name = str(info.media["container"] or "unknown")
    if name.startswith("mov,mp4"):
        brand = str(((info.raw.get("format") or {}).get("tags") or {}).get("major_brand") or "")
        return "mp4" if brand in MP4_BRANDS else "mov"
    if name.startswith("matroska"):
        return "webm" if doctype == "webm" else "matroska"
    return name.split(",")[0]


def browser_playable(info: MediaInfo, *, doctype: str | None = None) -> Playability:
    """The rule (docs/media-analysis.md): an MP4 or WebM file whose video is H.264 (MP4) or
    VP8/VP9/AV1, 8-bit 4:2:0 and progressive, not rotated, with AAC/MP3/Opus (MP4) or Opus/Vorbis
    (WebM) audio or none. `doctype`: the EBML document type of a Matroska file."""
    video, audio = info.media["video"] or {}, info.media["audio"]
    container = container_of(info, doctype)
    reasons: list[str] = []
    if container not in VIDEO_CODECS:
        reasons.append(f"the container is {container}, not MP4 or WebM")
    # In another container, the codecs are those a browser would play in either.
    if video.get("codec") not in VIDEO_CODECS.get(container, ANY_VIDEO):
        reasons.append(f"the video codec is {video.get('codec')}, which browsers do not play")
    if audio and audio.get("codec") not in AUDIO_CODECS.get(container, ANY_AUDIO):
        reasons.append(f"the audio codec is {audio.get('codec')}, which browsers do not play")
    if video.get("pixel_format") not in PIXEL_FORMATS:
        reasons.append(f"the pictures are {video.get('pixel_format')}, not 8-bit 4:2:0")
    field_order = _field_order(info)
    if field_order not in PROGRESSIVE:
        reasons.append(f"the video is interlaced (field order {field_order})")
    if info.media["rotation"]:
        reasons.append(f"the picture is shown turned {info.media['rotation']}°, which not every browser applies")
    return Playability(not reasons, tuple(reasons))


def playability_of(info: MediaInfo, path: Path) -> Playability:
    """`browser_playable` for the probed file at `path` (read for its EBML document type)."""
    doctype = matroska_doctype(path) if str(info.media["container"] or "").startswith("matroska") else None
    return browser_playable(info, doctype=doctype)


def _field_order(info: MediaInfo) -> str | None:
    stream = main_video_stream(info.raw)
    value = stream.get("field_order") if stream else None
    return str(value) if value is not None else None


# Containers whose packets carry the times an MP4 needs, so their H.264 can move into one as it is.
REMUXABLE = frozenset({"mov", "matroska", "mpegts"})


def viewing_copy_output(info: MediaInfo, path: Path) -> ViewingCopyOutput:
    """What the decode pass writes to `path` for this clip: deinterlaced if the original is
    interlaced (by keeping one field where the copy is no taller than one), with its first audio
    stream if it has one. Where only the container keeps a browser from the original (H.264,
    8-bit 4:2:0, progressive and upright in QuickTime, Matroska or MPEG-TS), its coded pictures
    move into the MP4 as they are, and so does AAC or MP3 audio: no encoding, no loss."""
    video, audio = info.media["video"] or {}, info.media["audio"]
    progressive = _field_order(info) in PROGRESSIVE
    copy_video = (
        container_of(info, None) in REMUXABLE
        and video.get("codec") == "h264"
        and video.get("pixel_format") in PIXEL_FORMATS
        and progressive
        and not info.media["rotation"]
    )
    output = ViewingCopyOutput(
        path=path,
        deinterlace=not progressive,
        audio=audio is not None,
        copy_video=copy_video,
        copy_audio=copy_video and audio is not None and audio.get("codec") in AUDIO_CODECS["mp4"] - {"opus"},
    )
    return replace(output, one_field=_field_to_keep(info, output)) if output.deinterlace else output


def _field_to_keep(info: MediaInfo, output: ViewingCopyOutput) -> str | None:
    """For interlaced footage at least twice the copy's height (1080i into 540 lines), the field
    that comes first in time; None where the copy is taller than a field (576i), which yadif
    deinterlaces at the frame's full height."""
    video = info.media["video"] or {}
    width, height = video.get("width"), video.get("height")
    if not width or not height:
        return None
    scale = min(1.0, output.max_long_side / max(width, height), output.max_short_side / min(width, height))
    if height * scale > height / 2:
        return None
    return "bottom" if _field_order(info) in ("bb", "bt") else "top"


def describe(info: MediaInfo) -> dict[str, Any]:
    """The copy as ffprobe reads it: what its custody event and row record."""
    video, audio = info.media["video"] or {}, info.media["audio"] or {}
    return {
        "video_codec": video.get("codec"),
        "audio_codec": audio.get("codec"),
        "width": video.get("width"),
        "height": video.get("height"),
        "duration_s": info.duration_s,
    }


_EBML_HEADER, _DOCTYPE = 0x1A45DFA3, 0x4282


def _vint(data: bytes, at: int, *, keep_marker: bool) -> tuple[int, int]:
    if at >= len(data) or data[at] == 0:
        raise ValueError("not an EBML variable-length integer")
    length = 9 - data[at].bit_length()
    value = int.from_bytes(data[at : at + length], "big")
    return (value if keep_marker else value & ((1 << (7 * length)) - 1)), at + length


def matroska_doctype(path: Path) -> str | None:
    """The EBML document type a Matroska file declares at its start (`webm` or `matroska`), or
    None when the file does not begin with an EBML header that names one."""
    with path.open("rb") as handle:
        data = handle.read(256)
    try:
        element, at = _vint(data, 0, keep_marker=True)
        if element != _EBML_HEADER:
            return None
        size, at = _vint(data, at, keep_marker=False)
        end = min(at + size, len(data))
        while at < end:
            element, at = _vint(data, at, keep_marker=True)
            size, at = _vint(data, at, keep_marker=False)
            if element == _DOCTYPE:
                return data[at : at + size].decode("ascii", "replace")
            at += size
    except ValueError:
        return None
    return None
