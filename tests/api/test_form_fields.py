"""The text fields of the upload and verify forms: a field the route does not know is refused with
its name (a typo must not lose provenance), and each field has a size, a count and an encoding it
must keep. Nothing is stored for a refused form."""

from __future__ import annotations

import os

from fastapi.testclient import TestClient

from storage.archive import Archive
from tests.conftest import all_blob_keys, auth
from tests.helpers.api_calls import row_counts

BOUNDARY = "b0undary"


def multipart(*parts: tuple[str, bytes, str | None]) -> bytes:
    """A form of (name, value, filename or None) parts, written out as a client would send it."""
    body = b""
    for name, value, filename in parts:
        named = f'name="{name}"' + (f'; filename="{filename}"' if filename else "")
        body += f"--{BOUNDARY}\r\nContent-Disposition: form-data; {named}\r\n\r\n".encode() + value + b"\r\n"
    return body + f"--{BOUNDARY}--\r\n".encode()


def post_multipart(client: TestClient, key: str, body: bytes):  # type: ignore[no-untyped-def]
    headers = {**auth(key), "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    return client.post("/api/v1/clips", headers=headers, content=body)


def post_form(client: TestClient, path: str, key: str, fields: dict[str, str]):  # type: ignore[no-untyped-def]
    files = {"file": ("VID_0001.mp4", os.urandom(20_000), "video/mp4")}
    return client.post(path, headers=auth(key), files=files, data=fields)


def test_a_misspelt_upload_field_is_refused_naming_it_and_nothing_is_stored(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    response = post_form(client, "/api/v1/clips", keys["contributor"], {"sourse": "witness A"})
    assert response.status_code == 400, response.text
    detail = response.json()["detail"]
    assert "sourse" in detail and "did you mean source" in detail
    assert row_counts(archive) == (0, 0, 0)
    assert all_blob_keys(archive.blobs) == []


def test_an_unknown_field_after_the_file_part_is_refused_and_nothing_is_stored(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    body = multipart(("file", os.urandom(30_000), "a.mp4"), ("captured", b"2019-11-16", None))
    response = post_multipart(client, keys["contributor"], body)
    assert response.status_code == 400, response.text
    assert "'captured'" in response.json()["detail"]
    assert row_counts(archive) == (0, 0, 0)
    assert all_blob_keys(archive.blobs) == []


def test_a_text_field_on_verify_is_refused_naming_it(client: TestClient, keys: dict[str, str]) -> None:
    response = post_form(client, "/api/v1/verify", keys["viewer"], {"source": "witness A"})
    assert response.status_code == 400, response.text
    assert "'source'" in response.json()["detail"]


def test_the_known_upload_fields_are_kept(client: TestClient, keys: dict[str, str]) -> None:
    fields = {"source": "witness A", "source_url": "https://t.me/x/1", "captured_at": "2019-11-16T14:15:00Z"}
    response = post_form(client, "/api/v1/clips", keys["contributor"], {**fields, "note": "rooftop"})
    assert response.status_code == 201, response.text
    shown = client.get(f"/api/v1/clips/{response.json()['id']}", headers=auth(keys["admin"]))
    [acquisition] = shown.json()["acquisitions"]
    assert (acquisition["source"], acquisition["source_url"], acquisition["note"]) == (
        "witness A",
        "https://t.me/x/1",
        "rooftop",
    )


def test_a_field_given_twice_is_refused(client: TestClient, keys: dict[str, str], archive: Archive) -> None:
    body = multipart(("source", b"a", None), ("source", b"b", None), ("file", os.urandom(1000), "a.mp4"))
    response = post_multipart(client, keys["contributor"], body)
    assert response.status_code == 400, response.text
    assert "'source'" in response.json()["detail"]
    assert row_counts(archive) == (0, 0, 0)


def test_a_field_that_is_not_utf8_is_refused_naming_it(client: TestClient, keys: dict[str, str]) -> None:
    body = multipart(("note", b"caf\xe9 \xed\xa0\x80", None), ("file", os.urandom(1000), "a.mp4"))
    response = post_multipart(client, keys["contributor"], body)
    assert response.status_code == 400, response.text
    assert "note" in response.json()["detail"] and "UTF-8" in response.json()["detail"]


def test_a_field_longer_than_its_maximum_is_refused_naming_it(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    response = post_form(client, "/api/v1/clips", keys["contributor"], {"source": "x" * 5000})
    assert response.status_code == 422, response.text
    answer = response.json()
    assert answer["detail"].startswith("source: ")
    assert len(response.content) < 2000  # the value is not echoed whole
    assert row_counts(archive) == (0, 0, 0)
    assert all_blob_keys(archive.blobs) == []


def test_a_field_larger_than_the_form_field_limit_is_refused_with_413(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    response = post_form(
        client, "/api/v1/clips", keys["contributor"], {"note": "x" * (archive.settings.max_form_field_bytes + 1)}
    )
    assert response.status_code == 413, response.text
    assert "note" in response.json()["detail"]
    assert row_counts(archive) == (0, 0, 0)
