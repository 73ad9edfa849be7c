"""Viewing copies: the rule that says which originals a browser cannot play, and the H.264/AAC MP4
the ingest pipeline makes of those in its decode pass (both deployments)."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ingest import pipeline
from ingest.decode import decode
from ingest.ffmpeg import DecodeOutputs, Limits, ViewingCopyOutput, decode_command
from ingest.near_duplicates import NearDuplicateFinder
from ingest.pipeline import decode_plan, probe_limits, request_reprocess, run_ingest
from ingest.probe import MediaInfo, probe
from ingest.viewing_copy import matroska_doctype, playability_of, viewing_copy_output
from storage.archive import Archive
from storage.custody import list_events
from storage.models import ViewingCopy
from tests import media
from tests.helpers.pipeline import ingest_file, load
from verity.settings import Settings


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("viewing")
    vp9 = media.make_vp9_webm(folder / "vp9.webm", "yuv420p")
    return {
        "h264.mp4": media.make_h264_aac(folder / "h264.mp4"),
        "vp9.webm": vp9,
        "vp9.mkv": media.make_remuxed(folder / "vp9.mkv", vp9),
        "rgb-vp9.webm": media.make_vp9_webm(folder / "rgb-vp9.webm"),
        "hevc.mov": media.make_hevc_mov(folder / "hevc.mov"),
        "tagged.mov": media.make_tagged_clip(folder / "tagged.mov"),
        "rotated.mp4": media.make_rotated_phone_clip(folder / "rotated.mp4"),
        "interlaced.ts": media.make_interlaced_ts(folder / "interlaced.ts"),
        "interlaced-hd.ts": media.make_interlaced_hd_ts(folder / "interlaced-hd.ts"),
        "10bit.mp4": media.make_10bit_mp4(folder / "10bit.mp4"),
        "avi": media.make_in_container(folder / "clip.avi", "avi"),
    }


def probed(path: Path) -> MediaInfo:
    return probe(path, probe_limits(Settings()))


def ffprobe(path: Path) -> dict[str, Any]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)],
        capture_output=True,
        check=True,
        timeout=60,
    )
    parsed: dict[str, Any] = json.loads(out.stdout)
    return parsed


def stream(info: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(s for s in info["streams"] if s["codec_type"] == kind)


def fetch(archive: Archive, key: str, path: Path) -> Path:
    path.write_bytes(b"".join(archive.blobs.open(key)))
    return path


def copy_of(archive: Archive, clip_id: str) -> ViewingCopy | None:
    with archive.sessions() as session:
        return session.get(ViewingCopy, clip_id)


def details(archive: Archive, clip_id: str, action: str) -> list[dict[str, Any]]:
    with archive.sessions() as session:
        return [json.loads(e.details) for e in list_events(session, clip_id) if e.action == action]


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("h264.mp4", None),
        ("vp9.webm", None),
        ("rgb-vp9.webm", ["gbrp, not 8-bit 4:2:0"]),
        ("hevc.mov", ["the container is mov", "the video codec is hevc"]),
        ("tagged.mov", ["the container is mov"]),
        ("vp9.mkv", ["the container is matroska"]),
        ("rotated.mp4", ["turned 90°"]),
        ("interlaced.ts", ["the container is mpegts", "mpeg2video", "mp2", "interlaced (field order tt)"]),
        ("10bit.mp4", ["yuv420p10le, not 8-bit 4:2:0"]),
        ("avi", ["the container is avi", "the video codec is mpeg4"]),
    ],
)
def test_browser_playable_names_every_reason_an_original_needs_a_copy(
    made: dict[str, Path], name: str, words: list[str] | None
) -> None:
    playability = playability_of(probed(made[name]), made[name])
    assert playability.playable is (words is None)
    for word in words or []:
        assert any(word in reason for reason in playability.reasons), (word, playability.reasons)
    assert len(playability.reasons) == len(words or [])


def test_webm_and_matroska_are_told_apart_by_their_document_type(made: dict[str, Path], tmp_path: Path) -> None:
    assert matroska_doctype(made["vp9.webm"]) == "webm"
    assert matroska_doctype(made["vp9.mkv"]) == "matroska"
    assert matroska_doctype(made["h264.mp4"]) is None
    (tmp_path / "short").write_bytes(b"\x1a\x45\xdf\xa3\x9f")
    assert matroska_doctype(tmp_path / "short") is None


def test_hevc_clip_gets_an_h264_mp4_copy_whose_hash_custody_records(
    archive: Archive, made: dict[str, Path], tmp_path: Path
) -> None:
    clip_id = ingest_file(archive, made["hevc.mov"])
    clip, _keyframes, actions = load(archive, clip_id)
    assert clip.status == "ready", clip.status_reason
    assert clip.browser_playable is False
    assert actions.index("viewing_copy_made") == actions.index("keyframes_extracted") + 1
    row = copy_of(archive, clip_id)
    assert row is not None and row.blob_key is not None and row.failure is None
    served = fetch(archive, row.blob_key, tmp_path / "copy.mp4")
    digest = hashlib.sha256(served.read_bytes()).hexdigest()
    [event] = details(archive, clip_id, "viewing_copy_made")
    assert event["sha256"] == row.sha256 == digest
    assert event["size_bytes"] == row.size_bytes == served.stat().st_size
    assert any("hevc" in reason for reason in event["needed_because"]) and event["video"] == "encoded"
    info = ffprobe(served)
    assert "mp4" in info["format"]["format_name"] and info["format"]["tags"]["major_brand"] == "isom"
    video = stream(info, "video")
    assert (video["codec_name"], video["pix_fmt"]) == ("h264", "yuv420p")
    assert (video["width"], video["height"]) == (320, 240)
    assert abs(float(info["format"]["duration"]) - 3.0) < 0.2
    # +faststart: the index comes before the pictures, so a browser starts playing at once.
    head = served.read_bytes()[:4096]
    assert head.find(b"moov") != -1 and (head.find(b"mdat") == -1 or head.find(b"moov") < head.find(b"mdat"))
    assert playability_of(probed(served), served).playable


def test_rotated_clip_copy_is_upright_with_no_rotation_left(
    archive: Archive, made: dict[str, Path], tmp_path: Path
) -> None:
    clip_id = ingest_file(archive, made["rotated.mp4"])
    row = copy_of(archive, clip_id)
    assert row is not None and row.blob_key is not None, row and row.failure
    video = stream(ffprobe(fetch(archive, row.blob_key, tmp_path / "copy.mp4")), "video")
    assert (video["width"], video["height"]) == (240, 320)  # stored 320×240, shown turned 90°
    assert "rotate" not in (video.get("tags") or {})
    assert not [side for side in video.get("side_data_list") or [] if "rotation" in side]


def packets_hash(path: Path, stream_spec: str) -> str:
    """SHA-256 over the coded packets of one stream, whatever their container and times."""
    run = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-map", f"0:{stream_spec}", "-c", "copy"]
        + ["-f", "streamhash", "-hash", "sha256", "-"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return run.stdout.strip().rsplit("=", 1)[-1]


def test_h264_in_quicktime_moves_into_the_copy_as_it_is(
    archive: Archive, made: dict[str, Path], tmp_path: Path
) -> None:
    original = made["tagged.mov"]  # H.264 and AAC: only the container keeps browsers from it
    clip_id = ingest_file(archive, original)
    row = copy_of(archive, clip_id)
    assert row is not None and row.blob_key is not None, row and row.failure
    served = fetch(archive, row.blob_key, tmp_path / "copy.mp4")
    assert packets_hash(served, "v:0") == packets_hash(original, "v:0")
    assert packets_hash(served, "a:0") == packets_hash(original, "a:0")
    [event] = details(archive, clip_id, "viewing_copy_made")
    assert event["video"] == "copied"
    assert "location" not in json.dumps(ffprobe(served)["format"].get("tags", {}))  # its metadata left out
    assert playability_of(probed(served), served).playable


def combed_frames(path: Path) -> tuple[int, int]:
    """(interlaced, progressive) frames by ffmpeg's idet filter, which looks for combing."""
    run = subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-i", str(path), "-vf", "idet", "-an", "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    found = re.search(r"Multi frame detection: TFF:\s*(\d+) BFF:\s*(\d+) Progressive:\s*(\d+)", run.stderr)
    assert found, run.stderr[-2000:]
    return int(found.group(1)) + int(found.group(2)), int(found.group(3))


def test_interlaced_clip_copy_is_deinterlaced_with_its_audio(
    archive: Archive, made: dict[str, Path], tmp_path: Path
) -> None:
    interlaced, _ = combed_frames(made["interlaced.ts"])
    assert interlaced > 60  # the original is combed throughout
    clip_id = ingest_file(archive, made["interlaced.ts"])
    row = copy_of(archive, clip_id)
    assert row is not None and row.blob_key is not None, row and row.failure
    served = fetch(archive, row.blob_key, tmp_path / "copy.mp4")
    combed, progressive = combed_frames(served)
    assert progressive > 10 * max(combed, 1)
    info = ffprobe(served)
    assert stream(info, "video")["field_order"] == "progressive"
    assert (stream(info, "audio")["codec_name"], row.audio_codec) == ("aac", "aac")
    assert row.height == 540 and row.width in (674, 676)  # 720×576 fitted within 960×540, even sides


def test_interlaced_hd_copy_keeps_one_field_in_the_frames_shape(
    archive: Archive, made: dict[str, Path], tmp_path: Path
) -> None:
    clip_id = ingest_file(archive, made["interlaced-hd.ts"])
    row = copy_of(archive, clip_id)
    assert row is not None and row.blob_key is not None, row and row.failure
    served = fetch(archive, row.blob_key, tmp_path / "copy.mp4")
    combed, progressive = combed_frames(served)
    assert progressive > 10 * max(combed, 1)
    video = stream(ffprobe(served), "video")
    assert (video["width"], video["height"], video["field_order"]) == (960, 540, "progressive")
    assert video.get("sample_aspect_ratio", "1:1") == "1:1"  # 16:9 as the original, not squashed
    assert (stream(ffprobe(served), "audio")["codec_name"], row.audio_codec) == ("aac", "aac")


def copy_filters(path: Path) -> str:
    """The filters of the decode pass's viewing-copy branch for the clip at `path`."""
    info = probed(path)
    output = viewing_copy_output(info, path.with_suffix(".copy.mp4"))
    command = decode_command(path, decode_plan(Settings()), DecodeOutputs(path, path, path, output))
    return command[command.index("-filter_complex") + 1]


def test_interlaced_copy_keeps_a_field_only_where_the_copy_is_no_taller_than_one(made: dict[str, Path]) -> None:
    assert viewing_copy_output(probed(made["interlaced-hd.ts"]), Path("c.mp4")).one_field == "top"
    hd = copy_filters(made["interlaced-hd.ts"])
    assert "field=type=top" in hd and "yadif" not in hd  # 540 lines of 1080: one field is enough
    assert viewing_copy_output(probed(made["interlaced.ts"]), Path("c.mp4")).one_field is None
    sd = copy_filters(made["interlaced.ts"])
    assert "yadif" in sd and "field=" not in sd  # 540 lines of 576: a field (288) is too few


def test_browser_playable_clip_gets_no_copy(archive: Archive, made: dict[str, Path]) -> None:
    clip_id = ingest_file(archive, made["h264.mp4"])
    clip, _keyframes, actions = load(archive, clip_id)
    assert clip.status == "ready" and clip.browser_playable is True
    assert copy_of(archive, clip_id) is None
    assert not [a for a in actions if a.startswith("viewing_copy")]


def test_unsupported_clip_is_not_judged_for_a_copy(archive: Archive, tmp_path: Path) -> None:
    clip_id = ingest_file(archive, media.make_audio_only(tmp_path / "audio.m4a"))
    clip, _keyframes, _actions = load(archive, clip_id)
    assert clip.status == "unsupported" and clip.browser_playable is None
    assert copy_of(archive, clip_id) is None


def test_reprocess_replaces_the_copy_and_deletes_the_old_one(archive: Archive, made: dict[str, Path]) -> None:
    clip_id = ingest_file(archive, made["tagged.mov"])
    first = copy_of(archive, clip_id)
    assert first is not None and first.blob_key is not None
    request_reprocess(archive, clip_id, "tester")
    run_ingest(archive, NearDuplicateFinder(archive.sessions), clip_id)
    second = copy_of(archive, clip_id)
    assert second is not None and second.blob_key is not None
    assert second.blob_key != first.blob_key and second.attempt == first.attempt + 1
    assert archive.blobs.exists(second.blob_key) and not archive.blobs.exists(first.blob_key)
    assert len(details(archive, clip_id, "viewing_copy_made")) == 2


def test_failing_to_make_the_copy_is_a_warning_not_a_failed_analysis(
    archive: Archive, made: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    def unmakeable(info: MediaInfo, path: Path) -> ViewingCopyOutput:
        return ViewingCopyOutput(path=path, deinterlace=False, audio=False, preset="no-such-preset")

    monkeypatch.setattr(pipeline, "viewing_copy_output", unmakeable)
    clip_id = ingest_file(archive, made["hevc.mov"])
    clip, keyframes, actions = load(archive, clip_id)
    assert clip.status == "ready", clip.status_reason
    assert keyframes and "fingerprinted" in actions and "viewing_copy_made" not in actions
    row = copy_of(archive, clip_id)
    assert row is not None and row.blob_key is None and row.sha256 is None
    assert row.failure and "preset" in row.failure
    [event] = details(archive, clip_id, "viewing_copy_failed")
    assert event["reason"] == row.failure


def test_decode_pass_without_its_copy_still_yields_the_frames(made: dict[str, Path], tmp_path: Path) -> None:
    settings = Settings()
    broken = ViewingCopyOutput(path=tmp_path / "missing-folder" / "copy.mp4", deinterlace=False, audio=True)
    limits = Limits(60, settings.ffmpeg_memory_mb)
    frames = decode(made["hevc.mov"], decode_plan(settings), tmp_path / "decode", limits, None, broken)
    assert frames.thumbnails and frames.sample_count > 0
    assert frames.viewing_copy is None and frames.viewing_copy_failure


def test_an_analysis_claimed_again_before_recording_its_copy_leaves_nothing_behind(
    archive: Archive, made: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    clip_id = ingest_file(archive, made["hevc.mov"])  # attempt 1: ready, with its copy
    store = pipeline._store_viewing_copy
    stored: list[ViewingCopy] = []

    def claimed_again_meanwhile(claim: pipeline.Claim, *args: Any) -> ViewingCopy:
        row = store(claim, *args)
        stored.append(row)
        if len(stored) == 1:  # attempt 2's copy is in the store; attempt 3 claims the clip and finishes
            assert run_ingest(archive, NearDuplicateFinder(archive.sessions), clip_id).status == "ready"
        return row

    monkeypatch.setattr(pipeline, "_store_viewing_copy", claimed_again_meanwhile)
    request_reprocess(archive, clip_id, "tester")
    assert run_ingest(archive, NearDuplicateFinder(archive.sessions), clip_id).status == "superseded"
    refused, kept = stored
    assert refused.blob_key and kept.blob_key and (refused.attempt, kept.attempt) == (2, 3)
    assert not archive.blobs.exists(refused.blob_key) and archive.blobs.exists(kept.blob_key)
    row = copy_of(archive, clip_id)
    assert row is not None and (row.attempt, row.sha256) == (3, kept.sha256)
    assert [event["attempt"] for event in details(archive, clip_id, "viewing_copy_made")] == [1, 3]
