"""A clip's sound as Chromaprint sub-fingerprints, by `fpcalc` (Debian's libchromaprint-tools).

`fpcalc` is given only the raw PCM the decode pass wrote (mono, signed 16-bit, AUDIO_RATE Hz), never
the uploaded file, and runs like every ffmpeg run (ingest/ffmpeg.py): no stdin, a time limit,
`prlimit` limits, killed with the process that started it. Its raw output is one 32-bit value per
ITEM_STEP_S of sound, each describing the ITEM_SPAN_S of sound that starts there.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ingest.ffmpeg import Limits, limited, spawn_options
from verity.errors import MediaFailed

AUDIO_RATE = 11025  # what Chromaprint works at: the decode pass resamples to it, so fpcalc need not
ALGORITHM = 2  # fpcalc's default (and AcoustID's)
# Algorithm 2 hashes frames of 4096 samples every 4096 // 3; one value covers 16 frames of a chroma
# smoothed over 5: (16 + 5 - 2) steps plus one frame.
ITEM_STEP_S = (4096 // 3) / AUDIO_RATE
ITEM_SPAN_S = (19 * (4096 // 3) + 4096) / AUDIO_RATE
# fpcalc 1.5.1 with FFmpeg 5 (Debian bookworm) exits 3, "a non-critical error" that still gave a
# fingerprint, at the end of every input (chromaprint issues 122 and 137): accepted with its output.
NON_CRITICAL = 3

Values = npt.NDArray[np.uint32]


@dataclass(frozen=True)
class AudioFingerprint:
    """Chromaprint values of a clip's first audio stream: value i describes the sound from
    start_s + i * ITEM_STEP_S (start_s: the stream's first sample, in the clip's own time)."""

    start_s: float
    values: Values

    def __len__(self) -> int:
        return len(self.values)

    @property
    def step_s(self) -> float:
        return ITEM_STEP_S

    def time_of(self, item: int) -> float:
        return self.start_s + item * ITEM_STEP_S


def fingerprint_audio(pcm: Path, start_s: float, limits: Limits) -> AudioFingerprint:
    """The Chromaprint values of raw PCM the decode pass wrote (AUDIO_RATE Hz, mono, s16le), over
    its whole length. Sound shorter than one value's span (ITEM_SPAN_S) has none."""
    fpcalc = shutil.which("fpcalc")
    if not fpcalc:
        raise MediaFailed("fpcalc (Debian's libchromaprint-tools) is not installed on this server")
    if pcm.stat().st_size < ITEM_SPAN_S * AUDIO_RATE * 2:
        return AudioFingerprint(start_s, np.zeros(0, np.uint32))
    command = [
        fpcalc,
        *("-format", "s16le", "-rate", str(AUDIO_RATE), "-channels", "1"),
        *("-algorithm", str(ALGORITHM), "-length", "0", "-raw", "-json"),
        str(pcm.resolve()),
    ]
    try:
        result = subprocess.run(
            limited(command, limits), capture_output=True, timeout=limits.timeout_s, **spawn_options()
        )
    except subprocess.TimeoutExpired:
        raise MediaFailed(f"fpcalc gave no answer within {limits.timeout_s:.0f} s") from None
    stderr = " ".join(result.stderr.decode("utf-8", "replace").split())[-1000:]
    if result.returncode not in (0, NON_CRITICAL):
        reason = stderr or "no message"
        raise MediaFailed(f"fpcalc could not fingerprint the sound (exit {result.returncode}): {reason}")
    try:
        values = json.loads(result.stdout)["fingerprint"]
        return AudioFingerprint(start_s, np.asarray(values, np.uint32))
    except (ValueError, KeyError, TypeError, OverflowError):
        raise MediaFailed(f"fpcalc printed no fingerprint: {stderr or 'no message'}") from None
