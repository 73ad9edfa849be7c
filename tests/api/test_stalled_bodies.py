"""A client that stops sending a request body gets 408 once the stall limit passes (every body:
forms, files to verify, JSON), and nothing of what it sent is kept."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from storage.blobs import make_blob_store
from tests.conftest import RunningServer, all_blob_keys, auth, running_server, scaled_settings_env
from verity.settings import Settings

STALL_S = 1
# Generous: the server answers about STALL_S after the last byte; a server without a limit never does.
ANSWER_DEADLINE_S = 30
BOUNDARY = "verity-stall-test"


@pytest.fixture(params=["embedded", "scaled"])
def stalling_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunningServer]:
    env = {"VERITY_UPLOAD_STALL_SECONDS": str(STALL_S)}
    if request.param == "scaled":
        env |= scaled_settings_env(request)
    with running_server(tmp_path, env) as server:
        yield server


def stalled_request(server: RunningServer, method_path: str, headers: dict[str, str], sent: bytes, length: int) -> int:
    """Send the head and the first `sent` bytes of a `length`-byte body, then nothing more; the
    status the server answers with (the connection stays open the while)."""
    address = urlsplit(server.url)
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    with socket.create_connection((address.hostname, address.port)) as connection:
        connection.sendall(
            (
                f"{method_path} HTTP/1.1\r\nHost: {address.netloc}\r\nAuthorization: Bearer {server.admin_key}\r\n"
                f"{head}Content-Length: {length}\r\n\r\n"
            ).encode()
            + sent
        )
        connection.settimeout(ANSWER_DEADLINE_S)
        answer = b""
        while b"\r\n" not in answer:
            piece = connection.recv(4096)
            assert piece, "the server closed the connection without an answer"
            answer += piece
    return int(answer.split(b" ", 2)[1])


def file_form_start(size: int) -> tuple[bytes, int]:
    """The opening of a form whose `file` part holds `size` bytes, and the whole form's length."""
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="stall.mp4"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    return head, len(head) + size + len(tail)


def stored_objects(server: RunningServer) -> list[str]:
    names = {name.removeprefix("VERITY_").lower(): value for name, value in server.env.items()}
    settings_fields = {name: value for name, value in names.items() if name in Settings.model_fields}
    return all_blob_keys(make_blob_store(Settings(_env_file=None, **settings_fields)))  # type: ignore[call-arg]


def scratch_files(server: RunningServer) -> list[Path]:
    work = server.data_dir / "work"
    return [path for path in work.rglob("*") if path.is_file()] if work.exists() else []


def total(server: RunningServer, path: str) -> int:
    answer = httpx.get(f"{server.url}{path}", headers=auth(server.admin_key))
    assert answer.status_code == 200, answer.text
    return int(answer.json()["total"])


@pytest.mark.parametrize("path", ["/api/v1/clips", "/api/v1/verify"])
def test_a_stalled_file_form_gets_408_and_nothing_is_kept(stalling_server: RunningServer, path: str) -> None:
    size = 4 * 1024 * 1024
    head, length = file_form_start(size)
    status = stalled_request(
        stalling_server,
        f"POST {path}",
        {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        head + os.urandom(size // 2),
        length,
    )
    assert status == 408
    assert stored_objects(stalling_server) == []
    assert scratch_files(stalling_server) == []
    assert total(stalling_server, "/api/v1/clips") == 0


def test_a_stalled_json_body_gets_408_and_nothing_is_kept(stalling_server: RunningServer) -> None:
    status = stalled_request(
        stalling_server, "POST /api/v1/incidents", {"Content-Type": "application/json"}, b'{"title": "Stal', 400
    )
    assert status == 408
    assert total(stalling_server, "/api/v1/incidents") == 0


def test_a_body_that_keeps_coming_is_not_cut_off_by_the_stall_limit(stalling_server: RunningServer) -> None:
    def slowly() -> Iterator[bytes]:
        yield b'{"title": "Slow but steady", '
        yield b'"starts_at": "2019-11-16T14:00:00Z", "time_precision": "hour"}'

    answer = httpx.post(
        f"{stalling_server.url}/api/v1/incidents",
        headers={**auth(stalling_server.admin_key), "Content-Type": "application/json"},
        content=slowly(),
    )
    assert answer.status_code == 201, answer.text
