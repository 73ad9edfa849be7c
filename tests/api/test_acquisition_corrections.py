"""Correcting an acquisition: a mistaken source, source URL, capture time or note is put right by an
appended correction (who, when, before, after, why), shown with the acquisition and in custody;
what was first recorded stays as it was."""

from __future__ import annotations

import os
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from storage.archive import Archive
from storage.models import Acquisition
from tests.conftest import auth


def upload(client: TestClient, key: str, **fields: str) -> dict[str, Any]:
    files = {"file": ("VID_0001.mp4", os.urandom(5_000), "video/mp4")}
    response = client.post("/api/v1/clips", headers=auth(key), files=files, data=fields)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def correct(client: TestClient, key: str, clip: dict[str, Any], body: dict[str, Any], acquisition: int = 0):  # type: ignore[no-untyped-def]
    acquisition_id = clip["acquisitions"][acquisition]["id"]
    path = f"/api/v1/clips/{clip['id']}/acquisitions/{acquisition_id}/corrections"
    return client.post(path, headers=auth(key), json=body)


WHY = "typed as witness B at intake; the Signal log shows witness A"


def test_a_correction_is_shown_with_the_acquisition_and_the_original_row_stays(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    clip = upload(client, keys["contributor"], source="witness B", note="rooftop")
    response = correct(client, keys["contributor"], clip, {"field": "source", "value": "witness A", "why": WHY})
    assert response.status_code == 201, response.text
    assert response.json()["source"] == "redacted"  # the contributor holds no sources permission
    [corrected] = client.get(f"/api/v1/clips/{clip['id']}", headers=auth(keys["admin"])).json()["acquisitions"]
    assert corrected["source"] == "witness A"
    assert corrected["note"] == "rooftop"
    [correction] = corrected["corrections"]
    assert (correction["field"], correction["old_value"], correction["new_value"], correction["why"]) == (
        "source",
        "witness B",
        "witness A",
        WHY,
    )
    assert correction["corrected_by"] == "contributor-key"
    shown = client.get(f"/api/v1/clips/{clip['id']}", headers=auth(keys["viewer"])).json()
    assert shown["acquisitions"][0]["source"] == "redacted"
    assert [(c["old_value"], c["new_value"], c["corrected_by"]) for c in shown["acquisitions"][0]["corrections"]] == [
        ("redacted", "redacted", "redacted")  # its author is the uploader: who handed it in
    ]
    with archive.sessions() as session:
        assert session.scalars(select(Acquisition.source)).one() == "witness B"


def test_a_second_correction_takes_the_first_ones_value_as_before(client: TestClient, keys: dict[str, str]) -> None:
    clip = upload(client, keys["contributor"], source="witness B")
    correct(client, keys["contributor"], clip, {"field": "source", "value": "witness A", "why": WHY})
    response = correct(client, keys["contributor"], clip, {"field": "source", "value": None, "why": "not known"})
    assert response.status_code == 201, response.text
    [acquisition] = client.get(f"/api/v1/clips/{clip['id']}", headers=auth(keys["admin"])).json()["acquisitions"]
    assert acquisition["source"] is None
    assert [(c["old_value"], c["new_value"]) for c in acquisition["corrections"]] == [
        ("witness B", "witness A"),
        ("witness A", None),
    ]


def test_a_correction_is_an_event_in_the_clips_custody_log(client: TestClient, keys: dict[str, str]) -> None:
    clip = upload(client, keys["contributor"], source="witness B")
    correct(client, keys["contributor"], clip, {"field": "source", "value": "witness A", "why": WHY})
    custody = client.get(f"/api/v1/clips/{clip['id']}/custody", headers=auth(keys["admin"])).json()
    assert custody["verified"] is True
    [event] = [e for e in custody["events"] if e["action"] == "acquisition_corrected"]
    assert event["actor"] == "contributor-key"
    details = event["details"]
    assert (details["acquisition_id"], details["field"], details["old_value"], details["new_value"]) == (
        clip["acquisitions"][0]["id"],
        "source",
        "witness B",
        "witness A",
    )
    assert details["why"] == WHY


@pytest.mark.parametrize("why", ["", "   "])
def test_a_correction_without_a_reason_is_refused(client: TestClient, keys: dict[str, str], why: str) -> None:
    clip = upload(client, keys["contributor"], source="witness B")
    response = correct(client, keys["contributor"], clip, {"field": "source", "value": "witness A", "why": why})
    assert response.status_code in (400, 422), response.text
    assert "why" in response.json()["detail"]
    assert client.get(f"/api/v1/clips/{clip['id']}", headers=auth(keys["admin"])).json()["acquisitions"][0][
        "source"
    ] == ("witness B")


def test_only_the_key_that_handed_it_in_or_an_analyst_may_correct(client: TestClient, keys: dict[str, str]) -> None:
    clip = upload(client, keys["contributor"], source="witness B")
    body = {"field": "note", "value": "filmed from the bridge", "why": WHY}
    assert correct(client, keys["viewer"], clip, body).status_code == 403
    assert correct(client, keys["analyst"], clip, body).status_code == 201
    own = correct(client, keys["contributor"], clip, {"field": "source", "value": "witness A", "why": WHY})
    assert own.status_code == 201, own.text


def test_nobody_corrects_a_source_blind_or_learns_it_from_the_refusal(client: TestClient, keys: dict[str, str]) -> None:
    """Only the admin holds the sources permission archive-wide: an analyst may correct a note of
    someone else's acquisition, not its source, and no refusal names who handed it in."""
    clip = upload(client, keys["admin"], source="witness B")
    body = {"field": "source", "value": "witness A", "why": WHY}
    refused = correct(client, keys["contributor"], clip, body)
    assert refused.status_code == 403 and "admin-key" not in refused.json()["detail"], refused.text
    blind = correct(client, keys["analyst"], clip, body)
    assert blind.status_code == 403 and "sources permission" in blind.json()["detail"], blind.text
    assert "witness" not in blind.text
    note = correct(client, keys["analyst"], clip, {"field": "note", "value": "from the bridge", "why": WHY})
    assert note.status_code == 201, note.text
    shown = client.get(f"/api/v1/clips/{clip['id']}", headers=auth(keys["admin"])).json()["acquisitions"][0]
    assert shown["source"] == "witness B"


def test_a_corrected_capture_time_needs_a_zone_and_is_kept_in_utc(client: TestClient, keys: dict[str, str]) -> None:
    clip = upload(client, keys["contributor"], captured_at="2019-11-16T14:15:00Z")
    zoneless = correct(
        client, keys["contributor"], clip, {"field": "captured_at", "value": "2019-11-16T14:15", "why": WHY}
    )
    assert zoneless.status_code == 422 and zoneless.json()["detail"].startswith("value: "), zoneless.text
    response = correct(
        client, keys["contributor"], clip, {"field": "captured_at", "value": "2019-11-16T14:15:00+03:30", "why": WHY}
    )
    assert response.status_code == 201, response.text
    assert response.json()["captured_at"].startswith("2019-11-16T10:45:00")
    [correction] = response.json()["corrections"]
    assert correction["old_value"].startswith("2019-11-16T14:15:00")
    assert correction["new_value"].startswith("2019-11-16T10:45:00")


def test_a_field_that_cannot_be_corrected_is_refused(client: TestClient, keys: dict[str, str]) -> None:
    clip = upload(client, keys["contributor"], source="witness B")
    response = correct(client, keys["contributor"], clip, {"field": "filename", "value": "x.mp4", "why": WHY})
    assert response.status_code == 422 and response.json()["detail"].startswith("field: "), response.text


def test_the_same_value_again_is_refused(client: TestClient, keys: dict[str, str]) -> None:
    clip = upload(client, keys["contributor"], source="witness B")
    response = correct(client, keys["contributor"], clip, {"field": "source", "value": "witness B", "why": WHY})
    assert response.status_code == 400, response.text


def test_an_acquisition_of_another_clip_is_not_found(client: TestClient, keys: dict[str, str]) -> None:
    first = upload(client, keys["contributor"], source="a")
    second = upload(client, keys["contributor"], source="b")
    acquisition_id = first["acquisitions"][0]["id"]
    path = f"/api/v1/clips/{second['id']}/acquisitions/{acquisition_id}/corrections"
    response = client.post(path, headers=auth(keys["contributor"]), json={"field": "source", "value": "c", "why": WHY})
    assert response.status_code == 404, response.text


def test_stored_corrections_cannot_be_changed_or_removed(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    clip = upload(client, keys["contributor"], source="witness B")
    correct(client, keys["contributor"], clip, {"field": "source", "value": "witness A", "why": WHY})
    for statement in (
        "UPDATE acquisition_corrections SET new_value = 'mallory'",
        "DELETE FROM acquisition_corrections",
    ):
        with pytest.raises(DBAPIError), archive.engine.begin() as connection:
            connection.execute(text(statement))


def test_a_search_by_source_finds_the_clip_by_its_corrected_source_too(
    client: TestClient, keys: dict[str, str]
) -> None:
    clip = upload(client, keys["contributor"], source="witness B")
    correct(client, keys["contributor"], clip, {"field": "source", "value": "witness A", "why": WHY})
    for text_in_source in ("witness A", "witness B"):
        found = client.get("/api/v1/clips", headers=auth(keys["admin"]), params={"source": text_in_source}).json()
        assert [c["id"] for c in found["items"]] == [clip["id"]], text_in_source
