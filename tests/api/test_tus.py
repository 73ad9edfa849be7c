"""/api/v1/uploads speaking tus 1.0 (core, creation, termination, expiration, checksum with
sha256) to requests that carry Tus-Resumable, through the app in-process. The standard client
(tuspy) against a real server is in tests/api/test_tus_clients.py."""

from __future__ import annotations

import base64
import hashlib
import os
from datetime import timedelta
from email.utils import parsedate_to_datetime

import httpx
from fastapi.testclient import TestClient

from storage.archive import Archive
from storage.models import Upload, utcnow
from tests.conftest import all_blob_keys, auth

TUS = {"Tus-Resumable": "1.0.0"}


def metadata(**values: str) -> str:
    return ",".join(f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in values.items())


def create(client: TestClient, key: str, size: int, **values: str) -> httpx.Response:
    values.setdefault("filename", "VID_0007.mp4")
    headers = {**auth(key), **TUS, "Upload-Length": str(size), "Upload-Metadata": metadata(**values)}
    return client.post("/api/v1/uploads", headers=headers)


def patch(client: TestClient, key: str, location: str, offset: int, data: bytes, **headers: str) -> httpx.Response:
    sent = {**auth(key), **TUS, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"}
    return client.patch(location, headers={**sent, **headers}, content=data)


def chunk_checksum(data: bytes) -> str:
    return "sha256 " + base64.b64encode(hashlib.sha256(data).digest()).decode()


def test_options_says_what_the_server_supports_without_a_key(client: TestClient, archive: Archive) -> None:
    answer = client.options("/api/v1/uploads")

    assert answer.status_code == 204
    assert answer.headers["tus-resumable"] == "1.0.0"
    assert answer.headers["tus-version"] == "1.0.0"
    assert answer.headers["tus-extension"] == "creation,termination,expiration,checksum"
    assert answer.headers["tus-max-size"] == str(archive.settings.max_upload_bytes)
    assert answer.headers["tus-checksum-algorithm"] == "sha256"


def test_tus_upload_in_two_chunks_is_archived_and_says_its_clip_in_headers(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    data = os.urandom(300_001)
    created = create(client, keys["contributor"], len(data), filetype="video/mp4", source="witness C")
    assert created.status_code == 201, created.text
    assert created.headers["tus-resumable"] == "1.0.0"
    location = created.headers["location"]
    assert location.startswith("/api/v1/uploads/")

    head = client.head(location, headers={**auth(keys["contributor"]), **TUS})
    assert head.status_code == 200
    assert (head.headers["upload-offset"], head.headers["upload-length"]) == ("0", str(len(data)))
    assert head.headers["cache-control"] == "no-store"
    assert "filename VklEXzAwMDcubXA0" in head.headers["upload-metadata"]

    first = patch(client, keys["contributor"], location, 0, data[:100_000])
    assert (first.status_code, first.headers["upload-offset"], first.content) == (204, "100000", b"")
    assert "verity-clip-id" not in first.headers
    last = patch(client, keys["contributor"], location, 100_000, data[100_000:])

    assert last.status_code == 204, last.text
    assert (last.headers["upload-offset"], last.headers["verity-duplicate"]) == (str(len(data)), "false")
    clip_id = last.headers["verity-clip-id"]
    state = client.get(location, headers=auth(keys["contributor"])).json()
    assert (state["clip_id"], state["content_type"], state["source"]) == (clip_id, "video/mp4", "witness C")
    clip = client.get(f"/api/v1/clips/{clip_id}", headers=auth(keys["admin"])).json()
    assert clip["sha256"] == hashlib.sha256(data).hexdigest()
    again = patch(client, keys["contributor"], location, len(data), b"")
    assert (again.status_code, again.headers["verity-clip-id"]) == (204, clip_id)
    done = client.head(location, headers={**auth(keys["contributor"]), **TUS})
    assert (done.headers["upload-offset"], done.headers["verity-clip-id"]) == (str(len(data)), clip_id)
    assert "upload-expires" not in done.headers  # a finished upload does not expire


def test_a_request_without_tus_resumable_is_answered_as_before(client: TestClient, keys: dict[str, str]) -> None:
    created = client.post(
        "/api/v1/uploads", headers=auth(keys["contributor"]), json={"filename": "a.mp4", "size_bytes": 10}
    )
    assert created.status_code == 201
    assert created.json()["received_bytes"] == 0
    assert "tus-resumable" not in created.headers
    chunk = client.patch(
        created.headers["location"],
        headers={**auth(keys["contributor"]), "Upload-Offset": "0", "Content-Type": "application/octet-stream"},
        content=b"12345",
    )
    assert (chunk.status_code, chunk.json()["received_bytes"]) == (200, 5)
    assert "tus-resumable" not in chunk.headers


def test_another_tus_version_is_412_naming_the_one_spoken(client: TestClient, keys: dict[str, str]) -> None:
    headers = {**auth(keys["contributor"]), "Tus-Resumable": "0.2.2", "Upload-Length": "10"}
    answer = client.post("/api/v1/uploads", headers=headers)

    assert answer.status_code == 412
    assert (answer.headers["tus-version"], answer.headers["tus-resumable"]) == ("1.0.0", "1.0.0")
    assert "1.0.0" in answer.json()["detail"]


def test_tus_errors_carry_tus_resumable_too(client: TestClient, keys: dict[str, str]) -> None:
    no_key = client.post("/api/v1/uploads", headers={**TUS, "Upload-Length": "10"})
    assert (no_key.status_code, no_key.headers["tus-resumable"]) == (401, "1.0.0")
    viewer = create(client, keys["viewer"], 10)
    assert (viewer.status_code, viewer.headers["tus-resumable"]) == (403, "1.0.0")


def test_creation_refuses_bad_metadata_and_length_naming_why(client: TestClient, keys: dict[str, str]) -> None:
    key = keys["contributor"]
    base = {**auth(key), **TUS}

    def answer(**headers: str) -> tuple[int, str]:
        response = client.post("/api/v1/uploads", headers={**base, **headers})
        return response.status_code, response.json()["detail"]

    good = metadata(filename="a.mp4")
    status, detail = answer(**{"Upload-Length": "10", "Upload-Metadata": good + "," + metadata(colour="red")})
    assert status == 400 and "unknown key 'colour'" in detail
    status, detail = answer(**{"Upload-Length": "10", "Upload-Metadata": "filename !!notbase64"})
    assert status == 400 and "'filename' is not base64" in detail
    bad_time = metadata(filename="a.mp4", captured_at="2019-11-16T14:15:00")
    status, detail = answer(**{"Upload-Length": "10", "Upload-Metadata": bad_time})
    assert status == 400 and "captured_at" in detail and "time zone" in detail
    status, detail = answer(**{"Upload-Length": "10", "Upload-Metadata": metadata(filename="a", sha256="abc")})
    assert status == 400 and "sha256" in detail
    status, detail = answer(**{"Upload-Metadata": good})
    assert status == 400 and "Upload-Length is required" in detail
    status, detail = answer(**{"Upload-Defer-Length": "1", "Upload-Metadata": good})
    assert status == 400 and "Upload-Defer-Length is not supported" in detail
    status, detail = answer(**{"Upload-Length": "-3", "Upload-Metadata": good})
    assert status == 400 and "whole number" in detail
    status, detail = answer(**{"Upload-Length": "0", "Upload-Metadata": good})
    assert status == 400


def test_creation_keeps_the_upload_limit_and_the_case_check(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    archive.settings.max_upload_bytes = 1000
    too_large = create(client, keys["contributor"], 1001)
    assert (too_large.status_code, too_large.json()["error"]) == (413, "upload_too_large")
    unknown_case = create(client, keys["contributor"], 10, case_id="no-such-case")
    assert unknown_case.status_code == 404


def test_a_chunk_that_is_not_offset_octet_stream_is_415(client: TestClient, keys: dict[str, str]) -> None:
    location = create(client, keys["contributor"], 10).headers["location"]
    answer = patch(client, keys["contributor"], location, 0, b"12345", **{"Content-Type": "application/octet-stream"})
    assert answer.status_code == 415
    assert "application/offset+octet-stream" in answer.json()["detail"]


def test_a_chunk_at_the_wrong_offset_is_409_with_the_offset(client: TestClient, keys: dict[str, str]) -> None:
    location = create(client, keys["contributor"], 10).headers["location"]
    assert patch(client, keys["contributor"], location, 0, b"12345").status_code == 204
    answer = patch(client, keys["contributor"], location, 2, b"345")
    assert (answer.status_code, answer.headers["upload-offset"]) == (409, "5")


def test_a_chunk_whose_checksum_differs_is_460_and_dropped(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    location = create(client, keys["contributor"], 10).headers["location"]
    wrong = patch(client, keys["contributor"], location, 0, b"12345", **{"Upload-Checksum": chunk_checksum(b"54321")})

    assert wrong.status_code == 460, wrong.text
    assert wrong.json()["error"] == "checksum_mismatch"
    head = client.head(location, headers={**auth(keys["contributor"]), **TUS})
    assert head.headers["upload-offset"] == "0"
    assert all_blob_keys(archive.blobs) == []
    right = patch(client, keys["contributor"], location, 0, b"12345", **{"Upload-Checksum": chunk_checksum(b"12345")})
    assert (right.status_code, right.headers["upload-offset"]) == (204, "5")


def test_a_checksum_in_an_algorithm_not_supported_is_400(client: TestClient, keys: dict[str, str]) -> None:
    location = create(client, keys["contributor"], 10).headers["location"]
    sha1 = "sha1 " + base64.b64encode(hashlib.sha1(b"12345").digest()).decode()
    answer = patch(client, keys["contributor"], location, 0, b"12345", **{"Upload-Checksum": sha1})
    assert answer.status_code == 400
    assert "'sha1' is not supported" in answer.json()["detail"]


def test_upload_expires_is_the_idle_limit_after_the_last_chunk_and_then_410(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    created = create(client, keys["contributor"], 10)
    expires = parsedate_to_datetime(created.headers["upload-expires"])
    idle = timedelta(hours=archive.settings.upload_idle_hours)
    assert abs(expires - (utcnow() + idle)) < timedelta(seconds=5)
    location = created.headers["location"]
    # Expired under a limit of one hour, yet not idle for the 72 hours the sweep (set at start) deletes after.
    archive.settings.upload_idle_hours = 1
    with archive.sessions.begin() as session:
        upload = session.get(Upload, location.rsplit("/", 1)[1])
        assert upload is not None
        upload.updated_at = utcnow() - timedelta(hours=2)

    head = client.head(location, headers={**auth(keys["contributor"]), **TUS})
    assert head.status_code == 410
    chunk = patch(client, keys["contributor"], location, 0, b"12345")
    assert (chunk.status_code, chunk.json()["error"]) == (410, "upload_expired")


def test_termination_deletes_the_upload(client: TestClient, keys: dict[str, str], archive: Archive) -> None:
    location = create(client, keys["contributor"], 10).headers["location"]
    assert patch(client, keys["contributor"], location, 0, b"12345").status_code == 204

    deleted = client.delete(location, headers={**auth(keys["contributor"]), **TUS})

    assert (deleted.status_code, deleted.headers["tus-resumable"]) == (204, "1.0.0")
    assert client.head(location, headers={**auth(keys["contributor"]), **TUS}).status_code == 404
    assert all_blob_keys(archive.blobs) == []


def test_another_callers_upload_is_404_to_head_and_patch(client: TestClient, keys: dict[str, str]) -> None:
    location = create(client, keys["contributor"], 10).headers["location"]
    assert client.head(location, headers={**auth(keys["analyst"]), **TUS}).status_code == 404
    assert patch(client, keys["analyst"], location, 0, b"12345").status_code == 404


def test_bytes_that_are_not_the_declared_file_are_refused_and_deleted(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    data = os.urandom(1000)
    declared = hashlib.sha256(b"another file").hexdigest()
    location = create(client, keys["contributor"], len(data), sha256=declared).headers["location"]
    assert patch(client, keys["contributor"], location, 0, data[:400]).status_code == 204

    last = patch(client, keys["contributor"], location, 400, data[400:])

    assert last.status_code == 400, last.text
    assert last.json()["error"] == "sha256_mismatch"
    assert f"not the declared {declared}" in last.json()["detail"]
    assert "nothing is archived" in last.json()["detail"]
    assert client.get("/api/v1/clips", headers=auth(keys["admin"])).json()["total"] == 0
    assert client.head(location, headers={**auth(keys["contributor"]), **TUS}).status_code == 404
    assert all_blob_keys(archive.blobs) == []


def test_declaring_the_same_file_again_continues_the_unfinished_upload(
    client: TestClient, keys: dict[str, str]
) -> None:
    data = os.urandom(1000)
    digest = hashlib.sha256(data).hexdigest()
    first = create(client, keys["contributor"], len(data), sha256=digest, note="run 1")
    assert patch(client, keys["contributor"], first.headers["location"], 0, data[:600]).status_code == 204

    again = create(client, keys["contributor"], len(data), sha256=digest, note="run 1")
    other_note = create(client, keys["contributor"], len(data), sha256=digest, note="run 2")
    other_caller = create(client, keys["admin"], len(data), sha256=digest, note="run 1")

    assert again.status_code == 201
    assert (again.headers["location"], again.headers["upload-offset"]) == (first.headers["location"], "600")
    assert other_note.headers["location"] != first.headers["location"]
    assert other_caller.headers["location"] != first.headers["location"]
    last = patch(client, keys["contributor"], again.headers["location"], 600, data[600:])
    assert last.status_code == 204 and last.headers["verity-clip-id"]
    fresh = create(client, keys["contributor"], len(data), sha256=digest, note="run 1")
    assert fresh.headers["location"] != first.headers["location"]  # a finished upload is not continued


def test_a_json_declaration_with_sha256_continues_the_unfinished_upload_too(
    client: TestClient, keys: dict[str, str]
) -> None:
    declaration = {"filename": "a.mp4", "size_bytes": 10, "sha256": hashlib.sha256(b"0123456789").hexdigest()}
    first = client.post("/api/v1/uploads", headers=auth(keys["contributor"]), json=declaration)
    assert patch(client, keys["contributor"], first.headers["location"], 0, b"01234").status_code == 204

    again = client.post("/api/v1/uploads", headers=auth(keys["contributor"]), json=declaration)

    assert again.status_code == 201
    assert (again.json()["id"], again.json()["received_bytes"]) == (first.json()["id"], 5)
