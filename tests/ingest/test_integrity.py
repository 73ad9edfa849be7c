"""A file that promises more than it holds: cut-off clips in several containers are recorded with
what they declare, what decoded, and a plain warning; whole clips carry none."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from storage.archive import Archive
from tests import media
from tests.helpers.pipeline import ingest_file, load

CONTAINERS = ("mp4", "mkv", "webm", "avi", "ts")
# Where each clip is cut, as a share of its bytes.
CUTS = (0.3, 0.6, 0.9)


@pytest.fixture(scope="module")
def whole_clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("integrity")
    return {container: media.make_in_container(folder / f"whole.{container}", container) for container in CONTAINERS}


def cut(path: Path, share: float, folder: Path) -> Path:
    data = path.read_bytes()
    out = folder / f"cut-{share}{path.suffix}"
    out.write_bytes(data[: int(len(data) * share)])
    return out


@pytest.mark.parametrize("container", CONTAINERS)
def test_whole_clip_has_no_integrity_warning(archive: Archive, whole_clips: dict[str, Path], container: str) -> None:
    clip, _keyframes, actions = load(archive, ingest_file(archive, whole_clips[container]))
    assert clip.status == "ready", clip.status_reason
    integrity = json.loads(clip.integrity or "null")
    assert integrity["warnings"] == [] and clip.integrity_warnings == 0
    assert integrity["decode_errors"] == 0
    assert integrity["decoded_frames"] == 120  # 4 s at 30 fps
    assert integrity["decoded_duration_s"] == pytest.approx(4.0, abs=0.05)
    assert integrity["declared_duration_s"] == pytest.approx(4.0, abs=0.05)
    assert "decoded" in actions


@pytest.mark.parametrize("share", CUTS)
@pytest.mark.parametrize("container", ["mp4", "mkv", "webm", "avi"])
def test_cut_clip_is_ready_with_a_truncation_warning(
    archive: Archive, whole_clips: dict[str, Path], tmp_path: Path, container: str, share: float
) -> None:
    clip, _keyframes, _actions = load(archive, ingest_file(archive, cut(whole_clips[container], share, tmp_path)))
    assert clip.status == "ready", clip.status_reason  # what decoded is still analysed
    integrity = json.loads(clip.integrity or "null")
    assert clip.integrity_warnings == len(integrity["warnings"]) > 0
    [truncated] = [w for w in integrity["warnings"] if "probably truncated" in w]
    assert truncated.startswith("only ")
    assert integrity["decoded_frames"] < 120 * share + 5
    assert integrity["decoded_duration_s"] < 4.0 * share + 0.2


@pytest.mark.parametrize("share", (0.6, 0.9))
def test_cut_transport_stream_reports_its_decode_errors(
    archive: Archive, whole_clips: dict[str, Path], tmp_path: Path, share: float
) -> None:
    """MPEG-TS declares no duration of its own (ffprobe reads it from the last timestamps), so a cut
    one declares what it holds; the frame broken by the cut is what shows."""
    clip, _keyframes, _actions = load(archive, ingest_file(archive, cut(whole_clips["ts"], share, tmp_path)))
    assert clip.status == "ready", clip.status_reason
    integrity = json.loads(clip.integrity or "null")
    assert integrity["decode_errors"] >= 1 and integrity["first_errors"]
    assert any("decode error" in w for w in integrity["warnings"])
    assert integrity["declared_duration_s"] < 4.0 * share + 0.3


def test_clip_with_errors_in_the_middle_names_the_first(
    archive: Archive, whole_clips: dict[str, Path], tmp_path: Path
) -> None:
    data = bytearray(whole_clips["ts"].read_bytes())
    del data[len(data) // 3 : len(data) // 2]  # a stretch lost in transmission
    damaged = tmp_path / "gap.ts"
    damaged.write_bytes(bytes(data))
    clip, _keyframes, _actions = load(archive, ingest_file(archive, damaged))
    integrity = json.loads(clip.integrity or "null")
    assert integrity["decode_errors"] >= 1
    [errors] = [w for w in integrity["warnings"] if "decode error" in w]
    assert f"first: {integrity['first_errors'][0]}" in errors
    assert str(damaged) not in json.dumps(integrity)  # the server's paths stay on the server


@pytest.mark.parametrize("name", ["h264.mp4", "hevc.mov", "vp9.webm", "vfr.mp4", "silent.mp4", "tagged.mov"])
def test_whole_clips_of_every_kind_have_no_integrity_warning(
    archive: Archive, clips: dict[str, Path], name: str
) -> None:
    clip, _keyframes, _actions = load(archive, ingest_file(archive, clips[name]))
    integrity = json.loads(clip.integrity or "null")
    assert integrity["warnings"] == [], integrity


def test_clip_that_never_decodes_has_no_integrity_record(archive: Archive, clips: dict[str, Path]) -> None:
    clip, _keyframes, _actions = load(archive, ingest_file(archive, clips["audio.m4a"]))
    assert clip.status == "unsupported" and clip.integrity is None and clip.integrity_warnings is None


def test_file_whose_header_exhausts_ffprobe_is_refused_with_the_reason(
    archive: Archive, whole_clips: dict[str, Path], tmp_path: Path
) -> None:
    """200,000 metadata tags keep ffprobe busy for minutes; its CPU allowance ends that."""
    archive.settings.ffprobe_cpu_s = 1
    hostile = media.make_many_tags(tmp_path / "tags.mkv", whole_clips["mkv"], 200_000)
    clip, _keyframes, actions = load(archive, ingest_file(archive, hostile))
    assert clip.status == "unsupported"
    assert clip.status_reason == (
        "reading the file's header took more than the limit of 1 s of CPU (e.g. an enormous number of metadata "
        "tags); the file is refused"
    )
    assert actions[-1] == "ingest_failed"


def test_many_tags_within_the_allowance_are_read(
    archive: Archive, whole_clips: dict[str, Path], tmp_path: Path
) -> None:
    clip, _keyframes, _actions = load(
        archive, ingest_file(archive, media.make_many_tags(tmp_path / "tags.mkv", whole_clips["mkv"], 100))
    )
    assert clip.status == "ready", clip.status_reason
    assert '"TAG99": "v99"' in (clip.probe_raw or "")


def test_matroska_with_audio_longer_than_its_video_has_no_warning(archive: Archive, tmp_path: Path) -> None:
    path = tmp_path / "long-audio.mkv"
    media.ffmpeg(
        *("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30:duration=3", "-f", "lavfi", "-i", "sine=duration=4"),
        *("-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "libopus", str(path)),
    )
    clip, _keyframes, _actions = load(archive, ingest_file(archive, path))
    integrity = json.loads(clip.integrity or "null")
    assert integrity["declared_duration_s"] == pytest.approx(3.0, abs=0.05)  # the video's own, not the file's 4 s
    assert integrity["warnings"] == []
