"""Near-duplicate matching on real decoded clips: transformed copies are found with their
alignment, unrelated and low-information footage is not."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.decode import decode
from ingest.ffmpeg import DecodePlan, Limits
from ingest.fingerprint import Fingerprint
from ingest.index import FingerprintIndex
from ingest.keyframes import extract_keyframes
from ingest.match import Match, match_clip
from ingest.pipeline import fingerprints_of
from tests import media

pytestmark = pytest.mark.slow  # a corpus of transformed copies made and decoded with ffmpeg

PLAN = DecodePlan(every_s=10, scene_threshold=0.3, thumbnail_max_side=640, sample_fps=2, sample_size=64)
LIMITS = Limits(timeout_s=120, memory_mb=4096)

# name -> (ffmpeg args around "-i", query_start, source_start, duration) of the shared footage
COPIES = {
    "lowbitrate": (["-i", "-b:v", "150k"], 0, 0, 12),
    "360p": (["-i", "-vf", "scale=320:180"], 0, 0, 12),
    "fps25": (["-i", "-vf", "fps=25"], 0, 0, 12),
    "letterbox": (["-i", "-vf", "scale=480:270,pad=480:360:0:45:black"], 0, 0, 12),
    "crop10": (["-i", "-vf", "crop=iw*0.8:ih*0.8,scale=640:360"], 0, 0, 12),
    "overlay": (["-i", "-vf", "drawbox=x=20:y=20:w=200:h=50:color=red@0.8:t=fill"], 0, 0, 12),
    "mirror": (["-i", "-vf", "hflip"], 0, 0, 12),
    "excerpt": (["-ss", "5", "-t", "5", "-i"], 0, 5, 5),
}


def fingerprint_file(path: Path, workdir: Path) -> tuple[Fingerprint, Fingerprint]:
    frames = decode(path, PLAN, workdir, LIMITS)
    return fingerprints_of(frames, extract_keyframes(frames, scene_threshold=PLAN.scene_threshold))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Fingerprint, Fingerprint]]:
    folder = tmp_path_factory.mktemp("corpus")
    source = media.make_source(folder / "source.mp4")
    files = {"source": source}
    for name, (args, *_truth) in COPIES.items():
        files[name] = media.make_copy(folder / f"{name}.mp4", source, *args)
    files["compilation"] = folder / "compilation.mp4"
    media.ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "smptehdbars=size=640x360:rate=30:duration=4",
        "-ss",
        "2",
        "-t",
        "6",
        "-i",
        str(source),
        "-f",
        "lavfi",
        "-i",
        "gradients=size=640x360:rate=30:duration=4:seed=4",
        "-filter_complex",
        "[0:v][1:v][2:v]concat=n=3:v=1:a=0[v]",
        "-map",
        "[v]",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-pix_fmt",
        "yuv420p",
        str(files["compilation"]),
    )
    for name, lavfi in {
        "black": "color=black:size=640x360:rate=30",
        "bars": "smptehdbars=size=640x360:rate=30",
        "fractal": "mandelbrot=size=640x360:rate=30:start_x=-0.75:start_y=0.1:start_scale=0.5",
        "cells": "cellauto=size=160x90:rate=30:rule=110:seed=3,scale=640:360:flags=neighbor",
    }.items():
        files[name] = media.make_unrelated(folder / f"{name}.mp4", lavfi)
    return {name: fingerprint_file(path, folder / f"work-{name}") for name, path in files.items()}


@pytest.fixture(scope="module")
def index(corpus: dict[str, tuple[Fingerprint, Fingerprint]]) -> FingerprintIndex:
    built = FingerprintIndex()
    for name in ("source", "black", "bars", "fractal", "cells"):
        built.add(name, corpus[name][0])
    return built


def query(index: FingerprintIndex, corpus: dict[str, tuple[Fingerprint, Fingerprint]], name: str) -> list[Match]:
    print_, mirrored = corpus[name]
    return match_clip(index, print_, mirrored, sample_step_s=0.5, exclude_clip_id=name)


@pytest.mark.parametrize("name", list(COPIES))
def test_transformed_copy_matches_its_source_with_alignment(
    index: FingerprintIndex, corpus: dict[str, tuple[Fingerprint, Fingerprint]], name: str
) -> None:
    _args, query_start, source_start, duration = COPIES[name]
    [found] = query(index, corpus, name)
    assert found.clip_id == "source"
    assert found.matched_seconds >= 0.8 * duration
    assert found.mirrored is (name == "mirror")
    first = found.segments[0]
    assert first.query_start_s == pytest.approx(query_start, abs=1.0)
    assert first.clip_start_s == pytest.approx(source_start, abs=1.0)
    assert all(segment.clip_start_s >= 0 for segment in found.segments)
    assert 0.8 <= found.score <= 1.0


def test_compilation_matches_the_excerpt_at_its_place(
    index: FingerprintIndex, corpus: dict[str, tuple[Fingerprint, Fingerprint]]
) -> None:
    [found] = query(index, corpus, "compilation")
    assert found.clip_id == "source"
    [segment] = found.segments
    assert segment.query_start_s == pytest.approx(4, abs=1.0)
    assert segment.clip_start_s == pytest.approx(2, abs=1.0)
    assert segment.duration_s == pytest.approx(6, abs=1.5)


@pytest.mark.parametrize("name", ["black", "bars", "fractal", "cells"])
def test_unrelated_and_low_information_footage_matches_nothing(
    corpus: dict[str, tuple[Fingerprint, Fingerprint]], name: str
) -> None:
    built = FingerprintIndex()
    for other in ("source", "black", "bars", "fractal", "cells"):
        if other != name:
            built.add(other, corpus[other][0])
    assert query(built, corpus, name) == []


def test_black_frames_are_not_informative(corpus: dict[str, tuple[Fingerprint, Fingerprint]]) -> None:
    assert not corpus["black"][0].informative.any()
    assert corpus["source"][0].informative.all()


def test_index_finds_clips_added_after_it_was_sorted(corpus: dict[str, tuple[Fingerprint, Fingerprint]]) -> None:
    built = FingerprintIndex()
    built.add("fractal", corpus["fractal"][0])
    built.finish_loading()
    built.add("source", corpus["source"][0])  # in the unsorted tail
    assert [m.clip_id for m in query(built, corpus, "360p")] == ["source"]
    built.remove("source")
    assert query(built, corpus, "360p") == []


def test_saved_index_loads_back_and_still_takes_new_clips(
    corpus: dict[str, tuple[Fingerprint, Fingerprint]], tmp_path: Path
) -> None:
    built = FingerprintIndex()
    built.add("fractal", corpus["fractal"][0])
    built.add("source", corpus["source"][0])
    built.add("bars", corpus["bars"][0])
    built.remove("bars")
    built.add("cells", corpus["source"][0])  # wrong footage first, then fingerprinted again
    built.add("cells", corpus["cells"][0])
    built.save(tmp_path / "index", last_fingerprint_id=42)
    loaded, meta = FingerprintIndex.load(tmp_path / "index")
    assert meta == {"last_fingerprint_id": 42}
    assert "bars" not in loaded and "source" in loaded
    assert [m.clip_id for m in query(loaded, corpus, "excerpt")] == ["source"]  # not "cells"' old slot
    loaded.add("black", corpus["black"][0])
    assert "black" in loaded and len(loaded) == len(built) + len(corpus["black"][0])
    assert [m.clip_id for m in query(loaded, corpus, "cells")] == []


def test_excluded_clip_in_the_tail_is_never_compared(corpus: dict[str, tuple[Fingerprint, Fingerprint]]) -> None:
    built = FingerprintIndex()
    built.add("source", corpus["source"][0])  # unsorted tail, as right after a clip is ingested
    hits = built.query(corpus["source"][0].hashes, 10, exclude=frozenset({0}))
    assert len(hits.clip) == 0
    assert len(built.query(corpus["source"][0].hashes, 10).clip) > 0


def test_slowly_changing_footage_is_aligned_where_frames_agree_most(tmp_path: Path) -> None:
    # A zoom into a fractal: frames half a second or more apart still look alike, so many offsets
    # pass the per-frame test; the reported one must be the true one.
    source = media.make_unrelated(tmp_path / "zoom.mp4", "mandelbrot=size=640x360:rate=30", seconds=8)
    excerpt = media.make_copy(tmp_path / "excerpt.mp4", source, "-ss", "2", "-i", "-t", "5")
    built = FingerprintIndex()
    built.add("zoom", fingerprint_file(source, tmp_path / "work-zoom")[0])
    [found] = match_clip(built, *fingerprint_file(excerpt, tmp_path / "work-excerpt"))
    [segment] = found.segments
    assert segment.clip_start_s == pytest.approx(2.0, abs=0.15)
    assert segment.query_start_s == pytest.approx(0.0, abs=0.15)


def test_answers_do_not_depend_on_whether_the_index_was_sorted_or_saved(
    corpus: dict[str, tuple[Fingerprint, Fingerprint]], tmp_path: Path
) -> None:
    unsorted = FingerprintIndex()
    for name in ("source", "fractal", "cells"):
        unsorted.add(name, corpus[name][0])  # all in the tail, as right after ingest
    unsorted.save(tmp_path / "index")  # sorts the tail into a run before writing
    loaded, _meta = FingerprintIndex.load(tmp_path / "index")
    fresh = FingerprintIndex()
    for name in ("source", "fractal", "cells"):
        fresh.add(name, corpus[name][0])
    for name in [*COPIES, "compilation"]:
        hits = [fresh.query(corpus[name][0].hashes, 10), loaded.query(corpus[name][0].hashes, 10)]
        as_sets = [set(zip(h.query_frame.tolist(), h.clip.tolist(), h.clip_frame.tolist(), strict=True)) for h in hits]
        assert as_sets[0] == as_sets[1], name
        assert query(fresh, corpus, name) == query(loaded, corpus, name), name
