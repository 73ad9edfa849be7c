"""POST /api/v1/clips: streamed, hashed, content-addressed, deduplicated, all-or-nothing."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ingest.upload import Receipt, UploadResult, receive_original, record_original, stage_original, sweep_staging
from storage.archive import Archive
from tests.conftest import all_blob_keys, auth
from tests.helpers.api_calls import row_counts, upload


def test_upload_answers_201_with_hash_size_and_acquisition(client: TestClient, keys: dict[str, str]) -> None:
    data = os.urandom(2 * 1024 * 1024 + 17)
    response = upload(client, keys["contributor"], data, source="Telegram channel X", note="from a witness")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert body["size_bytes"] == len(data)
    assert body["filename"] == "VID_0001.mp4"
    assert body["status"] == "queued"
    assert body["duplicate"] is False
    assert body["created_at"].endswith("Z") or "+00:00" in body["created_at"]
    [acquisition] = body["acquisitions"]
    # Only the sources permission (archive-wide: admins) sees who handed it in and from where.
    assert (acquisition["source"], acquisition["received_by"]) == ("redacted", "redacted")
    [acquisition] = client.get(f"/api/v1/clips/{body['id']}", headers=auth(keys["admin"])).json()["acquisitions"]
    assert acquisition["source"] == "Telegram channel X"
    assert acquisition["received_by"] == "contributor-key"
    assert response.headers["location"] == f"/api/v1/clips/{body['id']}"


def test_original_is_stored_byte_for_byte_under_its_hash(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    data = os.urandom(1_000_003)
    sha = upload(client, keys["contributor"], data).json()["sha256"]
    assert all_blob_keys(archive.blobs) == [f"originals/{sha[:2]}/{sha}"]
    assert b"".join(archive.blobs.open(f"originals/{sha[:2]}/{sha}")) == data


def test_reupload_of_same_bytes_records_second_acquisition(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    data = os.urandom(50_000)
    first = upload(client, keys["contributor"], data, name="a.mp4", source="first source").json()
    second = upload(client, keys["admin"], data, name="copy.mp4", source="second source")
    assert second.status_code == 200
    body = second.json()
    assert body["duplicate"] is True
    assert body["id"] == first["id"]
    assert body["filename"] == "a.mp4"
    assert [(a["filename"], a["source"], a["received_by"]) for a in body["acquisitions"]] == [
        ("a.mp4", "first source", "contributor-key"),
        ("copy.mp4", "second source", "admin-key"),
    ]
    custody = client.get(f"/api/v1/clips/{first['id']}/custody", headers=auth(keys["viewer"])).json()
    receipts = [e["action"] for e in custody["events"] if e["action"] in ("uploaded", "acquired_duplicate")]
    assert receipts == ["uploaded", "acquired_duplicate"]
    assert custody["verified"] is True
    assert len(all_blob_keys(archive.blobs)) == 1


def test_captured_at_is_kept_in_utc(client: TestClient, keys: dict[str, str]) -> None:
    body = upload(client, keys["contributor"], b"x" * 10, captured_at="2019-11-16T14:15:00+03:30").json()
    assert body["acquisitions"][0]["captured_at"].startswith("2019-11-16T10:45:00")


def test_empty_file_is_refused_and_nothing_is_stored(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    response = upload(client, keys["contributor"], b"")
    assert response.status_code == 400
    assert response.json()["error"] == "empty_upload"
    assert row_counts(archive) == (0, 0, 0)
    assert all_blob_keys(archive.blobs) == []


def test_upload_over_the_limit_is_refused_with_413_and_nothing_is_stored(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    archive.settings.max_upload_bytes = 3 * 1024 * 1024
    response = upload(client, keys["contributor"], os.urandom(3 * 1024 * 1024 + 1))
    assert response.status_code == 413
    assert response.json()["error"] == "upload_too_large"
    assert row_counts(archive) == (0, 0, 0)
    assert all_blob_keys(archive.blobs) == []


def test_upload_exactly_at_the_limit_is_accepted(client: TestClient, keys: dict[str, str], archive: Archive) -> None:
    archive.settings.max_upload_bytes = 1024 * 1024
    assert upload(client, keys["contributor"], os.urandom(1024 * 1024)).status_code == 201


def test_declared_length_over_the_limit_is_refused_before_reading(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    archive.settings.max_upload_bytes = 1000
    response = client.post(
        "/api/v1/clips",
        headers={
            **auth(keys["contributor"]),
            "Content-Type": "multipart/form-data; boundary=x",
            "Content-Length": str(10**10),
        },
        content=b"",
    )
    assert response.status_code == 413


def test_bad_captured_at_is_refused_and_nothing_is_stored(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    response = upload(client, keys["contributor"], b"abc", captured_at="last tuesday")
    assert response.status_code == 400
    assert "captured_at" in response.json()["detail"]
    assert row_counts(archive) == (0, 0, 0)
    assert all_blob_keys(archive.blobs) == []


def test_captured_at_without_a_zone_is_refused_and_nothing_is_stored(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    response = upload(client, keys["contributor"], b"abc", captured_at="2019-11-16T14:15:00")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("captured_at needs a time zone, e.g. ")
    assert row_counts(archive) == (0, 0, 0)
    assert all_blob_keys(archive.blobs) == []


def test_form_without_file_part_is_refused(client: TestClient, keys: dict[str, str]) -> None:
    response = client.post("/api/v1/clips", headers=auth(keys["contributor"]), files={"source": (None, "x")})
    assert response.status_code == 400
    assert "file" in response.json()["detail"]


def test_body_that_is_not_multipart_is_refused(client: TestClient, keys: dict[str, str]) -> None:
    response = client.post("/api/v1/clips", headers=auth(keys["contributor"]), content=b"raw bytes")
    assert response.status_code == 400


def test_truncated_multipart_body_is_refused_and_nothing_is_stored(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    body = b'--b\r\nContent-Disposition: form-data; name="file"; filename="x.mp4"\r\n\r\n' + os.urandom(3_000_000)
    response = client.post(
        "/api/v1/clips",
        headers={**auth(keys["contributor"]), "Content-Type": "multipart/form-data; boundary=b"},
        content=body,
    )
    assert response.status_code == 400
    assert row_counts(archive) == (0, 0, 0)
    assert all_blob_keys(archive.blobs) == []


def test_two_file_parts_are_refused(client: TestClient, keys: dict[str, str], archive: Archive) -> None:
    response = client.post(
        "/api/v1/clips",
        headers=auth(keys["contributor"]),
        files=[("file", ("a.mp4", b"aaa")), ("file", ("b.mp4", b"bbb"))],
    )
    assert response.status_code == 400
    assert row_counts(archive) == (0, 0, 0)
    assert all_blob_keys(archive.blobs) == []


def test_an_original_stays_when_recording_it_fails_after_another_upload_found_it_in_place(
    archive: Archive,
) -> None:
    data = os.urandom(10_000)
    placed = threading.Event()
    second: list[UploadResult] = []

    def upload_the_same_bytes_again() -> None:
        placed.wait(10)
        second.append(receive_original(archive, [data], Receipt(received_by="second-key", filename="again.mp4")))

    def fail_while_the_other_waits(session: Session, result: UploadResult) -> None:
        placed.set()
        time.sleep(0.5)  # the other upload finds the original in place, then waits for this transaction
        raise RuntimeError("the database connection broke")

    other = threading.Thread(target=upload_the_same_bytes_again)
    other.start()
    staged = stage_original(archive.blobs, [data], max_bytes=archive.settings.max_upload_bytes)
    with pytest.raises(RuntimeError):
        record_original(
            archive, staged, Receipt(received_by="first-key", filename="a.mp4"), also=fail_while_the_other_waits
        )
    other.join()

    [result] = second
    assert b"".join(archive.blobs.open(result.clip.blob_key)) == data  # its clip's original is there


def test_a_staging_object_left_by_a_dead_upload_is_swept_once_nobody_wrote_it_for_a_while(
    archive: Archive,
) -> None:
    blobs = archive.blobs
    blobs.put_stream("incoming/left-by-a-process-that-died", [b"x" * 100])
    assert sweep_staging(blobs) == 0  # written just now: an upload may still be writing or moving it
    time.sleep(1.1)  # S3 keeps times to the second
    assert sweep_staging(blobs, older_than=timedelta(seconds=1)) == 1
    assert all_blob_keys(blobs) == []
