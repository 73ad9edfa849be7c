"""Whole real-world files carry no integrity warning, however their streams are laid out: audio
longer than the video, video that starts late, a single frame held for seconds, a camcorder AVI."""

from __future__ import annotations

import json

import pytest

from storage.archive import Archive
from tests.conftest import SHARED
from tests.helpers.pipeline import ingest_file, load

REAL = SHARED / "fixtures" / "real"
if not REAL.is_dir():  # one skip for the module, not one per file
    pytest.skip(f"{REAL} is absent (../shared is not beside the checkout)", allow_module_level=True)


@pytest.mark.parametrize(
    "name",
    [
        "threatexchange-tmk/doorknob-hd-no-bar.mp4",  # audio runs 0.3 s past the video
        "threatexchange-tmk/pattern-longer-no-bar.mp4",
        "scenedetect/delayed_start.mp4",  # the video starts 1 s in
        "jcodec/37.mp4",  # one frame shown for 4 s
        "metadata-extractor/MVI_4823.AVI",
    ],
)
def test_whole_real_file_has_no_integrity_warning(archive: Archive, name: str) -> None:
    clip, _keyframes, _actions = load(archive, ingest_file(archive, REAL / name))
    assert clip.status == "ready", clip.status_reason
    integrity = json.loads(clip.integrity or "null")
    assert integrity["warnings"] == [] and integrity["decode_errors"] == 0, integrity
