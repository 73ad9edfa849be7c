"""The pipeline on real-world files from ../shared/fixtures/real (see its MANIFEST.md): their
metadata, keyframes and matches; and that whole files carry no integrity warning however their
streams are laid out (audio longer than the video, video that starts late, a frame held for
seconds, a camcorder AVI); and the Content Credentials (C2PA) of c2pa-python's own fixtures, as
its reference reports in `c2pa/expected/` have them. One module, so that a checkout without
../shared skips it once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ingest.content_credentials import read_content_credentials
from storage.archive import Archive
from tests.conftest import SHARED, auth
from tests.helpers.api_calls import upload, wait_until_done
from tests.helpers.backends import embedded_only
from tests.helpers.pipeline import ingest_file, load

REAL = SHARED / "fixtures" / "real"
C2PA = REAL / "c2pa"
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


# Content Credentials (C2PA): c2pa-python's fixtures, against its own reports.


def expected(name: str) -> dict[str, Any]:
    report: dict[str, Any] = json.loads((C2PA / "expected" / f"{name}.c2pa.json").read_text(encoding="utf-8"))
    return report


@pytest.mark.parametrize("name", ["legacy.mp4", "dashinit.mp4", "C.jpg", "E-sig-CA.jpg"])
def test_state_failures_and_claim_are_those_of_the_reference_report(name: str) -> None:
    peer = expected(name)
    credentials = read_content_credentials(C2PA / name)
    assert credentials.validation_state == peer["_validation_state"]
    assert [f.code for f in credentials.failures] == [s["code"] for s in peer["validation_status"]]
    assert credentials.active_manifest == peer["active_manifest"]
    manifest = peer["manifests"][peer["active_manifest"]]
    assert credentials.manifest_count == len(peer["manifests"])
    assert credentials.signer is not None
    assert credentials.signer.common_name == manifest["signature_info"]["common_name"]
    assert credentials.signed_at == manifest["signature_info"].get("time")


@pytest.mark.parametrize("name", ["A.jpg", "C-recorded-as-mov.mov", "test.avi"])
def test_files_without_a_manifest_have_none(name: str) -> None:
    if name != "test.avi":  # the reference reader found nothing in these either
        assert expected(name)["_error"] == "_C2paManifestNotFound"
    assert read_content_credentials(C2PA / name).state == "none"


def test_a_re_signed_camera_clip_shows_its_signer_time_actions_and_parent() -> None:
    credentials = read_content_credentials(C2PA / "legacy.mp4")
    assert credentials.state == "signer_untrusted"  # its test signer chains to no configured anchor
    assert credentials.claim_generator == "TestApp c2patool/0.3.8 c2pa-rs/0.16.1"
    assert credentials.signer is not None and credentials.signer.common_name == "mauricefisher@nc.rr.com"
    assert credentials.signed_at == "2023-02-21T15:09:04+00:00"  # from the timestamp in its signature
    assert [a.action for a in credentials.actions] == ["c2pa.opened"]
    assert [(i.title, i.relationship, i.has_manifest) for i in credentials.ingredients] == [
        ("video1.mp4", "parentOf", True)
    ]


def test_a_dash_init_segment_read_alone_fails_its_bmff_hash() -> None:
    credentials = read_content_credentials(C2PA / "dashinit.mp4")
    assert credentials.state == "invalid"
    assert credentials.reason == "fails: assertion.bmffHash.mismatch (c2pa.hash.bmff.v2)"


def test_a_damaged_claim_signature_is_invalid() -> None:
    credentials = read_content_credentials(C2PA / "E-sig-CA.jpg")
    assert credentials.state == "invalid" and credentials.reason == "fails: claimSignature.mismatch"


def test_the_pipeline_records_the_credentials_of_a_real_signed_clip(embedded: Archive) -> None:
    clip, _keyframes, actions = load(embedded, ingest_file(embedded, C2PA / "legacy.mp4"))
    assert clip.status == "ready", clip.status_reason
    assert clip.content_credentials_state == "signer_untrusted"
    assert json.loads(clip.content_credentials or "{}")["ingredients"][0]["title"] == "video1.mp4"
    assert "content_credentials_read" in actions


def test_a_signed_still_image_is_unsupported_media_with_its_credentials_read(embedded: Archive) -> None:
    clip, _keyframes, _actions = load(embedded, ingest_file(embedded, C2PA / "C.jpg"))
    assert clip.status == "unsupported"  # no moving picture to analyse…
    assert clip.content_credentials_state == "signer_untrusted"  # …but what it claims is on record
