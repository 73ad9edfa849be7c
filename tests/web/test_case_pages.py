"""The workbench's case pages over HTTP: the list, creating, editing (stale edits as for an
incident), closing and reopening, its incidents on a timeline, adding and removing them, its clips
and segments, members, an export with its progress, what a guest of one case sees, and CSRF on
every form of the incident and case pages."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from storage.archive import Archive
from tests import media
from tests.conftest import auth
from tests.helpers.api_calls import upload, wait_until_done
from tests.helpers.records import SQUARE, made_case, made_incident, make_member
from tests.helpers.workbench import make_person, sign_in


def _version(page: str, action: str) -> str:
    """The version the form posting to `action` carries."""
    found = re.search(rf'action="{re.escape(action)}">.*?name="version" value="(\d+)"', page, re.DOTALL)
    assert found, f"no form for {action} with a version"
    return found.group(1)


def test_the_create_form_opens_a_case_and_the_list_finds_it(
    client: TestClient, archive: Archive, keys: dict[str, str]
) -> None:
    make_person(archive, "cora", "contributor")
    token = sign_in(client, "cora")
    answer = client.post(
        "/cases", data={"title": "پرونده آبان", "description": "", "csrf_token": token}, follow_redirects=False
    )
    assert answer.status_code == 303
    case_id = answer.headers["location"].removeprefix("/cases/")
    listing = client.get("/cases?q=آبان&status=open").text
    assert f'<a href="/cases/{case_id}" dir="auto">پرونده آبان</a>' in listing and "Cases 1–1 of 1" in listing
    assert "No cases match." in client.get("/cases?status=closed").text
    assert client.get("/cases?status=shut").status_code == 422
    bad = client.post("/cases", data={"title": "", "csrf_token": token})
    assert bad.status_code == 422 and "title" in bad.text


def test_a_stale_case_edit_shows_both_versions_and_closing_and_reopening_work(
    client: TestClient, archive: Archive, keys: dict[str, str]
) -> None:
    case_id = made_case(archive, "Aban")
    make_person(archive, "cora", "contributor")
    token = sign_in(client, "cora")
    page = client.get(f"/cases/{case_id}").text
    assert _version(page, f"/cases/{case_id}/edit") == "1"
    renamed = client.patch(
        f"/api/v1/cases/{case_id}", headers={**auth(keys["analyst"]), "If-Match": '"1"'}, json={"title": "Aban 1398"}
    )
    assert renamed.status_code == 200
    mine = {"title": "Aban", "description": "Protests of November 2019", "version": "1", "csrf_token": token}
    stale = client.post(f"/cases/{case_id}/edit", data=mine)
    assert stale.status_code == 412 and "Someone changed this case after you read it" in stale.text
    assert re.search(r'<tr class="changed"><th scope="row">Title <span class="changed-mark">changed by', stale.text)
    assert '<td dir="auto">Aban 1398</td><td dir="auto">Aban</td>' in stale.text
    assert (
        _version(stale.text, f"/cases/{case_id}/edit") == "2" and ">Protests of November 2019</textarea>" in stale.text
    )
    # The visitor left the title as they read it: the redo form keeps the other's new title.
    assert 'name="title" value="Aban 1398"' in stale.text
    redo = {**mine, "title": "Aban 1398", "version": "2"}  # the form as the browser sends it
    redone = client.post(f"/cases/{case_id}/edit", data=redo, follow_redirects=False)
    assert redone.status_code == 303
    case = client.get(f"/api/v1/cases/{case_id}", headers=auth(keys["viewer"])).json()
    assert (case["title"], case["description"], case["version"]) == ("Aban 1398", "Protests of November 2019", 3)
    closed = client.post(f"/cases/{case_id}/status", data={"status": "closed", "version": "3", "csrf_token": token})
    assert closed.status_code == 200 and "Reopen the case" in closed.text
    assert (
        client.post(
            f"/cases/{case_id}/status", data={"status": "open", "version": "3", "csrf_token": token}
        ).status_code
        == 412
    )
    assert (
        client.post(
            f"/cases/{case_id}/status", data={"status": "gone", "version": "4", "csrf_token": token}
        ).status_code
        == 422
    )
    history = client.get(f"/api/v1/cases/{case_id}/history", headers=auth(keys["viewer"])).json()
    assert [entry["action"] for entry in history["entries"]] == ["created", "updated", "updated", "closed"]


def test_the_timeline_places_each_incident_by_the_time_it_covers_and_says_its_precision(
    client: TestClient, archive: Archive
) -> None:
    case_id = made_case(archive, "Aban")
    made_incident(archive, "Morning march", SQUARE, "hour", case_id)  # 10:30–11:30
    made_incident(archive, "Evening shooting", SQUARE + timedelta(hours=9), "exact", case_id)  # 19:30
    made_incident(archive, "Outside the case", SQUARE + timedelta(days=30))
    make_person(archive, "vic", "viewer")
    sign_in(client, "vic")
    page = client.get(f"/cases/{case_id}").text
    bars = re.findall(r'<rect class="timeline-bar" x="([\d.]+)" y="\d+" width="([\d.]+)"', page)
    # 10:30 to 19:30 is 9 hours across 1000 units: the hour-long march is 1/9 of it, the shot a tick at the end.
    assert [(float(x), float(width)) for x, width in bars] == [(0.0, 111.1), (994.0, 6.0)]
    assert "2019-11-16 10:30:00 UTC to 2019-11-16 11:30:00 UTC (known to the hour)" in page
    assert "2019-11-16 19:30:00 UTC (exact time)" in page and "Outside the case" not in page
    assert "style=" not in page and "<script>" not in page


def test_incidents_are_added_and_removed_by_those_who_may(
    client: TestClient, archive: Archive, keys: dict[str, str]
) -> None:
    case_id = made_case(archive, "Aban")
    incident_id = made_incident(archive, "Morning march")
    make_person(archive, "cora", "contributor")
    token = sign_in(client, "cora")
    page = client.get(f"/cases/{case_id}").text
    assert f'<option value="{incident_id}" dir="auto">Morning march' in page
    added = client.post(
        f"/cases/{case_id}/incidents", data={"incident_id": incident_id, "csrf_token": token}, follow_redirects=False
    )
    assert added.status_code == 303 and added.headers["location"] == f"/cases/{case_id}#incidents"
    assert client.get(f"/api/v1/cases/{case_id}", headers=auth(keys["viewer"])).json()["incident_ids"] == [incident_id]
    assert (
        client.post(f"/cases/{case_id}/incidents", data={"incident_id": "nope", "csrf_token": token}).status_code == 404
    )
    removed = client.post(f"/cases/{case_id}/incidents/{incident_id}/remove", data={"csrf_token": token})
    assert removed.status_code == 200 and "No incidents in this case yet." in removed.text
    make_person(archive, "vic", "viewer")
    token = sign_in(client, "vic")
    page = client.get(f"/cases/{case_id}").text
    assert "/incidents/" not in page.split('id="h-incidents"')[1].split("</section>")[0]  # no form, no rows
    refused = client.post(f"/cases/{case_id}/incidents", data={"incident_id": incident_id, "csrf_token": token})
    assert refused.status_code == 403 and "contributor" in refused.text


def test_the_case_page_lists_its_clips_with_their_segments_and_hand_ins(
    client: TestClient, archive: Archive, keys: dict[str, str], tmp_path: Path
) -> None:
    case_id = made_case(archive, "Aban")
    incident_id = made_incident(archive, "Morning march", case_id=case_id)
    linked_file = media.make_silent_clip(tmp_path / "linked.mp4", seconds=3)
    linked = upload(client, keys["contributor"], linked_file.read_bytes(), name="linked.mp4").json()["id"]
    handed = upload(client, keys["contributor"], b"not a video at all", name="handed.mp4", case_id=case_id).json()["id"]
    wait_until_done(client, keys["viewer"], linked)
    segment = {"clip_id": linked, "start_s": 1.0, "end_s": 2.5, "note": "the march turns"}
    assert (
        client.post(f"/api/v1/incidents/{incident_id}/clips", headers=auth(keys["admin"]), json=segment).status_code
        == 201
    )
    make_person(archive, "vic", "viewer")
    sign_in(client, "vic")
    page = client.get(f"/cases/{case_id}").text
    clips = page.split('id="h-clips"')[1].split("</section>")[0]
    assert f'<a href="/clips/{linked}" dir="auto">linked.mp4</a>' in clips and f'href="/clips/{handed}"' in clips
    assert "Morning march</a>: 0:01.0–0:02.5" in clips and "the march turns" in clips
    assert "handed into the case" in clips and "Clips 1–2 of 2" in clips


def test_case_admins_change_members_and_may_not_remove_themselves(
    client: TestClient, archive: Archive, keys: dict[str, str]
) -> None:
    case_id = made_case(archive, "Aban")
    make_member(archive, case_id, "cadmin", "admin", ["export"])
    make_person(archive, "newcomer", "none")
    token = sign_in(client, "cadmin")
    page = client.get(f"/cases/{case_id}").text
    assert f'action="/cases/{case_id}/members"' in page and '/members/cadmin/remove"' not in page
    form = {"person": "newcomer", "role": "viewer", "permissions": ["export"], "csrf_token": token}
    assert client.post(f"/cases/{case_id}/members", data=form, follow_redirects=False).status_code == 303
    members = client.get(f"/api/v1/cases/{case_id}/members", headers=auth(keys["admin"])).json()["items"]
    assert {(m["person"], m["role"], tuple(m["permissions"])) for m in members} == {
        ("cadmin", "admin", ("export",)),
        ("newcomer", "viewer", ("export",)),
    }
    beyond = client.post(f"/cases/{case_id}/members", data={**form, "permissions": ["download"]})
    assert beyond.status_code == 403 and "download" in beyond.text  # no more than it holds itself
    assert client.post(f"/cases/{case_id}/members/cadmin/remove", data={"csrf_token": token}).status_code == 403
    removed = client.post(
        f"/cases/{case_id}/members/newcomer/remove", data={"csrf_token": token}, follow_redirects=False
    )
    assert removed.status_code == 303
    members = client.get(f"/api/v1/cases/{case_id}/members", headers=auth(keys["admin"])).json()["items"]
    assert [m["person"] for m in members] == ["cadmin"]


def test_a_guest_of_one_case_sees_only_that_case_and_its_incidents(client: TestClient, archive: Archive) -> None:
    case_a, case_b = made_case(archive, "Case A"), made_case(archive, "Case B")
    incident_a = made_incident(archive, "Incident of A", case_id=case_a)
    incident_b = made_incident(archive, "Incident of B", case_id=case_b)
    loose = made_incident(archive, "In no case")
    make_member(archive, case_a, "guest", "viewer")
    sign_in(client, "guest")
    cases = client.get("/cases").text
    assert case_a in cases and case_b not in cases and "Cases 1–1 of 1" in cases
    incidents = client.get("/incidents").text
    assert incident_a in incidents and incident_b not in incidents and loose not in incidents
    for hidden in (f"/cases/{case_b}", f"/incidents/{incident_b}", f"/incidents/{loose}"):
        answer = client.get(hidden)
        assert answer.status_code == 404 and "Case B" not in answer.text, hidden
    assert client.get(f"/cases/{case_b}").text == client.get("/cases/no-such-case").text.replace("no-such-case", case_b)
    page = client.get(f"/cases/{case_a}").text
    assert 'method="post"' not in page.split("<main")[1]  # a viewer of the case: no form on it
    incident_page = client.get(f"/incidents/{incident_a}").text
    assert f'<a href="/cases/{case_a}" dir="auto">Case A</a>' in incident_page
    assert 'method="post" action="/incidents"' not in client.get("/incidents").text


def _wait_until_ready(client: TestClient, export_id: str) -> str:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        fragment = client.get(f"/exports/{export_id}/progress").text
        if 'hx-trigger="every 1s"' not in fragment:
            return fragment
        time.sleep(0.2)
    raise AssertionError(f"export {export_id} not done in time")


def test_an_export_from_the_case_page_shows_its_progress_until_the_download_link(
    client: TestClient, archive: Archive, keys: dict[str, str]
) -> None:
    case_id = made_case(archive, "Aban")
    made_incident(archive, "Morning march", case_id=case_id)
    make_member(archive, case_id, "exporter", "viewer", ["export"])  # exports, downloads no originals
    make_person(archive, "vic", "viewer")
    token = sign_in(client, "vic")
    assert f'action="/cases/{case_id}/exports"' not in client.get(f"/cases/{case_id}").text
    refused = client.post(f"/cases/{case_id}/exports", data={"csrf_token": token})
    assert refused.status_code == 403 and "export" in refused.text
    token = sign_in(client, "exporter")
    page = client.get(f"/cases/{case_id}").text
    assert f'action="/cases/{case_id}/exports"' in page and 'name="include_originals"' not in page
    asked = client.post(
        f"/cases/{case_id}/exports", data={"include_probe": "true", "csrf_token": token}, follow_redirects=False
    )
    assert asked.status_code == 303
    export_id = asked.headers["location"].split("export=")[1].split("#")[0]
    shown = client.get(asked.headers["location"]).text
    assert f'id="export-{export_id}"' in shown and "<progress" in shown
    done = _wait_until_ready(client, export_id)
    assert "status-ready" in done and f'href="/api/v1/exports/{export_id}/download"' in done
    bag = client.get(f"/api/v1/exports/{export_id}/download")  # the cookie reaches the download
    assert bag.status_code == 200 and bag.content[:2] == b"PK"
    export = client.get(f"/api/v1/exports/{export_id}", headers={"X-CSRF-Token": token}).json()
    assert (export["scope_id"], export["include_originals"], export["include_probe"]) == (case_id, False, True)
    sign_in(client, "vic")
    assert client.get(f"/exports/{export_id}/progress").status_code == 404  # someone else's


@pytest.fixture
def records(archive: Archive) -> dict[str, str]:
    case_id = made_case(archive, "Aban")
    incident_id = made_incident(archive, "Morning march", case_id=case_id)
    make_person(archive, "someone", "none")
    return {"case": case_id, "incident": incident_id}


def test_every_form_of_the_incident_and_case_pages_needs_the_pages_token(
    client: TestClient, archive: Archive, keys: dict[str, str], records: dict[str, str]
) -> None:
    case_id, incident_id = records["case"], records["incident"]
    make_person(archive, "ana", "admin")
    sign_in(client, "ana")
    forms = {
        "/incidents": {"title": "x", "starts_at": "2019-11-16T10:30:00Z"},
        f"/incidents/{incident_id}/edit": {"title": "x", "starts_at": "2019-11-16T10:30:00Z", "version": "1"},
        f"/incidents/{incident_id}/delete": {"version": "1"},
        "/cases": {"title": "x"},
        f"/cases/{case_id}/edit": {"title": "x", "version": "2"},
        f"/cases/{case_id}/status": {"status": "closed", "version": "2"},
        f"/cases/{case_id}/incidents": {"incident_id": incident_id},
        f"/cases/{case_id}/incidents/{incident_id}/remove": {},
        f"/cases/{case_id}/members": {"person": "someone", "role": "viewer"},
        f"/cases/{case_id}/members/someone/remove": {},
        f"/cases/{case_id}/exports": {},
    }
    before = client.get(f"/api/v1/cases/{case_id}/history", headers=auth(keys["admin"])).json()["entries"]
    for path, form in forms.items():
        for token in (None, "0" * 64):
            sent = form if token is None else {**form, "csrf_token": token}
            answer = client.post(path, data=sent, follow_redirects=False)
            assert answer.status_code == 403 and "CSRF" in answer.text, path
    assert client.get(f"/api/v1/cases/{case_id}/history", headers=auth(keys["admin"])).json()["entries"] == before
    assert client.get("/api/v1/incidents", headers=auth(keys["admin"])).json()["total"] == 1
    assert client.get("/api/v1/cases", headers=auth(keys["admin"])).json()["total"] == 1
    assert client.get("/api/v1/exports/x", headers=auth(keys["admin"])).status_code == 404
