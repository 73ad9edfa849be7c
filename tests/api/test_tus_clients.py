"""The standard tus client (tuspy) against a real `verity serve`: a generated clip uploaded in
chunks, stopped part-way and resumed by a new uploader from the upload's URL, and an upload whose
connection is cut in the middle of a chunk, resumed the same way."""

from __future__ import annotations

import hashlib
import os
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from tusclient.client import TusClient
from tusclient.exceptions import TusUploadFailed
from tusclient.uploader import Uploader

from tests.conftest import RunningServer
from tests.media import make_h264_aac

pytestmark = pytest.mark.slow  # real servers, ffmpeg


class Sha256Uploader(Uploader):
    """tuspy sends sha1 checksums by default; Verity takes sha256."""

    CHECKSUM_ALGORITHM_PAIR = ("sha256", hashlib.sha256)


@pytest.fixture(scope="module")
def clip_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_h264_aac(tmp_path_factory.mktemp("tus") / "witness.mp4", seconds=3)


def tus_client(server: RunningServer) -> TusClient:
    return TusClient(f"{server.url}/api/v1/uploads", headers={"Authorization": f"Bearer {server.admin_key}"})


def head(server: RunningServer, url: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {server.admin_key}", "Tus-Resumable": "1.0.0"}
    return httpx.head(url, headers=headers)


def test_tuspy_stopped_part_way_is_resumed_by_a_new_uploader_from_its_url(
    any_server: RunningServer, clip_file: Path
) -> None:
    data = clip_file.read_bytes()
    chunk = max(len(data) // 5, 1)
    first = Sha256Uploader(
        str(clip_file),
        client=tus_client(any_server),
        chunk_size=chunk,
        metadata={"filename": clip_file.name, "filetype": "video/mp4", "source": "witness D"},
        upload_checksum=True,
    )
    first.upload(stop_at=2 * chunk)
    assert first.url is not None
    assert int(head(any_server, first.url).headers["upload-offset"]) == 2 * chunk

    resumed = Sha256Uploader(str(clip_file), client=tus_client(any_server), url=first.url, chunk_size=chunk)
    assert resumed.offset == 2 * chunk  # asked the server (HEAD) where it stands
    resumed.upload()

    assert resumed.request is not None
    clip_id = resumed.request.response_headers["verity-clip-id"]
    auth = {"Authorization": f"Bearer {any_server.admin_key}"}
    clip = httpx.get(f"{any_server.url}/api/v1/clips/{clip_id}", headers=auth).json()
    assert (clip["sha256"], clip["size_bytes"]) == (hashlib.sha256(data).hexdigest(), len(data))
    assert [acquisition["source"] for acquisition in clip["acquisitions"]] == ["witness D"]
    state = httpx.get(first.url, headers=auth).json()
    assert (state["clip_id"], state["received_bytes"]) == (clip_id, len(data))


def test_a_tus_chunk_cut_off_mid_way_is_dropped_and_tuspy_resumes_from_the_offset(
    server: RunningServer, tmp_path: Path
) -> None:
    # Large enough that the server stores part of the chunk before the cut (it hands bodies over in batches).
    big_file = tmp_path / "long.mp4"
    big_file.write_bytes(os.urandom(3_000_000))
    data = big_file.read_bytes()
    creator = Uploader(str(big_file), client=tus_client(server), metadata={"filename": big_file.name})
    url = creator.create_url()
    path = urlsplit(url).path
    address = urlsplit(server.url)
    assert address.hostname and address.port
    with socket.create_connection((address.hostname, address.port)) as connection:
        connection.sendall(
            (
                f"PATCH {path} HTTP/1.1\r\nHost: {address.netloc}\r\nTus-Resumable: 1.0.0\r\n"
                f"Authorization: Bearer {server.admin_key}\r\nUpload-Offset: 0\r\n"
                f"Content-Type: application/offset+octet-stream\r\nContent-Length: {len(data)}\r\n\r\n"
            ).encode()
            + data[: len(data) // 2]
        )
        spool = server.data_dir / "blobs" / "uploads"
        deadline = time.monotonic() + 10
        while not any(file.stat().st_size for file in spool.glob("*")) if spool.is_dir() else True:
            assert time.monotonic() < deadline, "the server never started storing the chunk"
            time.sleep(0.02)
    # The connection is cut: nothing of the half chunk counts.
    deadline = time.monotonic() + 10
    while head(server, url).headers["upload-offset"] != "0" or any(spool.glob("*")):
        assert time.monotonic() < deadline, "the cut-off chunk was not dropped"
        time.sleep(0.05)

    resumed = Uploader(str(big_file), client=tus_client(server), url=url, chunk_size=len(data) // 3 + 1)
    assert resumed.offset == 0
    resumed.upload()

    assert resumed.request is not None
    clip_id = resumed.request.response_headers["verity-clip-id"]
    auth = {"Authorization": f"Bearer {server.admin_key}"}
    clip = httpx.get(f"{server.url}/api/v1/clips/{clip_id}", headers=auth).json()
    assert clip["sha256"] == hashlib.sha256(data).hexdigest()


def test_tuspys_default_sha1_checksum_is_refused_as_unsupported(server: RunningServer, clip_file: Path) -> None:
    uploader = Uploader(
        str(clip_file), client=tus_client(server), metadata={"filename": clip_file.name}, upload_checksum=True
    )

    with pytest.raises(TusUploadFailed) as refused:
        uploader.upload()

    assert refused.value.status_code == 400
    assert b"'sha1' is not supported" in (refused.value.response_content or b"")
    assert uploader.url is not None
    assert head(server, uploader.url).headers["upload-offset"] == "0"
