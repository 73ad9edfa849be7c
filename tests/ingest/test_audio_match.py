"""Sound as a second matching signal, on generated sound (espeak-ng speech over tones at random
pitches and bursts of noise) laid under unrelated pictures: found by sound at the right offset,
told apart from what the pictures find, and never found between unrelated sounds, silence or
steady tones."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from sqlalchemy import select

from ingest.audio_match import AudioIndex, match_audio
from ingest.chromaprint import ITEM_SPAN_S, ITEM_STEP_S, AudioFingerprint, fingerprint_audio
from ingest.ffmpeg import Limits
from ingest.match import Match
from ingest.near_duplicates import NearDuplicateFinder, relations_of
from ingest.pipeline import analyse_query, request_reprocess, run_ingest
from storage.archive import Archive
from storage.custody import list_events
from storage.models import StoredAudioFingerprint, StoredFingerprint
from tests import media
from tests.helpers.pipeline import ingest_file, load
from tests.helpers.sound import PICTURES, make_sound_footage
from verity.settings import Settings


@pytest.fixture(scope="module")
def footage(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_sound_footage(tmp_path_factory.mktemp("sound"))


def test_sound_gives_one_value_per_step_each_describing_the_span_from_there(tmp_path: Path) -> None:
    pcm = tmp_path / "noise.s16le"
    media.ffmpeg("-f", "lavfi", "-i", "anoisesrc=d=10:seed=2", "-ac", "1", "-ar", "11025", "-f", "s16le", str(pcm))
    print_ = fingerprint_audio(pcm, 1.5, Limits(60, 1024))
    samples = pcm.stat().st_size // 2
    # Algorithm 2: a value every 1365 samples, each over 19 steps and one frame of 4096.
    assert len(print_) == (samples - 4096) // 1365 + 1 - 19
    assert (len(print_) - 1) * ITEM_STEP_S + ITEM_SPAN_S == pytest.approx(10, abs=ITEM_STEP_S)
    assert print_.time_of(8) == pytest.approx(1.5 + 8 * 1365 / 11025)


def test_sound_shorter_than_one_value_has_none(tmp_path: Path) -> None:
    pcm = tmp_path / "short.s16le"
    media.ffmpeg("-f", "lavfi", "-i", "anoisesrc=d=2", "-ac", "1", "-ar", "11025", "-f", "s16le", str(pcm))
    assert len(fingerprint_audio(pcm, 0.0, Limits(60, 1024))) == 0


def _flipped(values: npt.NDArray[np.uint32], rng: np.random.Generator) -> npt.NDArray[np.uint32]:
    """`values` with two random bits of each flipped, as a re-encode leaves them."""
    bits = rng.integers(0, 32, (len(values), 2))
    flips = (np.uint32(1) << bits[:, 0].astype(np.uint32)) | (np.uint32(1) << bits[:, 1].astype(np.uint32))
    return values ^ flips


def test_the_sound_index_answers_alike_however_its_clips_were_added() -> None:
    rng = np.random.default_rng(7)
    prints = [
        (f"clip-{n}", AudioFingerprint(0.0, rng.integers(0, 2**32, 200, dtype=np.uint64).astype(np.uint32)))
        for n in range(40)
    ]
    one_by_one, at_once = AudioIndex(), AudioIndex()
    for clip_id, print_ in prints:
        one_by_one.add(clip_id, print_)
    at_once.add_many(prints)
    query = AudioFingerprint(0.0, _flipped(prints[17][1].values[50:150], rng))
    answers = [match_audio(index, query) for index in (one_by_one, at_once)]
    assert answers[0] == answers[1]
    [found] = answers[0]
    assert found.clip_id == "clip-17" and found.segments[0].clip_start_s == pytest.approx(50 * ITEM_STEP_S, abs=0.01)
    # Analysed again with other sound, the clip's old values are found no more.
    one_by_one.add("clip-17", AudioFingerprint(0.0, rng.integers(0, 2**32, 200, dtype=np.uint64).astype(np.uint32)))
    for clip_id, print_ in prints[20:]:
        one_by_one.add(f"{clip_id}-again", print_)  # merges runs with the replaced entries in them
    assert match_audio(one_by_one, query) == []


def sound_matches(footage: dict[str, Path], name: str, tmp_path: Path) -> list[Match]:
    """What the clip `name` finds by its sound in an index of the original's alone."""
    settings = Settings(data_dir=tmp_path)
    original = analyse_query(footage["original"], settings, tmp_path / "a").sound
    query = analyse_query(footage[name], settings, tmp_path / "b").sound
    assert original is not None and query is not None
    index = AudioIndex()
    index.add("original", original)
    return match_audio(index, query)


def test_sound_laid_under_other_pictures_is_found_by_sound_at_its_offset(
    footage: dict[str, Path], tmp_path: Path
) -> None:
    [found] = sound_matches(footage, "resound", tmp_path)
    assert found.clip_id == "original" and found.signals == ("audio",)
    [segment] = found.segments
    assert segment.clip_start_s - segment.query_start_s == pytest.approx(5, abs=1)
    assert segment.query_start_s == pytest.approx(0, abs=1) and segment.duration_s == pytest.approx(10, abs=1)
    assert found.score > 0.9


def test_shared_sound_that_starts_and_ends_inside_the_query_is_found_where_it_is(
    footage: dict[str, Path], tmp_path: Path
) -> None:
    [found] = sound_matches(footage, "spliced", tmp_path)
    [segment] = found.segments  # 6 s of other sound, then the original's from 8 s to 18 s
    assert segment.query_start_s == pytest.approx(6, abs=0.5) and segment.clip_start_s == pytest.approx(8, abs=0.5)
    assert segment.duration_s == pytest.approx(10, abs=0.5)


@pytest.mark.parametrize("rate", [1.1, 0.9])
def test_sound_played_faster_or_slower_with_its_pitch_kept_is_found_along_its_drift(
    footage: dict[str, Path], tmp_path: Path, rate: float
) -> None:
    # The original's 20 s of sound at another tempo (ffmpeg's atempo keeps the pitch), under
    # other pictures: a fixed offset shares only the few seconds around where it crosses the drift.
    sped = tmp_path / f"sound-{rate}.wav"
    media.ffmpeg("-i", str(footage["original"].parent / "sound-1.wav"), "-t", "20", "-af", f"atempo={rate}", str(sped))
    seconds = int(20 / rate)
    footage = {
        **footage,
        "sped": media.make_with_sound(tmp_path / "sped.mp4", PICTURES["cells"], sped, seconds=seconds),
    }
    [found] = sound_matches(footage, "sped", tmp_path)
    assert found.clip_id == "original" and found.signals == ("audio",)
    assert found.matched_seconds >= 0.8 * seconds
    for segment in found.segments:  # each piece's fixed offset is right at its middle
        middle = segment.query_start_s + segment.duration_s / 2
        assert segment.clip_start_s + segment.duration_s / 2 == pytest.approx(middle * rate, abs=0.5)


def test_copy_whose_pictures_were_replaced_is_related_by_its_sound(archive: Archive, footage: dict[str, Path]) -> None:
    original = ingest_file(archive, footage["original"])
    copy = ingest_file(archive, footage["resound"])
    with archive.sessions() as session:
        [found] = relations_of(session, copy)
        [back] = relations_of(session, original)
    assert found.clip_id == original and found.signals == ("audio",) and not found.mirrored
    [segment] = found.segments
    assert segment.clip_start_s - segment.query_start_s == pytest.approx(5, abs=1)
    assert back.clip_id == copy and back.segments[0].query_start_s == pytest.approx(5, abs=1)
    _clip, _keyframes, actions = load(archive, copy)
    order = [actions.index(action) for action in ("fingerprinted", "audio_fingerprinted", "near_duplicates_found")]
    assert order == sorted(order)


def test_same_pictures_under_other_sound_are_related_by_pictures_only(
    archive: Archive, footage: dict[str, Path]
) -> None:
    original = ingest_file(archive, footage["original"])
    copy = ingest_file(archive, footage["same_pictures"])
    with archive.sessions() as session:
        [found] = relations_of(session, copy)
    assert found.clip_id == original and found.signals == ("picture",)


def test_a_reencoded_copy_is_related_by_pictures_and_sound(archive: Archive, footage: dict[str, Path]) -> None:
    original = ingest_file(archive, footage["original"])
    copy = ingest_file(archive, footage["reencoded"])
    with archive.sessions() as session:
        [found] = relations_of(session, copy)
    assert found.clip_id == original and found.signals == ("picture", "audio")


def test_unrelated_sounds_silence_and_steady_tones_relate_to_nothing(
    archive: Archive, footage: dict[str, Path]
) -> None:
    names = ["unrelated_3", "unrelated_4", "unrelated_5", "silence", "hum", "hum_2", "original"]
    ids = [ingest_file(archive, footage[name]) for name in names]
    with archive.sessions() as session:
        assert {clip_id: relations_of(session, clip_id) for clip_id in ids} == {clip_id: [] for clip_id in ids}
        stored = {row.clip_id: row.value_count for row in session.scalars(select(StoredAudioFingerprint))}
    assert set(stored) == set(ids) and all(count > 0 for count in stored.values())


def test_clip_without_sound_has_no_sound_fingerprint(archive: Archive, footage: dict[str, Path]) -> None:
    clip_id = ingest_file(archive, footage["no_sound"])
    clip, _keyframes, actions = load(archive, clip_id)
    assert clip.status == "ready"
    assert "audio_fingerprinted" not in actions and "audio_fingerprint_failed" not in actions
    with archive.sessions() as session:
        assert session.scalar(select(StoredAudioFingerprint).where(StoredAudioFingerprint.clip_id == clip_id)) is None


def hide_fpcalc(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """From here on, PATH holds every tool ingest runs except fpcalc."""
    folder.mkdir()
    for tool in ("ffmpeg", "ffprobe", "prlimit"):
        found = shutil.which(tool)
        assert found is not None
        (folder / tool).symlink_to(found)
    monkeypatch.setenv("PATH", str(folder))


def test_sound_that_cannot_be_fingerprinted_is_a_warning_and_the_pictures_still_match(
    archive: Archive, footage: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = ingest_file(archive, footage["original"])
    hide_fpcalc(tmp_path / "bin", monkeypatch)
    copy = ingest_file(archive, footage["reencoded"])
    clip, _keyframes, actions = load(archive, copy)
    assert clip.status == "ready" and "audio_fingerprinted" not in actions
    with archive.sessions() as session:
        [event] = [e for e in list_events(session, copy) if e.action == "audio_fingerprint_failed"]
        assert "fpcalc" in json.loads(event.details)["reason"]
        assert session.scalar(select(StoredFingerprint.id).where(StoredFingerprint.clip_id == copy)) is not None
        [found] = relations_of(session, copy)
    assert found.clip_id == original and found.signals == ("picture",)


def test_a_reanalysis_that_cannot_fingerprint_the_sound_keeps_the_earlier_fingerprint(
    archive: Archive, footage: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clip_id = ingest_file(archive, footage["original"])
    query = select(StoredAudioFingerprint.values).where(StoredAudioFingerprint.clip_id == clip_id)
    with archive.sessions() as session:
        before = session.scalar(query)
    hide_fpcalc(tmp_path / "bin", monkeypatch)
    request_reprocess(archive, clip_id, "tester")
    assert run_ingest(archive, NearDuplicateFinder(archive.sessions), clip_id).status == "ready"
    with archive.sessions() as session:
        assert before is not None and session.scalar(query) == before
        failed = [e for e in list_events(session, clip_id) if e.action == "audio_fingerprint_failed"]
        assert [json.loads(e.details)["attempt"] for e in failed] == [2]


def test_the_decode_pass_writes_the_sound_as_mono_pcm_that_fpcalc_reads_alike(
    footage: dict[str, Path], tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path)
    analysed = analyse_query(footage["resound"], settings, tmp_path / "decode")
    pcm = tmp_path / "decode" / "audio.s16le"
    assert pcm.stat().st_size // 2 == pytest.approx(10 * 11025, rel=0.01)
    assert analysed.sound is not None
    values = subprocess.run(
        ["fpcalc", "-raw", "-length", "0", "-json", str(footage["resound"])], capture_output=True, check=False
    ).stdout
    # fpcalc reading the file itself (resampled its own way) agrees with the decode pass's PCM.
    direct = np.asarray(json.loads(values)["fingerprint"], np.uint32)
    shared = min(len(direct), len(analysed.sound))
    differing = np.unpackbits((direct[:shared] ^ analysed.sound.values[:shared]).view(np.uint8)).mean()
    assert differing < 0.1
