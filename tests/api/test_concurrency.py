"""Many requests at once on a real server: uploads of every kind beside readers all finish (none
holds a thread, a connection or a lock while it waits on the network), and reads never wait for
SQLite's write lock."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from storage.archive import Archive
from tests.conftest import RunningServer, auth, running_server, scaled_settings_env
from tests.helpers.api_calls import upload

# Generous: on a loaded two-core machine eight 6 MB uploads take seconds; a wedged server never answers.
DEADLINE_S = 120
UPLOAD_BYTES = 6 * 1024 * 1024
FIRST_PART_BYTES = 2 * 1024 * 1024


@pytest.fixture(params=["embedded", "scaled"])
def busy_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunningServer]:
    env = {} if request.param == "embedded" else scaled_settings_env(request)
    with running_server(tmp_path, env) as server:
        yield server


def held_body(data: bytes, all_started: threading.Barrier, prefix: bytes = b"", suffix: bytes = b"") -> Iterator[bytes]:
    """`prefix + data + suffix` in pieces, pausing after the first part until every upload of the
    test has sent its own: so all are in flight at once, each with its consumer started."""
    yield prefix + data[:FIRST_PART_BYTES]
    all_started.wait(DEADLINE_S)
    for start in range(FIRST_PART_BYTES, len(data), 256 * 1024):
        yield data[start : start + 256 * 1024]
    yield suffix


def multipart(data: bytes, all_started: threading.Barrier) -> tuple[dict[str, str], Iterator[bytes], int]:
    boundary = "verity-concurrency-test"
    prefix = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="load.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    suffix = f"\r\n--{boundary}--\r\n".encode()
    headers = {
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Content-Length": str(len(prefix) + len(data) + len(suffix)),
    }
    return headers, held_body(data, all_started, prefix, suffix), len(data)


def single_upload(server: RunningServer, data: bytes, all_started: threading.Barrier) -> str:
    headers, body, _size = multipart(data, all_started)
    answer = httpx.post(
        f"{server.url}/api/v1/clips", headers={**headers, **auth(server.admin_key)}, content=body, timeout=DEADLINE_S
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["sha256"])


def resumable_upload(server: RunningServer, data: bytes, all_started: threading.Barrier) -> str:
    created = httpx.post(
        f"{server.url}/api/v1/uploads",
        headers=auth(server.admin_key),
        json={"filename": "load.bin", "size_bytes": len(data)},
        timeout=DEADLINE_S,
    )
    assert created.status_code == 201, created.text
    answer = httpx.patch(
        f"{server.url}/api/v1/uploads/{created.json()['id']}",
        headers={**auth(server.admin_key), "Upload-Offset": "0", "Content-Length": str(len(data))},
        content=held_body(data, all_started),
        timeout=DEADLINE_S,
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["sha256"])


def verify_upload(server: RunningServer, data: bytes, all_started: threading.Barrier) -> str:
    headers, body, _size = multipart(data, all_started)
    answer = httpx.post(
        f"{server.url}/api/v1/verify", headers={**headers, **auth(server.admin_key)}, content=body, timeout=DEADLINE_S
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["sha256"])


def read_everything(server: RunningServer, client: httpx.Client, clip: dict[str, str]) -> None:
    """One round of what a reader does: list, show, custody, download, provenance by hash."""
    for path in (
        "/api/v1/clips",
        f"/api/v1/clips/{clip['id']}",
        f"/api/v1/clips/{clip['id']}/custody",
        f"/api/v1/clips/{clip['id']}/original",
        f"/api/v1/verify?sha256={clip['sha256']}",
    ):
        answer = client.get(f"{server.url}{path}", headers=auth(server.admin_key))
        assert answer.status_code == 200, f"{path}: {answer.status_code} {answer.text[:200]}"


def run_all(jobs: list[Callable[[], object]]) -> list[object]:
    """Run every job in a thread of its own; their results, or the first failure re-raised."""
    results: list[object] = [None] * len(jobs)
    failures: list[BaseException] = []

    def run(index: int, job: Callable[[], object]) -> None:
        try:
            results[index] = job()
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(i, job), daemon=True) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(DEADLINE_S * 2)
    assert not any(thread.is_alive() for thread in threads), "requests still unanswered after the deadline"
    if failures:
        raise failures[0]
    return results


def test_eight_parallel_uploads_of_every_kind_beside_readers_all_finish(busy_server: RunningServer) -> None:
    server = busy_server
    clip = httpx.post(
        f"{server.url}/api/v1/clips",
        headers=auth(server.admin_key),
        files={"file": ("seed.bin", os.urandom(200_000), "application/octet-stream")},
    ).json()
    kinds = [single_upload, resumable_upload, verify_upload] * 3
    uploads = kinds[:8]
    all_started = threading.Barrier(len(uploads))
    payloads = [os.urandom(UPLOAD_BYTES) for _ in uploads]
    done = threading.Event()
    rounds: list[int] = []

    def reader() -> int:
        count = 0
        with httpx.Client(timeout=DEADLINE_S) as client:
            while not done.is_set() or count == 0:
                read_everything(server, client, clip)
                count += 1
        rounds.append(count)
        return count

    def uploads_then_stop() -> list[object]:
        try:
            return run_all(
                [
                    lambda kind=kind, data=data: kind(server, data, all_started)
                    for kind, data in zip(uploads, payloads, strict=True)
                ]
            )
        finally:
            done.set()

    results = run_all([uploads_then_stop, reader, reader, reader])
    assert results[0] == [hashlib.sha256(data).hexdigest() for data in payloads]
    assert len(rounds) == 3


def test_fifty_concurrent_readers_all_answer(server: RunningServer) -> None:
    clip = httpx.post(
        f"{server.url}/api/v1/clips",
        headers=auth(server.admin_key),
        files={"file": ("seed.bin", os.urandom(200_000), "application/octet-stream")},
    ).json()
    all_started = threading.Barrier(50)

    def reader() -> None:
        with httpx.Client(timeout=DEADLINE_S) as client:
            all_started.wait(DEADLINE_S)
            for _ in range(3):
                read_everything(server, client, clip)

    run_all([reader] * 50)


def test_reads_answer_while_another_writer_holds_the_sqlite_write_lock(tmp_path: Path) -> None:
    from api.app import create_app
    from storage.archive import open_archive
    from storage.keys import create_key
    from verity.settings import Settings

    archive: Archive = open_archive(Settings(data_dir=tmp_path), upgrade=True)
    with archive.sessions.begin() as session:
        _key, secret = create_key(session, "reader", "admin")
    try:
        with TestClient(create_app(archive=archive)) as client:
            clip = upload(client, secret, os.urandom(10_000)).json()
            writer = sqlite3.connect(tmp_path / "verity.db", isolation_level=None)
            writer.execute("BEGIN IMMEDIATE")
            try:
                for path in ("", f"/{clip['id']}", f"/{clip['id']}/custody"):
                    answer = client.get(f"/api/v1/clips{path}", headers=auth(secret))
                    assert answer.status_code == 200, answer.text
            finally:
                writer.execute("ROLLBACK")
                writer.close()
    finally:
        archive.close()
