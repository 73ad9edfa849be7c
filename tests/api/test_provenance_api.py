"""Provenance through the API: related copies found at ingest, verify by hash and by file."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from storage.archive import Archive
from storage.models import AuditEvent, Clip
from tests import media
from tests.conftest import all_blob_keys, auth
from tests.helpers.api_calls import upload, wait_until_done


@pytest.fixture(scope="module")
def footage(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("provenance")
    source = media.make_source(folder / "source.mp4", seconds=9)
    return {
        "source": source,
        "excerpt": media.make_copy(folder / "excerpt.mp4", source, "-ss", "3", "-t", "5", "-i", "-vf", "scale=320:180"),
        "mirror": media.make_copy(folder / "mirror.mp4", source, "-i", "-vf", "hflip"),
        # ends between two samples (2 a second): the last matching sample's step runs past its end
        "odd_excerpt": media.make_copy(folder / "odd.mp4", source, "-ss", "3", "-t", "4.8", "-i"),
        "unrelated": media.make_unrelated(
            folder / "cells.mp4", "cellauto=size=160x90:rate=30:rule=30:seed=5,scale=640:360"
        ),
    }


def ingest(client: TestClient, keys: dict[str, str], path: Path) -> str:
    clip_id: str = upload(client, keys["contributor"], path.read_bytes(), name=path.name).json()["id"]
    assert wait_until_done(client, keys["viewer"], clip_id)["status"] == "ready"
    return clip_id


def test_copy_ingested_later_lists_the_original_as_seen_first(
    client: TestClient, keys: dict[str, str], footage: dict[str, Path]
) -> None:
    original = ingest(client, keys, footage["source"])
    copy = ingest(client, keys, footage["excerpt"])
    body = client.get(f"/api/v1/clips/{copy}/related", headers=auth(keys["viewer"])).json()
    assert body["first_seen_clip_id"] == original
    [related] = body["related"]
    assert related["clip_id"] == original
    assert related["segments"][0]["clip_start_s"] == pytest.approx(3, abs=1.0)
    # The original's side shows the copy, with the segment in the original's own time.
    back = client.get(f"/api/v1/clips/{original}/related", headers=auth(keys["viewer"])).json()
    assert back["first_seen_clip_id"] == original
    assert back["related"][0]["clip_id"] == copy
    assert back["related"][0]["segments"][0]["query_start_s"] == pytest.approx(3, abs=1.0)
    events = client.get(f"/api/v1/clips/{copy}/custody", headers=auth(keys["viewer"])).json()["events"]
    found = [e for e in events if e["action"] == "near_duplicates_found"]
    assert found[0]["details"] == {"count": 1, "clips": [original], "attempt": 1}


def test_segments_answered_lie_within_both_clips_so_they_can_be_linked_as_they_stand(
    client: TestClient, keys: dict[str, str], footage: dict[str, Path]
) -> None:
    excerpt = ingest(client, keys, footage["odd_excerpt"])
    original = ingest(client, keys, footage["source"])
    duration = {
        c: client.get(f"/api/v1/clips/{c}", headers=auth(keys["viewer"])).json()["media"]["duration_s"]
        for c in (excerpt, original)
    }
    for this, other in ((original, excerpt), (excerpt, original)):
        [related] = client.get(f"/api/v1/clips/{this}/related", headers=auth(keys["viewer"])).json()["related"]
        for segment in related["segments"]:
            assert segment["clip_start_s"] + segment["duration_s"] <= duration[other] + 0.01
            assert segment["query_start_s"] + segment["duration_s"] <= duration[this] + 0.01
    with footage["source"].open("rb") as handle:
        answer = client.post("/api/v1/verify", headers=auth(keys["viewer"]), files={"file": ("q.mp4", handle)}).json()
    [near] = [n for n in answer["near_duplicates"] if n["clip_id"] == excerpt]
    [segment] = near["segments"]
    assert segment["clip_start_s"] + segment["duration_s"] <= duration[excerpt] + 0.01
    incident = client.post(
        "/api/v1/incidents",
        headers=auth(keys["contributor"]),
        json={"title": "Shooting", "starts_at": "2019-11-16T14:00:00+03:30"},
    ).json()["id"]
    linked = client.post(
        f"/api/v1/incidents/{incident}/clips",
        headers=auth(keys["contributor"]),
        json={
            "clip_id": excerpt,
            "start_s": segment["clip_start_s"],
            "end_s": segment["clip_start_s"] + segment["duration_s"],
        },
    )
    assert linked.status_code == 201, linked.text


def test_verify_by_hash_gives_exact_match_with_custody(
    client: TestClient, keys: dict[str, str], footage: dict[str, Path]
) -> None:
    original = ingest(client, keys, footage["source"])
    sha = hashlib.sha256(footage["source"].read_bytes()).hexdigest()
    body = client.get(f"/api/v1/verify?sha256={sha.upper()}", headers=auth(keys["viewer"])).json()
    assert body["exact_match"]["clip"]["id"] == original
    assert body["exact_match"]["custody_verified"] is True
    assert body["exact_match"]["first_acquisition"]["received_by"] == "redacted"  # the sources are admins'
    shown = client.get(f"/api/v1/verify?sha256={sha}", headers=auth(keys["admin"])).json()
    assert shown["exact_match"]["first_acquisition"]["received_by"] == "contributor-key"
    unknown = client.get(f"/api/v1/verify?sha256={'0' * 64}", headers=auth(keys["viewer"])).json()
    assert unknown == {
        "sha256": "0" * 64,
        "exact_match": None,
        "near_duplicates": [],
        "not_analysed": None,
        "restricted": None,
    }
    assert client.get("/api/v1/verify?sha256=xyz", headers=auth(keys["viewer"])).status_code == 400


def test_verify_by_file_finds_mirrored_copy_and_keeps_nothing(
    client: TestClient, keys: dict[str, str], footage: dict[str, Path], archive: Archive
) -> None:
    original = ingest(client, keys, footage["source"])
    review = {"status": "in_review", "rationale": "geolocating"}
    client.post(f"/api/v1/clips/{original}/verification", headers=auth(keys["analyst"]), json=review)
    blobs_before = all_blob_keys(archive.blobs)
    response = client.post(
        "/api/v1/verify",
        headers=auth(keys["viewer"]),
        files={"file": ("mirror.mp4", footage["mirror"].read_bytes(), "video/mp4")},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["exact_match"] is None
    [near] = body["near_duplicates"]
    assert near["clip_id"] == original and near["mirrored"] is True
    assert near["verification_status"] == "in_review"  # a copy of footage under review, or rejected, says so
    assert near["matched_seconds"] >= 7
    assert near["segments"][0]["query_start_s"] == pytest.approx(0, abs=1.0)
    assert all_blob_keys(archive.blobs) == blobs_before
    with archive.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Clip)) == 1
        audit = session.scalars(select(AuditEvent)).all()
    assert [a.action for a in audit] == ["verify_file"]
    assert list(archive.settings.resolved_work_dir().glob("verify-*")) == []


def test_verify_by_file_of_unrelated_footage_finds_nothing(
    client: TestClient, keys: dict[str, str], footage: dict[str, Path]
) -> None:
    ingest(client, keys, footage["source"])
    files = {"file": ("cells.mp4", footage["unrelated"].read_bytes(), "video/mp4")}
    body = client.post("/api/v1/verify", headers=auth(keys["viewer"]), files=files).json()
    assert body["exact_match"] is None and body["near_duplicates"] == []


def test_verify_by_file_that_is_not_video_says_why(client: TestClient, keys: dict[str, str]) -> None:
    files = {"file": ("notes.txt", b"just some text\n" * 100, "text/plain")}
    body = client.post("/api/v1/verify", headers=auth(keys["viewer"]), files=files).json()
    assert body["near_duplicates"] == []
    assert "not a" in body["not_analysed"]


def test_verify_by_file_of_archived_bytes_is_an_exact_match(
    client: TestClient, keys: dict[str, str], footage: dict[str, Path]
) -> None:
    original = ingest(client, keys, footage["source"])
    files = {"file": ("same.mp4", footage["source"].read_bytes(), "video/mp4")}
    body = client.post("/api/v1/verify", headers=auth(keys["viewer"]), files=files).json()
    assert body["exact_match"]["clip"]["id"] == original
    events = client.get(f"/api/v1/clips/{original}/custody", headers=auth(keys["viewer"])).json()
    assert events["events"][-1]["action"] == "provenance_checked"
    assert events["verified"] is True
