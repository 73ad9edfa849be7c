"""Scaled-mode ingest end to end: a real `verity serve` with VERITY_JOB_RUNNER=procrastinate
defers each upload to the queue in PostgreSQL, and real `verity worker` processes analyse them."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, create_engine, text

from tests import media
from tests.conftest import VERITY, RunningServer, S3Server, auth, running_process, running_server, s3_settings
from tests.helpers.exports import run_verify, unpack

pytestmark = pytest.mark.slow  # real workers and servers

INGEST_JOBS_OF_CLIP = text(
    "SELECT status::text FROM procrastinate_jobs WHERE task_name = 'verity.ingest' AND args->>'clip_id' = :clip_id"
)


@pytest.fixture(scope="module")
def footage(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("queue-footage")
    source = media.make_source(folder / "source.mp4", seconds=9)
    return {
        "source": source,
        "excerpt": media.make_copy(folder / "excerpt.mp4", source, "-ss", "3", "-t", "5", "-i", "-vf", "scale=320:180"),
        # cheap to make, and takes a worker a second or two: long enough to signal it mid-job
        "long": media.make_unrelated(folder / "long.mp4", "testsrc2=size=640x360:rate=30", seconds=40),
    }


@pytest.fixture
def queue_env(postgres_url: str) -> dict[str, str]:
    """Settings of a scaled archive on a fresh PostgreSQL database (blobs in the server's folder)."""
    return {"VERITY_DATABASE_URL": postgres_url, "VERITY_JOB_RUNNER": "procrastinate"}


@pytest.fixture
def database(postgres_url: str) -> Iterator[Engine]:
    engine = create_engine(postgres_url)
    yield engine
    engine.dispose()


@contextmanager
def running_worker(server: RunningServer, log_path: Path) -> Iterator[subprocess.Popen[str]]:
    """A real `verity worker` on the same archive as `server`."""
    with running_process([VERITY, "worker"], server.env, log_path) as process:
        yield process


def wait_for_workers(database: Engine, count: int, timeout_s: float = 60) -> None:
    """Until `count` workers have registered in the queue (they are then taking jobs)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with database.connect() as connection:
            if connection.scalar(text("SELECT count(*) FROM procrastinate_workers")) == count:
                return
        time.sleep(0.1)
    raise AssertionError(f"{count} workers did not register within {timeout_s} s")


def upload(client: httpx.Client, path: Path) -> str:
    with path.open("rb") as handle:
        response = client.post("/api/v1/clips", files={"file": (path.name, handle, "video/mp4")})
    assert response.status_code == 201, response.text
    clip_id: str = response.json()["id"]
    return clip_id


def clip(client: httpx.Client, clip_id: str) -> dict[str, Any]:
    body: dict[str, Any] = client.get(f"/api/v1/clips/{clip_id}").json()
    return body


def wait_for_status(client: httpx.Client, clip_id: str, wanted: set[str], timeout_s: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        body = clip(client, clip_id)
        if body["status"] in wanted:
            return body
        time.sleep(0.05)
    raise AssertionError(f"clip {clip_id} still {body['status']} after {timeout_s} s")


@contextmanager
def api(server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers=auth(server.admin_key), timeout=60) as client:
        yield client


@pytest.mark.parametrize("blobs", ["local", "s3"])
def test_workers_analyse_uploads_and_find_the_copy(
    request: pytest.FixtureRequest,
    blobs: str,
    queue_env: dict[str, str],
    database: Engine,
    footage: dict[str, Path],
    tmp_path: Path,
) -> None:
    if blobs == "s3":
        s3: S3Server = request.getfixturevalue("s3_server")
        queue_env |= s3_settings(request, s3)
    logs = [tmp_path / "worker-1.log", tmp_path / "worker-2.log"]
    with (
        running_server(tmp_path, queue_env) as server,
        running_worker(server, logs[0]),
        running_worker(server, logs[1]),
        api(server) as client,
    ):
        wait_for_workers(database, 2)
        source, copy = upload(client, footage["source"]), upload(client, footage["excerpt"])
        assert wait_for_status(client, source, {"ready", "failed", "unsupported"})["status"] == "ready"
        assert wait_for_status(client, copy, {"ready", "failed", "unsupported"})["status"] == "ready"
        related = client.get(f"/api/v1/clips/{copy}/related").json()
    assert related["first_seen_clip_id"] == source
    [found] = related["related"]
    assert found["clip_id"] == source
    assert found["segments"][0]["clip_start_s"] == pytest.approx(3, abs=1.0)
    worker_output = "".join(log.read_text() for log in logs)
    assert "verity.ingest[" in worker_output
    assert f"clip_id='{source}'" in worker_output and f"clip_id='{copy}'" in worker_output


def test_clip_uploaded_while_no_worker_runs_waits_queued_until_one_starts(
    queue_env: dict[str, str], database: Engine, footage: dict[str, Path], tmp_path: Path
) -> None:
    with running_server(tmp_path, queue_env) as server, api(server) as client:
        clip_id = upload(client, footage["excerpt"])
        time.sleep(1.5)  # the API would have analysed it by now, had it run it itself
        assert clip(client, clip_id)["status"] == "queued"
        with database.connect() as connection:
            assert list(connection.scalars(INGEST_JOBS_OF_CLIP, {"clip_id": clip_id})) == ["todo"]
        with running_worker(server, tmp_path / "worker.log"):
            assert wait_for_status(client, clip_id, {"ready", "failed", "unsupported"})["status"] == "ready"


def test_upload_kept_when_the_queue_refuses_its_job_is_analysed_once_the_queue_is_back(
    queue_env: dict[str, str], database: Engine, footage: dict[str, Path], tmp_path: Path
) -> None:
    with running_server(tmp_path, queue_env) as server, api(server) as client:
        with database.begin() as connection:  # the queue's table is gone: every defer fails
            connection.execute(text("ALTER TABLE procrastinate_jobs RENAME TO procrastinate_jobs_away"))
        clip_id = upload(client, footage["excerpt"])  # asserts 201: the original is stored
        assert clip(client, clip_id)["status"] == "queued"
        with database.begin() as connection:
            connection.execute(text("ALTER TABLE procrastinate_jobs_away RENAME TO procrastinate_jobs"))
            assert list(connection.scalars(INGEST_JOBS_OF_CLIP, {"clip_id": clip_id})) == []
        with running_worker(server, tmp_path / "worker.log"):  # its recovery queues the waiting clip
            assert wait_for_status(client, clip_id, {"ready", "failed", "unsupported"})["status"] == "ready"


def test_sigterm_lets_the_running_ingest_finish_then_stops_the_worker(
    queue_env: dict[str, str], database: Engine, footage: dict[str, Path], tmp_path: Path
) -> None:
    log = tmp_path / "worker.log"
    with running_server(tmp_path, queue_env) as server, running_worker(server, log) as worker, api(server) as client:
        wait_for_workers(database, 1)
        clip_id = upload(client, footage["long"])
        wait_for_status(client, clip_id, {"processing"})
        signalled_at = datetime.now().astimezone()
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=60) == 0, log.read_text()
        body = clip(client, clip_id)
        events = client.get(f"/api/v1/clips/{clip_id}/custody").json()["events"]
    assert body["status"] == "ready", body
    finished = next(e for e in events if e["action"] == "ingest_finished")
    assert datetime.fromisoformat(finished["occurred_at"].replace("Z", "+00:00")) > signalled_at
    with database.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM procrastinate_workers")) == 0  # it said goodbye


def test_worker_refuses_an_archive_on_sqlite(tmp_path: Path) -> None:
    env = {**os.environ, "VERITY_DATA_DIR": str(tmp_path), "VERITY_JOB_RUNNER": "procrastinate", "COLUMNS": "200"}
    env.pop("VERITY_DATABASE_URL", None)
    done = subprocess.run([VERITY, "worker"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "needs PostgreSQL" in done.stderr and "VERITY_DATABASE_URL" in done.stderr


def test_worker_refuses_to_run_beside_an_api_that_ingests_itself(postgres_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "VERITY_DATA_DIR": str(tmp_path), "VERITY_DATABASE_URL": postgres_url, "COLUMNS": "200"}
    env.pop("VERITY_JOB_RUNNER", None)
    done = subprocess.run([VERITY, "worker"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "VERITY_JOB_RUNNER=procrastinate" in done.stderr


def test_serve_with_the_queue_on_sqlite_stops_at_startup_saying_why(tmp_path: Path) -> None:
    env = {**os.environ, "VERITY_DATA_DIR": str(tmp_path), "VERITY_JOB_RUNNER": "procrastinate"}
    env.pop("VERITY_DATABASE_URL", None)
    done = subprocess.run([VERITY, "serve", "--port", "0"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "needs PostgreSQL" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "verity.db").exists()  # refused before anything was created


def wait_for_stale_heartbeat(database: Engine, seconds: float, timeout_s: float = 60) -> None:
    """Until some worker's heartbeat is older than `seconds` (the paused one's)."""
    stale = text("SELECT count(*) FROM procrastinate_workers WHERE last_heartbeat < now() - make_interval(secs => :s)")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with database.connect() as connection:
            if connection.scalar(stale, {"s": seconds}):
                return
        time.sleep(0.1)
    raise AssertionError(f"no worker's heartbeat went stale within {timeout_s} s")


def wait_for_line(log: Path, text_: str, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if text_ in log.read_text():
            return
        time.sleep(0.1)
    raise AssertionError(f"{text_!r} not in {log} after {timeout_s} s: {log.read_text()}")


def test_a_worker_paused_past_its_heartbeat_writes_nothing_once_another_has_analysed_the_clip(
    queue_env: dict[str, str], database: Engine, tmp_path: Path
) -> None:
    # long enough to decode that the first worker is still at it when it is paused
    long = media.make_unrelated(tmp_path / "long720.mp4", "testsrc2=size=1280x720:rate=30", seconds=40)
    stalled_after_s = 3
    queue_env |= {"VERITY_WORKER_STALLED_AFTER_S": str(stalled_after_s)}
    paused_log, other_log = tmp_path / "worker-paused.log", tmp_path / "worker-other.log"
    with running_server(tmp_path, queue_env) as server, api(server) as client:
        with running_worker(server, paused_log) as paused:
            wait_for_workers(database, 1)
            clip_id = upload(client, long)
            wait_for_status(client, clip_id, {"processing"})
            paused.send_signal(signal.SIGSTOP)
            try:
                assert clip(client, clip_id)["status"] == "processing", "the clip was done before the pause"
                wait_for_stale_heartbeat(database, stalled_after_s)
                with running_worker(server, other_log):  # its recovery fails the paused one's job
                    body = wait_for_status(client, clip_id, {"ready", "failed", "unsupported"})
                    assert body["status"] == "ready", body
            finally:
                paused.send_signal(signal.SIGCONT)
            wait_for_line(paused_log, f"ingest of clip {clip_id} stopped: clip {clip_id} was claimed again (attempt 2)")
        body = clip(client, clip_id)
        events = client.get(f"/api/v1/clips/{clip_id}/custody", headers=auth(server.admin_key)).json()
    assert body["status"] == "ready" and body["status_reason"] is None
    assert events["verified"] is True
    pipeline = [(e["action"], e["details"].get("attempt")) for e in events["events"] if e["actor"] == "ingest"]
    second = pipeline.index(("ingest_started", 2))
    assert pipeline[0] == ("ingest_started", 1)
    assert all(attempt == 1 for _action, attempt in pipeline[:second])  # the paused one's, before the fence
    assert all(attempt == 2 for _action, attempt in pipeline[second:])  # nothing of attempt 1 after it
    assert [action for action, _ in pipeline].count("ingest_finished") == 1
    assert [action for action, _ in pipeline].count("ingest_failed") == 0


def test_a_worker_builds_an_export_whose_bag_verifies(
    queue_env: dict[str, str], database: Engine, footage: dict[str, Path], tmp_path: Path
) -> None:
    with (
        running_server(tmp_path, queue_env) as server,
        running_worker(server, tmp_path / "worker.log"),
        api(server) as client,
    ):
        wait_for_workers(database, 1)
        clip_id = upload(client, footage["excerpt"])
        assert wait_for_status(client, clip_id, {"ready", "failed", "unsupported"})["status"] == "ready"
        asked = client.post("/api/v1/exports", json={"clip_ids": [clip_id]})
        assert asked.status_code == 202, asked.text
        deadline, export = time.monotonic() + 120, asked.json()
        while export["status"] not in ("ready", "failed") and time.monotonic() < deadline:
            time.sleep(0.2)
            export = client.get(f"/api/v1/exports/{export['id']}").json()
        assert export["status"] == "ready", export
        bag = unpack(client.get(export["download_url"]).content, tmp_path / "bag")
    checked = run_verify(bag)
    assert checked.returncode == 0, checked.stdout
