"""The job seam: `submit(job_name, subject_id)`: a clip's ingest or timestamp, or an evidence
export. In-process threads for the embedded archive (timestamps and exports each on a thread of
their own, so neither waits behind an analysis nor holds one up); `verity worker` processes
behind procrastinate's queue for the scaled one (ingest/queue.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from ingest.export import record_failure, run_export
from ingest.near_duplicates import NearDuplicateFinder
from ingest.pipeline import fail_unfinished, internal_error, pending_clip_ids, run_ingest
from ingest.timestamps import timestamp_job
from storage.archive import Archive
from storage.exports import pending_export_ids

log = logging.getLogger("verity.runner")

Job = Callable[[Archive, NearDuplicateFinder, str], Any]
# What the guard records when a job raises: (archive, subject id, the exception).
OnFailure = Callable[[Archive, str, Exception], Any]


def _clip_failed(archive: Archive, clip_id: str, exc: Exception) -> None:
    fail_unfinished(archive, clip_id, internal_error(exc))


def _logged_only(_archive: Archive, _clip_id: str, _exc: Exception) -> None:
    """A stamp never touches the clip's analysis: its error is logged, the clip's status stays
    (the stamp itself stays pending for the periodic retry)."""


@dataclass(frozen=True)
class JobKind:
    run: Job
    on_failure: OnFailure
    pool: str  # the in-process thread pool it runs on


JOBS: dict[str, JobKind] = {
    "ingest": JobKind(run_ingest, _clip_failed, "analysis"),  # subject: a clip id
    # A stamp takes a second; behind an hour-long analysis it would assert a later time.
    "timestamp": JobKind(timestamp_job, _logged_only, "timestamps"),  # subject: a clip id
    "export": JobKind(run_export, record_failure, "exports"),  # subject: an export id
}


class JobRunner(Protocol):
    def submit(self, job_name: str, clip_id: str) -> None: ...


class OwnedRunner(JobRunner, Protocol):
    """A runner its owner (the API process) starts and must shut down."""

    def shutdown(self) -> None: ...


def run_job(
    job: Job, archive: Archive, finder: NearDuplicateFinder, clip_id: str, on_failure: OnFailure = _clip_failed
) -> Any:
    """Run one job on a clip (or an export, with its `on_failure`). If it raises, the clip is marked
    failed with the error as its reason (unless it already reached a final status) before the
    exception goes on, so no clip is left `processing` by an error the pipeline could not record
    itself; an export is marked failed with the reason."""
    try:
        return job(archive, finder, clip_id)
    except Exception as exc:
        on_failure(archive, clip_id, exc)
        raise


def run_named_job(job_name: str, archive: Archive, finder: NearDuplicateFinder, subject_id: str) -> Any:
    kind = JOBS[job_name]
    return run_job(kind.run, archive, finder, subject_id, kind.on_failure)


class InProcessRunner:
    """Runs jobs on a few background threads of this process; ffmpeg does the heavy work in
    its own processes, so the API stays responsive."""

    def __init__(self, archive: Archive, finder: NearDuplicateFinder, workers: int = 1) -> None:
        self.archive = archive
        self.finder = finder
        self._pools = {
            "analysis": ThreadPoolExecutor(max_workers=workers, thread_name_prefix="verity-job"),
            "timestamps": ThreadPoolExecutor(max_workers=1, thread_name_prefix="verity-timestamp"),
            "exports": ThreadPoolExecutor(max_workers=1, thread_name_prefix="verity-export"),
        }
        self.futures: list[Future[None]] = []

    def submit(self, job_name: str, clip_id: str) -> None:
        if job_name not in JOBS:
            raise ValueError(f"unknown job {job_name!r}")
        self.futures = [f for f in self.futures if not f.done()]
        pool = self._pools[JOBS[job_name].pool]
        self.futures.append(pool.submit(self._run, job_name, clip_id))

    def _run(self, job_name: str, subject_id: str) -> None:
        try:
            run_named_job(job_name, self.archive, self.finder, subject_id)
        except Exception:
            log.exception("job %s for %s failed", job_name, subject_id)

    def shutdown(self) -> None:
        """Stop taking jobs and wait for the running ones. Jobs not yet started stay queued in the
        database and are resumed on the next start (a stamp by the periodic retry)."""
        for pool in self._pools.values():
            pool.shutdown(wait=True, cancel_futures=True)


def queue_ingest(runner: JobRunner, clip_id: str) -> None:
    """Hand the clip to the runner: its timestamp (which does nothing without an authority
    configured), then its analysis. The clip is already stored and marked queued, so if the
    queue cannot take the job now (scaled mode: a database insert) the answer stays a success:
    the workers' recovery, or the next start, queues every clip still waiting, and the periodic
    retry takes up every stamp still pending."""
    for job_name in ("timestamp", "ingest"):
        try:
            runner.submit(job_name, clip_id)
        except Exception:
            log.exception("could not queue the %s of clip %s; it stays queued for recovery", job_name, clip_id)


def resume_pending(archive: Archive, runner: JobRunner) -> list[str]:
    """Resubmit every clip a previous process left queued or processing, and every export it left
    queued or half-built (an export starts again from the beginning)."""
    clip_ids = pending_clip_ids(archive)
    for clip_id in clip_ids:
        runner.submit("ingest", clip_id)
    with archive.reads() as session:
        export_ids = pending_export_ids(session)
    for export_id in export_ids:
        runner.submit("export", export_id)
    return clip_ids


def queue_export(runner: JobRunner, export_id: str) -> None:
    """Hand the export to the runner; if the queue cannot take it now, it stays queued and the next
    start (or the workers' recovery) submits it."""
    try:
        runner.submit("export", export_id)
    except Exception:
        log.exception("could not queue export %s; it stays queued for recovery", export_id)
