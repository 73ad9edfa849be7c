"""Writes bounded by need-to-know (issue 11, review findings 7–9): an acquisition is corrected only
through the case it was handed into, and a refusal names no value the caller may not read; an
export holding originals needs the download permission too; and an export is read only while its
exporter still holds, over all it covers, what asking for it needed."""

from __future__ import annotations

import os
from typing import Any

from fastapi.testclient import TestClient

from storage.archive import Archive
from tests.conftest import auth
from tests.helpers.access import member_key, person_key
from tests.helpers.api_calls import INCIDENT, upload
from tests.helpers.exports import export_and_wait

SOURCE = {"source": "witness A, Aleppo", "source_url": "https://t.me/witness_a/17"}


def new_case(client: TestClient, keys: dict[str, str], title: str) -> str:
    made = client.post("/api/v1/cases", headers=auth(keys["admin"]), json={"title": title})
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def handed_in(client: TestClient, key: str, case_id: str) -> dict[str, Any]:
    answer = upload(client, key, os.urandom(20_000), case_id=case_id, **SOURCE)
    assert answer.status_code in (200, 201), answer.text
    clip: dict[str, Any] = answer.json()
    return clip


def link_into(client: TestClient, keys: dict[str, str], case_id: str, clip_id: str) -> None:
    """The clip linked (by an archive-wide admin) to a new incident of the case: seen there too."""
    admin = auth(keys["admin"])
    incident = client.post("/api/v1/incidents", headers=admin, json={**INCIDENT, "case_id": case_id})
    assert incident.status_code == 201, incident.text
    linked = client.post(f"/api/v1/incidents/{incident.json()['id']}/clips", headers=admin, json={"clip_id": clip_id})
    assert linked.status_code == 201, linked.text


def correct(client: TestClient, key: str, clip_id: str, acquisition_id: int, **body: str):  # type: ignore[no-untyped-def]
    url = f"/api/v1/clips/{clip_id}/acquisitions/{acquisition_id}/corrections"
    return client.post(url, headers=auth(key), json={"why": "typed wrong at intake", **body})


def test_an_acquisition_of_a_case_the_caller_cannot_see_is_corrected_as_an_unknown_one(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    case_a, case_b = new_case(client, keys, "A"), new_case(client, keys, "B")
    clip = handed_in(client, member_key(archive, case_b, "contributor"), case_b)
    link_into(client, keys, case_a, clip["id"])
    analyst_a = member_key(archive, case_a, "analyst", ["sources"])
    [acquisition] = client.get(f"/api/v1/clips/{clip['id']}", headers=auth(analyst_a)).json()["acquisitions"]
    for field, value in (("note", "second camera"), ("captured_at", "2019-11-16T10:35:00Z")):
        hidden = correct(client, analyst_a, clip["id"], acquisition["id"], field=field, value=value)
        unknown = correct(client, analyst_a, clip["id"], 999_999, field=field, value=value)
        assert hidden.status_code == unknown.status_code == 404, hidden.text
        assert hidden.json()["detail"] == unknown.json()["detail"].replace("999999", str(acquisition["id"]))
    shown = client.get(f"/api/v1/clips/{clip['id']}", headers=auth(keys["admin"])).json()
    assert shown["acquisitions"][0]["corrections"] == []
    # Case B's own analyst may correct it.
    analyst_b = member_key(archive, case_b, "analyst")
    done = correct(client, analyst_b, clip["id"], acquisition["id"], field="note", value="second camera")
    assert done.status_code == 201, done.text


def test_the_already_refusal_names_no_source_the_caller_may_not_read(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    case_id = new_case(client, keys, "A")
    uploader = member_key(archive, case_id, "contributor")  # no sources permission
    clip = handed_in(client, uploader, case_id)
    acquisition_id = clip["acquisitions"][0]["id"]
    again = correct(client, uploader, clip["id"], acquisition_id, field="source", value=SOURCE["source"])
    assert again.status_code == 400 and "already" in again.json()["detail"], again.text
    assert "witness" not in again.text
    # Who may read it is told it, as before.
    admin = correct(client, keys["admin"], clip["id"], acquisition_id, field="source", value=SOURCE["source"])
    assert admin.status_code == 400 and SOURCE["source"] in admin.json()["detail"], admin.text


def test_an_export_of_the_originals_needs_the_download_permission_too(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    case_id = new_case(client, keys, "A")
    clip = handed_in(client, member_key(archive, case_id, "contributor"), case_id)
    exporter = member_key(archive, case_id, "viewer", ["export"])
    for body in ({"clip_ids": [clip["id"]]}, {"case_id": case_id}, {"case_id": case_id, "include_originals": True}):
        refused = client.post("/api/v1/exports", headers=auth(exporter), json=body)
        assert refused.status_code == 403 and "download" in refused.json()["detail"], (body, refused.text)
    done = export_and_wait(client, exporter, case_id=case_id, include_originals=False)
    assert done["status"] == "ready" and done["include_originals"] is False, done


def _readable(client: TestClient, key: str, export: dict[str, Any]) -> tuple[int, int]:
    shown = client.get(f"/api/v1/exports/{export['id']}", headers=auth(key))
    download = client.get(f"/api/v1/exports/{export['id']}/download", headers=auth(key))
    if shown.status_code == 404:
        assert shown.json()["detail"] == f"no export with id {export['id']}", shown.text
    return shown.status_code, download.status_code


def test_an_export_is_read_only_while_its_exporter_still_holds_what_it_covers(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    case_a, case_b = new_case(client, keys, "A"), new_case(client, keys, "B")
    clip = handed_in(client, member_key(archive, case_a, "contributor"), case_a)
    both = ["download", "export"]
    exporter = member_key(archive, case_a, "viewer", both, person="exporter")
    member_key(archive, case_b, "viewer", both, person="exporter")  # still an exporter elsewhere
    by_clip = export_and_wait(client, exporter, clip_ids=[clip["id"]])
    by_case = export_and_wait(client, exporter, case_id=case_a)
    assert by_clip["status"] == by_case["status"] == "ready", (by_clip, by_case)
    for export in (by_clip, by_case):
        assert _readable(client, exporter, export) == (200, 200)
    # A key of the same person narrowed to case B reads neither.
    narrowed = person_key(archive, "exporter", "viewer", cases=[case_b])
    for export in (by_clip, by_case):
        assert _readable(client, narrowed, export) == (404, 404)
    # Without download in case A, the bags of originals are read no more.
    members = f"/api/v1/cases/{case_a}/members/exporter"
    kept = client.put(members, headers=auth(keys["admin"]), json={"role": "viewer", "permissions": ["export"]})
    assert kept.status_code == 200, kept.text
    for export in (by_clip, by_case):
        assert _readable(client, exporter, export) == (404, 404)
    # Nor once the membership of case A has ended; an archive-wide admin still reads them.
    assert client.delete(members, headers=auth(keys["admin"])).status_code == 204
    for export in (by_clip, by_case):
        assert _readable(client, exporter, export) == (404, 404)
        assert _readable(client, keys["admin"], export) == (200, 200)
