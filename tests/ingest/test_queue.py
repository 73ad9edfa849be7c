"""The queue side of the scaled deployment, piece by piece on a real PostgreSQL: the connection
string procrastinate gets, and the recovery that frees the clips of workers that died."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from procrastinate.jobs import Status

from ingest.queue import (
    EXPORT_TASK,
    INGEST_TASK,
    QueueRunner,
    ingest_deferrer,
    make_queue_app,
    queue_conninfo,
    recover_jobs,
)
from ingest.upload import Receipt, receive_original
from storage.archive import Archive, open_archive
from storage.exports import ExportRequest, create_export
from verity.errors import ConfigurationError
from verity.settings import Settings


def test_conninfo_carries_every_part_of_the_database_url() -> None:
    settings = Settings(database_url="postgresql+psycopg://in%40vest:p%20w@db.example:5433/verity?sslmode=require")
    assert (
        queue_conninfo(settings)
        == "host=db.example port=5433 dbname=verity user=in@vest password='p w' sslmode=require"
    )


def test_conninfo_keeps_a_unix_socket_given_as_query_host() -> None:
    settings = Settings(database_url="postgresql://verity@/archive?host=/run/postgresql")
    assert queue_conninfo(settings) == "dbname=archive user=verity host=/run/postgresql"


def test_queue_on_sqlite_is_refused_with_what_to_change(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="needs PostgreSQL.*VERITY_DATABASE_URL"):
        queue_conninfo(Settings(data_dir=tmp_path))


@pytest.fixture
def archive(postgres_url: str, tmp_path: Path) -> Iterator[Archive]:
    opened = open_archive(Settings(data_dir=tmp_path, database_url=postgres_url, job_runner="procrastinate"))
    yield opened
    opened.close()


def stored_clip(archive: Archive) -> str:
    """A clip as an upload leaves it: queued."""
    return receive_original(archive, iter([os.urandom(4096)]), Receipt("tester", "clip.mp4")).clip.id


async def ingest_jobs(archive: Archive) -> list[tuple[str, str | None]]:
    """(clip, status) of every ingest job, oldest first."""
    app = make_queue_app(queue_conninfo(archive.settings))
    async with app.open_async():
        jobs = await app.job_manager.list_jobs_async(task=INGEST_TASK)
    return [(job.task_kwargs["clip_id"], job.status) for job in sorted(jobs, key=lambda job: job.id or 0)]


def test_recovery_queues_a_waiting_clip_that_has_no_job_once(archive: Archive) -> None:
    clip_id = stored_clip(archive)

    async def recover_twice() -> tuple[list[str], list[str]]:
        app = make_queue_app(queue_conninfo(archive.settings))
        async with app.open_async():
            return await recover_jobs(app, archive), await recover_jobs(app, archive)

    assert asyncio.run(recover_twice()) == ([clip_id], [])
    assert asyncio.run(ingest_jobs(archive)) == [(clip_id, Status.TODO.value)]


def test_recovery_fails_the_job_of_a_dead_worker_and_queues_its_clip_again(archive: Archive) -> None:
    clip_id = stored_clip(archive)

    async def scenario() -> tuple[list[str], list[str]]:
        app = make_queue_app(queue_conninfo(archive.settings))
        async with app.open_async():
            await ingest_deferrer(app, clip_id).defer_async(clip_id=clip_id)
            worker_id = await app.job_manager.register_worker()
            job = await app.job_manager.fetch_job(queues=None, worker_id=worker_id)
            assert job is not None and job.task_kwargs == {"clip_id": clip_id}
            while_alive = await recover_jobs(app, archive)
            await app.connector.execute_query_async(
                "UPDATE procrastinate_workers SET last_heartbeat = now() - interval '5 minutes'"
            )
            after_death = await recover_jobs(app, archive)
            return while_alive, after_death

    while_alive, after_death = asyncio.run(scenario())
    assert while_alive == []  # a running job on a live worker is left alone
    assert after_death == [clip_id]
    assert asyncio.run(ingest_jobs(archive)) == [(clip_id, Status.FAILED.value), (clip_id, Status.TODO.value)]


def test_recovery_queues_an_export_that_has_no_job_and_the_runner_defers_one(archive: Archive) -> None:
    with archive.sessions.begin() as session:
        export_id = create_export(session, ExportRequest("clips", None, (stored_clip(archive),)), "tester").id

    async def recover_twice() -> list[tuple[str, str]]:
        app = make_queue_app(queue_conninfo(archive.settings))
        async with app.open_async():
            await recover_jobs(app, archive)
            await recover_jobs(app, archive)
            jobs = await app.job_manager.list_jobs_async(task=EXPORT_TASK)
        return [(job.task_kwargs["export_id"], job.status) for job in jobs]

    assert asyncio.run(recover_twice()) == [(export_id, Status.TODO.value)]
    runner = QueueRunner.open(archive.settings)
    try:
        runner.submit("export", export_id)  # already waiting: not a second job
    finally:
        runner.shutdown()
    assert asyncio.run(recover_twice()) == [(export_id, Status.TODO.value)]
