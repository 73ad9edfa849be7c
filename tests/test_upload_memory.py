"""A large upload through a real server keeps the server's memory flat (the body is streamed to
storage, never held whole in memory)."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator

import httpx
import psutil
import pytest

from tests.conftest import RunningServer

pytestmark = pytest.mark.slow  # a real server and a 384 MB upload

UPLOAD_BYTES = 384 * 1024 * 1024
PEAK_RSS_LIMIT = 300 * 1024 * 1024


def multipart_body(boundary: str, total: int, digest: hashlib._Hash) -> Iterator[bytes]:
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode()
    block = bytes(range(256)) * 4096  # 1 MiB, varied so nothing compresses it away
    sent = 0
    while sent < total:
        piece = block[: total - sent]
        digest.update(piece)
        sent += len(piece)
        yield piece
    yield f"\r\n--{boundary}--\r\n".encode()


def test_server_memory_stays_flat_while_a_large_file_uploads(server: RunningServer) -> None:
    process = psutil.Process(server.pid)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, process.memory_info().rss)
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    digest = hashlib.sha256()
    try:
        response = httpx.post(
            f"{server.url}/api/v1/clips",
            headers={"Authorization": f"Bearer {server.admin_key}", "Content-Type": "multipart/form-data; boundary=BB"},
            content=multipart_body("BB", UPLOAD_BYTES, digest),
            timeout=300,
        )
    finally:
        done.set()
        sampler.join()
    assert response.status_code == 201, response.text
    assert response.json()["sha256"] == digest.hexdigest()
    assert response.json()["size_bytes"] == UPLOAD_BYTES
    assert peak < PEAK_RSS_LIMIT, (
        f"server peak RSS {peak / 2**20:.0f} MiB while uploading {UPLOAD_BYTES / 2**20:.0f} MiB"
    )
