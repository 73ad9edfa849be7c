"""The pipeline through the API: upload queues it, the clip reaches a terminal state, keyframes
are served, admins can reprocess, and a restart resumes unfinished work."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from ingest.upload import Receipt, receive_original
from storage.archive import Archive
from storage.models import Clip
from tests import media
from tests.conftest import auth
from tests.helpers.api_calls import upload, wait_until_done


@pytest.fixture(scope="module")
def clip_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return media.make_h264_aac(tmp_path_factory.mktemp("api-clips") / "clip.mp4")


def test_uploaded_clip_is_analysed_to_ready(client: TestClient, keys: dict[str, str], clip_file: Path) -> None:
    created = upload(client, keys["contributor"], clip_file.read_bytes(), name="clip.mp4").json()
    assert created["status"] == "queued"
    body = wait_until_done(client, keys["viewer"], created["id"])
    assert body["status"] == "ready", body["status_reason"]
    assert body["ingest"] == {"step": None, "progress": 1.0}
    assert body["media"]["video"]["codec"] == "h264"
    assert body["media"]["duration_s"] == pytest.approx(4.0, abs=0.1)
    raw = client.get(f"/api/v1/clips/{created['id']}/probe", headers=auth(keys["viewer"])).json()
    assert raw["streams"][0]["codec_name"] == "h264"


def test_keyframes_are_listed_and_served_as_jpeg(client: TestClient, keys: dict[str, str], clip_file: Path) -> None:
    clip_id = upload(client, keys["contributor"], clip_file.read_bytes()).json()["id"]
    wait_until_done(client, keys["viewer"], clip_id)
    listed = client.get(f"/api/v1/clips/{clip_id}/keyframes", headers=auth(keys["viewer"])).json()
    assert [k["index"] for k in listed] == list(range(len(listed)))
    assert any(k["reason"] == "scene" for k in listed)
    image = client.get(listed[0]["url"], headers=auth(keys["viewer"]))
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/jpeg"
    assert image.content[:2] == b"\xff\xd8" and len(image.content) == listed[0]["size_bytes"]
    missing = client.get(f"/api/v1/clips/{clip_id}/keyframes/{len(listed)}", headers=auth(keys["viewer"]))
    assert missing.status_code == 404


def test_unsupported_upload_keeps_the_original_and_says_why(client: TestClient, keys: dict[str, str]) -> None:
    data = b"this is a text file, not footage\n" * 100
    clip_id = upload(client, keys["contributor"], data, name="notes.mp4").json()["id"]
    body = wait_until_done(client, keys["viewer"], clip_id)
    assert body["status"] == "unsupported"
    assert "not a" in body["status_reason"]
    assert client.get(f"/api/v1/clips/{clip_id}/original", headers=auth(keys["viewer"])).content == data
    assert client.get("/healthz").status_code == 200


def test_only_admin_can_reprocess(client: TestClient, keys: dict[str, str], clip_file: Path) -> None:
    clip_id = upload(client, keys["contributor"], clip_file.read_bytes()).json()["id"]
    wait_until_done(client, keys["viewer"], clip_id)
    url = f"/api/v1/clips/{clip_id}/reprocess"
    assert client.post(url, headers=auth(keys["analyst"])).status_code == 403
    response = client.post(url, headers=auth(keys["admin"]))
    assert response.status_code == 202
    assert wait_until_done(client, keys["viewer"], clip_id)["status"] == "ready"
    actions = [
        e["action"]
        for e in client.get(f"/api/v1/clips/{clip_id}/custody", headers=auth(keys["viewer"])).json()["events"]
    ]
    assert actions.count("ingest_finished") == 2
    assert (
        client.post(
            "/api/v1/clips/00000000-0000-0000-0000-000000000000/reprocess", headers=auth(keys["admin"])
        ).status_code
        == 404
    )


def test_clips_left_unfinished_by_a_crash_are_resumed_on_start(
    archive: Archive, clip_file: Path, keys: dict[str, str]
) -> None:
    with clip_file.open("rb") as handle:
        result = receive_original(archive, iter(lambda: handle.read(65536), b""), Receipt("tester", "clip.mp4"))
    with archive.sessions.begin() as session:
        clip = session.get(Clip, result.clip.id)
        assert clip is not None
        clip.status, clip.ingest_step = "processing", "decode"  # as a killed process leaves it
    with TestClient(create_app(archive=archive)) as client:
        body = wait_until_done(client, keys["viewer"], result.clip.id)
        assert body["status"] == "ready"
        events = client.get(f"/api/v1/clips/{result.clip.id}/custody", headers=auth(keys["viewer"])).json()["events"]
        started = [e for e in events if e["action"] == "ingest_started"]
        assert started[0]["details"] == {"resumed": True, "attempt": 1}
