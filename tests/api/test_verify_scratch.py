"""A provenance query's copy of the file lives in a held scratch folder, so what a server killed
mid-query leaves behind is removed like any other abandoned scratch folder."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from ingest.scratch import remove_abandoned
from tests.conftest import RunningServer, auth

BOUNDARY = "verityquerytestboundary"


def _gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")
    except FileNotFoundError:
        return True


def test_query_file_of_a_server_killed_mid_verify_is_removed_at_the_next_start(server: RunningServer) -> None:
    release = threading.Event()

    def body() -> Iterator[bytes]:
        yield (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="q.mp4"\r\n'
            "Content-Type: video/mp4\r\n\r\n"
        ).encode()
        yield b"\0" * (1 << 20)
        release.wait(120)  # the server dies while the body is still coming
        yield f"\r\n--{BOUNDARY}--\r\n".encode()

    def send() -> None:
        headers = {**auth(server.admin_key), "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
        with contextlib.suppress(httpx.TransportError):  # the server is killed under it
            httpx.post(f"{server.url}/api/v1/verify", content=body(), headers=headers, timeout=120)

    sender = threading.Thread(target=send)
    sender.start()
    work = server.data_dir / "work"
    try:
        deadline = time.monotonic() + 60
        while not any(p.stat().st_size >= 1 << 20 for p in work.glob("*/query")):
            assert time.monotonic() < deadline, "the server never spooled the query"
            time.sleep(0.05)
        os.kill(server.pid, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while not _gone(server.pid):
            assert time.monotonic() < deadline, "the server outlived SIGKILL"
            time.sleep(0.05)
    finally:
        release.set()
        sender.join(60)
    [left] = list(work.glob("*/query"))
    hour_ago = time.time() - 3600
    os.utime(left.parent, (hour_ago, hour_ago))  # older than a folder being set up may be
    assert remove_abandoned(work) == 1
    assert list(work.glob("*/query")) == []
