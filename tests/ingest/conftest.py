from __future__ import annotations

from pathlib import Path

import pytest

from tests import media

GENERATORS = {
    "h264.mp4": media.make_h264_aac,
    "hevc.mov": media.make_hevc_mov,
    "vp9.webm": media.make_vp9_webm,
    "rotated.mp4": media.make_rotated_phone_clip,
    "tagged.mov": media.make_tagged_clip,
    "vfr.mp4": media.make_vfr_clip,
    "silent.mp4": media.make_silent_clip,
    "audio.m4a": media.make_audio_only,
    "still.png": media.make_still_image,
    "undecodable.mp4": media.make_undecodable,
    "playlist.m3u8": media.make_hls_playlist,
    "list.ffconcat": media.make_concat_list,
}


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every test clip, made once per session."""
    folder = tmp_path_factory.mktemp("clips")
    made = {name: make(folder / name) for name, make in GENERATORS.items()}
    made["truncated.mp4"] = media.make_truncated(folder / "truncated.mp4", made["h264.mp4"])
    text = folder / "notes.txt"
    text.write_text("not a video, just notes\n" * 50)
    made["notes.txt"] = text
    return made


@pytest.fixture
def rotated(clips: dict[str, Path]) -> Path:
    return clips["rotated.mp4"]
