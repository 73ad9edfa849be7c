"""Fixity audits: re-read originals from the object store, recompute SHA-256 and size, run the
chain check (storage/vouched.py: the chain's own hashes and every row it vouches for), and record
the outcome as a custody event on the clip (storage/fixity.py). A missing object is a failure; an
object store that cannot be reached is not (the audit stops and resumes later).

A run audits every clip in id order and keeps its cursor in the database, so one cut off by a
restart resumes after the last clip it finished. Only one run goes at a time, anywhere: the run
holds a hold (storage/holds.py: an advisory lock on PostgreSQL, a lock file beside SQLite) that
dies with its process. Reading is paced (`VERITY_FIXITY_MB_PER_S`) so an audit leaves the disk and
the S3 server to ingest. Downloads are checked too (`checked_original`)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.archive import Archive
from storage.clips import load_clip
from storage.fixity import (
    Failure,
    advance_run,
    clips_after,
    count_failed,
    failures,
    finish_run,
    last_finished_run,
    record_outcome,
    start_run,
    unfinished_run,
)
from storage.holds import hold
from storage.models import Clip, FixityRun, utcnow
from storage.vouched import check_custody
from verity.errors import BlobNotFound, FixityFailed, InvalidInput
from verity.settings import Settings

ACTOR = "fixity-audit"
AUDIT_HOLD = "fixity-audit"
BATCH = 100
# A scheduled call audits for at most this long (checked between clips), then returns; the next
# call resumes the run, so the process can stop between calls without waiting for a whole audit.
# A worker finishes its job before it stops: long slices, each minute. The API process waits 10 s
# for a periodic task when it stops: short slices, called every few seconds.
SCHEDULED_SLICE_S = {"procrastinate": 300.0, "inprocess": 8.0}
SCHEDULED_TICK_S = {"procrastinate": 60.0, "inprocess": 10.0}


class Pace:
    """Keeps reading at or under `mb_per_s` on average (0: as fast as it goes)."""

    def __init__(self, mb_per_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.bytes_per_s = mb_per_s * 1_000_000
        self.clock = clock
        self.started = clock()
        self.read = 0

    def took(self, size: int) -> None:
        self.read += size
        if self.bytes_per_s <= 0:
            return
        ahead = self.read / self.bytes_per_s - (self.clock() - self.started)
        if ahead > 0:
            time.sleep(ahead)


@dataclass(frozen=True)
class ClipOutcome:
    clip_id: str
    filename: str
    problems: list[str]
    bytes_read: int

    @property
    def failed(self) -> bool:
        return bool(self.problems)


@dataclass
class AuditProgress:
    """What one call of `run_fixity_audit` did: the run it worked on, whether that run is finished,
    and the outcomes of the clips it checked in this call."""

    run_id: int
    finished: bool
    outcomes: list[ClipOutcome] = field(default_factory=list)

    @property
    def failed(self) -> list[ClipOutcome]:
        return [outcome for outcome in self.outcomes if outcome.failed]


def _read_original(archive: Archive, key: str, pace: Pace | None) -> tuple[str, int] | None:
    """SHA-256 and size of the object under `key`, read whole; None when it is not there (or the
    key could name no object: a clip whose key was edited must fail, not stop every audit at it)."""
    digest, size = hashlib.sha256(), 0
    try:
        for chunk in archive.blobs.open(key):
            digest.update(chunk)
            size += len(chunk)
            if pace is not None:
                pace.took(len(chunk))
    except (BlobNotFound, InvalidInput):
        return None
    return digest.hexdigest(), size


def check_clip(
    archive: Archive, clip_id: str, actor: str = ACTOR, *, pace: Pace | None = None, run_id: int | None = None
) -> ClipOutcome:
    """Audit one clip now: its original's bytes, then its chain, and record the outcome (and, in a
    run, move the run's cursor past it, in the same transaction). `ClipNotFound` for no such clip."""
    with archive.reads() as session:
        clip = load_clip(session, clip_id)
        key, sha256, size = clip.blob_key, clip.sha256, clip.size_bytes
    read = _read_original(archive, key, pace)
    problems: list[str] = []
    details: dict[str, object] = {"sha256": sha256, "size_bytes": size}
    if read is None:
        problems.append(f"the original is missing from the object store (key {key})")
    else:
        found_sha, found_size = read
        details.update(found_sha256=found_sha, found_size_bytes=found_size)
        if found_size != size:
            problems.append(f"the original holds {found_size} bytes, the clip says {size}")
        if found_sha != sha256:
            problems.append(f"the original's SHA-256 is {found_sha}, the clip says {sha256}")
    with archive.sessions.begin() as session:
        # Under the clip's row lock, as every writer of its custody takes it first: the chain and
        # the rows it vouches for are read as one, never half of a change.
        session.execute(select(Clip.id).where(Clip.id == clip_id).with_for_update(key_share=True))
        clip = session.get_one(Clip, clip_id, populate_existing=True)
        _events, chain = check_custody(session, clip)
        problems += chain.problems()
        record_outcome(session, clip_id, actor, problems, details)
        if run_id is not None:
            advance_run(session, run_id, clip_id, read[1] if read else 0, bool(problems))
        filename = clip.filename
    return ClipOutcome(clip_id, filename, problems, read[1] if read else 0)


def run_fixity_audit(
    archive: Archive,
    actor: str = ACTOR,
    *,
    budget_s: float | None = None,
    new_run: bool = True,
    on_clip: Callable[[ClipOutcome], None] | None = None,
) -> AuditProgress | None:
    """Continue the unfinished run, or else (with `new_run`) start one, and audit clips in id
    order until the run ends or `budget_s` seconds have passed. None when another audit holds the
    run (never two at once) or there is nothing to continue."""
    with hold(archive, AUDIT_HOLD) as held:
        if not held:
            return None
        with archive.sessions.begin() as session:
            run = unfinished_run(session)
            if run is None:
                if not new_run:
                    return None
                run = start_run(session, actor)
            run_id, cursor = run.id, run.cursor
        progress = AuditProgress(run_id, False)
        pace = Pace(archive.settings.fixity_mb_per_s)
        deadline = None if budget_s is None else time.monotonic() + budget_s
        while True:
            with archive.reads() as session:
                batch = clips_after(session, cursor, BATCH)
            if not batch:
                with archive.sessions.begin() as session:
                    finish_run(session, run_id)
                progress.finished = True
                return progress
            for clip_id, _size in batch:
                if deadline is not None and time.monotonic() >= deadline:
                    return progress
                outcome = check_clip(archive, clip_id, actor, pace=pace, run_id=run_id)
                progress.outcomes.append(outcome)
                if on_clip is not None:
                    on_clip(outcome)
                cursor = clip_id


def next_run_at(session: Session, last: FixityRun | None, settings: Settings) -> datetime:
    """When the schedule starts the next run: an interval after the last finished run began; before
    the first, an interval after the oldest original was received (an archive just started, or
    just upgraded, is not read end to end at once: its originals were hashed as they came in)."""
    interval = timedelta(seconds=settings.fixity_interval_s)
    if last is not None:
        return last.started_at + interval
    oldest = session.scalar(select(func.min(Clip.created_at)))
    return (oldest if oldest is not None else utcnow()) + interval


@dataclass(frozen=True)
class AuditStatus:
    """Where the audits stand: the last finished run, the one under way (or cut off), when the
    schedule starts the next, and the clips whose last check failed."""

    last_run: FixityRun | None
    running: FixityRun | None
    next_run_at: datetime
    interval_s: float
    failed: int
    failures: list[Failure]


def audit_status(session: Session, settings: Settings) -> AuditStatus:
    last = last_finished_run(session)
    return AuditStatus(
        last,
        unfinished_run(session),
        next_run_at(session, last, settings),
        settings.fixity_interval_s,
        count_failed(session),
        failures(session),
    )


def scheduled_fixity_audit(archive: Archive) -> AuditProgress | None:
    """The periodic task's body (call it every `fixity_tick_s`): resume a cut-off run, or start one
    when the interval since the last has passed; each call audits for at most its slice."""
    with archive.reads() as session:
        running = unfinished_run(session) is not None
        due = next_run_at(session, last_finished_run(session), archive.settings) <= utcnow()
    if not running and not due:
        return None
    return run_fixity_audit(archive, budget_s=SCHEDULED_SLICE_S[archive.settings.job_runner])


def fixity_tick_s(settings: Settings) -> float:
    """How often the scheduler should call `scheduled_fixity_audit`: often enough that a run sliced
    into calls proceeds steadily, never more often than the interval itself."""
    return min(settings.fixity_interval_s, SCHEDULED_TICK_S[settings.job_runner])


@dataclass(frozen=True)
class Original:
    """What a download needs of its clip, read before the response streams (its session is gone by then)."""

    clip_id: str
    blob_key: str
    sha256: str
    size: int


def checked_original(archive: Archive, original: Original, start: int, end: int, actor: str) -> Iterator[bytes]:
    """Bytes `start`…`end` of the original, hashed as they stream. When the whole original is
    asked for and its bytes are not the clip's (other bytes, fewer, or more), the last chunk is
    kept back, so the client gets a cut-off body rather than a whole one under the wrong digest,
    and a fixity failure is recorded on the clip; a range that ends short is recorded too. A
    missing object is recorded before `BlobNotFound` is raised."""
    whole = start == 0 and end == original.size - 1
    try:
        # One byte past the end for a whole download: an original with bytes added shows it.
        body = archive.blobs.open(original.blob_key, start, end + 1 if whole else end)
    except BlobNotFound:
        _record_download_failure(archive, original, actor, [f"the original is missing (key {original.blob_key})"])
        raise
    return _checked(archive, original, body, start, end, whole, actor)


def _checked(
    archive: Archive, original: Original, body: Iterator[bytes], start: int, end: int, whole: bool, actor: str
) -> Iterator[bytes]:
    wanted = end - start + 1
    digest, seen, pending = hashlib.sha256(), 0, b""
    for chunk in body:
        within = chunk[: max(0, wanted - seen)]
        seen += len(chunk)
        if seen > wanted:
            break  # more than the clip's bytes (a whole download reads one past its end)
        if pending:
            yield pending
        digest.update(within)
        pending = within
    problems = []
    if seen < wanted:
        problems.append(f"the original ends after {start + seen} bytes; the clip says {original.size}")
    elif whole and seen > wanted:
        problems.append(f"the original holds more than the clip's {original.size} bytes")
    if whole and not problems and digest.hexdigest() != original.sha256:
        problems.append(f"the original's SHA-256 is {digest.hexdigest()}, the clip says {original.sha256}")
    if problems:
        _record_download_failure(archive, original, actor, problems)
        raise FixityFailed(f"clip {original.clip_id}: {'; '.join(problems)}")
    if pending:
        yield pending


def _record_download_failure(archive: Archive, original: Original, actor: str, problems: list[str]) -> None:
    with archive.sessions.begin() as session:
        details = {"by": "download", "sha256": original.sha256, "size_bytes": original.size}
        record_outcome(session, original.clip_id, actor, problems, details)
