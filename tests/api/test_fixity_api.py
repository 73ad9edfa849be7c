"""Fixity through the API: the clip's flag and its search, the report at /api/v1/fixity, a degraded
/healthz, a check on demand, downloads that hash what they stream, and a chain check that names
the field which differs from what the chain recorded."""

from __future__ import annotations

import contextlib
import os
from typing import Any

import httpx
from fastapi.testclient import TestClient

from ingest.fixity import run_fixity_audit
from storage.archive import Archive
from storage.models import Clip
from tests.conftest import auth
from tests.helpers.api_calls import create_incident, upload
from tests.helpers.evidence import edit


def archived(client: TestClient, key: str, data: bytes | None = None, **fields: str) -> dict[str, Any]:
    response = upload(client, key, data if data is not None else os.urandom(200_000), **fields)
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


def blob_key(archive: Archive, clip_id: str) -> str:
    with archive.sessions() as session:
        return session.get_one(Clip, clip_id).blob_key


def custody(client: TestClient, key: str, clip_id: str) -> dict[str, Any]:
    body: dict[str, Any] = client.get(f"/api/v1/clips/{clip_id}/custody", headers=auth(key)).json()
    return body


def test_every_ordinary_action_leaves_the_chain_check_verified(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    data = os.urandom(200_000)
    clip = archived(
        client, keys["contributor"], data, source="witness A", captured_at="2019-11-16T14:05:00+03:30", note="roof"
    )
    archived(client, keys["analyst"], data, source="Telegram")
    acquisition = clip["acquisitions"][0]["id"]
    corrected = client.post(
        f"/api/v1/clips/{clip['id']}/acquisitions/{acquisition}/corrections",
        headers=auth(keys["contributor"]),
        json={"field": "captured_at", "value": "2019-11-16T14:06:00+03:30", "why": "clock was a minute slow"},
    )
    assert corrected.status_code == 201, corrected.text
    review = {"status": "in_review", "rationale": "checking the skyline"}
    assert (
        client.post(f"/api/v1/clips/{clip['id']}/verification", headers=auth(keys["analyst"]), json=review).status_code
        == 200
    )
    incident_id, _etag = create_incident(client, keys["analyst"])
    linked = client.post(
        f"/api/v1/incidents/{incident_id}/clips",
        headers=auth(keys["analyst"]),
        json={"clip_id": clip["id"], "note": "a"},
    )
    assert linked.status_code == 201, linked.text
    link_path = f"/api/v1/incidents/{incident_id}/clips/{linked.json()['id']}"
    changed = client.patch(
        link_path, headers={**auth(keys["analyst"]), "If-Match": linked.headers["etag"]}, json={"note": "b"}
    )
    assert changed.status_code == 200, changed.text
    removed = client.delete(link_path, headers={**auth(keys["analyst"]), "If-Match": changed.headers["etag"]})
    assert removed.status_code == 200, removed.text
    assert client.get(f"/api/v1/clips/{clip['id']}/original", headers=auth(keys["viewer"])).content == data
    ranged = client.get(
        f"/api/v1/clips/{clip['id']}/original", headers={**auth(keys["viewer"]), "Range": "bytes=10-99"}
    )
    assert ranged.status_code == 206 and ranged.content == data[10:100]
    assert client.post(f"/api/v1/clips/{clip['id']}/fixity", headers=auth(keys["analyst"])).json()["problems"] == []
    log = custody(client, keys["viewer"], clip["id"])
    assert (log["verified"], log["mismatches"], log["reason"]) == (True, [], None)
    assert client.get(f"/api/v1/clips/{clip['id']}", headers=auth(keys["viewer"])).json()["fixity"] == "ok"


def test_the_chain_check_names_the_field_that_differs_from_the_chain(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    clip = archived(client, keys["contributor"])
    edit(archive, "UPDATE clips SET size_bytes = 5 WHERE id = :id", id=clip["id"])
    log = custody(client, keys["viewer"], clip["id"])
    assert log["verified"] is False
    assert log["first_bad_seq"] == 0
    assert log["mismatches"] == [{"seq": 0, "field": "size_bytes", "recorded": 200_000, "found": 5}]
    assert log["reason"] == "does not match its custody: size_bytes is 5 but event 0 recorded 200000"


def test_a_failed_clip_is_flagged_searchable_reported_and_degrades_healthz(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    intact, broken = archived(client, keys["contributor"]), archived(client, keys["contributor"])
    archive.blobs.delete(blob_key(archive, broken["id"]))
    progress = run_fixity_audit(archive)
    assert progress is not None and [o.clip_id for o in progress.failed] == [broken["id"]]

    viewer = auth(keys["viewer"])
    assert client.get(f"/api/v1/clips/{broken['id']}", headers=viewer).json()["fixity"] == "failed"
    found = client.get("/api/v1/clips", headers=viewer, params={"fixity": "failed"}).json()
    assert [c["id"] for c in found["items"]] == [broken["id"]]
    passed = client.get("/api/v1/clips", headers=viewer, params={"fixity": "ok"}).json()
    assert [c["id"] for c in passed["items"]] == [intact["id"]]

    report = client.get("/api/v1/fixity", headers=viewer).json()
    assert report["last_run"]["clips_checked"] == 2 and report["last_run"]["clips_failed"] == 1
    assert report["running"] is None
    assert report["next_run_at"] > report["last_run"]["started_at"]
    assert report["failed"] == 1
    [failure] = report["failures"]
    assert failure["clip_id"] == broken["id"]
    assert failure["problems"] == [
        f"the original is missing from the object store (key {blob_key(archive, broken['id'])})"
    ]

    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.json() == {
        "status": "degraded",
        "database": "ok",
        "object_store": "ok",
        "fixity": "1 clip failed the fixity check",
    }


def test_a_whole_download_of_altered_bytes_is_cut_off_and_recorded_as_a_fixity_failure(
    archive: Archive, keys: dict[str, str]
) -> None:
    from api.app import create_app

    data = os.urandom(3 * 1024 * 1024 + 17)
    with TestClient(create_app(archive=archive), raise_server_exceptions=False) as client:
        clip = archived(client, keys["contributor"], data)
        altered = bytearray(data)
        altered[1_000_000] ^= 0xFF
        archive.blobs.put_stream(blob_key(archive, clip["id"]), iter([bytes(altered)]))
        response = client.get(f"/api/v1/clips/{clip['id']}/original", headers=auth(keys["viewer"]))
        # The last chunk is kept back: the body ends short of its Content-Length (a real server's
        # client sees the connection close early), so no one takes it for the whole original.
        assert int(response.headers["content-length"]) == len(data)
        assert len(response.content) == 3 * 1024 * 1024
        log = custody(client, keys["viewer"], clip["id"])
        [failed] = [e for e in log["events"] if e["action"] == "fixity_failed"]
        assert failed["actor"] == "viewer-key" and failed["details"]["by"] == "download"
        assert "SHA-256" in failed["details"]["problems"][0]
        assert client.get(f"/api/v1/clips/{clip['id']}", headers=auth(keys["viewer"])).json()["fixity"] == "failed"


def test_a_download_of_a_missing_original_records_a_fixity_failure(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    clip = archived(client, keys["contributor"])
    archive.blobs.delete(blob_key(archive, clip["id"]))
    response = client.get(f"/api/v1/clips/{clip['id']}/original", headers=auth(keys["viewer"]))
    assert response.status_code == 404
    assert client.get(f"/api/v1/clips/{clip['id']}", headers=auth(keys["viewer"])).json()["fixity"] == "failed"


def test_a_range_past_the_end_of_a_shortened_original_records_a_fixity_failure(
    archive: Archive, keys: dict[str, str]
) -> None:
    from api.app import create_app

    data = os.urandom(200_000)
    with TestClient(create_app(archive=archive), raise_server_exceptions=False) as client:
        clip = archived(client, keys["contributor"], data)
        archive.blobs.put_stream(blob_key(archive, clip["id"]), iter([data[:50_000]]))
        with contextlib.suppress(httpx.HTTPError):  # the body is cut off: how the transport says so does not matter
            client.get(
                f"/api/v1/clips/{clip['id']}/original", headers={**auth(keys["viewer"]), "Range": "bytes=40000-99999"}
            )
        problems = client.get("/api/v1/fixity", headers=auth(keys["viewer"])).json()["failures"][0]["problems"]
        assert problems == ["the original ends after 50000 bytes; the clip says 200000"]


def test_checking_a_clip_on_demand_needs_an_analyst(client: TestClient, keys: dict[str, str]) -> None:
    clip = archived(client, keys["contributor"])
    assert client.post(f"/api/v1/clips/{clip['id']}/fixity", headers=auth(keys["viewer"])).status_code == 403
    answer = client.post(f"/api/v1/clips/{clip['id']}/fixity", headers=auth(keys["analyst"]))
    assert answer.json() == {"clip_id": clip["id"], "fixity": "ok", "problems": []}
    assert client.post("/api/v1/clips/nope/fixity", headers=auth(keys["analyst"])).status_code == 404
