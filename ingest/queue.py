"""Scaled-mode jobs: procrastinate's queue in the archive's own PostgreSQL. The API defers one
ingest job per clip, and one job per evidence export (`QueueRunner`); `verity worker` processes
run them (`run_worker`).

Per clip, a queueing lock keeps at most one job waiting and a lock keeps two jobs from running at
once. Every minute a worker fails the jobs of workers that died mid-job, or went silent for
`worker_stalled_after_s` (freeing their clip's lock), and queues every clip still waiting without
a live job (`recover_jobs`). A silent worker may only have been paused: should it wake, the clip's
claim has moved on to the next attempt and its analysis writes nothing (ingest/pipeline.py).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.jobs import JobDeferrer, Status
from psycopg.conninfo import make_conninfo
from sqlalchemy.engine import make_url

from ingest.near_duplicates import NearDuplicateFinder
from ingest.periodic import TASKS, PeriodicTask, run_if_due
from ingest.pipeline import pending_clip_ids
from ingest.runner import JOBS, run_named_job
from ingest.scratch import remove_abandoned
from ingest.timestamps import stamp_clip
from storage.archive import Archive, open_archive
from storage.exports import pending_export_ids
from verity.errors import ConfigurationError
from verity.settings import Settings

log = logging.getLogger("verity.queue")

INGEST_TASK = "verity.ingest"
EXPORT_TASK = "verity.export"
RECOVER_TASK = "verity.recover"
RECOVER_CRON = "* * * * *"
TIMESTAMP_TASK = "verity.timestamp"
# Each periodic task (ingest/periodic.py) is looked at every minute; its own schedule, kept in the
# database, says whether it runs.
PERIODIC_CRON = "* * * * *"
RESOURCES = "verity"  # the key of `WorkerResources` in a job's context


def queue_conninfo(settings: Settings) -> str:
    """The libpq connection string for procrastinate, from the archive's SQLAlchemy URL."""
    url = make_url(settings.resolved_database_url())
    if url.get_backend_name() != "postgresql":
        raise ConfigurationError(
            "VERITY_JOB_RUNNER=procrastinate needs PostgreSQL (the job queue lives in the archive's database), "
            f"but the database is {url.get_backend_name()}; set VERITY_DATABASE_URL to a "
            "postgresql+psycopg:// URL, or use VERITY_JOB_RUNNER=inprocess"
        )
    options = {key: value if isinstance(value, str) else value[-1] for key, value in url.query.items()}
    parts = {"host": url.host, "port": url.port, "dbname": url.database, "user": url.username, "password": url.password}
    return make_conninfo("", **{key: value for key, value in parts.items() if value is not None}, **options)


@dataclass(frozen=True)
class WorkerResources:
    """What the jobs of one worker process work with: its archive and its own index."""

    archive: Archive
    finder: NearDuplicateFinder


def _ingest(context: procrastinate.JobContext, clip_id: str) -> str:
    resources: WorkerResources = context.additional_context[RESOURCES]
    result = run_named_job("ingest", resources.archive, resources.finder, clip_id)
    return str(result.status)


def _export(context: procrastinate.JobContext, export_id: str) -> str:
    resources: WorkerResources = context.additional_context[RESOURCES]
    return str(run_named_job("export", resources.archive, resources.finder, export_id))


def _timestamp(context: procrastinate.JobContext, clip_id: str) -> str:
    resources: WorkerResources = context.additional_context[RESOURCES]
    return str(stamp_clip(resources.archive, clip_id))


def periodic_task_name(task: PeriodicTask) -> str:
    return f"verity.periodic.{task.name}"


def _periodic_job(task: PeriodicTask) -> Any:
    async def run(context: procrastinate.JobContext, timestamp: int) -> None:
        resources: WorkerResources = context.additional_context[RESOURCES]
        if task.enabled(resources.archive.settings):
            await asyncio.to_thread(run_if_due, resources.archive, task)

    run.__name__ = f"periodic_{task.name}"
    return run


async def _recover(context: procrastinate.JobContext, timestamp: int) -> None:
    resources: WorkerResources = context.additional_context[RESOURCES]
    await recover_jobs(context.app, resources.archive)


def make_queue_app(conninfo: str, **pool: Any) -> procrastinate.App:
    """A procrastinate app on `conninfo` that knows Verity's tasks; `pool` goes to psycopg's pool."""
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo, **pool))
    app.task(name=INGEST_TASK, pass_context=True)(_ingest)
    app.task(name=EXPORT_TASK, pass_context=True)(_export)
    recover = app.task(name=RECOVER_TASK, pass_context=True, queueing_lock=RECOVER_TASK)(_recover)
    app.periodic(cron=RECOVER_CRON)(recover)
    app.task(name=TIMESTAMP_TASK, pass_context=True)(_timestamp)
    for task in TASKS:
        name = periodic_task_name(task)
        # The queueing lock keeps one run waiting at most, the lock one running: never two at once.
        job = app.task(name=name, pass_context=True, queueing_lock=name, lock=name)(_periodic_job(task))
        app.periodic(cron=PERIODIC_CRON, periodic_id=task.name)(job)
    return app


def ingest_deferrer(app: procrastinate.App, clip_id: str) -> JobDeferrer:
    return app.configure_task(INGEST_TASK, queueing_lock=f"ingest:{clip_id}", lock=f"clip:{clip_id}")


class QueueRunner:
    """`JobRunner` of the scaled deployment: each job becomes a row in procrastinate's queue, run
    by whichever `verity worker` takes it; this process analyses nothing itself."""

    def __init__(self, app: procrastinate.App, *, timestamps: bool = False) -> None:
        self.app = app
        self.timestamps = timestamps  # whether an authority is configured: else no stamp job is queued

    @classmethod
    def open(cls, settings: Settings) -> QueueRunner:
        app = make_queue_app(queue_conninfo(settings), min_size=1, max_size=4)
        app.open()
        return cls(app, timestamps=settings.timestamps_configured)

    def submit(self, job_name: str, clip_id: str) -> None:
        if job_name == "export":
            try:
                export_deferrer(self.app, clip_id).defer(export_id=clip_id)
            except AlreadyEnqueued:
                log.info("export %s already has a job waiting", clip_id)
            return
        if job_name not in JOBS:
            raise ValueError(f"unknown job {job_name!r}")
        if job_name == "timestamp" and not self.timestamps:
            return
        if job_name == "timestamp":
            deferrer = self.app.configure_task(TIMESTAMP_TASK, queueing_lock=f"timestamp:{clip_id}")
        else:
            deferrer = ingest_deferrer(self.app, clip_id)
        try:
            deferrer.defer(clip_id=clip_id)
        except AlreadyEnqueued:
            log.info("clip %s already has a %s job waiting", clip_id, job_name)

    def shutdown(self) -> None:
        self.app.close()


async def recover_jobs(app: procrastinate.App, archive: Archive) -> list[str]:
    """Fail the ingest and export jobs of dead workers, then queue every clip still queued or
    processing, and every export still queued or half-built (built again from the start), that
    has no job waiting or running. Returns the clips queued."""

    def pending_exports() -> list[str]:
        with archive.reads() as session:
            return pending_export_ids(session)

    queued = await _requeue(app, archive, INGEST_TASK, "clip_id", lambda: pending_clip_ids(archive), ingest_deferrer)
    if queued:
        log.info("queued %d clips that had no job: %s", len(queued), ", ".join(queued))
    exports = await _requeue(app, archive, EXPORT_TASK, "export_id", pending_exports, export_deferrer)
    if exports:
        log.info("queued %d exports that had no job: %s", len(exports), ", ".join(exports))
    return queued


async def _requeue(
    app: procrastinate.App,
    archive: Archive,
    task_name: str,
    subject: str,
    pending: Callable[[], list[str]],
    deferrer: Callable[[procrastinate.App, str], JobDeferrer],
) -> list[str]:
    """Fail `task_name`'s jobs of dead workers, then queue a job for each pending subject (a clip
    or an export id, the task's `subject` argument) that has none waiting or running."""
    manager = app.job_manager
    stalled_after_s = archive.settings.worker_stalled_after_s
    for job in await manager.get_stalled_jobs(task_name=task_name, seconds_since_heartbeat=stalled_after_s):
        log.warning("job %s of a dead worker: failed, its %s will be queued again", job.call_string, subject)
        await manager.finish_job(job, status=Status.FAILED, delete_job=False)
    live = {
        job.task_kwargs[subject]
        for status in (Status.TODO, Status.DOING)
        for job in await manager.list_jobs_async(task=task_name, status=status.value)
    }
    queued = []
    for subject_id in await asyncio.to_thread(pending):
        if subject_id in live:
            continue
        with suppress(AlreadyEnqueued):
            await deferrer(app, subject_id).defer_async(**{subject: subject_id})
            queued.append(subject_id)
    return queued


def export_deferrer(app: procrastinate.App, export_id: str) -> JobDeferrer:
    return app.configure_task(EXPORT_TASK, queueing_lock=f"export:{export_id}", lock=f"export:{export_id}")


def run_worker(settings: Settings) -> None:
    """Run queued jobs until SIGTERM or SIGINT. A running ingest is finished first (a second
    SIGTERM ends the process at once; the job is then failed and queued again by `recover_jobs`)."""
    if settings.job_runner != "procrastinate":
        raise ConfigurationError(
            "a worker needs VERITY_JOB_RUNNER=procrastinate (as the API must have it): with the "
            "in-process runner the API analyses clips itself"
        )
    conninfo = queue_conninfo(settings)
    archive = open_archive(settings, upgrade=True)
    remove_abandoned(settings.resolved_work_dir())  # what a worker killed mid-ingest left
    try:
        # The same segment files as the API process and every other worker on this machine.
        shared = archive.blobs if settings.blob_backend == "s3" else None
        finder = NearDuplicateFinder(archive.sessions, settings.data_dir / "index", shared)
        finder.sync()
        try:
            asyncio.run(_work(make_queue_app(conninfo), WorkerResources(archive, finder), settings))
        finally:
            finder.save_snapshot()
    finally:
        archive.close()


async def _work(app: procrastinate.App, resources: WorkerResources, settings: Settings) -> None:
    async with app.open_async():
        await recover_jobs(app, resources.archive)
        await app.run_worker_async(
            name=f"{socket.gethostname()}:{os.getpid()}",
            concurrency=settings.ingest_workers,
            update_heartbeat_interval=settings.worker_stalled_after_s / 3,
            stalled_worker_timeout=settings.worker_stalled_after_s,
            additional_context={RESOURCES: resources},
            delete_jobs="successful",
        )
