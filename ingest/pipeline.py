"""The ingest pipeline: the steps, in order, over one clip. It owns status, progress and custody
events; the steps themselves (probe, decode, keyframes) know nothing of the database."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select, text, update
from sqlalchemy.orm import Session

from ingest.audio_duplicates import save_audio_fingerprint
from ingest.chromaprint import AudioFingerprint, fingerprint_audio
from ingest.content_credentials import ContentCredentials, read_content_credentials
from ingest.decode import DecodedFrames, decode
from ingest.ffmpeg import DecodePlan, Limits, ViewingCopyOutput
from ingest.fingerprint import Fingerprint, fingerprint
from ingest.inset import find_inset
from ingest.integrity import Integrity, check_integrity
from ingest.keyframes import Keyframe, extract_keyframes
from ingest.match import Match
from ingest.near_duplicates import NearDuplicateFinder, save_fingerprint, save_relations
from ingest.probe import MediaInfo, probe, require_video
from ingest.scratch import scratch_folder
from ingest.viewing_copy import CONTENT_TYPE, Playability, describe, playability_of, viewing_copy_output
from storage.archive import Archive
from storage.blobs import BlobStore
from storage.clips import save_content_credentials
from storage.custody import append_event, hold_claim
from storage.models import Clip, ViewingCopy, utcnow
from storage.models import Keyframe as KeyframeRow
from storage.recorded import recorded_time
from storage.viewing_copies import save_viewing_copy
from storage.vocabulary import ClipStatus
from verity.errors import ClipNotFound, Conflict, MediaFailed, Superseded, UnsupportedMedia
from verity.settings import Settings

log = logging.getLogger("verity.ingest")
ACTOR = "ingest"
ACTIVE = (ClipStatus.queued, ClipStatus.processing)

# Where each step starts on the clip's progress bar; decoding fills most of it.
STEP_START = {
    "fetch": 0.0,
    "credentials": 0.01,
    "probe": 0.03,
    "decode": 0.05,
    "keyframes": 0.85,
    "viewing_copy": 0.87,
    "fingerprint": 0.88,
    "audio_fingerprint": 0.93,
    "match": 0.95,
    "finish": 0.98,
}


@dataclass(frozen=True)
class IngestResult:
    status: str
    reason: str | None
    step_seconds: dict[str, float] = field(default_factory=dict)


def thumbnail_key(clip_id: str, index: int, attempt: int) -> str:
    # The attempt is in the name so that an analysis that was claimed away from cannot overwrite
    # the thumbnails of the one that holds the clip.
    return f"keyframes/{clip_id}/{attempt}-{index:05d}.jpg"


def viewing_copy_key(clip_id: str, attempt: int) -> str:
    return f"viewing-copies/{clip_id}/{attempt}.mp4"  # the attempt in it, as for thumbnails


@dataclass(frozen=True)
class Claim:
    """One analysis of one clip: attempt `attempt`, valid until the clip is claimed again."""

    archive: Archive
    clip_id: str
    attempt: int

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction for this analysis's writes, refused (`Superseded`) once another attempt
        holds the clip: the check and the writes commit together or not at all."""
        with self.archive.sessions.begin() as session:
            if session.get_bind().dialect.name == "postgresql":
                # A process paused inside this transaction (SIGSTOP) would keep the clip's row
                # locked, and the attempt that takes over waiting: the database ends such a
                # transaction once it idles as long as a silent worker is presumed dead.
                timeout_ms = str(int(self.archive.settings.worker_stalled_after_s * 1000))
                session.execute(
                    text("SELECT set_config('idle_in_transaction_session_timeout', :ms, true)"), {"ms": timeout_ms}
                )
            hold_claim(session, self.clip_id, self.attempt)
            yield session

    def record(self, session: Session, action: str, details: dict[str, Any]) -> None:
        """A custody event of this analysis, naming its attempt."""
        append_event(session, self.clip_id, action, ACTOR, {**details, "attempt": self.attempt})


def probe_limits(settings: Settings) -> Limits:
    return Limits(settings.ffprobe_timeout_s, settings.ffmpeg_memory_mb, cpu_s=settings.ffprobe_cpu_s)


def decode_plan(settings: Settings) -> DecodePlan:
    return DecodePlan(
        every_s=settings.keyframe_every_s,
        scene_threshold=settings.scene_threshold,
        thumbnail_max_side=settings.thumbnail_max_side,
        sample_fps=settings.sample_fps,
        sample_size=settings.sample_size,
        skip_nonreference=settings.decode_skip_nonreference,
    )


class _Progress:
    """Records the current step and fraction on the clip, at most once a second while decoding."""

    def __init__(self, claim: Claim) -> None:
        self.claim = claim
        self.last_write = 0.0

    def step(self, name: str, fraction: float | None = None) -> None:
        self._write(name, STEP_START[name] if fraction is None else fraction)

    def decoding(self, duration_s: float | None) -> Callable[[float], None]:
        start, span = STEP_START["decode"], STEP_START["keyframes"] - STEP_START["decode"]

        def report(media_time_s: float) -> None:
            if not duration_s or time.monotonic() - self.last_write < 1.0:
                return
            self._write("decode", start + span * min(media_time_s / duration_s, 1.0))

        return report

    def _write(self, step: str, fraction: float) -> None:
        self.last_write = time.monotonic()
        with self.claim.write() as session:
            clip = session.get(Clip, self.claim.clip_id)
            if clip is not None:
                clip.ingest_step, clip.ingest_progress = step, round(fraction, 3)


def _samples_of(frames: DecodedFrames, keyframes: list[Keyframe]) -> Callable[[], Iterator[tuple[float, Any]]]:
    """The decode pass's samples, read anew at each call; the sampling clock starts at the first
    decoded frame."""
    start_s = keyframes[0].time_s
    return lambda: frames.iter_samples(start_s)


def fingerprints_of(frames: DecodedFrames, keyframes: list[Keyframe]) -> tuple[Fingerprint, Fingerprint]:
    """The clip's fingerprint and that of its mirror image, from the decode pass's samples."""
    samples = _samples_of(frames, keyframes)
    return fingerprint(samples), fingerprint(samples, mirror=True)


def turned_prints_of(frames: DecodedFrames, keyframes: list[Keyframe]) -> tuple[Fingerprint, ...]:
    """Fingerprints of the clip's pictures turned a quarter either way, to find the footage of a
    sideways upload (only queried with; never stored)."""
    samples = _samples_of(frames, keyframes)
    return fingerprint(samples, quarter_turns=1), fingerprint(samples, quarter_turns=3)


def inset_prints_of(frames: DecodedFrames, keyframes: list[Keyframe]) -> tuple[Fingerprint, ...]:
    """The fingerprint of the part of the clip's picture that shows other footage, if a part does
    (picture-in-picture, `ingest.inset`; only queried with, never stored)."""
    samples = _samples_of(frames, keyframes)
    window = find_inset(samples)
    return () if window is None else (fingerprint(samples, window=window),)


def audio_start_s(info: MediaInfo) -> float:
    """Where the first audio stream starts in the file's own time (the decode pass keeps it: -copyts)."""
    streams = info.raw.get("streams") or []
    stream: dict[str, Any] = next((s for s in streams if s.get("codec_type") == "audio"), {})
    try:
        return float(stream.get("start_time") or 0.0)
    except ValueError:
        return 0.0


def sound_of(frames: DecodedFrames, info: MediaInfo, limits: Limits) -> AudioFingerprint | None:
    """The clip's sound fingerprint from the decode pass's PCM; None when there is no sound to
    fingerprint. Raises `MediaFailed` when there was sound but it could not be read."""
    if frames.audio_failure is not None:
        raise MediaFailed(f"the sound could not be decoded: {frames.audio_failure}")
    if frames.audio is None:
        return None
    return fingerprint_audio(frames.audio, audio_start_s(info), limits)


def analyse_file(path: Path, settings: Settings, workdir: Path) -> tuple[Fingerprint, Fingerprint]:
    """Fingerprint a file that is not archived by its pictures alone (and their mirror image)."""
    analysed = analyse_query(path, settings, workdir, sound=False)
    return analysed.print_, analysed.mirrored


@dataclass(frozen=True)
class QueryPrints:
    print_: Fingerprint
    mirrored: Fingerprint
    sound: AudioFingerprint | None  # None without sound, or when it could not be read
    turned: tuple[Fingerprint, ...] = ()  # turned a quarter either way: turned_prints_of
    insets: tuple[Fingerprint, ...] = ()  # the footage shown inside the picture: inset_prints_of


def analyse_query(path: Path, settings: Settings, workdir: Path, *, sound: bool = True) -> QueryPrints:
    """Fingerprint a file that is not archived (a provenance query), with the same hardened steps:
    its pictures, their mirror image and, with `sound`, its sound. Sound that cannot be read
    leaves the pictures to be compared all the same."""
    info = probe(path, probe_limits(settings))
    require_video(info)
    limits = Limits(settings.decode_timeout_s, settings.ffmpeg_memory_mb)
    frames = decode(path, decode_plan(settings), workdir, limits, audio=sound and bool(info.media["audio"]))
    keyframes = extract_keyframes(frames, scene_threshold=settings.scene_threshold)
    print_, mirrored = fingerprints_of(frames, keyframes)
    turned = turned_prints_of(frames, keyframes)
    insets = inset_prints_of(frames, keyframes)
    try:
        heard = sound_of(frames, info, limits)
    except MediaFailed as exc:
        log.warning("the sound of %s was not fingerprinted: %s", path, exc.detail)
        heard = None
    return QueryPrints(print_, mirrored, heard, turned, insets)


def _materialise(blobs: BlobStore, key: str, workdir: Path) -> Path:
    """A local file with the original's bytes: the stored file itself, or one temporary copy."""
    direct = blobs.local_path(key)
    if direct is not None:
        return direct
    copy = workdir / "original"
    with copy.open("wb") as out:
        for chunk in blobs.open(key):
            out.write(chunk)
    return copy


def _summary(info: MediaInfo) -> dict[str, Any]:
    media, video = info.media, info.media.get("video") or {}
    return {
        "container": media["container"],
        "duration_s": media["duration_s"],
        "video_codec": video.get("codec"),
        "width": video.get("width"),
        "height": video.get("height"),
        "rotation": media["rotation"],
        "warnings": media.get("warnings") or [],
    }


def claim_clip(archive: Archive, clip_id: str) -> tuple[Claim | None, str, str]:
    """Claim the clip for a new analysis: one conditional UPDATE takes the next attempt number
    if the clip is still queued or processing, so two claims never get the same one and the
    earlier is fenced off. Returns the claim (None when there is nothing to do: it already
    finished, a duplicate submission), the clip's status and its original's key."""
    with archive.sessions.begin() as session:
        before = session.execute(select(Clip.status, Clip.blob_key).where(Clip.id == clip_id)).one_or_none()
        if before is None:
            raise ClipNotFound(f"no clip with id {clip_id}")
        claimed = session.execute(
            update(Clip)
            .where(Clip.id == clip_id, Clip.status.in_([s.value for s in ACTIVE]))
            .values(
                status=ClipStatus.processing,
                status_reason=None,
                ingest_step="fetch",
                ingest_progress=0.0,
                ingest_attempt=Clip.ingest_attempt + 1,
            )
            .returning(Clip.ingest_attempt)
            .execution_options(synchronize_session=False)
        ).scalar_one_or_none()
        if claimed is None:
            status = session.scalar(select(Clip.status).where(Clip.id == clip_id))
            return None, str(status), before.blob_key
        claim = Claim(archive, clip_id, claimed)
        claim.record(session, "ingest_started", {"resumed": before.status == ClipStatus.processing})
        return claim, ClipStatus.processing, before.blob_key


def run_ingest(archive: Archive, finder: NearDuplicateFinder, clip_id: str) -> IngestResult:
    """Analyse one queued clip to a terminal status. Never raises for a bad file: the reason
    lands on the clip and in its custody log, and the original stays as it is. An analysis
    whose clip is claimed again meanwhile (its process was paused past its job's heartbeat, say)
    stops at its next write and writes nothing more."""
    claim, status, blob_key = claim_clip(archive, clip_id)
    if claim is None:
        return IngestResult(status, None)
    try:
        with scratch_folder(archive.settings.resolved_work_dir(), f"{clip_id}-") as workdir:
            return _analyse(claim, finder, blob_key, workdir)
    except Superseded as exc:
        log.warning("ingest of clip %s stopped: %s", clip_id, exc.detail)
        return IngestResult("superseded", exc.detail)


def _analyse(claim: Claim, finder: NearDuplicateFinder, blob_key: str, workdir: Path) -> IngestResult:
    archive, clip_id = claim.archive, claim.clip_id
    settings = archive.settings
    progress = _Progress(claim)
    timings: dict[str, float] = {}
    clock = time.monotonic()

    def lap(step: str) -> None:
        nonlocal clock
        now = time.monotonic()
        timings[step] = round(now - clock, 3)
        clock = now

    try:
        path = _materialise(archive.blobs, blob_key, workdir)
        lap("fetch")
        # Before ffprobe: a file it cannot read may still carry a manifest worth recording.
        progress.step("credentials")
        limits = Limits(settings.c2pa_timeout_s, settings.c2pa_memory_mb)
        credentials = read_content_credentials(path, trust_anchors=settings.c2pa_trust_anchors, limits=limits)
        _save_content_credentials(claim, credentials)
        lap("credentials")
        progress.step("probe")
        info = probe(path, probe_limits(settings))
        _save_media(claim, info)
        require_video(info)
        playability = playability_of(info, path)
        copy_output = None if playability.playable else viewing_copy_output(info, workdir / "viewing-copy.mp4")
        lap("probe")
        progress.step("decode")
        frames = decode(
            path,
            decode_plan(settings),
            workdir / "decode",
            Limits(settings.decode_timeout_s, settings.ffmpeg_memory_mb),
            progress.decoding(info.duration_s),
            copy_output,
            audio=bool(info.media["audio"]),
        )
        _save_integrity(claim, check_integrity(info, frames))
        lap("decode")
        progress.step("keyframes")
        keyframes = extract_keyframes(frames, scene_threshold=settings.scene_threshold)
        _save_keyframes(claim, keyframes, frames.sample_count)
        lap("keyframes")
        progress.step("viewing_copy")
        _save_viewing_copy(claim, playability, frames, copy_output)
        lap("viewing_copy")
        progress.step("fingerprint")
        print_, mirrored = fingerprints_of(frames, keyframes)
        _save_fingerprint(claim, print_, settings.sample_fps)
        lap("fingerprint")
        progress.step("audio_fingerprint")
        sound = _save_audio_fingerprint(claim, frames, info)
        lap("audio_fingerprint")
        progress.step("match")
        matches = finder.find(
            print_,
            mirrored,
            sample_step_s=1 / settings.sample_fps,
            exclude_clip_id=clip_id,
            audio=sound,
            turned=turned_prints_of(frames, keyframes),
            insets=inset_prints_of(frames, keyframes),
        )
        _save_relations(claim, matches)
        lap("match")
        progress.step("finish")
        return _finish(claim, ClipStatus.ready, None, timings)
    except Superseded:
        raise
    except UnsupportedMedia as exc:
        return _finish(claim, ClipStatus.unsupported, exc.detail)
    except MediaFailed as exc:
        return _finish(claim, ClipStatus.failed, exc.detail)
    except Exception as exc:
        log.exception("ingest of clip %s failed", clip_id)
        return _finish(claim, ClipStatus.failed, internal_error(exc))


def internal_error(exc: Exception) -> str:
    """A clip's status reason for an error nobody foresaw."""
    return f"internal error: {type(exc).__name__}: {exc}"


def _save_media(claim: Claim, info: MediaInfo) -> None:
    with claim.write() as session:
        clip = session.get(Clip, claim.clip_id)
        assert clip is not None
        clip.media = json.dumps(info.media)
        clip.probe_raw = json.dumps(info.raw)
        media = info.media
        recorded = recorded_time(media["creation_time"]["container"] or media["creation_time"]["stream"])
        # `recorded_at` is only a time that names its zone; the span also holds one that does not.
        clip.recorded_at = recorded.at if recorded else None
        clip.recorded_earliest = recorded.earliest if recorded else None
        clip.recorded_latest = recorded.latest if recorded else None
        clip.recorded_sort_at = recorded.sort_at if recorded else None
        location = media["location"] or {}
        clip.lat, clip.lon = location.get("lat"), location.get("lon")
        clip.device_make, clip.device_model = media["device"]["make"], media["device"]["model"]
        claim.record(session, "probed", _summary(info))


def _save_content_credentials(claim: Claim, credentials: ContentCredentials) -> None:
    with claim.write() as session:
        save_content_credentials(session, claim.clip_id, credentials.as_dict(), credentials.report)
        claim.record(session, "content_credentials_read", credentials.custody_details())
    if credentials.state in ("invalid", "malformed"):
        log.warning("clip %s: content credentials %s: %s", claim.clip_id, credentials.state, credentials.reason)


def _save_integrity(claim: Claim, integrity: Integrity) -> None:
    with claim.write() as session:
        clip = session.get(Clip, claim.clip_id)
        assert clip is not None
        clip.integrity = json.dumps(integrity.as_dict())
        clip.integrity_warnings = len(integrity.warnings)
        claim.record(session, "decoded", integrity.as_dict())


def _save_keyframes(claim: Claim, keyframes: list[Keyframe], sample_count: int) -> None:
    archive, clip_id = claim.archive, claim.clip_id
    rows = []
    for keyframe in keyframes:
        key = thumbnail_key(clip_id, keyframe.index, claim.attempt)
        with keyframe.path.open("rb") as handle:
            stored = archive.blobs.put_stream(key, iter(lambda: handle.read(1 << 20), b""))
        rows.append(
            KeyframeRow(
                clip_id=clip_id,
                index=keyframe.index,
                time_s=keyframe.time_s,
                reason=keyframe.reason,
                scene_score=keyframe.scene_score,
                width=keyframe.width,
                height=keyframe.height,
                blob_key=key,
                size_bytes=stored.size,
                phash=keyframe.phash,
            )
        )
    new_keys = {row.blob_key for row in rows}
    try:
        with claim.write() as session:
            replaced = set(session.scalars(select(KeyframeRow.blob_key).where(KeyframeRow.clip_id == clip_id)))
            session.execute(delete(KeyframeRow).where(KeyframeRow.clip_id == clip_id))
            session.add_all(rows)
            claim.record(
                session,
                "keyframes_extracted",
                {
                    "count": len(rows),
                    "scene_changes": sum(k.reason == "scene" for k in keyframes),
                    "frame_samples": sample_count,
                },
            )
    except Superseded:
        _delete_derivatives(archive.blobs, new_keys)  # refused: nothing refers to them
        raise
    _delete_derivatives(archive.blobs, replaced - new_keys)  # an earlier analysis's


def _delete_derivatives(blobs: BlobStore, keys: set[str]) -> None:
    for key in sorted(keys):
        try:
            blobs.delete(key)
        except Exception:
            log.exception("could not delete derivative %s; it is left behind", key)


def _store_viewing_copy(claim: Claim, playability: Playability, frames: DecodedFrames) -> ViewingCopy:
    """The row for the viewing copy the decode pass made, stored under its own key, hashed; or for
    its failure. Never raises for the copy's sake: the clip is analysed either way."""
    archive = claim.archive
    reasons = json.dumps(list(playability.reasons))
    failure = frames.viewing_copy_failure or "the decode pass made no viewing copy"
    if frames.viewing_copy is not None:
        key = viewing_copy_key(claim.clip_id, claim.attempt)
        try:
            made = describe(probe(frames.viewing_copy, probe_limits(archive.settings)))
            if made["video_codec"] != "h264":
                raise MediaFailed(f"the viewing copy came out {made['video_codec']}, not H.264")
            with frames.viewing_copy.open("rb") as handle:
                sha256 = hashlib.file_digest(handle, "sha256").hexdigest()
                handle.seek(0)
                stored = archive.blobs.put_stream(key, iter(lambda: handle.read(1 << 20), b""))
        except Exception as exc:
            log.exception("clip %s: its viewing copy could not be kept", claim.clip_id)
            failure = exc.detail if isinstance(exc, MediaFailed | UnsupportedMedia) else internal_error(exc)
        else:
            return ViewingCopy(
                clip_id=claim.clip_id,
                needed_because=reasons,
                blob_key=key,
                sha256=sha256,
                size_bytes=stored.size,
                content_type=CONTENT_TYPE,
                video_codec=made["video_codec"],
                audio_codec=made["audio_codec"],
                width=made["width"],
                height=made["height"],
                made_at=utcnow(),
                attempt=claim.attempt,
            )
    return ViewingCopy(
        clip_id=claim.clip_id, needed_because=reasons, failure=failure, made_at=utcnow(), attempt=claim.attempt
    )


def _save_viewing_copy(
    claim: Claim, playability: Playability, frames: DecodedFrames, output: ViewingCopyOutput | None
) -> None:
    """Record whether a browser plays the original and, if not, the viewing copy (or why there is
    none) with its custody event; an earlier analysis's copy is deleted once this one is recorded."""
    archive = claim.archive
    made = None if playability.playable else _store_viewing_copy(claim, playability, frames)
    try:
        with claim.write() as session:
            replaced = save_viewing_copy(session, claim.clip_id, playability.playable, made)
            if made is not None and made.blob_key is not None:
                claim.record(
                    session,
                    "viewing_copy_made",
                    {
                        "sha256": made.sha256,
                        "size_bytes": made.size_bytes,
                        "content_type": made.content_type,
                        "video_codec": made.video_codec,
                        "audio_codec": made.audio_codec,
                        "width": made.width,
                        "height": made.height,
                        "needed_because": list(playability.reasons),
                        # Its video: the original's coded pictures as they are, or decoded and encoded again.
                        "video": "copied" if output is not None and output.copy_video else "encoded",
                    },
                )
            elif made is not None:
                claim.record(
                    session,
                    "viewing_copy_failed",
                    {"reason": made.failure, "needed_because": list(playability.reasons)},
                )
    except Superseded:
        if made is not None and made.blob_key is not None:
            _delete_derivatives(archive.blobs, {made.blob_key})  # refused: nothing refers to it
        raise
    if replaced is not None:
        _delete_derivatives(archive.blobs, {replaced})
    if made is not None and made.failure is not None:
        log.warning("clip %s: no viewing copy: %s", claim.clip_id, made.failure)


def _save_fingerprint(claim: Claim, print_: Fingerprint, sample_fps: float) -> None:
    with claim.write() as session:
        save_fingerprint(session, claim.clip_id, print_, sample_fps)
        claim.record(
            session,
            "fingerprinted",
            {"frames": len(print_), "informative_frames": int(print_.informative.sum()), "sample_fps": sample_fps},
        )


def _save_audio_fingerprint(claim: Claim, frames: DecodedFrames, info: MediaInfo) -> AudioFingerprint | None:
    """Fingerprint the clip's sound and store it (replacing an earlier analysis's), with its custody
    event; a clip without sound has none. Sound that cannot be read is a warning and a custody
    event, not a failed analysis: the clip is still matched by its pictures (and by the sound
    fingerprint of an earlier analysis, if one was made)."""
    settings = claim.archive.settings
    failure: str | None = None
    try:
        sound = sound_of(frames, info, Limits(settings.decode_timeout_s, settings.ffmpeg_memory_mb))
    except MediaFailed as exc:
        sound, failure = None, exc.detail
    with claim.write() as session:
        # The original does not change: an earlier analysis's sound fingerprint outlives a failure.
        if failure is None:
            save_audio_fingerprint(session, claim.clip_id, sound)
        if sound is not None:
            details = {"values": len(sound), "start_s": round(sound.start_s, 3), "step_s": round(sound.step_s, 6)}
            claim.record(session, "audio_fingerprinted", {**details, "algorithm": "chromaprint-2"})
        elif failure is not None:
            claim.record(session, "audio_fingerprint_failed", {"reason": failure})
    if failure is not None:
        log.warning("clip %s: its sound was not fingerprinted: %s", claim.clip_id, failure)
    return sound


def _save_relations(claim: Claim, matches: list[Match]) -> None:
    with claim.write() as session:
        save_relations(session, claim.clip_id, matches)
        claim.record(
            session,
            "near_duplicates_found",
            {"count": len(matches), "clips": [m.clip_id for m in matches]},
        )


def _finish(
    claim: Claim, status: ClipStatus, reason: str | None, timings: dict[str, float] | None = None
) -> IngestResult:
    with claim.write() as session:
        clip = session.get(Clip, claim.clip_id)
        assert clip is not None
        clip.status, clip.status_reason = status, reason
        clip.ingest_step = None
        clip.ingest_progress = 1.0 if status == ClipStatus.ready else None
        claim.record(
            session,
            "ingest_finished" if status == ClipStatus.ready else "ingest_failed",
            {"status": status.value, "reason": reason, **({"step_seconds": timings} if timings else {})},
        )
    if status != ClipStatus.ready:  # whoever runs the server learns of it without asking each clip
        # `analysis_ended` lets a front end that reports the outcome itself (`verity ingest`) leave it out.
        log.warning(
            "analysis of clip %s ended %s: %s",
            claim.clip_id,
            status.value,
            reason,
            extra={"analysis_ended": status.value},
        )
    return IngestResult(status.value, reason, timings or {})


def fail_unfinished(archive: Archive, clip_id: str, reason: str) -> bool:
    """Mark a clip whose ingest broke off outside the steps (an error `run_ingest` could not
    record) failed with `reason`, unless it already reached a final status. True if it did.
    It is written as the clip's current attempt, the one that broke off."""
    with archive.sessions() as session:
        clip = session.get(Clip, clip_id)
        if clip is None or clip.status not in ACTIVE:
            return False
        attempt = clip.ingest_attempt
    try:
        _finish(Claim(archive, clip_id, attempt), ClipStatus.failed, reason)
    except Superseded:
        return False  # claimed again meanwhile: that analysis decides
    return True


def request_reprocess(archive: Archive, clip_id: str, actor: str) -> None:
    """Queue a clip for analysis again (its previous results are replaced when it finishes)."""
    with archive.sessions.begin() as session:
        clip = session.get(Clip, clip_id)
        if clip is None:
            raise ClipNotFound(f"no clip with id {clip_id}")
        if clip.status in ACTIVE:
            raise Conflict(f"clip {clip_id} is already {clip.status}")
        previous = clip.status
        clip.status, clip.status_reason, clip.ingest_step, clip.ingest_progress = ClipStatus.queued, None, None, None
        append_event(session, clip_id, "reprocess_requested", actor, {"previous_status": previous})


def pending_clip_ids(archive: Archive) -> list[str]:
    """Clips left queued or mid-analysis, oldest first: what a restart must pick up."""
    with archive.sessions() as session:
        return list(
            session.scalars(select(Clip.id).where(Clip.status.in_([s.value for s in ACTIVE])).order_by(Clip.created_at))
        )
