"""The ingest pipeline: the steps, in order, over one clip. It owns status, progress and custody
events; the steps themselves (probe, decode, keyframes) know nothing of the database."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select

from ingest.decode import DecodedFrames, decode
from ingest.ffmpeg import DecodePlan, Limits
from ingest.fingerprint import Fingerprint, fingerprint
from ingest.integrity import Integrity, check_integrity
from ingest.keyframes import Keyframe, extract_keyframes
from ingest.match import Match
from ingest.near_duplicates import NearDuplicateFinder, save_fingerprint, save_relations
from ingest.probe import MediaInfo, probe, require_video
from ingest.scratch import scratch_folder
from storage.archive import Archive
from storage.blobs import BlobStore
from storage.custody import append_event
from storage.models import Clip
from storage.models import Keyframe as KeyframeRow
from storage.recorded import recorded_time
from storage.vocabulary import ClipStatus
from verity.errors import ClipNotFound, Conflict, MediaFailed, UnsupportedMedia
from verity.settings import Settings

log = logging.getLogger("verity.ingest")
ACTOR = "ingest"
ACTIVE = (ClipStatus.queued, ClipStatus.processing)

# Where each step starts on the clip's progress bar; decoding fills most of it.
STEP_START = {
    "fetch": 0.0,
    "probe": 0.03,
    "decode": 0.05,
    "keyframes": 0.85,
    "fingerprint": 0.88,
    "match": 0.95,
    "finish": 0.98,
}


@dataclass(frozen=True)
class IngestResult:
    status: str
    reason: str | None
    step_seconds: dict[str, float] = field(default_factory=dict)


def thumbnail_key(clip_id: str, index: int) -> str:
    return f"keyframes/{clip_id}/{index:05d}.jpg"


def probe_limits(settings: Settings) -> Limits:
    return Limits(settings.ffprobe_timeout_s, settings.ffmpeg_memory_mb, cpu_s=settings.ffprobe_cpu_s)


def decode_plan(settings: Settings) -> DecodePlan:
    return DecodePlan(
        every_s=settings.keyframe_every_s,
        scene_threshold=settings.scene_threshold,
        thumbnail_max_side=settings.thumbnail_max_side,
        sample_fps=settings.sample_fps,
        sample_size=settings.sample_size,
    )


class _Progress:
    """Records the current step and fraction on the clip, at most once a second while decoding."""

    def __init__(self, archive: Archive, clip_id: str) -> None:
        self.archive, self.clip_id = archive, clip_id
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
        with self.archive.sessions.begin() as session:
            clip = session.get(Clip, self.clip_id)
            if clip is not None:
                clip.ingest_step, clip.ingest_progress = step, round(fraction, 3)


def fingerprints_of(frames: DecodedFrames, keyframes: list[Keyframe]) -> tuple[Fingerprint, Fingerprint]:
    """The clip's fingerprint and that of its mirror image, from the decode pass's samples."""
    start_s = keyframes[0].time_s  # the sampling clock starts at the first decoded frame

    def samples() -> Iterator[tuple[float, Any]]:
        return frames.iter_samples(start_s)

    return fingerprint(samples), fingerprint(samples, mirror=True)


def analyse_file(path: Path, settings: Settings, workdir: Path) -> tuple[Fingerprint, Fingerprint]:
    """Fingerprint a file that is not archived (a provenance query), with the same hardened steps."""
    info = probe(path, probe_limits(settings))
    require_video(info)
    frames = decode(path, decode_plan(settings), workdir, Limits(settings.decode_timeout_s, settings.ffmpeg_memory_mb))
    return fingerprints_of(frames, extract_keyframes(frames, scene_threshold=settings.scene_threshold))


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


def _begin(archive: Archive, clip_id: str) -> tuple[str | None, str]:
    """Mark the clip processing; returns its original's key, or None when there is nothing to do
    (it already finished: a duplicate submission), with its status."""
    with archive.sessions.begin() as session:
        clip = session.get(Clip, clip_id)
        if clip is None:
            raise ClipNotFound(f"no clip with id {clip_id}")
        if clip.status not in ACTIVE:
            return None, clip.status
        resumed = clip.status == ClipStatus.processing
        clip.status, clip.status_reason = ClipStatus.processing, None
        clip.ingest_step, clip.ingest_progress = "fetch", 0.0
        append_event(session, clip_id, "ingest_started", ACTOR, {"resumed": resumed})
        return clip.blob_key, clip.status


def run_ingest(archive: Archive, finder: NearDuplicateFinder, clip_id: str) -> IngestResult:
    """Analyse one queued clip to a terminal status. Never raises for a bad file: the reason
    lands on the clip and in its custody log, and the original stays as it is."""
    blob_key, status = _begin(archive, clip_id)
    if blob_key is None:
        return IngestResult(status, None)
    with scratch_folder(archive.settings.resolved_work_dir(), f"{clip_id}-") as workdir:
        return _analyse(archive, finder, clip_id, blob_key, workdir)


def _analyse(archive: Archive, finder: NearDuplicateFinder, clip_id: str, blob_key: str, workdir: Path) -> IngestResult:
    settings = archive.settings
    progress = _Progress(archive, clip_id)
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
        progress.step("probe")
        info = probe(path, probe_limits(settings))
        _save_media(archive, clip_id, info)
        require_video(info)
        lap("probe")
        progress.step("decode")
        frames = decode(
            path,
            decode_plan(settings),
            workdir / "decode",
            Limits(settings.decode_timeout_s, settings.ffmpeg_memory_mb),
            progress.decoding(info.duration_s),
        )
        _save_integrity(archive, clip_id, check_integrity(info, frames))
        lap("decode")
        progress.step("keyframes")
        keyframes = extract_keyframes(frames, scene_threshold=settings.scene_threshold)
        _save_keyframes(archive, clip_id, keyframes, frames.sample_count)
        lap("keyframes")
        progress.step("fingerprint")
        print_, mirrored = fingerprints_of(frames, keyframes)
        _save_fingerprint(archive, clip_id, print_, settings.sample_fps)
        lap("fingerprint")
        progress.step("match")
        matches = finder.find(print_, mirrored, sample_step_s=1 / settings.sample_fps, exclude_clip_id=clip_id)
        _save_relations(archive, clip_id, matches)
        lap("match")
        progress.step("finish")
        return _finish(archive, clip_id, ClipStatus.ready, None, timings)
    except UnsupportedMedia as exc:
        return _finish(archive, clip_id, ClipStatus.unsupported, exc.detail)
    except MediaFailed as exc:
        return _finish(archive, clip_id, ClipStatus.failed, exc.detail)
    except Exception as exc:
        log.exception("ingest of clip %s failed", clip_id)
        return _finish(archive, clip_id, ClipStatus.failed, internal_error(exc))


def internal_error(exc: Exception) -> str:
    """A clip's status reason for an error nobody foresaw."""
    return f"internal error: {type(exc).__name__}: {exc}"


def _save_media(archive: Archive, clip_id: str, info: MediaInfo) -> None:
    with archive.sessions.begin() as session:
        clip = session.get(Clip, clip_id)
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
        append_event(session, clip_id, "probed", ACTOR, _summary(info))


def _save_integrity(archive: Archive, clip_id: str, integrity: Integrity) -> None:
    with archive.sessions.begin() as session:
        clip = session.get(Clip, clip_id)
        assert clip is not None
        clip.integrity = json.dumps(integrity.as_dict())
        clip.integrity_warnings = len(integrity.warnings)
        append_event(session, clip_id, "decoded", ACTOR, integrity.as_dict())


def _save_keyframes(archive: Archive, clip_id: str, keyframes: list[Keyframe], sample_count: int) -> None:
    rows = []
    for keyframe in keyframes:
        key = thumbnail_key(clip_id, keyframe.index)
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
    with archive.sessions.begin() as session:
        session.execute(delete(KeyframeRow).where(KeyframeRow.clip_id == clip_id))
        session.add_all(rows)
        append_event(
            session,
            clip_id,
            "keyframes_extracted",
            ACTOR,
            {
                "count": len(rows),
                "scene_changes": sum(k.reason == "scene" for k in keyframes),
                "frame_samples": sample_count,
            },
        )


def _save_fingerprint(archive: Archive, clip_id: str, print_: Fingerprint, sample_fps: float) -> None:
    with archive.sessions.begin() as session:
        save_fingerprint(session, clip_id, print_, sample_fps)
        append_event(
            session,
            clip_id,
            "fingerprinted",
            ACTOR,
            {"frames": len(print_), "informative_frames": int(print_.informative.sum()), "sample_fps": sample_fps},
        )


def _save_relations(archive: Archive, clip_id: str, matches: list[Match]) -> None:
    with archive.sessions.begin() as session:
        save_relations(session, clip_id, matches)
        append_event(
            session,
            clip_id,
            "near_duplicates_found",
            ACTOR,
            {"count": len(matches), "clips": [m.clip_id for m in matches]},
        )


def _finish(
    archive: Archive, clip_id: str, status: ClipStatus, reason: str | None, timings: dict[str, float] | None = None
) -> IngestResult:
    with archive.sessions.begin() as session:
        clip = session.get(Clip, clip_id)
        assert clip is not None
        clip.status, clip.status_reason = status, reason
        clip.ingest_step = None
        clip.ingest_progress = 1.0 if status == ClipStatus.ready else None
        append_event(
            session,
            clip_id,
            "ingest_finished" if status == ClipStatus.ready else "ingest_failed",
            ACTOR,
            {"status": status.value, "reason": reason, **({"step_seconds": timings} if timings else {})},
        )
    if status != ClipStatus.ready:  # whoever runs the server learns of it without asking each clip
        log.warning("analysis of clip %s ended %s: %s", clip_id, status.value, reason)
    return IngestResult(status.value, reason, timings or {})


def fail_unfinished(archive: Archive, clip_id: str, reason: str) -> bool:
    """Mark a clip whose ingest broke off outside the steps (an error `run_ingest` could not
    record) failed with `reason`, unless it already reached a final status. True if it did."""
    with archive.sessions() as session:
        clip = session.get(Clip, clip_id)
        if clip is None or clip.status not in ACTIVE:
            return False
    _finish(archive, clip_id, ClipStatus.failed, reason)
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
