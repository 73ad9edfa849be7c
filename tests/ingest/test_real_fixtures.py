"""The pipeline on real-world files from ../shared/fixtures/real (see its MANIFEST.md): their
metadata, keyframes and matches; and that whole files carry no integrity warning however their
streams are laid out (audio longer than the video, video that starts late, a frame held for
seconds, a camcorder AVI). One module, so that a checkout without ../shared skips it once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from storage.archive import Archive
from tests.conftest import SHARED, auth
from tests.helpers.api_calls import upload, wait_until_done
from tests.helpers.backends import embedded_only
from tests.helpers.pipeline import ingest_file, load

REAL = SHARED / "fixtures" / "real"
if not REAL.is_dir():  # one skip for the module, not one per test
    pytest.skip(f"{REAL} is absent (../shared is not beside the checkout)", allow_module_level=True)
pytestmark = pytest.mark.slow  # the pipeline on real footage


@pytest.fixture
def embedded(tmp_path: Path) -> Archive:
    from storage.archive import open_archive
    from verity.settings import Settings

    return open_archive(Settings(data_dir=tmp_path, keyframe_every_s=0.5), upgrade=True)


def ingest_real(archive: Archive, name: str) -> tuple[object, list, dict]:  # type: ignore[type-arg]
    clip, keyframes, _actions = load(archive, ingest_file(archive, REAL / name))
    return clip, keyframes, json.loads(clip.media) if clip.media else {}


def test_android_clip_with_gps_and_creation_time(embedded: Archive) -> None:
    clip, _, media = ingest_real(embedded, "metadata-extractor/with-gps.mp4")
    assert clip.status == "ready"  # type: ignore[attr-defined]
    assert media["location"] == {"lat": 51.4169, "lon": -0.0806, "alt": None}
    assert media["creation_time"]["container"] == "2017-02-22T08:20:28Z"
    assert media["device"]["software"] == "6.0.1"


def test_gps_with_altitude_and_audio_as_first_stream(embedded: Archive) -> None:
    clip, _, media = ingest_real(embedded, "metadata-extractor/issue-515.mp4")
    assert clip.status == "ready"  # type: ignore[attr-defined]
    assert media["location"] == {"lat": 52.3693, "lon": 6.6761, "alt": pytest.approx(10.534988)}
    assert media["video"]["codec"] == "h264" and media["audio"]["codec"] == "aac"


def test_null_island_is_not_reported_as_a_place(embedded: Archive) -> None:
    _, keyframes, media = ingest_real(embedded, "metadata-extractor/ftyp3gp5.mp4")
    assert media["location"] is None
    assert media["rotation"] == 90


def test_macos_recording_keeps_quicktime_device_keys(embedded: Archive) -> None:
    clip, _, media = ingest_real(embedded, "c2pa/C-recorded-as-mov.mov")
    assert clip.status == "ready"  # type: ignore[attr-defined]
    assert media["device"] == {"make": "Apple", "model": "Mac15,9", "software": "macOS 14.6.1 (23G93)"}
    assert media["video"]["variable_frame_rate"] is True
    assert (media["video"]["width"], media["video"]["height"]) == (2750, 1834)


def test_rotated_phone_footage_gives_upright_keyframes(embedded: Archive) -> None:
    clip, keyframes, media = ingest_real(embedded, "jcodec/orientation.mp4")
    assert clip.status == "ready"  # type: ignore[attr-defined]
    assert media["rotation"] == 90
    assert (keyframes[0].width, keyframes[0].height) == (360, 640)  # coded 1280x720, shown portrait


def test_cut_away_media_data_still_yields_metadata_and_fails_with_reason(embedded: Archive) -> None:
    clip, keyframes, media = ingest_real(embedded, "jcodec/keyed.mp4")
    assert clip.status == "failed"  # type: ignore[attr-defined]
    assert "no decodable frames" in clip.status_reason  # type: ignore[attr-defined]
    assert keyframes == []
    assert media["location"] == {"lat": 33.9951, "lon": -118.4762, "alt": None}
    assert media["creation_time"]["container"] == "2017-07-13T19:16:41Z"


def test_avi_camera_time_without_zone_is_not_given_one(embedded: Archive) -> None:
    clip, _, media = ingest_real(embedded, "metadata-extractor/MVI_4823.AVI")
    assert clip.status == "ready"  # type: ignore[attr-defined]
    assert media["creation_time"]["container"] == "2012-09-10T20:52:00"
    assert media["device"]["software"] == "CanonMVI06"


def test_keyframe_times_are_frame_accurate(embedded: Archive) -> None:
    _, keyframes, _ = ingest_real(embedded, "scenedetect/counter.mp4")  # 10 fps, 3 s
    times = [k.time_s for k in keyframes]
    assert times == pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0, 2.5])


def test_stream_that_starts_late_keeps_its_own_times(embedded: Archive) -> None:
    _, keyframes, _ = ingest_real(embedded, "scenedetect/delayed_start.mp4")
    assert keyframes[0].time_s == pytest.approx(1.075, abs=0.05)


def test_real_hard_cuts_are_found_as_scene_changes(embedded: Archive) -> None:
    _, keyframes, _ = ingest_real(embedded, "scenedetect/testvideo.mp4")
    scenes = [k.time_s for k in keyframes if k.reason == "scene"]
    # PySceneDetect's ContentDetector golden: cuts at frames 30, 180 and 394 (29.97 fps). The third
    # is a soft cut whose ffmpeg scene score is 0.025, far below any usable threshold.
    assert scenes == pytest.approx([30 / 29.97, 180 / 29.97], abs=0.05)


@pytest.mark.parametrize(
    ("name", "status", "words"),
    [
        ("jcodec/a01_0023.mp4", "unsupported", "audio only"),
        ("exiftool/ASF.wmv", "unsupported", "not a recognised"),
        ("exiftool/Matroska.mkv", "failed", "File ended prematurely"),
        ("exiftool/QuickTime.mov", "failed", "no decodable frames"),
        ("exiftool/RIFF.avi", "failed", "no decodable frames"),
        ("c2pa/A.jpg", "unsupported", "still image"),
    ],
)
def test_broken_and_non_video_real_files_end_with_a_reason(
    embedded: Archive, name: str, status: str, words: str
) -> None:
    clip, keyframes, _ = ingest_real(embedded, name)
    assert clip.status == status  # type: ignore[attr-defined]
    assert words in clip.status_reason  # type: ignore[attr-defined]
    assert keyframes == []


def test_single_frame_video_with_longer_audio_is_ready_with_one_keyframe(embedded: Archive) -> None:
    clip, keyframes, _ = ingest_real(embedded, "jcodec/37.mp4")
    assert clip.status == "ready"  # type: ignore[attr-defined]
    assert len(keyframes) == 1 and (keyframes[0].width, keyframes[0].height) == (480, 640)


def test_threatexchange_copies_match_the_original_and_the_doorknob_matches_nothing(tmp_path: Path) -> None:
    from ingest.index import FingerprintIndex
    from ingest.match import match_clip
    from ingest.pipeline import analyse_file
    from verity.settings import Settings

    folder = REAL / "threatexchange-tmk"
    settings = Settings(data_dir=tmp_path)
    prints = {p.name: analyse_file(p, settings, tmp_path / p.stem) for p in sorted(folder.glob("*.mp4"))}
    index = FingerprintIndex()
    for name in ("pattern-hd-no-bar.mp4", "doorknob-hd-no-bar.mp4"):
        index.add(name, prints[name][0])
    index.finish_loading()  # all entries in sorted runs, as in a large archive: seeds need chunk hits
    for name, (print_, mirrored) in prints.items():
        found = [m.clip_id for m in match_clip(index, print_, mirrored, sample_step_s=0.5, exclude_clip_id=name)]
        if name.startswith("pattern-") and name != "pattern-hd-no-bar.mp4":
            assert found == ["pattern-hd-no-bar.mp4"], name
        else:
            assert found == [], name


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
def test_whole_real_file_has_no_integrity_warning(embedded: Archive, name: str) -> None:
    clip, _keyframes, _media = ingest_real(embedded, name)
    assert clip.status == "ready", clip.status_reason  # type: ignore[attr-defined]
    integrity = json.loads(clip.integrity or "null")  # type: ignore[attr-defined]
    assert integrity["warnings"] == [] and integrity["decode_errors"] == 0, integrity


@embedded_only
def test_real_camcorder_clip_without_a_zone_is_found_in_its_year(client: TestClient, keys: dict[str, str]) -> None:
    path = REAL / "metadata-extractor" / "MVI_4823.AVI"
    clip_id = upload(client, keys["contributor"], path.read_bytes(), name=path.name).json()["id"]
    clip = wait_until_done(client, keys["viewer"], clip_id)
    assert clip["recorded"]["at"] == "2012-09-10T20:52:00" and clip["recorded"]["zone_known"] is False
    in_2012 = "recorded_from=2012-01-01T00:00:00Z&recorded_to=2013-01-01T00:00:00Z"
    response = client.get(f"/api/v1/clips?{in_2012}", headers=auth(keys["viewer"]))
    assert [c["id"] for c in response.json()["items"]] == [clip_id]
