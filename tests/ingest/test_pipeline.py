"""The whole ingest pipeline over real clips in a real archive (both deployments)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from PIL import Image

from ingest.near_duplicates import NearDuplicateFinder
from ingest.pipeline import run_ingest
from storage.archive import Archive
from tests.helpers.pipeline import ingest_file, load


# Browsers cannot play HEVC, QuickTime files or RGB VP9 (the test pattern's): those get a viewing copy.
# Clips with a sound track get its fingerprint.
@pytest.mark.parametrize(
    ("name", "viewing_copy", "sound"),
    [
        ("h264.mp4", False, True),
        ("hevc.mov", True, False),
        ("vp9.webm", True, True),
        ("vfr.mp4", False, False),
        ("silent.mp4", False, False),
        ("tagged.mov", True, True),
    ],
)
def test_clip_ends_ready_with_media_and_keyframes(
    archive: Archive, clips: dict[str, Path], name: str, viewing_copy: bool, sound: bool
) -> None:
    clip_id = ingest_file(archive, clips[name])
    clip, keyframes, actions = load(archive, clip_id)
    assert clip.status == "ready", clip.status_reason
    assert clip.ingest_progress == 1.0 and clip.ingest_step is None
    media = json.loads(clip.media or "{}")
    assert media["video"]["width"] == 320
    assert keyframes[0].time_s < 0.1 and keyframes[0].reason == "first"
    assert actions == [
        "uploaded",
        "ingest_started",
        "content_credentials_read",
        "probed",
        "decoded",
        "keyframes_extracted",
        *(["viewing_copy_made"] if viewing_copy else []),
        "fingerprinted",
        *(["audio_fingerprinted"] if sound else []),
        "near_duplicates_found",
        "ingest_finished",
    ]


def test_scene_change_and_interval_keyframes_have_their_times(archive: Archive, clips: dict[str, Path]) -> None:
    archive.settings.keyframe_every_s = 1.0
    clip, keyframes, _ = load(archive, ingest_file(archive, clips["h264.mp4"]))  # a cut at 2.0 s, 4 s long
    scenes = [k.time_s for k in keyframes if k.reason == "scene"]
    assert scenes == [pytest.approx(2.0, abs=0.05)]
    times = [k.time_s for k in keyframes]
    assert times == sorted(times)
    assert all(later - earlier <= 1.0 + 0.05 for earlier, later in zip(times, times[1:], strict=False))
    assert max(times) >= 3.0


def test_thumbnails_are_stored_upright_within_the_size_limit(archive: Archive, rotated: Path) -> None:
    archive.settings.thumbnail_max_side = 200
    clip, keyframes, _ = load(archive, ingest_file(archive, rotated))
    assert clip.status == "ready"
    first = keyframes[0]
    assert (first.width, first.height) == (150, 200)  # stored 320×240 landscape, shown 240×320
    jpeg = b"".join(archive.blobs.open(first.blob_key))
    assert jpeg[:2] == b"\xff\xd8"
    assert len(jpeg) == first.size_bytes


def test_thumbnail_is_a_real_picture_of_the_frame(archive: Archive, clips: dict[str, Path], tmp_path: Path) -> None:
    _clip, keyframes, _ = load(archive, ingest_file(archive, clips["h264.mp4"]))
    path = tmp_path / "k.jpg"
    path.write_bytes(b"".join(archive.blobs.open(keyframes[0].blob_key)))
    with Image.open(path) as image:
        assert image.size == (320, 240)
        colours = image.convert("RGB").getcolors(maxcolors=1 << 16)
        assert colours is None or len(colours) > 50  # a test pattern, not a blank frame


@pytest.mark.parametrize(
    ("name", "status", "words"),
    [
        ("audio.m4a", "unsupported", "audio only"),
        ("still.png", "unsupported", "still image"),
        ("notes.txt", "unsupported", "not a"),
        ("playlist.m3u8", "unsupported", "'hls'"),
        ("list.ffconcat", "unsupported", "'concat'"),
        ("truncated.mp4", "failed", "moov atom not found"),
        ("undecodable.mp4", "failed", ""),
    ],
)
def test_bad_input_ends_in_a_terminal_state_with_a_reason_and_the_original_kept(
    archive: Archive, clips: dict[str, Path], name: str, status: str, words: str
) -> None:
    clip, keyframes, actions = load(archive, ingest_file(archive, clips[name]))
    assert clip.status == status
    assert clip.status_reason and words in clip.status_reason
    assert keyframes == []
    assert actions[-1] == "ingest_failed"
    assert b"".join(archive.blobs.open(clip.blob_key)) == clips[name].read_bytes()


def test_playlist_pointing_at_the_network_is_not_followed(archive: Archive, tmp_path: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(0.5)
        port = listener.getsockname()[1]
        playlist = tmp_path / "evil.m3u8"
        playlist.write_text(
            f"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nhttp://127.0.0.1:{port}/a.ts\n#EXT-X-ENDLIST\n"
        )
        clip, _, _ = load(archive, ingest_file(archive, playlist))
        assert clip.status == "unsupported"
        with pytest.raises(TimeoutError):
            listener.accept()


def test_reprocessing_replaces_keyframes_and_extends_the_chain(archive: Archive, clips: dict[str, Path]) -> None:
    from ingest.pipeline import request_reprocess

    clip_id = ingest_file(archive, clips["silent.mp4"])
    first_count = len(load(archive, clip_id)[1])
    archive.settings.keyframe_every_s = 0.5
    request_reprocess(archive, clip_id, "admin-key")
    run_ingest(archive, NearDuplicateFinder(archive.sessions), clip_id)
    clip, keyframes, actions = load(archive, clip_id)
    assert clip.status == "ready"
    assert len(keyframes) > first_count
    assert [k.index for k in keyframes] == list(range(len(keyframes)))
    assert actions.count("ingest_finished") == 2 and "reprocess_requested" in actions


def test_decode_over_its_time_limit_fails_with_that_reason(archive: Archive, clips: dict[str, Path]) -> None:
    archive.settings.decode_timeout_s = 0.05
    clip, keyframes, _ = load(archive, ingest_file(archive, clips["vp9.webm"]))
    assert clip.status == "failed"
    assert "longer than the limit" in (clip.status_reason or "")
    assert keyframes == []


def test_ffmpeg_memory_limit_is_enforced(archive: Archive, clips: dict[str, Path]) -> None:
    archive.settings.ffmpeg_memory_mb = 256  # far too little for ffmpeg's decoders
    clip, _, _ = load(archive, ingest_file(archive, clips["h264.mp4"]))
    assert clip.status == "failed"
    assert clip.status_reason
