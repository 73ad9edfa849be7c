"""`verity ingest --server` over a connection that drops: it continues from where the server
stands instead of sending the file again."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from storage.spool import hold_spool
from tests.conftest import VERITY, RunningServer, running_server

pytestmark = pytest.mark.slow  # real servers and large uploads


class CuttingProxy:
    """A TCP proxy on loopback that forwards to `target`, but cuts the connection it is carrying
    when the bytes sent towards the target reach each of `cuts` (counted over all connections)."""

    def __init__(self, target: tuple[str, int], cuts: list[int]) -> None:
        self.target = target
        self.cuts = sorted(cuts)
        self.forwarded = 0  # bytes that reached the target
        self.cut_count = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            threading.Thread(target=self._pump_up, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump_down, args=(upstream, client), daemon=True).start()

    def _pump_up(self, client: socket.socket, upstream: socket.socket) -> None:
        try:
            while data := client.recv(65536):
                with self._lock:
                    cut = bool(self.cuts) and self.forwarded + len(data) >= self.cuts[0]
                    if cut:
                        self.cuts.pop(0)
                        self.cut_count += 1
                    else:
                        self.forwarded += len(data)
                if cut:
                    break
                upstream.sendall(data)
        except OSError:
            pass
        _close(client, upstream)

    def _pump_down(self, upstream: socket.socket, client: socket.socket) -> None:
        try:
            while data := upstream.recv(65536):
                client.sendall(data)
        except OSError:
            pass
        _close(client, upstream)


def _close(*connections: socket.socket) -> None:
    for connection in connections:
        with contextlib.suppress(OSError):
            connection.shutdown(socket.SHUT_RDWR)
        connection.close()


@pytest.fixture
def flaky(server: RunningServer) -> Iterator[CuttingProxy]:
    address = urlsplit(server.url)
    assert address.hostname and address.port
    proxy = CuttingProxy((address.hostname, address.port), cuts=[1_000_000, 2_300_000])
    try:
        yield proxy
    finally:
        proxy.close()


def test_ingest_over_a_dropping_connection_resumes_and_archives_one_clip(
    tmp_path: Path, server: RunningServer, flaky: CuttingProxy
) -> None:
    path = tmp_path / "long.mp4"
    path.write_bytes(os.urandom(3 * 1024 * 1024 + 12_345))
    size = path.stat().st_size
    env = {**os.environ, "VERITY_DATA_DIR": str(tmp_path / "client"), "COLUMNS": "200"}
    result = subprocess.run(
        [VERITY, "ingest", str(path), "--server", f"http://127.0.0.1:{flaky.port}", "--key", server.admin_key]
        + ["--source", "field team", "--retries", "4", "--chunk-bytes", str(256 * 1024)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert flaky.cut_count == 2
    clip_id, sha256, printed = result.stdout.split()
    assert (sha256, printed) == (hashlib.sha256(path.read_bytes()).hexdigest(), str(path))
    resumed_at = [int(line.rsplit(" ", 1)[1]) for line in result.stderr.splitlines() if "resuming from byte" in line]
    assert len(resumed_at) == 2 and all(0 < offset < size for offset in resumed_at), result.stderr
    assert flaky.forwarded < 1.5 * size  # continued, not sent again from the start
    headers = {"Authorization": f"Bearer {server.admin_key}"}
    clips = httpx.get(f"{server.url}/api/v1/clips", headers=headers).json()
    assert clips["total"] == 1
    [clip] = clips["items"]
    assert (clip["id"], clip["sha256"], clip["size_bytes"]) == (clip_id, sha256, size)
    assert [a["source"] for a in clip["acquisitions"]] == ["field team"]


def start_ingest(tmp_path: Path, server: RunningServer, path: Path, *options: str) -> subprocess.Popen[str]:
    """`verity ingest PATH --server` running in the background, in chunks of 1 MiB."""
    env = {**os.environ, "VERITY_DATA_DIR": str(tmp_path / "client"), "COLUMNS": "200"}
    return subprocess.Popen(
        [VERITY, "ingest", str(path), "--server", server.url, "--key", server.admin_key]
        + ["--chunk-bytes", str(1024 * 1024), *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_ingest_waits_while_the_server_archives_for_longer_than_its_read_timeout(tmp_path: Path) -> None:
    path = tmp_path / "big.mp4"
    path.write_bytes(os.urandom(40 * 1024 * 1024))
    # A chunk cut off mid-body lets go of the spool file after 1 s (see below).
    with running_server(tmp_path, {"VERITY_UPLOAD_STALL_SECONDS": "1"}) as server:
        ingest = start_ingest(tmp_path, server, path, "--read-timeout", "1")
        uploads = server.data_dir / "blobs" / "uploads"
        deadline = time.monotonic() + 30
        while not (spools := list(uploads.glob("*.spool")) if uploads.is_dir() else []):
            assert time.monotonic() < deadline and ingest.poll() is None, "no upload started"
            time.sleep(0.005)
        # Freeze the CLI so it cannot finish first, and hold the upload's spool file as a request
        # whose client is gone would (the chunk the CLI was sending, if any, is dropped after 1 s):
        # archiving then waits for it (5 s) before copying the bytes out beside it, far past the
        # CLI's 1 s read timeout.
        ingest.send_signal(signal.SIGSTOP)
        with hold_spool(spools[0], wait_s=10) as held:
            ingest.send_signal(signal.SIGCONT)
            assert held is not None
            out, err = ingest.communicate(timeout=120)
        clips = httpx.get(f"{server.url}/api/v1/clips", headers={"Authorization": f"Bearer {server.admin_key}"})

    assert ingest.returncode == 0, out + err
    assert "the server is archiving the upload; waiting" in err
    clip_id, sha256, _printed = out.split()
    assert sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert [clip["id"] for clip in clips.json()["items"]] == [clip_id]


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_ingest_interrupted_deletes_its_unfinished_upload(tmp_path: Path, server: RunningServer, stop: int) -> None:
    path = tmp_path / "big.mp4"
    path.write_bytes(os.urandom(100 * 1024 * 1024))
    ingest = start_ingest(tmp_path, server, path)
    uploads = server.data_dir / "blobs" / "uploads"
    deadline = time.monotonic() + 30
    while sum(spool.stat().st_size for spool in uploads.glob("*.spool")) < 4 * 1024 * 1024:
        assert time.monotonic() < deadline and ingest.poll() is None, "the upload did not get under way"
        time.sleep(0.005)
    ingest.send_signal(stop)
    out, err = ingest.communicate(timeout=60)

    assert ingest.returncode != 0 and out == "", out + err
    assert "interrupted; what was sent is deleted" in err
    assert list(uploads.iterdir()) == []
    clips = httpx.get(f"{server.url}/api/v1/clips", headers={"Authorization": f"Bearer {server.admin_key}"}).json()
    assert clips["total"] == 0


def settled_offset(spool: Path, location: str, tus: dict[str, str]) -> int:
    """The upload's offset once the requests a killed client left behind are done: a chunk it had
    sent whole is still accepted after the kill, so the offset is read while holding the spool file
    (no request is writing), until two readings agree."""
    offsets: list[int] = []
    while len(offsets) < 2 or offsets[-1] != offsets[-2]:
        assert len(offsets) < 10, f"the upload's offset did not settle: {offsets}"
        with hold_spool(spool, wait_s=10) as held:
            assert held is not None, "a request held the spool file for 10 s"
            offsets.append(int(httpx.head(location, headers=tus).headers["upload-offset"]))
    return offsets[-1]


def test_ingest_run_again_after_being_killed_continues_the_upload_from_the_servers_offset(
    tmp_path: Path, server: RunningServer
) -> None:
    path = tmp_path / "big.mp4"
    path.write_bytes(os.urandom(24 * 1024 * 1024))
    size = path.stat().st_size
    ingest = start_ingest(tmp_path, server, path)
    uploads = server.data_dir / "blobs" / "uploads"
    deadline = time.monotonic() + 60
    while not (spools := [spool for spool in uploads.glob("*.spool") if spool.stat().st_size >= 4 * 1024 * 1024]):
        assert time.monotonic() < deadline and ingest.poll() is None, "the upload did not get under way"
        time.sleep(0.005)
    ingest.kill()  # no chance to delete its upload: a crash, a power cut
    ingest.wait(timeout=30)
    location = f"{server.url}/api/v1/uploads/{spools[0].name.removesuffix('.spool')}"
    tus = {"Authorization": f"Bearer {server.admin_key}", "Tus-Resumable": "1.0.0"}
    before = settled_offset(spools[0], location, tus)
    assert 0 < before < size

    address = urlsplit(server.url)
    assert address.hostname and address.port
    counting = CuttingProxy((address.hostname, address.port), cuts=[])
    try:
        rerun = subprocess.run(
            [VERITY, "ingest", str(path), "--server", f"http://127.0.0.1:{counting.port}", "--key", server.admin_key]
            + ["--chunk-bytes", str(1024 * 1024)],
            capture_output=True,
            text=True,
            env={**os.environ, "VERITY_DATA_DIR": str(tmp_path / "client"), "COLUMNS": "200"},
            timeout=120,
        )
    finally:
        counting.close()

    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert f"continuing the upload an earlier run began, from byte {before}" in rerun.stderr
    assert counting.forwarded < size - before + 256 * 1024  # what was missing, and requests' headers
    clip_id, sha256, _printed = rerun.stdout.split()
    assert sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    clips = httpx.get(f"{server.url}/api/v1/clips", headers={"Authorization": f"Bearer {server.admin_key}"}).json()
    assert [clip["id"] for clip in clips["items"]] == [clip_id]
    assert httpx.get(location, headers=tus).json()["clip_id"] == clip_id
