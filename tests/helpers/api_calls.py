"""Calls to the API that many API tests make: upload a clip, wait for its analysis or its timestamp,
create an incident."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from storage.archive import Archive
from storage.models import Acquisition, Clip, CustodyEvent
from tests.conftest import auth

INCIDENT = {
    "title": "Shooting at the square",
    "starts_at": "2019-11-16T14:00:00+03:30",
    "time_precision": "hour",
    "place_name": "Sadeghieh square",
    "lat": 35.72,
    "lon": 51.33,
    "radius_m": 300,
    "tags": ["shooting"],
}


def upload(client: TestClient, key: str, data: bytes, name: str = "VID_0001.mp4", **fields: str):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/clips", headers=auth(key), files={"file": (name, data, "video/mp4")}, data=fields)


def row_counts(archive: Archive) -> tuple[int, int, int]:
    with archive.sessions() as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(select(func.count()).select_from(model)) for model in (Clip, Acquisition, CustodyEvent)
        )


def wait_until_done(client: TestClient, key: str, clip_id: str, timeout_s: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        body: dict[str, Any] = client.get(f"/api/v1/clips/{clip_id}", headers=auth(key)).json()
        if body["status"] not in ("queued", "processing"):
            return body
        time.sleep(0.1)
    raise AssertionError(f"clip {clip_id} still {body['status']} after {timeout_s} s")


def upload_analysed(client: TestClient, keys: dict[str, str], path: Path) -> dict[str, Any]:
    """Upload the file at `path` as a contributor and wait for its analysis to end `ready`."""
    clip_id = upload(client, keys["contributor"], path.read_bytes(), name=path.name).json()["id"]
    body = wait_until_done(client, keys["viewer"], clip_id)
    assert body["status"] == "ready", body["status_reason"]
    return body


def clip_ids(client: TestClient, key: str, query: str) -> list[str]:
    """The ids of the clips `GET /api/v1/clips?{query}` lists, in its order."""
    response = client.get(f"/api/v1/clips?{query}", headers=auth(key))
    assert response.status_code == 200, response.text
    return [c["id"] for c in response.json()["items"]]


def create_incident(client: TestClient, key: str) -> tuple[str, str]:
    response = client.post("/api/v1/incidents", headers=auth(key), json=INCIDENT)
    assert response.status_code == 201, response.text
    return response.json()["id"], response.headers["etag"]


def wait_for_stamp(client: TestClient, key: str, clip_id: str, state: str, timeout_s: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        stamp: dict[str, Any] = client.get(f"/api/v1/clips/{clip_id}", headers=auth(key)).json()["timestamp"]
        if stamp["state"] == state:
            return stamp
        time.sleep(0.05)
    raise AssertionError(f"clip {clip_id}'s timestamp is {stamp}, not {state}, after {timeout_s} s")
