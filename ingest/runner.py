"""The job seam: `submit(job_name, clip_id)`. In-process threads for the embedded archive;
`verity worker` processes behind procrastinate's queue for the scaled one (ingest/queue.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol

from ingest.near_duplicates import NearDuplicateFinder
from ingest.pipeline import fail_unfinished, internal_error, pending_clip_ids, run_ingest
from ingest.timestamps import timestamp_job
from storage.archive import Archive

log = logging.getLogger("verity.runner")

Job = Callable[[Archive, NearDuplicateFinder, str], Any]
JOBS: dict[str, Job] = {"ingest": run_ingest, "timestamp": timestamp_job}
# Jobs that never touch the clip's analysis: an error in one is logged, the clip's status stays.
SIDE_JOBS = frozenset({"timestamp"})


class JobRunner(Protocol):
    def submit(self, job_name: str, clip_id: str) -> None: ...


class OwnedRunner(JobRunner, Protocol):
    """A runner its owner (the API process) starts and must shut down."""

    def shutdown(self) -> None: ...


def run_job(job: Job, archive: Archive, finder: NearDuplicateFinder, clip_id: str) -> Any:
    """Run one job on a clip. If it raises, the clip is marked failed with the error as its
    reason (unless it already reached a final status) before the exception goes on, so no clip
    is left `processing` by an error the pipeline could not record itself."""
    try:
        return job(archive, finder, clip_id)
    except Exception as exc:
        fail_unfinished(archive, clip_id, internal_error(exc))
        raise


class InProcessRunner:
    """Runs jobs on a few background threads of this process; ffmpeg does the heavy work in
    its own processes, so the API stays responsive."""

    def __init__(self, archive: Archive, finder: NearDuplicateFinder, workers: int = 1) -> None:
        self.archive = archive
        self.finder = finder
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="verity-job")
        # A stamp takes a second; behind an hour-long analysis it would assert a later time.
        self._side_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="verity-side-job")
        self.futures: list[Future[None]] = []

    def submit(self, job_name: str, clip_id: str) -> None:
        if job_name not in JOBS:
            raise ValueError(f"unknown job {job_name!r}")
        self.futures = [f for f in self.futures if not f.done()]
        pool = self._side_pool if job_name in SIDE_JOBS else self._pool
        self.futures.append(pool.submit(self._run, job_name, clip_id))

    def _run(self, job_name: str, clip_id: str) -> None:
        try:
            if job_name in SIDE_JOBS:
                JOBS[job_name](self.archive, self.finder, clip_id)
            else:
                run_job(JOBS[job_name], self.archive, self.finder, clip_id)
        except Exception:
            log.exception("job %s for clip %s failed", job_name, clip_id)

    def shutdown(self) -> None:
        """Stop taking jobs and wait for the running ones. Jobs not yet started stay queued in the
        database and are resumed on the next start (a stamp by the retry task)."""
        self._side_pool.shutdown(wait=True, cancel_futures=True)
        self._pool.shutdown(wait=True, cancel_futures=True)


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
    """Resubmit every clip a previous process left queued or processing."""
    clip_ids = pending_clip_ids(archive)
    for clip_id in clip_ids:
        runner.submit("ingest", clip_id)
    return clip_ids
