"""Normalised metadata from real ffprobe runs on generated clips."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.ffmpeg import Limits
from ingest.probe import parse_iso6709, probe, require_video
from verity.errors import MediaFailed, UnsupportedMedia

LIMITS = Limits(timeout_s=30, memory_mb=2048)


def test_h264_aac_mp4_fields(clips: dict[str, Path]) -> None:
    media = probe(clips["h264.mp4"], LIMITS).media
    assert media["container"].startswith("mov,mp4")
    assert media["duration_s"] == pytest.approx(4.0, abs=0.1)
    assert media["video"]["codec"] == "h264"
    assert (media["video"]["width"], media["video"]["height"]) == (320, 240)
    assert media["video"]["avg_frame_rate"] == 30.0
    assert media["video"]["variable_frame_rate"] is False
    assert media["audio"] == {"codec": "aac", "channels": 1, "sample_rate": 44100}
    assert media["encoder"].startswith("Lavf")
    assert media["rotation"] is None


def test_hevc_and_vp9_are_recognised(clips: dict[str, Path]) -> None:
    assert probe(clips["hevc.mov"], LIMITS).media["video"]["codec"] == "hevc"
    webm = probe(clips["vp9.webm"], LIMITS).media
    assert webm["video"]["codec"] == "vp9"
    assert webm["audio"]["codec"] == "opus"
    assert webm["container"] == "matroska,webm"


def test_missing_values_are_null_not_invented(clips: dict[str, Path]) -> None:
    media = probe(clips["silent.mp4"], LIMITS).media
    assert media["audio"] is None
    assert media["location"] is None
    assert media["device"] == {"make": None, "model": None, "software": None}
    assert media["creation_time"] == {"container": None, "stream": None}


def test_phone_tags_give_location_device_and_creation_time(clips: dict[str, Path]) -> None:
    media = probe(clips["tagged.mov"], LIMITS).media
    assert media["location"] == {"lat": 35.7006, "lon": 51.3347, "alt": 1190.0}
    assert media["device"] == {"make": "Apple", "model": "iPhone 8", "software": "13.1.3"}
    assert media["creation_time"]["container"] == "2019-11-16T14:15:00Z"


def test_display_matrix_gives_rotation_and_upright_size(rotated: Path) -> None:
    media = probe(rotated, LIMITS).media
    assert media["rotation"] == 90
    assert (media["video"]["display_width"], media["video"]["display_height"]) == (240, 320)


def test_variable_frame_rate_is_flagged(clips: dict[str, Path]) -> None:
    video = probe(clips["vfr.mp4"], LIMITS).media["video"]
    assert video["variable_frame_rate"] is True
    assert video["avg_frame_rate"] < video["real_frame_rate"]


def test_raw_ffprobe_json_is_kept(clips: dict[str, Path]) -> None:
    raw = probe(clips["h264.mp4"], LIMITS).raw
    assert {"format", "streams"} <= set(raw)
    assert raw["streams"][0]["codec_name"] == "h264"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+35.6895+139.6917+040.000/", {"lat": 35.6895, "lon": 139.6917, "alt": 40.0}),
        ("-33.8688+151.2093/", {"lat": -33.8688, "lon": 151.2093, "alt": None}),
        ("+95.0+10.0/", None),
        ("somewhere", None),
        ("", None),
    ],
)
def test_iso6709_parsing(text: str, expected: object) -> None:
    assert parse_iso6709(text) == expected


@pytest.mark.parametrize(
    ("name", "error", "words"),
    [
        ("notes.txt", UnsupportedMedia, "not a"),
        ("truncated.mp4", MediaFailed, "moov atom not found"),
        ("playlist.m3u8", UnsupportedMedia, "not a"),
        ("list.ffconcat", UnsupportedMedia, "not a"),
    ],
)
def test_unreadable_files_raise_with_ffmpegs_reason(
    clips: dict[str, Path], name: str, error: type[Exception], words: str
) -> None:
    with pytest.raises(error) as raised:
        probe(clips[name], LIMITS)
    assert words in str(raised.value)


@pytest.mark.parametrize(("name", "words"), [("audio.m4a", "audio only"), ("still.png", "still image")])
def test_files_without_moving_picture_are_unsupported(clips: dict[str, Path], name: str, words: str) -> None:
    info = probe(clips[name], LIMITS)
    with pytest.raises(UnsupportedMedia, match=words):
        require_video(info)
