"""`create_app`: the FastAPI application over one archive."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.errors import install_error_handlers
from api.json_bodies import JsonBodyGate
from api.originals import RecentPlaybacks
from api.routes import (
    acquisitions,
    cases,
    clips,
    exports,
    fixity,
    health,
    incidents,
    keyframes,
    keys,
    matches,
    playback,
    sessions,
    timestamps,
    uploads,
    verify,
    viewing_copy,
)
from api.security_headers import SecurityHeaders
from api.sign_in_limit import SignInLimit
from api.stall import StallLimit
from api.threads import start_thread_pools
from api.web import cases as case_pages
from api.web import compare, pages, reference, sign_in, upload
from api.web import incidents as incident_pages
from api.web.blank_fields import BlankFieldsDropped
from api.web.render import STATIC
from ingest.export import sweep_unfinished_bags
from ingest.near_duplicates import NearDuplicateFinder
from ingest.periodic import PeriodicScheduler, periodic_tasks
from ingest.resumable import archive_stranded, sweep_abandoned
from ingest.runner import InProcessRunner, JobRunner, OwnedRunner, queue_ingest, resume_pending
from ingest.scratch import remove_abandoned
from ingest.upload import sweep_originals, sweep_staging
from ingest.verify import AnalysisSlots
from storage.archive import Archive, open_archive
from storage.owner import take_ownership
from verity.settings import Settings

log = logging.getLogger("verity.api")

DESCRIPTION = """Verified-video evidence archive. Originals are kept byte for byte, addressed by
SHA-256; every action on a clip is an event in its hash-chained custody log.
Authenticate with `Authorization: Bearer <key>` (keys from `verity keys create`, or from signing in:
`POST /api/v1/sessions`)."""


def make_runner(archive: Archive, finder: NearDuplicateFinder) -> OwnedRunner:
    """The runner the settings name: threads of this process, or procrastinate's queue that
    `verity worker` processes take jobs from (then this process analyses nothing itself)."""
    if archive.settings.job_runner == "procrastinate":
        from ingest.queue import QueueRunner  # here: procrastinate is ~0.1 s to import, and only this needs it

        return QueueRunner.open(archive.settings)
    return InProcessRunner(archive, finder, archive.settings.ingest_workers)


SWEEP_EVERY_S = 3600


async def _sweep_uploads(archive: Archive, runner: JobRunner) -> None:
    """At start and then hourly: archive resumable uploads that have all their bytes but no clip
    (their archiving died), delete those left unfinished too long, staging objects and unfinished
    multipart writes whose upload's process died, half-written export bags, and originals no clip
    refers to."""
    idle_for = timedelta(hours=archive.settings.upload_idle_hours)
    orphans_after = timedelta(hours=archive.settings.orphan_original_grace_hours)
    while True:
        try:
            for result in await asyncio.to_thread(archive_stranded, archive):
                if not result.duplicate:
                    await asyncio.to_thread(queue_ingest, runner, result.clip.id)
            await asyncio.to_thread(sweep_abandoned, archive, idle_for)
            await asyncio.to_thread(sweep_staging, archive.blobs)
            await asyncio.to_thread(sweep_unfinished_bags, archive.blobs)
            await asyncio.to_thread(sweep_originals, archive, orphans_after)
        except Exception:
            log.exception("sweeping unfinished uploads failed; trying again in an hour")
        await asyncio.sleep(SWEEP_EVERY_S)


def create_app(settings: Settings | None = None, *, archive: Archive | None = None) -> FastAPI:
    """Build the app over `archive`, or over one opened from `settings` (schema upgraded) at startup."""
    configured = archive.settings if archive is not None else settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = archive is None
        # An archive passed in is owned by whoever opened it (`verity serve` takes the lock).
        owner = take_ownership(configured) if owned else None
        app.state.threads = threads = start_thread_pools(configured)
        opened = archive or open_archive(configured, upgrade=True)
        remove_abandoned(opened.settings.resolved_work_dir())  # what an ingest killed mid-way left
        shared = opened.blobs if opened.settings.blob_backend == "s3" else None  # segments kept in S3 too
        finder = NearDuplicateFinder(opened.sessions, opened.settings.data_dir / "index", shared)
        finder.sync()
        runner = make_runner(opened, finder)
        app.state.archive, app.state.runner, app.state.finder = opened, runner, finder
        app.state.verify_slots = AnalysisSlots(opened.settings.verify_analyses_per_key)
        app.state.playbacks = RecentPlaybacks()
        app.state.sign_in_limit = SignInLimit(
            opened.settings.sign_in_failures_per_account,
            opened.settings.sign_in_failures_per_address,
            opened.settings.sign_in_window_seconds,
        )
        # With the queue, the workers' recovery and periodic tasks do these.
        embedded = opened.settings.job_runner == "inprocess"
        scheduler = PeriodicScheduler(opened, periodic_tasks(opened.settings) if embedded else [])
        if embedded:
            resume_pending(opened, runner)
        scheduler.start()
        sweeper = asyncio.create_task(_sweep_uploads(opened, runner))
        try:
            yield
        finally:
            sweeper.cancel()
            await asyncio.to_thread(scheduler.stop)
            runner.shutdown()
            finder.save_snapshot()
            threads.shutdown()
            if owned:
                opened.close()
            if owner is not None:
                owner.release()

    # /docs is served from the vendored Swagger UI (api/web/reference.py): the CDN FastAPI's own uses
    # is out of reach offline, and its inline script breaks the Content-Security-Policy.
    app = FastAPI(
        title="Verity", version="0.1.0", description=DESCRIPTION, lifespan=lifespan, docs_url=None, redoc_url=None
    )
    install_error_handlers(app, s3=configured.blob_backend == "s3")
    app.add_middleware(JsonBodyGate)
    app.add_middleware(StallLimit, stall_s=configured.upload_stall_seconds)
    app.add_middleware(BlankFieldsDropped)
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(health.router)
    app.include_router(clips.router)
    app.include_router(acquisitions.router)
    app.include_router(uploads.router)
    app.include_router(keyframes.router)
    app.include_router(viewing_copy.router)
    app.include_router(keys.router)
    app.include_router(sessions.router)
    app.include_router(verify.router)
    app.include_router(matches.router)
    app.include_router(incidents.router)
    app.include_router(cases.router)
    app.include_router(fixity.router)
    app.include_router(timestamps.router)
    app.include_router(exports.router)
    app.include_router(playback.router)
    # The workbench: server-rendered pages over the same archive (api/web/).
    app.include_router(sign_in.router)
    app.include_router(reference.router)
    app.include_router(pages.router)
    app.include_router(compare.router)
    app.include_router(upload.router)
    app.include_router(incident_pages.router)
    app.include_router(case_pages.router)
    return app
