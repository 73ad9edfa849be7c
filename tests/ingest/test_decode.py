"""Asked to (`decode_skip_nonreference`), the decode pass skips the frames no other frame refers
to, unless it encodes a viewing copy; its first and scene keyframes stay those of a full decode."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from ingest.decode import DecodedFrames, decode
from ingest.ffmpeg import DecodeOutputs, DecodePlan, Limits, ViewingCopyOutput, decode_command
from ingest.keyframes import Keyframe, extract_keyframes
from ingest.pipeline import decode_plan
from tests import media
from verity.settings import Settings

PLAN = DecodePlan(
    every_s=1.0, scene_threshold=0.3, thumbnail_max_side=320, sample_fps=2, sample_size=64, skip_nonreference=True
)
LIMITS = Limits(timeout_s=120, memory_mb=2048)
FRAME_S = 1 / 30


@pytest.fixture(scope="module")
def scenes_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """6 s of H.264 with B-frames (x264 veryfast) and hard cuts at 2 s and 4 s, the same every run:
    each source is deterministic (`gradients`, used here before, draws new colours each run whatever
    its seed, and one run in a few its first frame was too close to mandelbrot's last to be a cut)."""
    path = tmp_path_factory.mktemp("decode") / "scenes.mp4"
    sources = (
        "testsrc2=size=320x240:rate=30",
        "mandelbrot=size=320x240:rate=30",
        "life=size=320x240:rate=30:mold=10:ratio=0.4:seed=3:life_color=#40c0e0",
    )
    graph = ";".join(f"{source},trim=duration=2,setpts=PTS-STARTPTS[s{n}]" for n, source in enumerate(sources))
    media.ffmpeg(
        "-f", "lavfi", "-i", f"{graph};[s0][s1][s2]concat=n=3", "-c:v", "libx264", "-preset", "veryfast",
        "-pix_fmt", "yuv420p", str(path),
    )  # fmt: skip
    return path


def outputs(folder: Path, viewing_copy: ViewingCopyOutput | None = None) -> DecodeOutputs:
    return DecodeOutputs(folder / "k-%06d.jpg", folder / "keyframes.txt", folder / "samples.gray", viewing_copy)


def skip_option(command: list[str]) -> str | None:
    before_input = command[: command.index("-i")]
    return before_input[before_input.index("-skip_frame") + 1] if "-skip_frame" in before_input else None


def copy(folder: Path, *, copy_video: bool) -> ViewingCopyOutput:
    return ViewingCopyOutput(folder / "copy.mp4", deinterlace=False, audio=False, copy_video=copy_video)


def test_decode_command_skips_nonreference_frames_unless_it_encodes_a_viewing_copy(
    scenes_clip: Path, tmp_path: Path
) -> None:
    assert skip_option(decode_command(scenes_clip, PLAN, outputs(tmp_path))) == "noref"
    remuxed = outputs(tmp_path, copy(tmp_path, copy_video=True))
    assert skip_option(decode_command(scenes_clip, PLAN, remuxed)) == "noref"
    encoded = outputs(tmp_path, copy(tmp_path, copy_video=False))
    assert skip_option(decode_command(scenes_clip, PLAN, encoded)) is None
    full = dataclasses.replace(PLAN, skip_nonreference=False)
    assert skip_option(decode_command(scenes_clip, full, outputs(tmp_path))) is None


def test_decode_plan_skips_only_when_the_setting_asks() -> None:
    assert decode_plan(Settings()).skip_nonreference is False
    assert decode_plan(Settings(decode_skip_nonreference=True)).skip_nonreference is True


def decoded(clip: Path, folder: Path, *, skip: bool) -> tuple[DecodedFrames, list[Keyframe]]:
    frames = decode(clip, dataclasses.replace(PLAN, skip_nonreference=skip), folder, LIMITS)
    return frames, extract_keyframes(frames, scene_threshold=PLAN.scene_threshold)


def test_skipping_nonreference_frames_keeps_the_keyframes_of_a_full_decode(scenes_clip: Path, tmp_path: Path) -> None:
    full, full_keyframes = decoded(scenes_clip, tmp_path / "full", skip=False)
    skipped, skipped_keyframes = decoded(scenes_clip, tmp_path / "skipped", skip=True)
    assert full.report.frames_decoded == 180
    assert skipped.report.frames_decoded is not None and skipped.report.frames_decoded < 150  # B-frames skipped
    assert skipped.report.frames_accounted == 180  # what the integrity check counts: every frame read
    # The first frame and the scene cuts: the same frames. An interval keyframe is the first frame
    # decoded once the interval is up, so it may be a frame or two later (and the next one with it:
    # tests/ingest/test_real_fixtures.py's frame-accurate 0.5 s keyframes drift, hence off by default).
    assert [(k.reason, k.time_s) for k in skipped_keyframes if k.reason != "interval"] == [
        (k.reason, k.time_s) for k in full_keyframes if k.reason != "interval"
    ]
    assert [k.time_s for k in skipped_keyframes if k.reason == "scene"] == pytest.approx([2.0, 4.0], abs=FRAME_S / 2)
    assert [k.reason for k in skipped_keyframes] == [k.reason for k in full_keyframes]
    assert [k.time_s for k in skipped_keyframes] == pytest.approx([k.time_s for k in full_keyframes], abs=2.5 * FRAME_S)
    assert skipped.sample_count == full.sample_count == 12
