"""An object store that stops answering is a 503 saying so, and what was stored stays."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.app import create_app
from storage.archive import open_archive
from storage.keys import create_key
from storage.models import Clip
from tests.conftest import S3Server, auth, fresh_bucket
from verity.settings import Settings


class TcpRelay:
    """A loopback relay to a real server that can be cut (connections refused and dropped) and
    restored, as when an S3 server goes down and comes back."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        assert self._listener is not None
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread; close alone does not
        self._listener.close()
        with self._lock:
            for connection in self._open:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
                connection.close()
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._open.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


@pytest.fixture
def relay(s3_server: S3Server) -> Iterator[TcpRelay]:
    host, port = s3_server.endpoint.rsplit(":", 1)
    running = TcpRelay((host, int(port)))
    running.start()
    yield running
    with contextlib.suppress(Exception):
        running.cut()


def test_an_s3_outage_is_a_503_and_the_archive_works_again_once_it_is_back(
    request: pytest.FixtureRequest, tmp_path: Path, s3_server: S3Server, relay: TcpRelay
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        blob_backend="s3",
        s3_endpoint=f"127.0.0.1:{relay.port}",
        s3_bucket=fresh_bucket(request, s3_server),
        s3_access_key=s3_server.access_key,
        s3_secret_key=s3_server.secret_key,  # type: ignore[arg-type]
        s3_secure=False,
    )
    original = os.urandom(300_000)
    archive = open_archive(settings, upgrade=True)
    with archive.sessions.begin() as session:
        _key, secret = create_key(session, "contributor", "contributor")
    try:
        with TestClient(create_app(archive=archive)) as client:
            stored = client.post("/api/v1/clips", files={"file": ("original.bin", original)}, headers=auth(secret))
            assert stored.status_code == 201, stored.text
            clip_id = stored.json()["id"]

            relay.cut()
            download = client.get(f"/api/v1/clips/{clip_id}/original", headers=auth(secret))
            assert download.status_code == 503, download.text
            assert download.json()["error"] == "storage_unavailable"
            upload = client.post("/api/v1/clips", files={"file": ("other.bin", b"x" * 5000)}, headers=auth(secret))
            assert upload.status_code == 503, upload.text
            assert "object store" in upload.json()["detail"]

            relay.start()
            again = client.get(f"/api/v1/clips/{clip_id}/original", headers=auth(secret))
            assert again.status_code == 200 and again.content == original
        with archive.sessions() as session:
            assert session.scalar(select(func.count()).select_from(Clip)) == 1
    finally:
        archive.close()
