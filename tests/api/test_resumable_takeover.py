"""A resumable upload whose archiving process died (killed with -9, or stopped during the
start-up sweep) is taken over at once: the holder's liveness decides, not a 30-minute lease."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from api.app import create_app
from ingest.resumable import completion_hold, receive_chunk
from storage.archive import Archive
from tests.conftest import auth

ROOT = Path(__file__).resolve().parents[2]
HOLDER = """
import sys
from storage.archive import open_archive
from storage.holds import hold
from verity.settings import Settings

archive = open_archive(Settings(data_dir=sys.argv[1], database_url=sys.argv[2]))
with hold(archive, sys.argv[3]) as held:
    print("held" if held else "refused", flush=True)
    sys.stdin.read()  # until killed
"""


@contextmanager
def archiving_process(archive: Archive, upload_id: str) -> Iterator[subprocess.Popen[str]]:
    """Another process that holds the upload's archiving, as the request archiving it would."""
    settings = archive.settings
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            HOLDER,
            str(settings.data_dir),
            settings.resolved_database_url(),
            completion_hold(upload_id),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "held"
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


def declare(client: TestClient, key: str, size: int) -> str:
    response = client.post("/api/v1/uploads", json={"filename": "VID_0003.mp4", "size_bytes": size}, headers=auth(key))
    assert response.status_code == 201, response.text
    upload_id: str = response.json()["id"]
    return upload_id


def ask_again(client: TestClient, key: str, upload_id: str, size: int) -> httpx.Response:
    """The client's empty chunk at the end: the answer of a completed upload."""
    headers = {**auth(key), "Upload-Offset": str(size), "Content-Type": "application/offset+octet-stream"}
    return client.patch(f"/api/v1/uploads/{upload_id}", content=b"", headers=headers)


def test_an_upload_whose_archiving_process_was_killed_is_archived_by_the_next_request_at_once(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    data = os.urandom(5000)
    upload_id = declare(client, keys["contributor"], len(data))
    assert receive_chunk(archive, upload_id, 0, [data]).complete  # every byte in, archiving claimed
    with archiving_process(archive, upload_id) as holder:
        waiting = ask_again(client, keys["contributor"], upload_id, len(data))
        assert waiting.status_code == 409 and "ask again shortly" in waiting.json()["detail"]  # it is alive
        holder.kill()  # kill -9 mid-archiving
    answer = ask_again(client, keys["contributor"], upload_id, len(data))
    assert answer.status_code == 201, answer.text
    assert answer.json()["sha256"] == hashlib.sha256(data).hexdigest()


def test_an_upload_whose_archiving_process_died_is_archived_by_the_start_up_sweep_at_once(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    data = os.urandom(5000)
    upload_id = declare(client, keys["contributor"], len(data))
    assert receive_chunk(archive, upload_id, 0, [data]).complete
    with archiving_process(archive, upload_id) as holder:
        holder.kill()  # e.g. stopped in the middle of a previous start-up sweep
    with TestClient(create_app(archive=archive)) as restarted:
        deadline = time.monotonic() + 60
        while (state := restarted.get(f"/api/v1/uploads/{upload_id}", headers=auth(keys["contributor"])).json())[
            "clip_id"
        ] is None:
            assert time.monotonic() < deadline, f"the upload was not archived: {state}"
            time.sleep(0.05)
