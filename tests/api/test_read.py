"""Reading clips back: listing, one clip, the original (ranges, ETag, Repr-Digest), custody."""

from __future__ import annotations

import base64
import hashlib
import os

from fastapi.testclient import TestClient

from tests.conftest import auth
from tests.helpers.api_calls import upload


def test_list_is_newest_first_and_paginated(client: TestClient, keys: dict[str, str]) -> None:
    ids = [upload(client, keys["contributor"], os.urandom(100), name=f"{n}.mp4").json()["id"] for n in range(5)]
    viewer = auth(keys["viewer"])
    page = client.get("/api/v1/clips?limit=2", headers=viewer).json()
    assert page["total"] == 5
    assert [c["id"] for c in page["items"]] == ids[::-1][:2]
    rest = client.get("/api/v1/clips?limit=10&offset=2", headers=viewer).json()
    assert [c["id"] for c in rest["items"]] == ids[::-1][2:]


def test_limit_out_of_bounds_is_refused(client: TestClient, keys: dict[str, str]) -> None:
    assert client.get("/api/v1/clips?limit=0", headers=auth(keys["viewer"])).status_code == 422


def test_get_clip_shows_acquisitions(client: TestClient, keys: dict[str, str]) -> None:
    clip_id = upload(client, keys["contributor"], b"abc", source="witness").json()["id"]
    body = client.get(f"/api/v1/clips/{clip_id}", headers=auth(keys["admin"])).json()
    assert body["id"] == clip_id
    assert body["acquisitions"][0]["source"] == "witness"


def test_unknown_clip_is_404(client: TestClient, keys: dict[str, str]) -> None:
    response = client.get("/api/v1/clips/00000000-0000-0000-0000-000000000000", headers=auth(keys["viewer"]))
    assert response.status_code == 404
    assert response.json()["error"] == "clip_not_found"


def test_original_comes_back_with_etag_and_repr_digest(client: TestClient, keys: dict[str, str]) -> None:
    data = os.urandom(3 * 1024 * 1024 + 5)
    clip_id = upload(client, keys["contributor"], data).json()["id"]
    response = client.get(f"/api/v1/clips/{clip_id}/original", headers=auth(keys["viewer"]))
    assert response.status_code == 200
    assert response.content == data
    digest = hashlib.sha256(data)
    assert response.headers["etag"] == f'"{digest.hexdigest()}"'
    assert response.headers["repr-digest"] == f"sha-256=:{base64.b64encode(digest.digest()).decode()}:"
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["content-type"] == "video/mp4"


def test_range_request_returns_206_with_those_bytes(client: TestClient, keys: dict[str, str]) -> None:
    data = os.urandom(100_000)
    clip_id = upload(client, keys["contributor"], data).json()["id"]
    url, viewer = f"/api/v1/clips/{clip_id}/original", auth(keys["viewer"])
    middle = client.get(url, headers={**viewer, "Range": "bytes=1000-1999"})
    assert middle.status_code == 206
    assert middle.content == data[1000:2000]
    assert middle.headers["content-range"] == "bytes 1000-1999/100000"
    # The digest header describes the whole representation, not the part.
    assert middle.headers["repr-digest"].startswith("sha-256=:")
    assert client.get(url, headers={**viewer, "Range": "bytes=-10"}).content == data[-10:]
    assert client.get(url, headers={**viewer, "Range": "bytes=99990-"}).content == data[99990:]
    assert client.get(url, headers={**viewer, "Range": "bytes=99990-200000"}).content == data[99990:]


def test_range_beyond_the_end_is_416(client: TestClient, keys: dict[str, str]) -> None:
    clip_id = upload(client, keys["contributor"], b"0123456789").json()["id"]
    response = client.get(f"/api/v1/clips/{clip_id}/original", headers={**auth(keys["viewer"]), "Range": "bytes=10-20"})
    assert response.status_code == 416
    assert response.headers["content-range"] == "bytes */10"


def test_matching_if_none_match_is_304(client: TestClient, keys: dict[str, str]) -> None:
    body = upload(client, keys["contributor"], b"0123456789").json()
    response = client.get(
        f"/api/v1/clips/{body['id']}/original",
        headers={**auth(keys["viewer"]), "If-None-Match": f'"{body["sha256"]}"'},
    )
    assert response.status_code == 304


def test_download_is_a_custody_event(client: TestClient, keys: dict[str, str]) -> None:
    clip_id = upload(client, keys["contributor"], b"0123456789").json()["id"]
    client.get(f"/api/v1/clips/{clip_id}/original", headers={**auth(keys["viewer"]), "Range": "bytes=2-3"})
    custody = client.get(f"/api/v1/clips/{clip_id}/custody", headers=auth(keys["viewer"])).json()
    assert custody["verified"] is True
    actions = [e["action"] for e in custody["events"]]
    assert actions[0] == "uploaded" and actions.count("downloaded") == 1
    position = actions.index("downloaded")
    download = custody["events"][position]
    assert download["actor"] == "viewer-key"
    assert download["details"] == {"range": "bytes=2-3", "bytes": 2}
    assert download["prev_hash"] == custody["events"][position - 1]["hash"]


def test_healthz_needs_no_key(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "object_store": "ok", "fixity": "ok"}
