"""One key may only have so many provenance queries with a file running at once: beyond it, 429."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
from fastapi.testclient import TestClient

from ingest.verify import AnalysisSlots
from tests.conftest import RunningServer, auth

BOUNDARY = "veritylimitstestboundary"


def stalled_query(url: str, key: str, release: threading.Event, answers: list[int]) -> threading.Thread:
    """A POST /api/v1/verify whose body stops coming until `release` is set."""

    def body() -> Iterator[bytes]:
        yield (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="q.mp4"\r\n'
            "Content-Type: video/mp4\r\n\r\n"
        ).encode()
        yield b"\0" * 65536
        release.wait(120)
        yield f"\r\n--{BOUNDARY}--\r\n".encode()

    def send() -> None:
        headers = {**auth(key), "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
        answers.append(httpx.post(f"{url}/api/v1/verify", content=body(), headers=headers, timeout=120).status_code)

    thread = threading.Thread(target=send)
    thread.start()
    return thread


def test_key_with_its_queries_running_is_told_to_retry_while_other_keys_are_not(server: RunningServer) -> None:
    admin = auth(server.admin_key)
    other = httpx.post(f"{server.url}/api/v1/keys", headers=admin, json={"name": "other", "role": "viewer"})
    release, answers = threading.Event(), []  # type: ignore[var-annotated]
    senders = [stalled_query(server.url, server.admin_key, release, answers) for _ in range(2)]  # the default limit
    try:
        deadline = time.monotonic() + 60
        while len(list((server.data_dir / "work").glob("*/query"))) < 2:
            assert time.monotonic() < deadline, "the server never started the two queries"
            time.sleep(0.05)
        files = {"file": ("q.mp4", b"not a video", "video/mp4")}
        refused = httpx.post(f"{server.url}/api/v1/verify", headers=admin, files=files, timeout=60)
        assert refused.status_code == 429, refused.text
        assert int(refused.headers["Retry-After"]) > 0
        assert refused.json()["error"] == "too_many_requests" and "limit is 2" in refused.json()["detail"]
        by_other = httpx.post(f"{server.url}/api/v1/verify", headers=auth(other.json()["key"]), files=files)
        assert by_other.status_code == 200, by_other.text
    finally:
        release.set()
        for sender in senders:
            sender.join(60)
    assert answers == [200, 200]
    again = httpx.post(f"{server.url}/api/v1/verify", headers=admin, files={"file": ("q", b"x")}, timeout=60)
    assert again.status_code == 200, again.text  # the slots were given back


def test_refused_and_failed_queries_give_their_slot_back(client: TestClient, keys: dict[str, str]) -> None:
    slots: AnalysisSlots = client.app.state.verify_slots  # type: ignore[attr-defined]
    for _ in range(3 * slots.per_key):
        files = {"file": ("q.mp4", b"not a video at all", "video/mp4")}
        assert client.post("/api/v1/verify", headers=auth(keys["viewer"]), files=files).status_code == 200
    broken = client.post("/api/v1/verify", headers=auth(keys["viewer"]), content=b"--x\r\nbroken")
    assert broken.status_code in (400, 422), broken.text
    with slots.hold("viewer-key"), slots.hold("viewer-key"):
        pass  # both free again
