"""The workbench's incident pages over HTTP: the list and its filters, creating, editing (a stale
edit shows both versions and can be redone), deleting after a confirmation, the linked clips, and
who sees which form (the browser tests walk the same in Chromium)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from storage.archive import Archive
from tests import media
from tests.conftest import auth
from tests.helpers.api_calls import INCIDENT, create_incident, upload, wait_until_done
from tests.helpers.records import made_case, made_incident
from tests.helpers.workbench import make_person, sign_in

FORM = {
    "title": "تیراندازی در میدان",
    "description": "Shots heard near the square",
    "starts_at": "2019-11-16T14:00:00+03:30",
    "ends_at": "",
    "time_precision": "hour",
    "place_name": "Sadeghieh square",
    "lat": "35.72",
    "lon": "51.33",
    "radius_m": "300",
    "tags": "shooting, protest",
}


def _version(page: str) -> str:
    found = re.search(r'name="version" value="(\d+)"', page)
    assert found, "the page has no version field"
    return found.group(1)


def _created(client: TestClient, token: str, **changes: str) -> str:
    answer = client.post("/incidents", data={**FORM, **changes, "csrf_token": token}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return answer.headers["location"].removeprefix("/incidents/")


def test_the_create_form_records_an_incident_as_the_api_would(
    client: TestClient, archive: Archive, keys: dict[str, str]
) -> None:
    make_person(archive, "cora", "contributor")
    token = sign_in(client, "cora")
    assert 'method="post" action="/incidents"' in client.get("/incidents").text
    incident_id = _created(client, token)
    stored = client.get(f"/api/v1/incidents/{incident_id}", headers=auth(keys["viewer"])).json()
    assert stored["title"] == FORM["title"] and stored["starts_at"] == "2019-11-16T10:30:00Z"
    assert stored["tags"] == ["protest", "shooting"] and stored["ends_at"] is None and stored["lat"] == 35.72
    page = client.get(f"/incidents/{incident_id}").text
    assert f'<h1 dir="auto">{FORM["title"]}</h1>' in page
    assert "2019-11-16 10:30:00 UTC" in page and "to the hour" in page  # in UTC, saying so
    assert f'<code class="id">{incident_id}</code>' in page and "Chain verified" in page


def test_the_list_takes_the_apis_filters_and_is_paged(client: TestClient, archive: Archive) -> None:
    for number in range(26):
        made_incident(archive, f"Incident {number:02d}")
    made_incident(archive, "Night raid on the dormitory")
    make_person(archive, "vic", "viewer")
    sign_in(client, "vic")
    first = client.get("/incidents").text
    assert "Incidents 1–25 of 27, latest first" in first and 'rel="next"' in first
    assert "Incidents 26–27 of 27" in client.get("/incidents?offset=25").text
    found = client.get("/incidents?q=dormitory&tag=&time_from=&bbox=").text  # blank fields mean any
    assert "Incidents 1–1 of 1" in found and "Night raid" in found
    assert "No incidents match." in client.get("/incidents?time_from=2020-01-01T00:00:00Z").text
    assert 'method="post" action="/incidents"' not in first  # a viewer records nothing


@pytest.mark.parametrize(
    ("field", "value"),
    [("starts_at", "2019-11-16T14:00:00"), ("lat", "north"), ("title", ""), ("time_precision", "week")],
)
def test_a_bad_value_gives_a_422_page_naming_the_field_and_stores_nothing(
    client: TestClient, archive: Archive, keys: dict[str, str], field: str, value: str
) -> None:
    make_person(archive, "cora", "contributor")
    token = sign_in(client, "cora")
    answer = client.post("/incidents", data={**FORM, field: value, "csrf_token": token})
    assert answer.status_code == 422 and field in answer.text and "<html" in answer.text
    assert client.get("/api/v1/incidents", headers=auth(keys["viewer"])).json()["total"] == 0
    incident_id, _ = create_incident(client, keys["admin"])
    page = client.get(f"/incidents/{incident_id}").text
    edited = client.post(
        f"/incidents/{incident_id}/edit", data={**FORM, field: value, "version": _version(page), "csrf_token": token}
    )
    assert edited.status_code == 422 and field in edited.text
    assert client.get(f"/api/v1/incidents/{incident_id}", headers=auth(keys["viewer"])).json()["version"] == 1


def _form_value(page: str, field: str) -> str:
    """The value the edit form's input `edit-{field}` holds."""
    found = re.search(rf'id="edit-{field}" name="\w+" value="([^"]*)"', page)
    assert found, f"the edit form has no {field}"
    return found.group(1)


def test_a_stale_edit_shows_both_versions_and_redoing_it_keeps_what_others_changed(
    client: TestClient, archive: Archive, keys: dict[str, str]
) -> None:
    incident_id, etag = create_incident(client, keys["admin"])
    make_person(archive, "cora", "contributor")
    token = sign_in(client, "cora")
    read = client.get(f"/incidents/{incident_id}").text
    assert _version(read) == "1"
    # Someone else renames it meanwhile.
    other = client.patch(
        f"/api/v1/incidents/{incident_id}",
        headers={**auth(keys["analyst"]), "If-Match": etag},
        json={"title": "Renamed"},
    )
    assert other.status_code == 200
    # The visitor changes the description (and more), leaving the title as they read it.
    mine = {**FORM, "title": INCIDENT["title"], "description": "Seen from the north side", "version": "1"}
    stale = client.post(f"/incidents/{incident_id}/edit", data={**mine, "csrf_token": token})
    assert stale.status_code == 412
    page = stale.text
    assert "Someone changed this incident after you read it" in page
    changed = re.search(
        r'<tr class="changed"><th scope="row">Title <span class="changed-mark">changed by ([^<]*)', page
    )
    assert changed and "analyst-key" in page and "and by you" not in page
    assert '<td dir="auto">Renamed</td><td dir="auto">Shooting at the square</td>' in page  # now, and yours
    assert '<tr><th scope="row">Description' in page  # a field no one else changed is not marked
    assert _version(page) == "2"  # the form again, over the new version
    assert ">Seen from the north side</textarea>" in page  # the visitor's change
    assert _form_value(page, "title") == "Renamed"  # the other's, in the field the visitor left alone
    redo = {**mine, "title": _form_value(page, "title"), "version": "2"}  # the form as the browser sends it
    redone = client.post(f"/incidents/{incident_id}/edit", data={**redo, "csrf_token": token}, follow_redirects=False)
    assert redone.status_code == 303
    now = client.get(f"/api/v1/incidents/{incident_id}", headers=auth(keys["viewer"])).json()
    assert (now["version"], now["description"], now["title"]) == (3, "Seen from the north side", "Renamed")
    history = client.get(f"/api/v1/incidents/{incident_id}/history", headers=auth(keys["viewer"])).json()
    assert [entry["action"] for entry in history["entries"]] == ["created", "updated", "updated"]


def test_a_field_both_changed_keeps_the_visitors_value_in_the_redo_form_and_says_so(
    client: TestClient, archive: Archive, keys: dict[str, str]
) -> None:
    incident_id, etag = create_incident(client, keys["admin"])
    make_person(archive, "cora", "contributor")
    token = sign_in(client, "cora")
    client.patch(
        f"/api/v1/incidents/{incident_id}",
        headers={**auth(keys["analyst"]), "If-Match": etag},
        json={"title": "Renamed", "place_name": "Enghelab square"},
    )
    mine = {**FORM, "title": "Shooting at Sadeghieh", "version": "1", "csrf_token": token}
    page = client.post(f"/incidents/{incident_id}/edit", data=mine).text
    assert re.search(r"Title <span class=\"changed-mark\">changed by [^<]*<span[^>]*>[^<]*</span>, and by you", page)
    assert _form_value(page, "title") == "Shooting at Sadeghieh"  # both changed it: the visitor's
    assert FORM["place_name"] == INCIDENT["place_name"]  # the visitor left the place as they read it,
    assert _form_value(page, "place") == "Enghelab square"  # so the other's change stays


def test_deleting_asks_first_and_a_stale_or_refused_deletion_is_said(
    client: TestClient, archive: Archive, keys: dict[str, str]
) -> None:
    incident_id, etag = create_incident(client, keys["admin"])
    filed = made_incident(archive, "Filed in a case", case_id=made_case(archive, "A case"))
    make_person(archive, "cora", "contributor")
    token = sign_in(client, "cora")
    confirm = client.get(f"/incidents/{incident_id}/delete")
    assert confirm.status_code == 200 and "Delete the incident" in confirm.text and _version(confirm.text) == "1"
    client.patch(
        f"/api/v1/incidents/{incident_id}", headers={**auth(keys["admin"]), "If-Match": etag}, json={"tags": []}
    )
    stale = client.post(f"/incidents/{incident_id}/delete", data={"version": "1", "csrf_token": token})
    assert stale.status_code == 412 and "Someone changed this incident" in stale.text and _version(stale.text) == "2"
    deleted = client.post(
        f"/incidents/{incident_id}/delete", data={"version": "2", "csrf_token": token}, follow_redirects=False
    )
    assert deleted.status_code == 303 and deleted.headers["location"] == "/incidents"
    assert client.get(f"/incidents/{incident_id}").status_code == 404
    refused = client.post(f"/incidents/{filed}/delete", data={"version": "1", "csrf_token": token})
    assert refused.status_code == 409 and "remove it from the case first" in refused.text


def test_a_viewer_gets_no_edit_or_delete_form_and_the_routes_refuse_it(
    client: TestClient, archive: Archive, keys: dict[str, str]
) -> None:
    incident_id, _ = create_incident(client, keys["admin"])
    make_person(archive, "vic", "viewer")
    token = sign_in(client, "vic")
    page = client.get(f"/incidents/{incident_id}").text
    assert "/edit" not in page and "/delete" not in page
    edited = client.post(f"/incidents/{incident_id}/edit", data={**FORM, "version": "1", "csrf_token": token})
    assert edited.status_code == 403 and "contributor" in edited.text
    assert client.get(f"/incidents/{incident_id}/delete").status_code == 403
    assert (
        client.post(f"/incidents/{incident_id}/delete", data={"version": "1", "csrf_token": token}).status_code == 403
    )
    assert client.get("/incidents/no-such-incident").status_code == 404


def test_the_incident_page_lists_its_linked_clips_and_segments(
    client: TestClient, archive: Archive, keys: dict[str, str], tmp_path: Path
) -> None:
    clip_file = media.make_silent_clip(tmp_path / "VID_0001.mp4", seconds=3)
    clip_id = upload(client, keys["contributor"], clip_file.read_bytes(), name="میدان.mp4").json()["id"]
    wait_until_done(client, keys["viewer"], clip_id)
    incident_id, _ = create_incident(client, keys["admin"])
    segment = {"clip_id": clip_id, "start_s": 0.5, "end_s": 2.0, "note": "صدای شلیک"}
    assert (
        client.post(f"/api/v1/incidents/{incident_id}/clips", headers=auth(keys["admin"]), json=segment).status_code
        == 201
    )
    make_person(archive, "vic", "viewer")
    sign_in(client, "vic")
    page = client.get(f"/incidents/{incident_id}").text
    assert f'<a href="/clips/{clip_id}" dir="auto">میدان.mp4</a>' in page
    assert "0:00.5–0:02.0" in page and '<td dir="auto">صدای شلیک</td>' in page
