"""API keys and roles: 401 without a valid key, 403 without the role."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from storage.archive import Archive
from storage.models import ApiKey
from tests.conftest import auth
from tests.helpers.api_calls import upload


def test_missing_key_is_401(client: TestClient) -> None:
    response = client.get("/api/v1/clips")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_unknown_key_is_401(client: TestClient, keys: dict[str, str]) -> None:
    assert client.get("/api/v1/clips", headers=auth("vrt_not-a-key")).status_code == 401


@pytest.mark.parametrize("role", ["viewer"])
def test_viewer_cannot_upload(client: TestClient, keys: dict[str, str], role: str) -> None:
    response = upload(client, keys[role], b"abc")
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"


@pytest.mark.parametrize("role", ["contributor", "analyst", "admin"])
def test_contributor_and_above_can_upload(client: TestClient, keys: dict[str, str], role: str) -> None:
    assert upload(client, keys[role], role.encode()).status_code == 201


@pytest.mark.parametrize("role", ["viewer", "contributor", "analyst"])
def test_only_admin_manages_keys(client: TestClient, keys: dict[str, str], role: str) -> None:
    response = client.post("/api/v1/keys", headers=auth(keys[role]), json={"name": "x", "role": "viewer"})
    assert response.status_code == 403


def test_admin_creates_a_key_that_works_and_is_stored_only_as_hash(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    response = client.post("/api/v1/keys", headers=auth(keys["admin"]), json={"name": "field team", "role": "viewer"})
    assert response.status_code == 201
    secret = response.json()["key"]
    assert client.get("/api/v1/clips", headers=auth(secret)).status_code == 200
    with archive.sessions() as session:
        stored = session.scalar(select(ApiKey).where(ApiKey.name == "field team"))
        assert stored is not None and secret not in stored.key_hash


def test_duplicate_key_name_is_409(client: TestClient, keys: dict[str, str]) -> None:
    response = client.post("/api/v1/keys", headers=auth(keys["admin"]), json={"name": "viewer-key", "role": "viewer"})
    assert response.status_code == 409


def test_unknown_role_is_refused(client: TestClient, keys: dict[str, str]) -> None:
    response = client.post("/api/v1/keys", headers=auth(keys["admin"]), json={"name": "z", "role": "god"})
    assert response.status_code == 422


def test_revoked_key_is_401(client: TestClient, keys: dict[str, str]) -> None:
    assert client.delete("/api/v1/keys/viewer-key", headers=auth(keys["admin"])).status_code == 200
    assert client.get("/api/v1/clips", headers=auth(keys["viewer"])).status_code == 401


def test_key_list_shows_no_secrets(client: TestClient, keys: dict[str, str]) -> None:
    listed = client.get("/api/v1/keys", headers=auth(keys["admin"])).json()
    assert {k["name"] for k in listed} == {"viewer-key", "contributor-key", "analyst-key", "admin-key"}
    fields = {"name", "role", "person", "cases", "created_at", "expires_at", "revoked_at"}
    assert all(set(k) == fields for k in listed)


def test_the_last_admin_key_cannot_be_revoked(client: TestClient, keys: dict[str, str]) -> None:
    refused = client.delete("/api/v1/keys/admin-key", headers=auth(keys["admin"]))
    assert refused.status_code == 409 and "last admin key" in refused.json()["detail"]
    second = client.post("/api/v1/keys", headers=auth(keys["admin"]), json={"name": "admin-2", "role": "admin"})
    assert second.status_code == 201
    assert client.delete("/api/v1/keys/admin-key", headers=auth(keys["admin"])).status_code == 200
    assert client.get("/api/v1/keys", headers=auth(second.json()["key"])).status_code == 200
