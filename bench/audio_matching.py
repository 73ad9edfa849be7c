"""Sound as a matching signal: copies whose pictures were replaced and whose sound was kept.

One run builds a corpus in a temporary folder: SOURCES sources of 30 s (generated sound, from
tests/media.py: espeak-ng speech over tones at random pitches and bursts of noise, under pictures
of their own), copies of each under the transforms below (every one with its pictures replaced by
unrelated footage), and unrelated clips (other sounds, silence, a steady tone). Every video is
fingerprinted with Verity's own code (`ingest.pipeline.analyse_query`); the sources and unrelated
clips are indexed by sound (`AudioIndex`) and by picture (`FingerprintIndex`), every copy and
unrelated clip is queried against both (excluding itself), and each transform is scored: found by
sound, share of the shared seconds found, median offset error, found by picture; plus false
matches among the unrelated queries and wrong sources named.

    .venv/bin/python bench/audio_matching.py [--sources 6] [--json]

Needs espeak-ng and fpcalc (scripts/setup.sh installs both).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest.audio_match import AudioIndex, match_audio  # noqa: E402
from ingest.index import FingerprintIndex  # noqa: E402
from ingest.match import Match, match_clip  # noqa: E402
from ingest.pipeline import QueryPrints, analyse_query  # noqa: E402
from tests import media  # noqa: E402
from verity.settings import Settings  # noqa: E402

SECONDS = 30
PICTURES = (
    "testsrc2=size=320x240:rate=30",
    "mandelbrot=size=320x240:rate=30",
    "life=size=160x120:rate=30:mold=10:ratio=0.4:seed=3:life_color=#40c0e0",
    "cellauto=size=160x120:rate=30:rule=30:seed=5",
    "cellauto=size=160x120:rate=30:rule=110:seed=9",
    "gradients=size=320x240:rate=30:speed=0.05:seed=4",
    "testsrc=size=320x240:rate=30",
    "rgbtestsrc=size=320x240:rate=30,hue=H=t",
)
OTHER_PICTURES = "cellauto=size=160x120:rate=30:rule=90:seed=11"  # what replaces a copy's pictures
# name: (start of the shared sound in the source, its length, ffmpeg audio filter or None)
TRANSFORMS: dict[str, tuple[float, float, str | None]] = {
    "replaced": (0, SECONDS, None),
    "replaced-excerpt10": (10, 10, None),
    "replaced-phone": (0, SECONDS, "volume=0.5,highpass=f=300,lowpass=f=3400,aresample=8000"),
    "replaced-noisy": (0, SECONDS, "NOISE"),  # brown noise mixed in at about a fifth of the level
    "replaced-louder": (5, 20, "volume=2.5,alimiter=limit=0.9"),
    "replaced-speed+10%": (0, SECONDS, "atempo=1.1"),
    "replaced-speed-10%": (0, SECONDS, "atempo=0.9"),
}
# Copies played at another speed (pitch kept): copy time t is source time start + t * rate.
RATE = {"replaced-speed+10%": 1.1, "replaced-speed-10%": 0.9}
GOAL_RECALL = 0.8
GOAL_OFFSET_S = 1.0


@dataclass(frozen=True)
class Clip:
    name: str
    path: Path
    source: str | None = None  # the source a copy was made of
    start_s: float = 0.0  # where the copy's sound starts in the source
    seconds: float = 0.0  # of the source's sound it holds
    rate: float = 1.0

    @property
    def copy_seconds(self) -> float:
        return self.seconds / self.rate


def make_copy(
    folder: Path, source: Path, name: str, start_s: float, seconds: float, audio: str | None, rate: float = 1.0
) -> Path:
    """The source's sound from `start_s` under other pictures, through `audio` (an ffmpeg filter)."""
    out = folder / f"{name}.mp4"
    sound = folder / f"{name}.wav"
    media.ffmpeg("-ss", str(start_s), "-t", str(seconds), "-i", str(source), "-vn", "-ac", "1", str(sound))
    if audio == "NOISE":
        noisy = folder / f"{name}-noisy.wav"
        media.ffmpeg(
            *("-i", str(sound), "-f", "lavfi", "-i", f"anoisesrc=color=brown:a=0.05:d={seconds}:seed=3"),
            *("-filter_complex", "[0][1]amix=inputs=2:normalize=0:duration=first", str(noisy)),
        )
        sound = noisy
    elif audio:
        filtered = folder / f"{name}-filtered.wav"
        media.ffmpeg("-i", str(sound), "-af", audio, str(filtered))
        sound = filtered
    return media.make_with_sound(out, OTHER_PICTURES, sound, seconds=int(seconds / rate))  # ends with its sound


def corpus(folder: Path, sources: int) -> list[Clip]:
    clips: list[Clip] = []
    for seed in range(1, sources + 1):
        sound = media.make_soundtrack(folder / f"sound-{seed}.wav", seed, SECONDS)
        source = media.make_with_sound(
            folder / f"src-{seed}.mp4", PICTURES[seed % len(PICTURES)], sound, seconds=SECONDS
        )
        clips.append(Clip(f"src-{seed}", source))
        for transform, (start_s, seconds, audio) in TRANSFORMS.items():
            name, rate = f"src-{seed}.{transform}", RATE.get(transform, 1.0)
            copy = make_copy(folder, sound, name, start_s, seconds, audio, rate)
            clips.append(Clip(name, copy, f"src-{seed}", start_s, seconds, rate))
    for seed in range(sources + 1, 2 * sources + 1):
        sound = media.make_soundtrack(folder / f"sound-{seed}.wav", seed, 15)
        picture = PICTURES[(seed + 3) % len(PICTURES)]
        clips.append(
            Clip(f"unrelated-{seed}", media.make_with_sound(folder / f"u-{seed}.mp4", picture, sound, seconds=15))
        )
    for name, sound in (("silence", "anullsrc=r=44100:cl=mono"), ("tone", "sine=frequency=440:r=44100")):
        clips.append(
            Clip(f"unrelated-{name}", media.make_with_sound(folder / f"{name}.mp4", PICTURES[1], sound, seconds=15))
        )
    return clips


def shared_found(match: Match, clip: Clip) -> tuple[float, list[float]]:
    """Seconds of the copy's shared sound the segments cover, and each segment's offset error
    (at its middle, where a speed-changed copy's fixed offset has drifted least)."""
    covered, errors = 0.0, []
    for segment in match.segments:
        start, end = segment.query_start_s, segment.query_start_s + segment.duration_s
        covered += max(0.0, min(end, clip.copy_seconds) - max(start, 0.0))
        middle = start + segment.duration_s / 2
        errors.append(abs(segment.clip_start_s + segment.duration_s / 2 - (clip.start_s + middle * clip.rate)))
    return min(covered, clip.copy_seconds), errors


def run(sources: int) -> dict[str, Any]:
    settings = Settings(data_dir=Path(tempfile.gettempdir()))
    with tempfile.TemporaryDirectory(prefix="verity-audio-bench-") as scratch:
        folder = Path(scratch)
        started = time.monotonic()
        clips = corpus(folder, sources)
        built_s = time.monotonic() - started
        started = time.monotonic()
        prints: dict[str, QueryPrints] = {  # work folders by number: a `%` in a name would be a pattern
            clip.name: analyse_query(clip.path, settings, folder / "work" / str(number))
            for number, clip in enumerate(clips)
        }
        analysed_s = time.monotonic() - started
    indexed = [c for c in clips if c.source is None]
    sound_index, picture_index = AudioIndex(), FingerprintIndex()
    for clip in indexed:
        heard = prints[clip.name].sound
        if heard is not None:
            sound_index.add(clip.name, heard)
        picture_index.add(clip.name, prints[clip.name].print_)
    step = 1 / settings.sample_fps
    rows: dict[str, dict[str, Any]] = {}
    wrong: list[str] = []
    started = time.monotonic()
    for clip in (c for c in clips if c.source is not None):
        heard = prints[clip.name].sound
        by_sound = match_audio(sound_index, heard) if heard is not None else []
        by_picture = match_clip(picture_index, prints[clip.name].print_, sample_step_s=step)
        wrong += [f"{clip.name} → {m.clip_id}" for m in by_sound + by_picture if m.clip_id != clip.source]
        transform = clip.name.split(".", 1)[1]
        row = rows.setdefault(transform, {"copies": 0, "found": 0, "recall": [], "offset_errors": [], "by_picture": 0})
        row["copies"] += 1
        right = [m for m in by_sound if m.clip_id == clip.source]
        row["by_picture"] += any(m.clip_id == clip.source for m in by_picture)
        if right:
            row["found"] += 1
            covered, errors = shared_found(right[0], clip)
            row["recall"].append(covered / clip.copy_seconds)
            row["offset_errors"] += errors
        else:
            row["recall"].append(0.0)
    false_matches = []
    for clip in (c for c in clips if c.source is None):
        heard = prints[clip.name].sound
        if heard is not None:
            false_matches += [
                f"{clip.name} → {m.clip_id}" for m in match_audio(sound_index, heard, exclude_clip_id=clip.name)
            ]
    matched_s = time.monotonic() - started
    table = {
        transform: {
            "found": f"{row['found']}/{row['copies']}",
            "recall": round(statistics.mean(row["recall"]), 3),
            "median_offset_error_s": round(statistics.median(row["offset_errors"]), 3)
            if row["offset_errors"]
            else None,
            "found_by_picture": f"{row['by_picture']}/{row['copies']}",
        }
        for transform, row in rows.items()
    }
    return {
        "sources": sources,
        "videos": len(clips),
        "transforms": table,
        "false_matches": false_matches,
        "wrong_sources": wrong,
        "seconds": {"build": round(built_s, 1), "analyse": round(analysed_s, 1), "match": round(matched_s, 2)},
    }


def print_table(results: dict[str, Any]) -> None:
    print(f"{results['sources']} sources of {SECONDS} s, {results['videos']} videos; seconds: {results['seconds']}")
    print("| transform | found by sound | shared seconds found | median offset error | found by picture |")
    print("|---|---|---|---|---|")
    for transform, row in results["transforms"].items():
        error = "–" if row["median_offset_error_s"] is None else f"{row['median_offset_error_s']:.2f} s"
        print(f"| {transform} | {row['found']} | {row['recall']:.0%} | {error} | {row['found_by_picture']} |")
    print(f"false matches among unrelated clips: {len(results['false_matches'])} {results['false_matches']}")
    print(f"copies matched with a wrong source: {len(results['wrong_sources'])} {results['wrong_sources']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=6)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    results = run(args.sources)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print_table(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
