"""Footage for the tests of sound as a matching signal: generated sound (espeak-ng speech over
tones at random pitches and bursts of noise, tests/media.py) under pictures that match nothing
else here, and one clip's sound laid under another clip's pictures."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests import media

PICTURES = {
    "pattern": "testsrc2=size=320x240:rate=30",
    "mandelbrot": "mandelbrot=size=320x240:rate=30",
    "life": "life=size=160x120:rate=30:mold=10:ratio=0.4:seed=3:life_color=#40c0e0",
    "cells": "cellauto=size=160x120:rate=30:rule=30:seed=5",
    "rule110": "cellauto=size=160x120:rate=30:rule=110:seed=9",
    "gradients": "gradients=size=320x240:rate=30:speed=0.05:seed=4",
    "bars": "smptebars=size=320x240:rate=30",
    "hd_bars": "smptehdbars=size=320x240:rate=30",
    "rule90": "cellauto=size=160x120:rate=30:rule=90:seed=11",
}


def make_sound_footage(folder: Path) -> dict[str, Path]:
    """Every clip the sound tests use, by name (skips the test without espeak-ng)."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (scripts/setup.sh installs it for the tests)")
    sounds = {seed: media.make_soundtrack(folder / f"sound-{seed}.wav", seed) for seed in range(1, 6)}
    made = {
        "original": media.make_with_sound(folder / "original.mp4", PICTURES["pattern"], sounds[1], seconds=20),
        # The original's sound from 5 s to 15 s under pictures of something else.
        "resound": media.make_with_sound(folder / "resound.mp4", PICTURES["mandelbrot"], sounds[1], start_s=5),
        # The original's pictures under another sound.
        "same_pictures": media.make_with_sound(folder / "same.mp4", PICTURES["pattern"], sounds[2], seconds=20),
        "unrelated_3": media.make_with_sound(folder / "u3.mp4", PICTURES["life"], sounds[3], seconds=12),
        "unrelated_4": media.make_with_sound(folder / "u4.mp4", PICTURES["cells"], sounds[4], seconds=12),
        "unrelated_5": media.make_with_sound(folder / "u5.mp4", PICTURES["rule110"], sounds[5], seconds=12),
        "silence": media.make_with_sound(folder / "silence.mp4", PICTURES["gradients"], "anullsrc=r=44100:cl=mono"),
        # A steady tone, as under most other test clips.
        "hum": media.make_with_sound(folder / "hum.mp4", PICTURES["bars"], "sine=frequency=440:r=44100", seconds=8),
        "hum_2": media.make_with_sound(folder / "hum-2.mp4", PICTURES["hd_bars"], "sine=frequency=440", seconds=12),
        "no_sound": media.make_silent_clip(folder / "no-sound.mp4", seconds=6),
    }
    # 6 s of another sound, then the original's from 8 s to 18 s, under other pictures.
    spliced = folder / "spliced.wav"
    media.ffmpeg(
        *("-i", str(sounds[3]), "-i", str(sounds[1]), "-filter_complex"),
        "[0]atrim=0:6[a];[1]atrim=8:18,asetpts=PTS-STARTPTS[b];[a][b]concat=n=2:v=0:a=1",
        str(spliced),
    )
    made["spliced"] = media.make_with_sound(folder / "spliced.mp4", PICTURES["rule90"], spliced, seconds=16)
    reencoded = folder / "reencoded.mp4"
    media.ffmpeg(
        *("-i", str(made["original"]), "-vf", "scale=240:180", "-c:v", "libx264", "-preset", "veryfast", "-crf", "30"),
        *("-c:a", "aac", "-b:a", "96k", str(reencoded)),
    )
    made["reencoded"] = reencoded
    return made
